/* tmodel.c — the fitted triage net (emergency, crisis, medical, unsafe,
 * out_of_scope) under the triage rules
 * (see tmodel.h).
 *
 * Scoring is a sum of feature weights per class and a logistic, over the
 * features of text.c's words; the weights sit in one open-addressing hash
 * table keyed by the feature string. Loading validates every line and
 * reports the first bad one with its number. */
#include "tmodel.h"
#include "text.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TMODEL_MAX_FEATURE 96     /* bytes of one feature string */
#define TMODEL_MAX_ENTRIES 2000000

struct tentry { char *f; uint32_t h; float w[TMODEL_NCLASS]; };

/* A feature absent from the table is most look-ups (bigrams): a bit filter
 * of TMODEL_BLOOM_BITS bits per entry, two bits per feature hash, small
 * enough to stay in cache, says so without probing the table. */
#define TMODEL_BLOOM_BITS 16

struct tmodel {
    struct tentry *e;
    size_t mask, n;
    unsigned char *bloom;
    size_t bmask;                 /* bits - 1 */
    char *strs;                   /* after loading, every entry's f points in here */
    double bias[TMODEL_NCLASS], threshold[TMODEL_NCLASS], gate[TMODEL_NCLASS];
};

static size_t bloom_bit2(uint32_t h)
{
    return (size_t)((h >> 13) | (h << 19)) * 2654435761u;
}

static void bloom_add(struct tmodel *m, uint32_t h)
{
    size_t a = h & m->bmask, b = bloom_bit2(h) & m->bmask;
    m->bloom[a >> 3] |= (unsigned char)(1u << (a & 7));
    m->bloom[b >> 3] |= (unsigned char)(1u << (b & 7));
}

static int bloom_may(const struct tmodel *m, uint32_t h)
{
    size_t a = h & m->bmask, b = bloom_bit2(h) & m->bmask;
    return ((m->bloom[a >> 3] >> (a & 7)) & 1) && ((m->bloom[b >> 3] >> (b & 7)) & 1);
}

static struct tentry *slot(const struct tmodel *m, const char *f, size_t n, uint32_t h)
{
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        struct tentry *e = &m->e[i];
        if (!e->f || (e->h == h && strlen(e->f) == n && memcmp(e->f, f, n) == 0)) return e;
    }
}

/* ------------------------------------------------------------ features */

/* The word as a feature: lowercased by text.c, apostrophes dropped,
 * numbers as "#". Returns its length in out. */
static size_t word_form(const struct text_word *w, char *out, size_t outlen)
{
    size_t k = 0;
    if (w->flags & TEXT_NUMBER) { out[0] = '#'; out[1] = '\0'; return 1; }
    for (size_t i = 0; i < w->nlen && k + 1 < outlen; i++)
        if (w->norm[i] != '\'') out[k++] = w->norm[i];
    out[k] = '\0';
    return k;
}

/* The first five letters (UTF-8 characters) of a word of at least six. */
size_t tmodel_prefix5(const char *w, size_t n)
{
    size_t chars = 0, i = 0;
    while (i < n && chars < 5) {
        i++;
        while (i < n && ((unsigned char)w[i] & 0xC0) == 0x80) i++;
        chars++;
    }
    return chars == 5 && i < n ? i : 0;
}

size_t tmodel_features(const char *text, size_t len,
                       void (*emit)(const char *f, size_t n, void *arg), void *arg)
{
    struct text_word *w = xmalloc(TMODEL_MAX_WORDS * sizeof *w);
    size_t nw = text_words(text, len, w, TMODEL_MAX_WORDS), count = 0;
    if (nw > TMODEL_MAX_WORDS) nw = TMODEL_MAX_WORDS;   /* the count of all words; only max are filled */
    char prev[TEXT_WORD_MAX] = "", cur[TEXT_WORD_MAX], f[TMODEL_MAX_FEATURE];
    size_t prevn = 0;
    for (size_t i = 0; i < nw; i++) {
        size_t n = word_form(&w[i], cur, sizeof cur), pn;
        if (n == 0) continue;
        /* "u:word", "p:first5", "b:prev_word"; one that would not fit in
         * f is skipped (as snprintf's truncation was) */
        if (2 + n < sizeof f) {
            memcpy(f, "u:", 2);
            memcpy(f + 2, cur, n + 1);
            emit(f, 2 + n, arg);
            count++;
        }
        if ((pn = tmodel_prefix5(cur, n)) > 0 && 2 + pn < sizeof f) {
            memcpy(f, "p:", 2);
            memcpy(f + 2, cur, pn);
            f[2 + pn] = '\0';
            emit(f, 2 + pn, arg);
            count++;
        }
        if (prevn && 3 + prevn + n < sizeof f) {
            memcpy(f, "b:", 2);
            memcpy(f + 2, prev, prevn);
            f[2 + prevn] = '_';
            memcpy(f + 3 + prevn, cur, n + 1);
            emit(f, 3 + prevn + n, arg);
            count++;
        }
        memcpy(prev, cur, n + 1);
        prevn = (w[i].flags & TEXT_CLAUSE_END) ? 0 : n;
    }
    free(w);
    return count;
}

