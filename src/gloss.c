/*
 * gloss.c - the triage glossary (see gloss.h): parses policy/glossary.tsv
 * into entries and reads a question's words as English.
 *
 * Entries keep their foreign words normalised by text.c, so "bebé" in the
 * file and "bebe" or "BEBÉ" in a question are the same word. Matching is a
 * scan of every entry at every word, with a first-byte check: glossaries
 * hold a few thousand entries and only questions in another language are
 * read. Each word looks only at the entries whose first word can start
 * it: those of one byte, bucketed by that byte, and the longer ones,
 * bucketed by a hash of their first two bytes; both buckets are in file
 * order and are merged, so ties resolve as a scan of every entry would
 * (2026-12-03: a long question in another language read every entry at
 * every word). Ownership: a gloss owns every
 * string it returns.
 */
#include "gloss.h"
#include "text.h"
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gword { char *s; size_t n; int prefix; };

#define GLOSS_PAIR_BUCKETS 1024

/* Split phrases are read (entry_matches_gapped); test_gloss turns them
 * off to compare the buckets with a plain scan. */
static int gloss_gaps = 1;
static int gloss_stems = 1;
/* gap_entry, stem_entry and the split-phrase search read the first-word
 * buckets; test_gloss sets this to read every entry instead and compares. */
static int gloss_scan_all = 0;

#define GLOSS_NBUCKETS (256 + GLOSS_PAIR_BUCKETS)

/* The bucket of a first word of two bytes or more starting s[0], s[1]. */
static size_t pair_bucket(const char *s)
{
    return 256 + (((unsigned char)s[0] * 31u + (unsigned char)s[1]) & (GLOSS_PAIR_BUCKETS - 1));
}

/* A bucket's entry: its index and the first bytes of its first word
 * (up to 4, as head4 packs them), so most entries are ruled out without
 * reading them. */
struct gcand { uint32_t k, head, mask; };

/* The first min(n, 4) bytes of s, packed (zero-padded). */
static uint32_t head4(const char *s, size_t n)
{
    uint32_t h = 0;
    for (size_t i = 0; i < 4 && i < n; i++)
        h |= (uint32_t)(unsigned char)s[i] << (8 * i);
    return h;
}

static size_t entry_bucket(const struct gword *w)
{
    return w->n == 1 ? (unsigned char)w->s[0] : pair_bucket(w->s);
}

struct gvocab { uint32_t lang; int prefix; const char *s; size_t n; };

struct gentry {
    size_t lang;                        /* index into langs */
    struct gword w[GLOSS_MAX_PIECES];
    size_t nw;
    char *eng;
    int silent;                         /* English side "_": a function word */
};

struct gloss {
    struct gentry *e;
    size_t n, cap;
    char **langs;
    size_t nlangs;
    /* entries by their first word: of one byte, by that byte (bucket b);
     * longer, by pair_bucket of its first two bytes (bucket 256 + h).
     * Bucket k is bidx[boff[k]..boff[k+1]), in file order. */
    uint32_t boff[GLOSS_NBUCKETS + 1];
    struct gcand *bidx;
    /* every word of every entry, sorted by (lang, prefix, word), for
     * gloss_knows; the strings are the entries' */
    struct gvocab *voc;
    size_t nvoc;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void gloss_free(struct gloss *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        for (size_t k = 0; k < g->e[i].nw; k++)
            free(g->e[i].w[k].s);
        free(g->e[i].eng);
    }
    for (size_t i = 0; i < g->nlangs; i++)
        free(g->langs[i]);
    free(g->langs);
    free(g->e);
    free(g->bidx);
    free(g->voc);
    free(g);
}

static size_t lang_index(struct gloss *g, const char *s, size_t n)
{
    for (size_t i = 0; i < g->nlangs; i++)
        if (strlen(g->langs[i]) == n && memcmp(g->langs[i], s, n) == 0)
            return i;
    g->langs = xrealloc(g->langs, (g->nlangs + 1) * sizeof *g->langs);
    g->langs[g->nlangs] = xmalloc(n + 1);
    memcpy(g->langs[g->nlangs], s, n);
    g->langs[g->nlangs][n] = '\0';
    return g->nlangs++;
}

