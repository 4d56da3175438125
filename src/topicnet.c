/* topicnet.c — the fitted topic reader (see topicnet.h).
 *
 * Loading reads every line once into a scratch list of (feature, class,
 * weight), sorts it by feature and builds one open-addressing hash table of
 * features, each pointing at its run of (class, weight) pairs in one
 * array. Scoring walks tmodel_features (the features are shared with the
 * triage net, so there is one way to read a question's words), keeps each
 * known feature once, and adds its runs into the class sums. A normaliser
 * (struct topicnet_norm: kb.c's synonyms and spellings) adds the words the
 * knowledge base's query would add, so spellings and regional words read
 * alike. */
#include "topicnet.h"
#include "tmodel.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPICNET_MAX_FEATURE 96       /* bytes of one feature string */
#define TOPICNET_MAX_WEIGHTS 4000000
#define TOPICNET_LINE 512
#define TOPICNET_SEEN (4 * TMODEL_MAX_WORDS * 2)  /* > 3 features a word, at most half full */

struct tn_entry { const char *f; uint32_t h, off, n; };

struct topicnet {
    char **cls; size_t ncls;
    double *bias;
    struct tn_entry *e; size_t mask, nent;
    uint16_t *wc; float *ww;            /* all runs, by entry */
    char *strs;                         /* every entry's f points in here */
};

struct tn_line { char *f; uint16_t c; float w; };

void topicnet_free(struct topicnet *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->ncls; i++) free(m->cls[i]);
    free(m->cls);
    free(m->bias);
    free(m->e);
    free(m->wc);
    free(m->ww);
    free(m->strs);
    free(m);
}

size_t topicnet_nclass(const struct topicnet *m) { return m ? m->ncls : 0; }

const char *topicnet_class_name(const struct topicnet *m, size_t cls)
{
    return m && cls < m->ncls ? m->cls[cls] : NULL;
}

int topicnet_class(const struct topicnet *m, const char *name)
{
    for (size_t i = 0; m && i < m->ncls; i++)
        if (strcmp(m->cls[i], name) == 0) return (int)i;
    return -1;
}

static struct tn_entry *tn_slot(const struct topicnet *m, const char *f, size_t n, uint32_t h)
{
    for (size_t i = h & m->mask;; i = (i + 1) & m->mask) {
        struct tn_entry *e = &m->e[i];
        if (!e->f || (e->h == h && strncmp(e->f, f, n) == 0 && e->f[n] == '\0')) return e;
    }
}

static int tn_cmp_line(const void *a, const void *b)
{
    const struct tn_line *x = a, *y = b;
    int c = strcmp(x->f, y->f);
    return c ? c : (int)x->c - (int)y->c;
}