/* ------------------------------------------------------------- loading */

static const char *const class_names[TMODEL_NCLASS] = {
    "emergency", "crisis", "medical", "unsafe", "out_of_scope",
};

const char *tmodel_class_name(int cls)
{
    return cls >= 0 && cls < TMODEL_NCLASS ? class_names[cls] : NULL;
}

static int class_of(const char *s)
{
    for (int c = 0; c < TMODEL_NCLASS; c++)
        if (strcmp(s, class_names[c]) == 0) return c;
    return -1;
}

void tmodel_free(struct tmodel *m)
{
    if (!m) return;
    for (size_t i = 0; !m->strs && m->e && i <= m->mask; i++) free(m->e[i].f);
    free(m->strs);
    free(m->e);
    free(m->bloom);
    free(m);
}

struct tmodel *tmodel_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    struct tmodel *m = NULL;
    char line[512];
    size_t lineno = 0, cap = 1024, lines = 0;
    int ok = 0;

    if (!fp) { snprintf(err, errlen, "%s: cannot open", path); return NULL; }
    /* size the table from the line count: at most half full */
    while (fgets(line, sizeof line, fp)) lines++;
    while (cap < 2 * lines + 16) cap *= 2;
    rewind(fp);
    m = xcalloc(1, sizeof *m);
    m->e = xcalloc(cap, sizeof *m->e);
    m->mask = cap - 1;
    for (int c = 0; c < TMODEL_NCLASS; c++) m->threshold[c] = 1.0;
    while (fgets(line, sizeof line, fp)) {
        char *tab1, *tab2, *end;
        size_t n = strlen(line);
        lineno++;
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        else if (!feof(fp)) {           /* longer than the buffer: only a comment may be */
            int ch;
            if (line[0] != '#') {
                snprintf(err, errlen, "%s:%zu: line too long", path, lineno);
                goto out;
            }
            while ((ch = fgetc(fp)) != EOF && ch != '\n')
                ;
        }
        if (lineno == 1) {
            if (strcmp(line, "# coachd triage model 1") != 0) {
                snprintf(err, errlen, "%s:1: not a coachd triage model (version 1)", path);
                goto out;
            }
            continue;
        }
        if (n == 0 || line[0] == '#') continue;
        if (!(tab1 = strchr(line, '\t')) || !(tab2 = strchr(tab1 + 1, '\t'))) {
            snprintf(err, errlen, "%s:%zu: want feature<TAB>class<TAB>weight", path, lineno);
            goto out;
        }
        *tab1 = *tab2 = '\0';
        int cls = class_of(tab1 + 1);
        double v = strtod(tab2 + 1, &end);
        if (cls < 0 || end == tab2 + 1 || *end != '\0' || !isfinite(v) || tab1 == line ||
            (size_t)(tab1 - line) >= TMODEL_MAX_FEATURE || m->n >= TMODEL_MAX_ENTRIES) {
            snprintf(err, errlen, "%s:%zu: bad class, weight or feature", path, lineno);
            goto out;
        }
        if (strcmp(line, "bias") == 0) m->bias[cls] = v;
        else if (strcmp(line, "threshold") == 0) m->threshold[cls] = v;
        else if (strcmp(line, "gate") == 0) m->gate[cls] = v;
        else {
            size_t fl = (size_t)(tab1 - line);
            uint32_t h = util_hash(line, fl);
            struct tentry *e = slot(m, line, fl, h);
            if (!e->f) { e->f = xstrdup(line); e->h = h; m->n++; }
            e->w[cls] = (float)v;
        }
    }
    if (lineno == 0) {
        snprintf(err, errlen, "%s: empty: not a coachd triage model", path);
        goto out;
    }
    {
        /* sized from the line count the table is mostly empty (five lines
         * a feature): rebuilt at twice the features, the strings in one
         * block, so a question's look-ups touch a quarter of the memory */
        size_t cap2 = 1024, bytes = 0, o = 0;
        while (cap2 < 2 * m->n + 16) cap2 *= 2;
        if (cap2 < m->mask + 1) {
            struct tmodel nm = { .e = xcalloc(cap2, sizeof *m->e), .mask = cap2 - 1 };
            for (size_t i = 0; i <= m->mask; i++)
                if (m->e[i].f) bytes += strlen(m->e[i].f) + 1;
            nm.strs = xmalloc(bytes ? bytes : 1);
            for (size_t i = 0; i <= m->mask; i++) {
                struct tentry *oe = &m->e[i];
                if (!oe->f) continue;
                size_t fl = strlen(oe->f);
                struct tentry *ne = slot(&nm, oe->f, fl, oe->h);
                *ne = *oe;
                ne->f = memcpy(nm.strs + o, oe->f, fl + 1);
                o += fl + 1;
                free(oe->f);
            }
            free(m->e);
            m->e = nm.e;
            m->mask = nm.mask;
            m->strs = nm.strs;
        }
    }
    {
        size_t bits = 1024;
        while (bits < TMODEL_BLOOM_BITS * m->n) bits *= 2;
        m->bloom = xcalloc(bits / 8, 1);
        m->bmask = bits - 1;
        for (size_t i = 0; i <= m->mask; i++)
            if (m->e[i].f) bloom_add(m, m->e[i].h);
    }
    ok = 1;