static int lang_code_ok(const char *s, size_t n)
{
    if (n == 0 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
            return 0;
    return 1;
}

static int is_digit_ch(char ch) { return ch >= '0' && ch <= '9'; }

/* Parses one "lang<TAB>words<TAB>english" line into e. 0, or -1 and err. */
static int parse_line(struct gloss *g, const char *s, size_t n, long lineno,
                      struct gentry *e, char *err, size_t errlen)
{
    const char *t1 = memchr(s, '\t', n), *t2;
    struct text_word w[GLOSS_MAX_WORDS + 1], ew[9];
    if (!t1 || !(t2 = memchr(t1 + 1, '\t', (size_t)(s + n - t1 - 1))) ||
        memchr(t2 + 1, '\t', (size_t)(s + n - t2 - 1))) {
        set_err(err, errlen, "line %ld: expected lang<TAB>words<TAB>english", lineno);
        return -1;
    }
    if (!lang_code_ok(s, (size_t)(t1 - s))) {
        set_err(err, errlen, "line %ld: bad language code", lineno);
        return -1;
    }
    memset(e, 0, sizeof *e);
    size_t written = 0;
    /* the foreign side: each word normalised as a question's would be; a
     * trailing '*' (which text.c drops) makes it a prefix */
    const char *fs = t1 + 1;
    size_t fl = (size_t)(t2 - fs), at = 0;
    while (at < fl) {
        while (at < fl && fs[at] == ' ')
            at++;
        size_t end = at;
        while (end < fl && fs[end] != ' ')
            end++;
        if (end == at)
            break;
        int prefix = fs[end - 1] == '*';
        size_t k = text_words(fs + at, end - at - (size_t)prefix, w, GLOSS_MAX_WORDS + 1);
        if (k != 1 || written++ == GLOSS_MAX_WORDS || w[0].nlen == 0 ||
            (prefix && w[0].nlen < 3)) {
            for (size_t i = 0; i < e->nw; i++)
                free(e->w[i].s);
            set_err(err, errlen, "line %ld: each of 1 to %d foreign words must be one word "
                    "(a prefix* at least 3 letters)", lineno, GLOSS_MAX_WORDS);
            return -1;
        }
        /* a question's words are split at digit/letter boundaries before
         * they reach the glossary ("zer2a" -> "zer 2 a", safety.c), so an
         * entry's words are split there too; a prefix* is its last piece */
        const char *ws = w[0].norm;
        size_t wl = w[0].nlen, p0 = 0;
        while (p0 < wl) {
            size_t p1 = p0 + 1;
            while (p1 < wl && is_digit_ch(ws[p1]) == is_digit_ch(ws[p0]))
                p1++;
            if (e->nw == GLOSS_MAX_PIECES) {
                for (size_t i = 0; i < e->nw; i++)
                    free(e->w[i].s);
                set_err(err, errlen, "line %ld: more than %d foreign words once digits "
                        "are split from letters", lineno, GLOSS_MAX_PIECES);
                return -1;
            }
            struct gword *gw = &e->w[e->nw++];
            gw->s = xmalloc(p1 - p0 + 1);
            memcpy(gw->s, ws + p0, p1 - p0);
            gw->s[p1 - p0] = '\0';
            gw->n = p1 - p0;
            gw->prefix = p1 == wl ? prefix : 0;
            p0 = p1;
        }
        at = end;
    }
    const char *es = t2 + 1;
    size_t el = (size_t)(s + n - es);
    /* "_": a function word ("de", "les"): read, but it says nothing */
    e->silent = el == 1 && es[0] == '_';
    size_t nen = e->silent ? 1 : text_words(es, el, ew, 9);
    if (e->nw == 0 || nen == 0 || nen > 8 || el > 120) {
        for (size_t i = 0; i < e->nw; i++)
            free(e->w[i].s);
        set_err(err, errlen, "line %ld: need foreign words and 1 to 8 English words", lineno);
        return -1;
    }
    e->eng = xmalloc(el + 1);
    memcpy(e->eng, es, el);
    e->eng[el] = '\0';
    e->lang = lang_index(g, s, (size_t)(t1 - s));
    return 0;
}

/* The entries by their first word (entry_bucket), each bucket in file
 * order (every entry has a first word of one byte or more). */
static void build_buckets(struct gloss *g)
{
    uint32_t fill[GLOSS_NBUCKETS];
    memset(g->boff, 0, sizeof g->boff);
    for (size_t i = 0; i < g->n; i++)
        g->boff[entry_bucket(&g->e[i].w[0]) + 1]++;
    for (size_t b = 0; b < GLOSS_NBUCKETS; b++)
        g->boff[b + 1] += g->boff[b];
    memcpy(fill, g->boff, sizeof fill);
    g->bidx = xmalloc((g->n ? g->n : 1) * sizeof *g->bidx);
    for (size_t i = 0; i < g->n; i++) {
        const struct gword *w = &g->e[i].w[0];
        struct gcand *c = &g->bidx[fill[entry_bucket(w)]++];
        c->k = (uint32_t)i;
        c->head = head4(w->s, w->n);
        c->mask = w->n >= 4 ? 0xffffffffu : (1u << (8 * w->n)) - 1;
    }
}

static int gloss_voc_cmp(const void *a, const void *b)
{
    const struct gvocab *x = a, *y = b;
    if (x->lang != y->lang)
        return x->lang < y->lang ? -1 : 1;
    if (x->prefix != y->prefix)
        return x->prefix - y->prefix;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, m);
    return c ? c : x->n < y->n ? -1 : x->n > y->n;
}