struct topicnet *topicnet_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    struct topicnet *m = NULL;
    struct tn_line *ls = NULL;
    size_t nl = 0, capl = 0, lineno = 0, bytes = 0;
    char line[TOPICNET_LINE];
    int ok = 0;

    if (!fp) { snprintf(err, errlen, "%s: cannot open", path); return NULL; }
    m = xcalloc(1, sizeof *m);
    m->cls = xcalloc(TOPICNET_MAX_CLASS, sizeof *m->cls);
    m->bias = xcalloc(TOPICNET_MAX_CLASS, sizeof *m->bias);
    while (fgets(line, sizeof line, fp)) {
        char *tab1, *tab2, *end;
        size_t n = strlen(line);
        lineno++;
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        else if (!feof(fp)) {
            snprintf(err, errlen, "%s:%zu: line too long", path, lineno);
            goto out;
        }
        if (lineno == 1) {
            if (strcmp(line, "# coachd topic model 1") != 0) {
                snprintf(err, errlen, "%s:1: not a coachd topic model (version 1)", path);
                goto out;
            }
            continue;
        }
        if (n == 0 || line[0] == '#') continue;
        if (!(tab1 = strchr(line, '\t')) || !(tab2 = strchr(tab1 + 1, '\t')) || tab1 == line) {
            snprintf(err, errlen, "%s:%zu: want feature<TAB>class<TAB>weight", path, lineno);
            goto out;
        }
        *tab1 = *tab2 = '\0';
        double v = strtod(tab2 + 1, &end);
        if (end == tab2 + 1 || *end != '\0' || !isfinite(v)) {
            snprintf(err, errlen, "%s:%zu: bad weight", path, lineno);
            goto out;
        }
        if (strcmp(line, "bias") == 0) {
            if (nl) {
                snprintf(err, errlen, "%s:%zu: bias lines come before the features", path, lineno);
                goto out;
            }
            if (!tab1[1] || topicnet_class(m, tab1 + 1) >= 0 || m->ncls >= TOPICNET_MAX_CLASS) {
                snprintf(err, errlen, "%s:%zu: empty, repeated or too many classes", path, lineno);
                goto out;
            }
            m->cls[m->ncls] = xstrdup(tab1 + 1);
            m->bias[m->ncls++] = v;
            continue;
        }
        int c = topicnet_class(m, tab1 + 1);
        size_t fl = (size_t)(tab1 - line);
        if (c < 0 || fl >= TOPICNET_MAX_FEATURE || nl >= TOPICNET_MAX_WEIGHTS) {
            snprintf(err, errlen, "%s:%zu: undeclared class or bad feature", path, lineno);
            goto out;
        }
        if (nl == capl) {
            capl = capl ? capl * 2 : 4096;
            ls = xrealloc(ls, capl * sizeof *ls);
        }
        ls[nl++] = (struct tn_line){xstrdup(line), (uint16_t)c, (float)v};
    }
    if (lineno == 0 || m->ncls == 0) {
        snprintf(err, errlen, "%s: no classes: not a coachd topic model", path);
        goto out;
    }
    if (nl) qsort(ls, nl, sizeof *ls, tn_cmp_line);
    for (size_t i = 0; i < nl; i++)
        if (i && strcmp(ls[i].f, ls[i - 1].f) == 0 && ls[i].c == ls[i - 1].c) {
            snprintf(err, errlen, "%s: feature '%s' given twice for class '%s'", path, ls[i].f,
                     m->cls[ls[i].c]);
            goto out;
        }
    {
        size_t nf = 0, cap = 1024, o = 0;
        for (size_t i = 0; i < nl; i++)
            if (!i || strcmp(ls[i].f, ls[i - 1].f) != 0) { nf++; bytes += strlen(ls[i].f) + 1; }
        while (cap < 2 * nf + 16) cap *= 2;
        m->e = xcalloc(cap, sizeof *m->e);
        m->mask = cap - 1;
        m->strs = xmalloc(bytes ? bytes : 1);
        m->wc = xmalloc((nl ? nl : 1) * sizeof *m->wc);
        m->ww = xmalloc((nl ? nl : 1) * sizeof *m->ww);
        for (size_t i = 0; i < nl;) {
            size_t j = i, fl = strlen(ls[i].f);
            while (j < nl && strcmp(ls[j].f, ls[i].f) == 0) {
                m->wc[j] = ls[j].c;
                m->ww[j] = ls[j].w;
                j++;
            }
            uint32_t h = util_hash(ls[i].f, fl);
            struct tn_entry *e = tn_slot(m, ls[i].f, fl, h);
            e->f = memcpy(m->strs + o, ls[i].f, fl + 1);
            o += fl + 1;
            e->h = h;
            e->off = (uint32_t)i;
            e->n = (uint32_t)(j - i);
            m->nent++;
            i = j;
        }
    }
    ok = 1;
out:
    fclose(fp);
    for (size_t i = 0; i < nl; i++) free(ls[i].f);
    free(ls);
    if (!ok) { topicnet_free(m); m = NULL; }
    return m;
}

/* ------------------------------------------------------------ features */

/* Function words say how a parent writes, not what about: "our", "we",
 * "should we", "how do" were among the heaviest weights of the nomatch
 * class until they were left out (the sets' nomatch lines were written in
 * another voice). Sorted, for bsearch. */