out:
    fclose(fp);
    if (!ok) { tmodel_free(m); m = NULL; }
    return m;
}

/* ------------------------------------------------------------- scoring */

/* A feature counts once per question ("aaaaa aaaaa ..." is one word), as
 * the fitting script counts it: the entries already added are remembered
 * in a small open-addressing set of entry pointers. */
#define TMODEL_SEEN (4 * TMODEL_MAX_WORDS * 2)   /* > 3 features a word, at most half full */
struct sum {
    const struct tmodel *m;
    double z[TMODEL_NCLASS], top[TMODEL_NCLASS];
    const struct tentry **seen;
    size_t words;                       /* distinct words the model knows */
};

static void add_feature(const char *f, size_t n, void *arg)
{
    struct sum *s = arg;
    uint32_t h = util_hash(f, n);
    if (!bloom_may(s->m, h)) return;    /* not in the table */
    const struct tentry *e = slot(s->m, f, n, h);
    size_t i;
    if (!e->f) return;
    for (i = e->h % TMODEL_SEEN; s->seen[i] && s->seen[i] != e; i = (i + 1) % TMODEL_SEEN)
        ;
    if (s->seen[i]) return;
    s->seen[i] = e;
    s->words += f[0] == 'u';
    for (int c = 0; c < TMODEL_NCLASS; c++) {
        s->z[c] += e->w[c];
        if (e->w[c] > s->top[c]) s->top[c] = e->w[c];
    }
}

static size_t score(const struct tmodel *m, const char *text, size_t len, double *p, double *top)
{
    struct sum s = { m, {0}, {0}, xcalloc(TMODEL_SEEN, sizeof *s.seen), 0 };
    for (int c = 0; c < TMODEL_NCLASS; c++) s.z[c] = m->bias[c];
    tmodel_features(text, len, add_feature, &s);
    free(s.seen);
    for (int c = 0; c < TMODEL_NCLASS; c++) {
        p[c] = 1.0 / (1.0 + exp(-s.z[c]));
        top[c] = s.top[c];
    }
    return s.words;
}

void tmodel_score(const struct tmodel *m, const char *text, size_t len, double *p)
{
    double top[TMODEL_NCLASS];
    score(m, text, len, p, top);
}

void tmodel_flags(const struct tmodel *m, const char *text, size_t len, double *p, int *flags)
{
    double top[TMODEL_NCLASS];
    /* five distinct known words at least: "aaaaa aaaaa ..." is not a
     * message, and a short follow-up ("he is 9", "and if he bites?") says
     * too little for the model (the rules still read it) */
    size_t words = score(m, text, len, p, top);
    for (int c = 0; c < TMODEL_NCLASS; c++)
        flags[c] = words >= (c >= TMODEL_MEDICAL ? TMODEL_MIN_WORDS_REFUSE : TMODEL_MIN_WORDS) &&
                   p[c] >= m->threshold[c] && top[c] >= m->gate[c];
}

double tmodel_threshold(const struct tmodel *m, int cls)
{
    return cls >= 0 && cls < TMODEL_NCLASS ? m->threshold[cls] : 1.0;
}