/* Every entry's words, sorted for gloss_knows. */
static void gloss_build_vocab(struct gloss *g)
{
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++)
        k += g->e[i].nw;
    g->voc = xmalloc((k ? k : 1) * sizeof *g->voc);
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < g->e[i].nw; j++) {
            struct gvocab *v = &g->voc[g->nvoc++];
            v->lang = (uint32_t)g->e[i].lang;
            v->prefix = g->e[i].w[j].prefix;
            v->s = g->e[i].w[j].s;
            v->n = g->e[i].w[j].n;
        }
    qsort(g->voc, g->nvoc, sizeof *g->voc, gloss_voc_cmp);
}

/* The index of language code lang in g, or (size_t)-1 (also for NULL). */
static size_t lang_find(const struct gloss *g, const char *lang)
{
    for (size_t i = 0; lang && i < g->nlangs; i++)
        if (strcmp(g->langs[i], lang) == 0)
            return i;
    return (size_t)-1;
}

int gloss_knows(const struct gloss *g, const char *lang, const char *s, size_t n)
{
    if (!g || !lang || !n)
        return 0;
    size_t want = lang_find(g, lang);
    if (want == (size_t)-1)
        return 0;
    struct gvocab key = { (uint32_t)want, 0, s, n };
    if (bsearch(&key, g->voc, g->nvoc, sizeof *g->voc, gloss_voc_cmp))
        return 1;
    key.prefix = 1;             /* "convuls*" knows "convulsiona" */
    for (size_t l = 3; l <= n; l++) {
        key.n = l;
        if (bsearch(&key, g->voc, g->nvoc, sizeof *g->voc, gloss_voc_cmp))
            return 1;
    }
    return 0;
}

size_t gloss_lang_words(const struct gloss *g, const char *lang, const char **words,
                        size_t *lens, size_t max)
{
    size_t want, k = 0;
    if (!g || !lang)
        return 0;
    want = lang_find(g, lang);
    for (size_t i = 0; want != (size_t)-1 && i < g->nvoc; i++) {
        const struct gvocab *v = &g->voc[i];
        if (v->lang != want || v->prefix)
            continue;
        if (k && lens[k - 1] == v->n && memcmp(words[k - 1], v->s, v->n) == 0)
            continue;               /* sorted: the same word twice is adjacent */
        if (k == max)
            break;
        words[k] = v->s;
        lens[k++] = v->n;
    }
    return k;
}