static const char *const tn_stop[] = {
    "a", "about", "again", "all", "also", "am", "an", "and", "any", "are", "arent", "as", "at",
    "be", "been", "being", "but", "by", "can", "cant", "could", "did", "didnt", "do", "does",
    "doesnt", "doing", "dont", "for", "from", "had", "has", "have", "having", "he", "her", "hers",
    "hes", "him", "his", "how", "i", "id", "if", "im", "in", "into", "is", "isnt", "it", "its",
    "ive", "just", "lets", "may", "me", "might", "mine", "more", "most", "much", "must", "my",
    "no", "not", "of", "off", "on", "only", "or", "our", "ours", "out", "over", "own", "really",
    "same", "shall", "she", "shes", "should", "so", "some", "such", "than", "that", "thats",
    "the", "their", "them", "then", "there", "these", "they", "theyre", "this", "those", "to",
    "too", "up", "us", "very", "was", "wasnt", "we", "were", "what", "whats", "when", "where",
    "which", "who", "whom", "whose", "why", "will", "with", "wont", "would", "yes", "you",
    "your", "youre", "yours",
};

static int tn_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int tn_is_stop(const char *w, size_t n)
{
    char buf[16];
    const char *key = buf;
    if (n >= sizeof buf) return 0;
    memcpy(buf, w, n);
    buf[n] = '\0';
    return bsearch(&key, tn_stop, sizeof tn_stop / sizeof tn_stop[0], sizeof tn_stop[0],
                   tn_cmp_str) != NULL;
}

/* strcmp order of the NUL-ended a against w[0..n) (no NUL in w): equal
 * on n bytes, a is w or longer. */
static int tn_cmp_n(const char *a, const char *w, size_t n)
{
    int c = strncmp(a, w, n);
    return c ? c : a[n] != '\0';
}

/* The five-letter stem of a function word of six letters or more
 * ("should" -> "shoul"): some function word is longer than w[0..n) and
 * starts with it. In the sorted list those words follow the first one not
 * before w, which is w itself or the first of them: a binary search. */