struct gloss *gloss_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct gloss *g = xcalloc(1, sizeof *g);
    size_t at = 0;
    long lineno = 0;
    set_err(err, errlen, "%s", "");
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - text - at) : len - at;
        const char *s = text + at;
        at += n + (nl ? 1 : 0);
        lineno++;
        if (n && s[n - 1] == '\r')
            n--;
        if (n == 0 || s[0] == '#')
            continue;
        if (memchr(s, '\0', n)) {
            set_err(err, errlen, "line %ld: NUL byte", lineno);
            goto fail;
        }
        if (n > GLOSS_MAX_LINE) {
            set_err(err, errlen, "line %ld: longer than %d bytes", lineno, GLOSS_MAX_LINE);
            goto fail;
        }
        if (g->n == GLOSS_MAX_ENTRIES) {
            set_err(err, errlen, "more than %d entries", GLOSS_MAX_ENTRIES);
            goto fail;
        }
        if (g->n == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 256;
            g->e = xrealloc(g->e, g->cap * sizeof *g->e);
        }
        if (parse_line(g, s, n, lineno, &g->e[g->n], err, errlen) < 0)
            goto fail;
        g->n++;
    }
    build_buckets(g);
    gloss_build_vocab(g);
    return g;
fail:
    gloss_free(g);
    return NULL;
}