static int tn_is_stop_prefix(const char *w, size_t n)
{
    size_t lo = 0, hi = sizeof tn_stop / sizeof tn_stop[0];
    if (memchr(w, '\0', n)) return 0;      /* as no function word starts with it */
    while (lo < hi) {                       /* first entry >= w[0..n) */
        size_t mid = lo + (hi - lo) / 2;
        if (tn_cmp_n(tn_stop[mid], w, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo; i < lo + 2 && i < sizeof tn_stop / sizeof tn_stop[0]; i++)
        if (strlen(tn_stop[i]) > n && strncmp(tn_stop[i], w, n) == 0) return 1;
    return 0;
}

struct tn_filter { void (*emit)(const char *f, size_t n, void *arg); void *arg; size_t count; };

static void tn_filter_emit(const char *f, size_t n, void *arg)
{
    struct tn_filter *fl = arg;
    if (n > 2 && f[0] == 'u' && tn_is_stop(f + 2, n - 2)) return;
    if (n > 2 && f[0] == 'p' && tn_is_stop_prefix(f + 2, n - 2)) return;
    if (n > 2 && f[0] == 'b') {
        const char *us = memchr(f + 2, '_', n - 2);
        if (us && tn_is_stop(f + 2, (size_t)(us - f - 2)) &&
            tn_is_stop(us + 1, n - (size_t)(us + 1 - f)))
            return;
    }
    fl->count++;
    fl->emit(f, n, fl->arg);
}

/* One added word: "u:word" and "p:stem", through the function-word filter. */
static void tn_norm_word(const char *w, size_t n, void *arg)
{
    char f[TOPICNET_MAX_FEATURE];
    size_t pn;
    if (n == 0 || 2 + n >= sizeof f) return;
    memcpy(f, "u:", 2);
    memcpy(f + 2, w, n);
    f[2 + n] = '\0';
    tn_filter_emit(f, 2 + n, arg);
    if ((pn = tmodel_prefix5(w, n)) > 0) {
        f[0] = 'p';
        f[2 + pn] = '\0';
        tn_filter_emit(f, 2 + pn, arg);
    }
}

size_t topicnet_features_norm(const char *text, size_t len, const struct topicnet_norm *norm,
                              void (*emit)(const char *f, size_t n, void *arg), void *arg)
{
    struct tn_filter fl = {emit, arg, 0};
    tmodel_features(text, len, tn_filter_emit, &fl);
    if (norm && norm->fn) norm->fn(text, len, tn_norm_word, &fl, norm->arg);
    return fl.count;
}

size_t topicnet_features(const char *text, size_t len,
                         void (*emit)(const char *f, size_t n, void *arg), void *arg)
{
    return topicnet_features_norm(text, len, NULL, emit, arg);
}

/* ------------------------------------------------------------- scoring */

/* Scoring: each known feature once (a set of entry pointers), at most
 * TOPICNET_SEEN / 2 of them. The set starts in the scorer's own frame
 * (TN_SEEN0 slots: a question's known features fit there) and moves to
 * the heap only when it is half full, doubling up to TOPICNET_SEEN slots,
 * so a score allocates nothing for most texts and never more than the
 * bound; it is the caller's frame, so scoring stays safe across threads.
 * The set's size changes only where an entry sits in it, never which
 * entries it holds nor the order found keeps: the same sums. */
#define TN_SEEN0 256
struct tn_sum {
    const struct topicnet *m;
    const struct tn_entry **seen;       /* cap slots: seen0 or the heap */
    const struct tn_entry **found;      /* in the order met: found0 or the heap */
    size_t nfound, cap;
    const struct tn_entry *seen0[TN_SEEN0], *found0[TN_SEEN0 / 2];
};

static void tn_seen_put(const struct tn_entry **seen, size_t cap, const struct tn_entry *e)
{
    size_t i;
    for (i = e->h % cap; seen[i]; i = (i + 1) % cap)
        ;
    seen[i] = e;
}

/* Room for one more found entry: at half full, a set twice the size (the
 * found entries put back in it) and a found array to match. */
static void tn_sum_grow(struct tn_sum *s)
{
    size_t cap = s->cap * 2 < TOPICNET_SEEN ? s->cap * 2 : TOPICNET_SEEN;
    const struct tn_entry **seen = xcalloc(cap, sizeof *seen);
    const struct tn_entry **found = xmalloc(cap / 2 * sizeof *found);
    memcpy(found, s->found, s->nfound * sizeof *found);
    for (size_t k = 0; k < s->nfound; k++) tn_seen_put(seen, cap, found[k]);
    if (s->seen != s->seen0) { free(s->seen); free(s->found); }
    s->seen = seen;
    s->found = found;
    s->cap = cap;
}

static void tn_add_feature(const char *f, size_t n, void *arg)
{
    struct tn_sum *s = arg;
    if (!s->m->e) return;
    uint32_t h = util_hash(f, n);
    const struct tn_entry *e = tn_slot(s->m, f, n, h);
    size_t i;
    if (!e->f) return;
    for (i = e->h % s->cap; s->seen[i] && s->seen[i] != e; i = (i + 1) % s->cap)
        ;
    if (s->seen[i] || s->nfound >= TOPICNET_SEEN / 2) return;
    if (s->nfound >= s->cap / 2 && s->cap < TOPICNET_SEEN) {
        tn_sum_grow(s);
        tn_seen_put(s->seen, s->cap, e);
    } else {
        s->seen[i] = e;
    }
    s->found[s->nfound++] = e;
}

size_t topicnet_score(const struct topicnet *m, const char *text, size_t len, double *p)
{
    return topicnet_score_norm(m, NULL, text, len, p);
}

size_t topicnet_score_norm(const struct topicnet *m, const struct topicnet_norm *norm,
                           const char *text, size_t len, double *p)
{
    struct tn_sum s;
    double top = -1e300, sum = 0;
    s.m = m;
    s.nfound = 0;
    s.cap = TN_SEEN0;
    memset(s.seen0, 0, sizeof s.seen0);
    s.seen = s.seen0;
    s.found = s.found0;
    for (size_t c = 0; c < m->ncls; c++) p[c] = m->bias[c];
    topicnet_features_norm(text, len, norm, tn_add_feature, &s);
    if (s.nfound) {
        double x = 1.0 / sqrt((double)s.nfound);
        for (size_t k = 0; k < s.nfound; k++) {
            const struct tn_entry *e = s.found[k];
            for (uint32_t i = e->off; i < e->off + e->n; i++) p[m->wc[i]] += x * m->ww[i];
        }
    }
    for (size_t c = 0; c < m->ncls; c++) if (p[c] > top) top = p[c];
    for (size_t c = 0; c < m->ncls; c++) sum += (p[c] = exp(p[c] - top));
    for (size_t c = 0; c < m->ncls; c++) p[c] /= sum;
    if (s.seen != s.seen0) { free(s.seen); free(s.found); }
    return s.nfound;
}