struct gloss *gloss_load(const char *path, char *err, size_t errlen)
{
    enum { MAX = 4 << 20 };
    FILE *fp = fopen(path, "rb");
    struct gloss *g = NULL;
    char *buf = NULL;
    size_t n = 0;
    if (!fp) {
        set_err(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    buf = xmalloc(MAX + 1);
    n = fread(buf, 1, MAX + 1, fp);
    if (ferror(fp) || n > MAX) {
        set_err(err, errlen, "%s: %s", path, n > MAX ? "larger than 4 MiB" : "read error");
        goto out;
    }
    char perr[200];
    if (!(g = gloss_parse(buf, n, perr, sizeof perr)))
        set_err(err, errlen, "%s: %s", path, perr);
out:
    free(buf);
    fclose(fp);
    return g;
}

size_t gloss_nlangs(const struct gloss *g) { return g ? g->nlangs : 0; }
const char *gloss_lang(const struct gloss *g, size_t i) { return g && i < g->nlangs ? g->langs[i] : NULL; }
size_t gloss_nentries(const struct gloss *g) { return g ? g->n : 0; }

/* The entries whose first word can begin word w (word_matches), in file
 * order: those of one byte (bucket w[0]) and, for a word of two bytes or
 * more, those of its pair_bucket, merged by index; with the first four
 * bytes checked (a shorter word's padding never matches, its bytes are
 * never 0). Every entry when gloss_scan_all. */
struct cand_iter { const struct gloss *g; uint32_t a, ae, b, be, wh, all; };

static void cand_start(struct cand_iter *it, const struct gloss *g, const struct gloss_word *w)
{
    memset(it, 0, sizeof *it);
    it->g = g;
    it->wh = head4(w->s, w->n);
    if (gloss_scan_all) {
        it->all = 1;
        it->ae = (uint32_t)g->n;
        return;
    }
    if (w->n) {
        size_t k1 = (unsigned char)w->s[0];
        it->a = g->boff[k1];
        it->ae = g->boff[k1 + 1];
        if (w->n >= 2) {
            size_t k2 = pair_bucket(w->s);
            it->b = g->boff[k2];
            it->be = g->boff[k2 + 1];
        }
    }
}

/* The next candidate entry, or NULL. */
static const struct gentry *cand_next(struct cand_iter *it)
{
    const struct gloss *g = it->g;
    if (it->all)
        return it->a < it->ae ? &g->e[it->a++] : NULL;
    while (it->a < it->ae || it->b < it->be) {
        const struct gcand *c;
        if (it->b == it->be || (it->a < it->ae && g->bidx[it->a].k < g->bidx[it->b].k))
            c = &g->bidx[it->a++];
        else
            c = &g->bidx[it->b++];
        if ((it->wh ^ c->head) & c->mask)
            continue;
        return &g->e[c->k];
    }
    return NULL;
}

static int word_matches(const struct gword *gw, const struct gloss_word *w)
{
    if (w->n < gw->n || w->s[0] != gw->s[0])
        return 0;
    return (gw->prefix || w->n == gw->n) && memcmp(w->s, gw->s, gw->n) == 0;
}

/* Whether entry e reads the question's words from i: every one of its
 * words in turn, with no sentence break inside it. */
static int entry_matches_at(const struct gentry *e, const struct gloss_word *words, size_t n,
                            size_t i)
{
    size_t j = 0;
    if (e->nw > n - i)
        return 0;
    while (j < e->nw && word_matches(&e->w[j], &words[i + j]) && (j + 1 == e->nw || !words[i + j].brk))
        j++;
    return j == e->nw;
}

/* A word that turns a phrase around ("wil niet doen"): never a gap. */
static int is_negation(const struct gloss_word *w)
{
    static const char *const neg[] = {
        "not", "no", "non", "ne", "pas", "nao", "niet", "geen", "nooit", "nicht",
        "kein", "keine", "nie", "nu", "nunca", "jamais", "mai", "inte", "aldrig",
        "ikke", "ei", "degil", "hindi", "khong", "tidak", "gak", "nggak", "bukan",
        "hapana", "ani", "nem", "nahi", "nahin", "mat", "den", "dhen", "ne", "net",
        "nikdy", "nigdy", "never", NULL,
    };
    for (size_t k = 0; neg[k]; k++)
        if (strlen(neg[k]) == w->n && memcmp(neg[k], w->s, w->n) == 0)
            return 1;
    return 0;
}

/* A phrase of two words or more of the question's own language split by
 * one word ("zichzelf pijn wil doen", "me quiero matar" against "me ...
 * matar"): Dutch and German modals and Romance clitics and adverbs put a
 * word inside a fixed phrase. Matches e from i with exactly one question
 * word, not a negation and not at a sentence break, between two of its
 * words; returns the word count read (nw + 1), or 0. */
static size_t entry_matches_gapped(const struct gentry *e, const struct gloss_word *words,
                                   size_t n, size_t i, size_t *gap_at)
{
    if (e->nw < 2 || e->nw + 1 > n - i)
        return 0;
    for (size_t gap = 1; gap < e->nw; gap++) {
        size_t j = 0, q = i;
        int ok = 1;
        for (; ok && j < e->nw; j++, q++) {
            if (j == gap) {
                if (words[q].brk || is_negation(&words[q]) || !words[q].n)
                    ok = 0;
                q++;
            }
            if (ok && (!word_matches(&e->w[j], &words[q]) || (j + 1 < e->nw && words[q].brk)))
                ok = 0;
        }
        if (ok) {
            *gap_at = i + gap;
            return e->nw + 1;
        }
    }
    return 0;
}

/* Whether a matching e would replace best: longer wins; at equal length
 * the question's own language (want). */
static int entry_beats(const struct gentry *e, const struct gentry *best, size_t want)
{
    if (!best)
        return 1;
    if (e->nw != best->nw)
        return e->nw > best->nw;
    return e->lang == want && best->lang != want;
}

/* The one-word entry that reads words[at] (the question's own language
 * first, as entry_beats ranks them), or NULL. */
static const struct gentry *gap_entry(const struct gloss *g, size_t want,
                                      const struct gloss_word *words, size_t n, size_t at)
{
    const struct gentry *best = NULL, *e;
    struct cand_iter it;
    cand_start(&it, g, &words[at]);
    while ((e = cand_next(&it)) != NULL)
        if (e->nw == 1 && entry_beats(e, best, want) && entry_matches_at(e, words, n, at))
            best = e;
    return best;
}

#define GLOSS_STEM_MIN 5        /* letters an inflected word shares with its entry */
#define GLOSS_STEM_ENTRY_END 2  /* letters of the entry's ending that may differ */
#define GLOSS_STEM_WORD_END 4   /* letters of the question word's ending that may differ */

/* The question's own language's one-word entry that an unread word is an
 * inflection of: they share their first GLOSS_STEM_MIN letters or more,
 * and differ at most in the entry's last GLOSS_STEM_ENTRY_END and the
 * word's last GLOSS_STEM_WORD_END ("skrtil" / "škrtí", "bijes" / "bije"):
 * the longest shared start wins, the first in file order on a tie. */
static const struct gentry *stem_entry(const struct gloss *g, size_t want,
                                       const struct gloss_word *w)
{
    const struct gentry *best = NULL, *e;
    struct cand_iter it;
    size_t bestc = 0;
    /* "other" holds medicine names spelt alike everywhere: no endings
     * ("tablette" is no "tablet*") */
    if (w->n < GLOSS_STEM_MIN || strcmp(g->langs[want], "other") == 0)
        return NULL;
    /* an entry sharing the first GLOSS_STEM_MIN letters is in the pair
     * bucket of the word's first two, and its first four bytes are the
     * word's: the word's own candidates hold every one */
    cand_start(&it, g, w);
    while ((e = cand_next(&it)) != NULL) {
        if (e->lang != want || e->nw != 1 || e->silent || e->w[0].n < GLOSS_STEM_MIN ||
            e->w[0].s[0] != w->s[0])
            continue;
        size_t m = e->w[0].n, c = 0;
        while (c < m && c < w->n && e->w[0].s[c] == w->s[c])
            c++;
        if (c < GLOSS_STEM_MIN || m - c > GLOSS_STEM_ENTRY_END || w->n - c > GLOSS_STEM_WORD_END)
            continue;
        if (c > bestc) {
            best = e;
            bestc = c;
        }
    }
    return best;
}

/* A number as text.c keeps it: digits with '.' or ',' inside. */
static int is_number(const struct gloss_word *w)
{
    if (!w->n || w->s[0] < '0' || w->s[0] > '9')
        return 0;
    for (size_t i = 0; i < w->n; i++)
        if (!((w->s[i] >= '0' && w->s[i] <= '9') || w->s[i] == '.' || w->s[i] == ','))
            return 0;
    return 1;
}

/* Appends s[0..n) and a space to out if it fits; 0 when it did not. */
static int put(char *out, size_t outcap, size_t *o, const char *s, size_t n)
{
    if (*o + n + 2 > outcap)
        return 0;
    memcpy(out + *o, s, n);
    *o += n;
    out[(*o)++] = ' ';
    out[*o] = '\0';
    return 1;
}

size_t gloss_translate(const struct gloss *g, const char *lang,
                       const struct gloss_word *words, size_t n,
                       char *out, size_t outcap)
{
    return gloss_read(g, lang, words, n, out, outcap, NULL);
}

size_t gloss_read(const struct gloss *g, const char *lang,
                  const struct gloss_word *words, size_t n,
                  char *out, size_t outcap, struct gloss_cover *cover)
{
    size_t o = 0, hits = 0, cov = 0, fn = 0, want = (size_t)-1, run = 0, longest = 0;
    if (cover)
        cover->words = cover->function = cover->run = 0;
    if (!outcap)
        return 0;
    out[0] = '\0';
    if (!g)
        return 0;
    want = lang_find(g, lang);
    for (size_t i = 0; i < n;) {
        const struct gentry *best = NULL;
        /* only entries whose first word starts with this word's first
         * byte and is no longer can match it (word_matches): those of one
         * byte, and, for a word of two bytes or more, those sharing its
         * first two bytes' bucket; the two buckets merged in file order.
         * An empty word matches none. */
        uint32_t a = 0, ae = 0, b = 0, be = 0, wh = head4(words[i].s, words[i].n);
        if (words[i].n) {
            size_t k1 = (unsigned char)words[i].s[0];
            a = g->boff[k1];
            ae = g->boff[k1 + 1];
            if (words[i].n >= 2) {
                size_t k2 = pair_bucket(words[i].s);
                b = g->boff[k2];
                be = g->boff[k2 + 1];
            }
        }
        while (a < ae || b < be) {
            const struct gcand *c;
            if (b == be || (a < ae && g->bidx[a].k < g->bidx[b].k))
                c = &g->bidx[a++];
            else
                c = &g->bidx[b++];
            /* the word must start with the entry's first word (its bytes
             * are never 0, so a shorter word's padding differs) */
            if ((wh ^ c->head) & c->mask)
                continue;
            const struct gentry *e = &g->e[c->k];
            if (entry_beats(e, best, want) && entry_matches_at(e, words, n, i))
                best = e;
        }
        if ((!best || (best->nw == 1 && best->lang != want)) && gloss_stems &&
            want != (size_t)-1 && !is_number(&words[i])) {
            const struct gentry *st = stem_entry(g, want, &words[i]);
            if (st)
                best = st;
        }
        size_t step = best ? best->nw : 1;
        int gapped = 0;
        const struct gentry *gap_word = NULL;
        /* no phrase here as written: one of the question's own language
         * with one word inside it, when it reads more than the words did */
        if ((!best || best->nw < 2) && want != (size_t)-1 && words[i].n && gloss_gaps) {
            const struct gentry *gbest = NULL;
            size_t gstep = 0, gat = 0, at = 0;
            const struct gentry *e;
            struct cand_iter it;
            cand_start(&it, g, &words[i]);
            while ((e = cand_next(&it)) != NULL) {
                if (e->lang != want || e->nw < 2 || e->silent || e->nw + 1 <= gstep ||
                    e->w[0].s[0] != words[i].s[0])
                    continue;
                size_t m = entry_matches_gapped(e, words, n, i, &at);
                if (m > gstep) {
                    gbest = e;
                    gstep = m;
                    gat = at;
                }
            }
            const struct gentry *gw = gbest ? gap_entry(g, want, words, n, gat) : NULL;
            /* a word the phrase leaves unread must not cost a function
             * word's reading ("su" + "propia cama" against "su ... cama") */
            if (gbest && gstep > step && (gw || !best || !best->silent)) {
                best = gbest;
                step = gstep;
                gapped = 1;
                gap_word = gw;
            }
        }
        int ok = 1;
        if (best && best->silent) {
            cov += step;
            fn += step;
        } else if (best) {
            ok = put(out, outcap, &o, best->eng, strlen(best->eng));
            hits += ok;
            cov += ok ? step - (size_t)gapped : 0;
            /* the word inside a split phrase is read on its own, after
             * the phrase ("will abends nicht": "doesn't want in the
             * evening"); unread when no one-word entry reads it, so the
             * phrase never makes the answer gate easier to pass */
            if (ok && gap_word && gap_word->silent) {
                cov++;
                fn++;
            } else if (ok && gap_word) {
                ok = put(out, outcap, &o, gap_word->eng, strlen(gap_word->eng));
                hits += ok;
                cov += ok;
            }
        } else if (is_number(&words[i])) {
            ok = put(out, outcap, &o, words[i].s, words[i].n);
            cov += ok;
        }
        if (!ok)
            break;
        if (best || is_number(&words[i]))
            run = 0;
        else if (++run > longest)
            longest = run;
        if (words[i + step - 1].brk && o >= 2 && o + 3 <= outcap && out[o - 2] != '.') {
            out[o - 1] = '.';              /* "x. " keeps the clause end */
            out[o++] = ' ';
            out[o] = '\0';
        }
        i += step;
    }
    while (o && out[o - 1] == ' ')
        out[--o] = '\0';
    if (cover) {
        cover->words = cov;
        cover->function = fn;
        cover->run = longest;
    }
    return hits;
}
