/* pattern.c — compiler, matcher and anchor index of the pattern language
 * (the grammar is in pattern.h and docs/safety.md).
 *
 * Compiling turns a source string into elements of alternative phrases of
 * atoms, in memory from the caller's allocator; word classes are spliced
 * in, inline groups expanded. Matching is a backtracking walk over gaps and
 * alternatives at one start position (pat_match_at) or at each position
 * from a given one (pat_find).
 *
 * The index makes a question's cost follow its own words, not the size of
 * the policy: built once, it maps every word and word prefix to the
 * required elements it can start. A question's scan (pat_scan_init) looks
 * each token up once (its prefix hashes computed in the same pass) and
 * records which required elements are present (a bit per element id, set
 * from the entries the tokens reach), so pat_possible rules a pattern out
 * with a bit test per required element, and where each pattern's first element
 * can start, so pat_find tries only those positions instead of all. Neither
 * changes what matches: both only skip what cannot. */
#include "pattern.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

uint32_t pat_hash(const char *s, size_t n)
{
    return util_hash(s, n);
}

static int is_digitc(char c)
{
    return c >= '0' && c <= '9';
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

int pat_normalised_word(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++)
        if (!is_word_byte(*q) && *q != '.')
            return 0;
    return 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int compile_fail(struct pat_compiler *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return -1;
}

static char *cstrndup(struct pat_compiler *c, const char *s, size_t n)
{
    char *r = c->alloc(c->actx, n + 1);
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

/* strcmp order of a NUL-ended name against s[0..n). */
static int name_cmp(const char *name, const char *s, size_t n)
{
    int r = strncmp(name, s, n);
    if (r != 0)
        return r;
    return name[n] == '\0' ? 0 : 1;
}

/* ------------------------------------------------------------ compiler */

struct pbuild {                    /* growable arrays while compiling */
    struct pat_elem *elems;
    size_t n, cap;
};

static int resolve_class(struct pat_compiler *c, size_t idx, int depth, const char *where);

static struct pat_class *find_class(struct pat_compiler *c, const char *s, size_t n)
{
    for (size_t i = 0; i < c->nclasses; i++)
        if (name_cmp(c->classes[i].name, s, n) == 0)
            return &c->classes[i];
    return NULL;
}

/* "#lo..hi" in w (NUL-ended, writable). */
static int parse_range(struct pat_compiler *c, char *w, const char *where, struct pat_atom *a)
{
    char *dots = strstr(w, "..");
    char *e1, *e2;
    if (!dots)
        return compile_fail(c, "%s: number range \"%s\" must look like #lo..hi", where, w);
    a->kind = PAT_NUMBER;
    *dots = '\0';                 /* "0..7": strtod would eat "0." */
    a->lo = strtod(w + 1, &e1);
    a->hi = strtod(dots + 2, &e2);
    *dots = '.';
    if (e1 != dots || *e2 || e1 == w + 1 || e2 == dots + 2 || a->lo > a->hi)
        return compile_fail(c, "%s: number range \"%s\" must look like #lo..hi", where, w);
    return 0;
}

/* One atom: word, prefix "abc*", number range "#lo..hi" or "_" (any one
 * token). */
static int parse_atom(struct pat_compiler *c, const char *s, size_t n,
                      const char *where, struct pat_atom *a)
{
    char w[128];
    if (n == 0 || n >= sizeof w)
        return compile_fail(c, "%s: bad word in pattern", where);
    if (n == 1 && s[0] == '_') {
        a->kind = PAT_ANY;
        return 0;
    }
    memcpy(w, s, n);
    w[n] = '\0';
    if (w[0] == '#')
        return parse_range(c, w, where, a);
    a->kind = PAT_WORD;
    if (w[n - 1] == '*') {
        w[--n] = '\0';
        a->kind = PAT_PREFIX;
        if (n < 3)
            return compile_fail(c, "%s: prefix \"%s*\" is shorter than 3 letters", where, w);
    }
    if (!pat_normalised_word(w))
        return compile_fail(c, "%s: word \"%s\" is not normalised (lowercase letters and digits only)",
                    where, w);
    for (size_t i = 1; i < n; i++)
        if ((is_digitc(w[i]) || w[i] == '.') != (is_digitc(w[i - 1]) || w[i - 1] == '.'))
            return compile_fail(c, "%s: word \"%s\" mixes digits and letters; text is split there, "
                        "so write them as separate words", where, w);
    if (a->kind == PAT_WORD && c->rewritten && c->rewritten(c->rctx, w, n))
        return compile_fail(c, "%s: word \"%s\" is rewritten by normalise.spellings, so it can never match",
                    where, w);
    a->s = cstrndup(c, w, n);
    a->n = n;
    a->h = pat_hash(w, n);
    return 0;
}

/* Space-separated atoms of one phrase (no classes, no groups). */
static int parse_phrase(struct pat_compiler *c, const char *s, size_t n,
                        const char *where, struct pat_phrase *ph)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && (i == 0 || s[i - 1] == ' '))
            count++;
    struct pat_atom *atoms = c->alloc(c->actx, (count ? count : 1) * sizeof *atoms);
    size_t k = 0, i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        size_t start = i;
        while (i < n && s[i] != ' ')
            i++;
        if (i == start)
            break;
        if (s[start] == '@' || s[start] == '(' || s[start] == '~')
            return compile_fail(c, "%s: \"%.*s\" cannot appear inside a phrase", where,
                        (int)(i - start), s + start);
        if (parse_atom(c, s + start, i - start, where, &atoms[k++]) < 0)
            return -1;
    }
    ph->atoms = atoms;
    ph->n = k;
    return 0;
}

/* Appends phrases to a growable list (in the caller's memory). */
static void phrases_append(struct pat_compiler *c, struct pat_phrase **v, size_t *n,
                           size_t *cap, const struct pat_phrase *add, size_t nadd)
{
    if (*n + nadd > *cap) {
        size_t ncap = (*cap ? *cap : 4);
        while (ncap < *n + nadd)
            ncap *= 2;
        struct pat_phrase *nv = c->alloc(c->actx, ncap * sizeof *nv);
        if (*n)
            memcpy(nv, *v, *n * sizeof *nv);
        *v = nv;
        *cap = ncap;
    }
    memcpy(*v + *n, add, nadd * sizeof *add);
    *n += nadd;
}

/* A phrase that may hold inline groups ("#0..7 (year|years) old") is
 * expanded into one phrase per combination (at most 4 group levels). */
static int expand_phrase(struct pat_compiler *c, const char *s, size_t n, const char *where,
                         int depth, struct pat_phrase **v, size_t *count, size_t *cap)
{
    const char *open = memchr(s, '(', n);
    if (!open) {
        struct pat_phrase ph;
        if (parse_phrase(c, s, n, where, &ph) < 0)
            return -1;
        phrases_append(c, v, count, cap, &ph, 1);
        return 0;
    }
    const char *close = memchr(open, ')', n - (size_t)(open - s));
    if (!close || memchr(open + 1, '(', (size_t)(close - open - 1)) || depth > 4)
        return compile_fail(c, "%s: unbalanced or nested parentheses in \"%.*s\"", where, (int)n, s);
    size_t pre = (size_t)(open - s), post = n - (size_t)(close - s) - 1;
    int rc = 0;
    char *buf = xmalloc(n + 2);          /* a group never grows the text */
    const char *a = open + 1;
    while (rc == 0 && a <= close) {
        const char *bar = a;
        while (bar < close && *bar != '|')
            bar++;
        size_t alen = (size_t)(bar - a), k = 0;
        memcpy(buf, s, pre);
        k = pre;
        buf[k++] = ' ';
        memcpy(buf + k, a, alen);
        k += alen;
        buf[k++] = ' ';
        memcpy(buf + k, close + 1, post);
        k += post;
        if (*a == '@')
            rc = compile_fail(c, "%s: a class cannot appear inside a phrase group", where);
        else
            rc = expand_phrase(c, buf, k, where, depth + 1, v, count, cap);
        a = bar + 1;
    }
    free(buf);
    return rc;
}

/* One alternative: "@class" (spliced) or a phrase. */
static int parse_alt(struct pat_compiler *c, const char *s, size_t n, const char *where,
                     int depth, struct pat_phrase **v, size_t *count, size_t *cap)
{
    while (n && s[0] == ' ') {
        s++;
        n--;
    }
    while (n && s[n - 1] == ' ')
        n--;
    if (n && s[0] == '@') {
        if (memchr(s, ' ', n))
            return compile_fail(c, "%s: class \"%.*s\" must stand alone in its alternative",
                        where, (int)n, s);
        const struct pat_class *k = find_class(c, s + 1, n - 1);
        if (!k)
            return compile_fail(c, "%s: unknown class \"%.*s\"", where, (int)n, s);
        size_t idx = (size_t)(k - c->classes);
        if (resolve_class(c, idx, depth + 1, where) < 0)
            return -1;
        phrases_append(c, v, count, cap, k->alts, k->nalts);
        return 0;
    }
    return expand_phrase(c, s, n, where, 0, v, count, cap);
}

/* "(a|b c|@k|)" -> alternatives (s points after '(' and n excludes ')'). */
static int parse_group(struct pat_compiler *c, const char *s, size_t n, const char *where,
                       struct pat_elem *e)
{
    struct pat_phrase *v = NULL;
    size_t count = 0, cap = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '|')
            continue;
        if (parse_alt(c, s + start, i - start, where, 0, &v, &count, &cap) < 0)
            return -1;
        start = i + 1;
    }
    e->alts = v;
    e->nalts = count;
    return 0;
}

static struct pat_elem *pb_push(struct pat_compiler *c, struct pbuild *b)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 8;
        struct pat_elem *nv = c->alloc(c->actx, ncap * sizeof *nv);
        if (b->n)
            memcpy(nv, b->elems, b->n * sizeof *nv);
        b->elems = nv;
        b->cap = ncap;
    }
    return &b->elems[b->n++];
}

/* Reads a gap token ("~N" or "...") at s[0..n) into *gap. 0 or -1. */
static int parse_gap(struct pat_compiler *c, const char *s, size_t n, const char *where, int *gap)
{
    if (n == 3 && memcmp(s, "...", 3) == 0) {
        *gap = c->default_gap;
        return 0;
    }
    char buf[8];
    if (n < 2 || n > 4)
        return compile_fail(c, "%s: gap \"%.*s\" must be ~1..~%d or ...", where, (int)n, s, PAT_MAX_GAP);
    memcpy(buf, s + 1, n - 1);
    buf[n - 1] = '\0';
    char *end;
    long g = strtol(buf, &end, 10);
    if (*end || g < 1 || g > PAT_MAX_GAP)
        return compile_fail(c, "%s: gap \"%.*s\" must be ~1..~%d or ...", where, (int)n, s, PAT_MAX_GAP);
    *gap = (int)g;
    return 0;
}

/* Element starting at src[*i]: a group, a class, or one atom. */
static int parse_element(struct pat_compiler *c, const char *src, size_t *i,
                         const char *where, struct pat_elem *e)
{
    size_t start = *i, len = strlen(src);
    if (src[start] == '(') {
        const char *close = strchr(src + start, ')');
        const char *open2 = memchr(src + start + 1, '(', close ? (size_t)(close - src - start - 1) : 0);
        if (!close || open2)
            return compile_fail(c, "%s: unbalanced or nested parentheses in \"%s\"", where, src);
        *i = (size_t)(close - src) + 1;
        return parse_group(c, src + start + 1, (size_t)(close - src) - start - 1, where, e);
    }
    while (*i < len && src[*i] != ' ' && src[*i] != '(')
        (*i)++;
    if (src[*i] == '(' || (*i < len && src[*i] == ')'))
        return compile_fail(c, "%s: unexpected parenthesis in \"%s\"", where, src);
    struct pat_phrase *v = NULL;
    size_t count = 0, cap = 0;
    if (parse_alt(c, src + start, *i - start, where, 0, &v, &count, &cap) < 0)
        return -1;
    e->alts = v;
    e->nalts = count;
    return 0;
}

/* 1 when the element can match zero tokens. */
static int elem_optional(const struct pat_elem *e)
{
    for (size_t a = 0; a < e->nalts; a++)
        if (e->alts[a].n == 0)
            return 1;
    return 0;
}

/* 1 when every alternative of e starts with a word or a prefix. */
static int elem_starts_with_words(const struct pat_elem *e)
{
    int ok = e->nalts > 0;
    for (size_t a = 0; ok && a < e->nalts; a++)
        ok = e->alts[a].n > 0 && (e->alts[a].atoms[0].kind == PAT_WORD ||
                                  e->alts[a].atoms[0].kind == PAT_PREFIX);
    return ok;
}

/* An element's starts and first bytes (see pattern.h). */
static void elem_summary(struct pat_elem *e)
{
    int words = e->nalts > 0, nums = 0;
    memset(e->first, 0, sizeof e->first);
    for (size_t a = 0; a < e->nalts && words; a++) {
        const struct pat_phrase *ph = &e->alts[a];
        if (ph->n > 0 && ph->atoms[0].kind == PAT_NUMBER)
            nums = 1;
        else if (ph->n == 0 || (ph->atoms[0].kind != PAT_WORD && ph->atoms[0].kind != PAT_PREFIX))
            words = 0;
        else {
            unsigned char b = (unsigned char)ph->atoms[0].s[0];
            e->first[b >> 3] |= (unsigned char)(1u << (b & 7));
        }
    }
    e->starts = !words ? 0 : nums ? 2 : 1;
}

/* 1 when alternative ph can match at a token whose first byte is b (a
 * word or prefix must start with b; anything else may match anywhere). */
static int alt_may_start(const struct pat_phrase *ph, unsigned b)
{
    if (ph->n == 0 || (ph->atoms[0].kind != PAT_WORD && ph->atoms[0].kind != PAT_PREFIX) ||
        ph->atoms[0].n == 0)
        return 1;
    return (unsigned char)ph->atoms[0].s[0] == b;
}

/* e->bk for an element of many alternatives (see pattern.h), in the
 * compiler's arena; left NULL for a short one. */
static void elem_buckets(struct pat_compiler *c, struct pat_elem *e)
{
    size_t total = 0;
    e->bk = NULL;
    if (e->nalts < PAT_BUCKET_MIN || e->nalts > 65535)
        return;
    for (unsigned b = 0; b < 256; b++)
        for (size_t a = 0; a < e->nalts; a++)
            total += (size_t)alt_may_start(&e->alts[a], b);
    if (total > 65535)
        return;                          /* offsets would not fit: the full loop */
    uint16_t *bk = c->alloc(c->actx, (257 + total) * sizeof *bk);
    size_t k = 0;
    for (unsigned b = 0; b < 256; b++) {
        bk[b] = (uint16_t)k;
        for (size_t a = 0; a < e->nalts; a++)
            if (alt_may_start(&e->alts[a], b))
                bk[257 + k++] = (uint16_t)a;
    }
    bk[256] = (uint16_t)k;
    e->bk = bk;
}

/* The first-byte set and the anchor of a compiled pattern: the first
 * element's summary (elem_summary has run on every element). An element
 * with no alternative never matches, so reading it as "any start" is
 * the same verdict. */
static void pattern_summary(struct pat_pattern *out)
{
    const struct pat_elem *e0 = &out->elems[0];
    out->has_first = e0->starts == 1;
    out->num_first = e0->starts == 2;
    if (e0->starts)
        memcpy(out->first, e0->first, sizeof out->first);
    else
        memset(out->first, 0, sizeof out->first);
    out->anchor = NULL;
    for (size_t k = 0; k < out->n; k++) {
        const struct pat_elem *e = &out->elems[k];
        if (elem_starts_with_words(e) && (!out->anchor || e->nalts < out->anchor->nalts))
            out->anchor = e;
    }
}

int pat_compile(struct pat_compiler *c, const char *src, const char *where,
                struct pat_pattern *out)
{
    struct pbuild b = {0};
    size_t i = 0, len = strlen(src);
    int gap = 0;
    c->err[0] = '\0';
    while (i < len) {
        if (src[i] == ' ') {
            i++;
            continue;
        }
        if (src[i] == '~' || src[i] == '.') {
            size_t s = i;
            while (i < len && src[i] != ' ')
                i++;
            if (b.n == 0)
                return compile_fail(c, "%s: pattern \"%s\" starts with a gap", where, src);
            if (parse_gap(c, src + s, i - s, where, &gap) < 0)
                return -1;
            continue;
        }
        struct pat_elem *e = pb_push(c, &b);
        if (parse_element(c, src, &i, where, e) < 0)
            return -1;
        e->gap = gap;
        gap = 0;
    }
    if (b.n == 0)
        return compile_fail(c, "%s: empty pattern", where);
    if (gap)
        return compile_fail(c, "%s: pattern \"%s\" ends with a gap", where, src);
    if (elem_optional(&b.elems[0]))
        return compile_fail(c, "%s: pattern \"%s\" must not start with an optional group", where, src);
    for (size_t k = 0; k < b.n; k++) {
        elem_summary(&b.elems[k]);
        elem_buckets(c, &b.elems[k]);
    }
    out->elems = b.elems;
    out->n = b.n;
    out->src = cstrndup(c, src, len);
    out->id = 0;
    pattern_summary(out);
    return 0;
}

static int resolve_class(struct pat_compiler *c, size_t idx, int depth, const char *where)
{
    struct pat_class *k = &c->classes[idx];
    if (k->state == 2)
        return 0;
    if (k->state == 1 || depth > 8)
        return compile_fail(c, "%s: class \"@%s\" refers to itself", where, k->name);
    k->state = 1;
    char w[128];
    snprintf(w, sizeof w, "classes.%s", k->name);
    struct pat_phrase *v = NULL;
    size_t count = 0, cap = 0;
    for (size_t i = 0; i < k->nmembers; i++) {
        const char *s = k->members[i];
        if (!s || !*s)
            return compile_fail(c, "%s[%zu]: members must be non-empty strings", w, i);
        if (parse_alt(c, s, strlen(s), w, depth, &v, &count, &cap) < 0)
            return -1;
        if (count && v[count - 1].n == 0)
            return compile_fail(c, "%s[%zu]: empty member", w, i);
    }
    k->alts = v;
    k->nalts = count;
    k->state = 2;
    return 0;
}

int pat_classes_resolve(struct pat_compiler *c)
{
    c->err[0] = '\0';
    for (size_t i = 0; i < c->nclasses; i++)
        if (resolve_class(c, i, 0, "classes") < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------- matcher */

/* Inlined into the matcher's loop (a call per alternative tried was a
 * tenth of a long question's cost); the same function either way. */
#if defined(__GNUC__)
#define PAT_INLINE static inline __attribute__((always_inline))
#else
#define PAT_INLINE static inline
#endif

PAT_INLINE int atom_match(const struct pat_atom *a, const struct pat_tok *t)
{
    switch (a->kind) {
    case PAT_WORD:
        return t->n == a->n && t->s[0] == a->s[0] && memcmp(t->s, a->s, a->n) == 0;
    case PAT_PREFIX:
        return t->n >= a->n && t->s[0] == a->s[0] && memcmp(t->s, a->s, a->n) == 0;
    case PAT_NUMBER:
        return t->isnum && t->num >= a->lo && t->num <= a->hi;
    case PAT_ANY:
        return 1;
    }
    return 0;
}

/* 1 when the phrase matches the tokens starting at pos (an empty phrase
 * always matches: it makes a group optional). */
PAT_INLINE int match_phrase(const struct pat_phrase *ph, const struct pat_input *in, size_t pos)
{
    if (pos + ph->n > in->n)
        return 0;
    for (size_t i = 0; i < ph->n; i++) {
        if (in->mask && in->mask[pos + i])
            return 0;
        if (!atom_match(&ph->atoms[i], &in->v[pos + i]))
            return 0;
    }
    return 1;
}

/* Matches elements ei.. of p at pos, allowing each element's gap. On success
 * *end is one past the last token used. Backtracks over gaps and alternatives. */
static int match_elems(const struct pat_pattern *p, size_t ei, const struct pat_input *in,
                       size_t pos, size_t *end)
{
    if (ei == p->n) {
        *end = pos;
        return 1;
    }
    const struct pat_elem *e = &p->elems[ei];
    int gap = ei == 0 ? 0 : e->gap;
    for (int g = 0; g <= gap && pos + (size_t)g <= in->n; g++) {
        if (e->starts && pos + (size_t)g < in->n) {
            const struct pat_tok *t = &in->v[pos + (size_t)g];
            if (t->n && !(e->starts == 2 && t->isnum) &&
                !((e->first[(unsigned char)t->s[0] >> 3] >> ((unsigned char)t->s[0] & 7)) & 1))
                continue;                /* no alternative can start at this token */
        }
        if (e->bk && pos + (size_t)g < in->n && in->v[pos + (size_t)g].n) {
            /* only the alternatives that can start at this token's first
             * byte, in the same order: the same first match */
            unsigned b = (unsigned char)in->v[pos + (size_t)g].s[0];
            for (uint32_t k = e->bk[b]; k < e->bk[b + 1]; k++) {
                const struct pat_phrase *ph = &e->alts[e->bk[257 + k]];
                if (match_phrase(ph, in, pos + (size_t)g)
                    && match_elems(p, ei + 1, in, pos + (size_t)g + ph->n, end))
                    return 1;
            }
            continue;
        }
        for (size_t a = 0; a < e->nalts; a++) {
            const struct pat_phrase *ph = &e->alts[a];
            if (match_phrase(ph, in, pos + (size_t)g)
                && match_elems(p, ei + 1, in, pos + (size_t)g + ph->n, end))
                return 1;
        }
    }
    return 0;
}

/* 0 when token t cannot start a match of p (its first byte starts no
 * first alternative, nor is it a number one can start with). */
static int cannot_start(const struct pat_pattern *p, const struct pat_tok *t)
{
    if (t->n == 0 || !(p->has_first || p->num_first))
        return 0;
    if (p->num_first && t->isnum)
        return 0;
    return !((p->first[(unsigned char)t->s[0] >> 3] >> ((unsigned char)t->s[0] & 7)) & 1);
}

int pat_match_at(const struct pat_pattern *p, const struct pat_input *in, size_t pos,
                 size_t *end)
{
    if (pos < in->n && cannot_start(p, &in->v[pos]))
        return 0;
    return match_elems(p, 0, in, pos, end);
}

struct pat_index {
    struct pat_words w[2];         /* word / prefix -> element ids */
    uint32_t *req_off;             /* pattern id -> its required elements: req_off[id+1] - req_off[id] */
    uint32_t *pat_of;              /* element id -> pattern id */
    uint32_t *start;               /* pattern id -> start id of its first element, or PAT_NONE */
    uint32_t *start_of;            /* element id -> start id, or PAT_NONE */
    struct sids { uint32_t *v; uint32_t n; } *sids[2];   /* per slot of w[k]: the start ids among its ids */
    uint32_t *sid_off, *sid_keys;  /* start id -> its keys: sid_keys[sid_off[id] .. sid_off[id+1]) */
    uint32_t *eid_off, *eid_keys;  /* element id -> the keys of its alternatives, likewise */
    size_t nkeys0;                 /* keys below it are slots of w[0], then w[1]'s */
    unsigned char pre3[8192];      /* bit per hash of the first 3 bytes of a prefix atom */
    unsigned char pfx[8192];       /* bit per low 16 bits of a prefix atom's hash */
    size_t npats, nelemids, nstarts, max_prefix;
    const struct pat_wentry *num;  /* PAT_NUM_KEY's entry in w[0], or NULL */
};

#define BIT(v, i) (((v)[(i) >> 3] >> ((i) & 7)) & 1)

/* Merged start positions of start ids with several keys, computed once
 * per scan: bit per start id in done, then its positions are
 * pos[off[id] .. off[id] + cnt[id]). */
struct pat_scan_lazy {
    unsigned char *done;
    uint32_t *off, *cnt;
    uint32_t *pos;
    size_t npos, cappos;
};

static int key_seen(const struct pat_scan *s, uint32_t key)
{
    size_t n0 = s->ix->nkeys0;
    return key < n0 ? BIT(s->seen[0], key) : BIT(s->seen[1], key - n0);
}

/* The positions (ascending, each once) where start id sid can start. */
static size_t scan_merged(const struct pat_scan *s, uint32_t sid, const uint32_t **out)
{
    const struct pat_index *x = s->ix;
    struct pat_scan_lazy *lz = s->lz;
    if (!BIT(lz->done, sid)) {
        size_t from = lz->npos;
        for (uint32_t k = x->sid_off[sid]; k < x->sid_off[sid + 1]; k++) {
            uint32_t key = x->sid_keys[k];
            if (!key_seen(s, key))
                continue;
            for (uint32_t h = s->head[key]; h; h = s->hits[h - 1][1]) {
                if (lz->npos == lz->cappos) {
                    lz->cappos = lz->cappos ? 2 * lz->cappos : 256;
                    lz->pos = xrealloc(lz->pos, lz->cappos * sizeof *lz->pos);
                }
                lz->pos[lz->npos++] = s->hits[h - 1][0];
            }
        }
        /* insertion sort (a few positions), then each once */
        size_t n = lz->npos - from, u = 0;
        uint32_t *v = n ? lz->pos + from : NULL;
        for (size_t i = 1; i < n; i++) {
            uint32_t t = v[i];
            size_t j = i;
            while (j > 0 && v[j - 1] > t) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = t;
        }
        for (size_t i = 0; i < n; i++)
            if (u == 0 || v[u - 1] != v[i])
                v[u++] = v[i];
        lz->npos = from + u;
        lz->off[sid] = (uint32_t)from;
        lz->cnt[sid] = (uint32_t)u;
        lz->done[sid >> 3] |= (unsigned char)(1u << (sid & 7));
    }
    *out = lz->cnt[sid] ? lz->pos + lz->off[sid] : NULL;
    return lz->cnt[sid];
}

int pat_find(const struct pat_pattern *p, const struct pat_input *in, size_t from,
             size_t *start, size_t *end)
{
    const struct pat_scan *sc = in->scan;
    if (sc && sc->ix && p->id < sc->ix->npats && sc->ix->start[p->id] != PAT_NONE) {
        /* only where a token can start the first element */
        const struct pat_index *x = sc->ix;
        uint32_t sid = x->start[p->id];
        if (x->sid_off[sid + 1] - x->sid_off[sid] == 1) {
            uint32_t key = x->sid_keys[x->sid_off[sid]];
            if (!key_seen(sc, key))
                return 0;
            for (uint32_t h = sc->head[key]; h; h = sc->hits[h - 1][1]) {
                size_t s = sc->hits[h - 1][0];
                if (s >= from && match_elems(p, 0, in, s, end)) {
                    *start = s;
                    return 1;
                }
            }
            return 0;
        }
        const uint32_t *pos;
        size_t np = scan_merged(sc, sid, &pos);
        for (size_t i = 0; i < np; i++)
            if (pos[i] >= from && match_elems(p, 0, in, pos[i], end)) {
                *start = pos[i];
                return 1;
            }
        return 0;
    }
    for (size_t s = from; s < in->n; s++)
        if (!cannot_start(p, &in->v[s]) && match_elems(p, 0, in, s, end)) {
            *start = s;
            return 1;
        }
    return 0;
}

int pat_possible(const struct pat_pattern *p, const struct pat_input *in)
{
    const struct pat_scan *sc = in->scan;
    if (!p->anchor || !sc || !sc->ix || p->id >= sc->ix->npats)
        return 1;
    const struct pat_index *x = sc->ix;
    if (!sc->possible[p->id]) {
        /* every required element has an alternative whose first word or
         * prefix some token is (the pattern's element ids are consecutive;
         * the scan marked the element ids of every entry a token reached) */
        int ok = 1;
        for (uint32_t eid = x->req_off[p->id]; ok && eid < x->req_off[p->id + 1]; eid++)
            ok = BIT(sc->eid_seen, eid);
        sc->possible[p->id] = (unsigned char)(ok ? 2 : 1);
    }
    return sc->possible[p->id] == 2;
}

/* ---------------------------------------------------------- word lists */

static struct pat_wentry *words_slot(const struct pat_words *w, const char *s, size_t n,
                                     uint32_t h)
{
    for (size_t i = h & w->mask;; i = (i + 1) & w->mask) {
        struct pat_wentry *e = &w->e[i];
        if (!e->s || (e->h == h && e->n == n && memcmp(e->s, s, n) == 0))
            return e;
    }
}

static void words_grow(struct pat_words *w)
{
    struct pat_words nw = { NULL, w->e ? 2 * (w->mask + 1) - 1 : 255, w->count };
    nw.e = xcalloc(nw.mask + 1, sizeof *nw.e);
    for (size_t i = 0; w->e && i <= w->mask; i++)
        if (w->e[i].s)
            *words_slot(&nw, w->e[i].s, w->e[i].n, w->e[i].h) = w->e[i];
    free(w->e);
    *w = nw;
}

void pat_words_add(struct pat_words *w, const char *s, size_t n, uint32_t h, uint32_t id)
{
    if (!w->e || 2 * (w->count + 1) > w->mask + 1)
        words_grow(w);
    struct pat_wentry *e = words_slot(w, s, n, h);
    if (!e->s) {
        e->s = s;
        e->n = (uint32_t)n;
        e->h = h;
        w->count++;
    }
    if (e->nids && e->ids[e->nids - 1] == id) return;
    if (e->nids == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 4;
        e->ids = xrealloc(e->ids, e->cap * sizeof *e->ids);
    }
    e->ids[e->nids++] = id;
}

static const struct pat_wentry *words_find(const struct pat_words *w, const char *s, size_t n,
                                           uint32_t h)
{
    if (!w->e)
        return NULL;
    const struct pat_wentry *e = words_slot(w, s, n, h);
    return e->s ? e : NULL;
}

const uint32_t *pat_words_get(const struct pat_words *w, const char *s, size_t n, uint32_t h,
                              uint32_t *nids)
{
    const struct pat_wentry *e = words_find(w, s, n, h);
    if (!e)
        return NULL;
    *nids = e->nids;
    return e->ids;
}

void pat_words_free(struct pat_words *w)
{
    for (size_t i = 0; w->e && i <= w->mask; i++)
        free(w->e[i].ids);
    free(w->e);
    memset(w, 0, sizeof *w);
}

/* --------------------------------------------------------------- index */

/* Number atoms ("#0..12") are indexed under one key of the word map, a
 * word no token can be ('#' is no word byte): every number token reaches
 * it, so a pattern that starts with a number ("#18..80 year old", "@young_age
 * ~10 ...") is tried only where a number stands, not at every token. */
#define PAT_NUM_KEY "#"

/* 1 when element e gets an id: a match must use it and each alternative
 * starts with a word, a prefix short enough to index or a number. */
static int elem_indexed(const struct pat_elem *e)
{
    int ok = e->nalts > 0 && !elem_optional(e);
    for (size_t a = 0; ok && a < e->nalts; a++) {
        const struct pat_atom *at = &e->alts[a].atoms[0];
        ok = at->kind == PAT_WORD || (at->kind == PAT_PREFIX && at->n <= PAT_PREFIX_MAX) ||
             at->kind == PAT_NUMBER;
    }
    return ok;
}

/* The word map and key an alternative's first atom is indexed under. */
static const char *atom_key(const struct pat_atom *at, size_t *n, uint32_t *h, int *kk)
{
    if (at->kind == PAT_NUMBER) {
        *n = 1;
        *h = pat_hash(PAT_NUM_KEY, 1);
        *kk = 0;
        return PAT_NUM_KEY;
    }
    *n = at->n;
    *h = at->h;
    *kk = at->kind == PAT_PREFIX;
    return at->s;
}

/* A prefix atom has 3 bytes or more; a token whose first 3 bytes start
 * none is looked up as a word only. */
static unsigned pre3_hash(const char *s)
{
    return ((unsigned char)s[0] * 961u + (unsigned char)s[1] * 31u + (unsigned char)s[2]) & 65535u;
}

static void index_elem(struct pat_index *x, const struct pat_elem *e, uint32_t eid)
{
    for (size_t a = 0; a < e->nalts; a++) {
        const struct pat_atom *at = &e->alts[a].atoms[0];
        size_t kn;
        uint32_t kh;
        int kk;
        const char *ks = atom_key(at, &kn, &kh, &kk);
        pat_words_add(&x->w[kk], ks, kn, kh, eid);
        if (at->kind == PAT_PREFIX) {
            unsigned b = pre3_hash(at->s);
            x->pre3[b >> 3] |= (unsigned char)(1u << (b & 7));
            b = at->h & 65535u;
            x->pfx[b >> 3] |= (unsigned char)(1u << (b & 7));
            if (at->n > x->max_prefix)
                x->max_prefix = at->n;
        }
    }
}

/* Per slot of both word maps, the start ids among its element ids; per
 * start id, the keys (slots) that can start it. */
static void index_sids(struct pat_index *x)
{
    x->nkeys0 = x->w[0].e ? x->w[0].mask + 1 : 0;
    for (int k = 0; k < 2; k++) {
        struct pat_words *w = &x->w[k];
        x->sids[k] = w->e ? xcalloc(w->mask + 1, sizeof *x->sids[k]) : NULL;
        for (size_t i = 0; w->e && i <= w->mask; i++) {
            struct sids *sd = &x->sids[k][i];
            for (uint32_t j = 0; j < w->e[i].nids; j++)
                if (x->start_of[w->e[i].ids[j]] != PAT_NONE) {
                    if (!sd->v)
                        sd->v = xmalloc(w->e[i].nids * sizeof *sd->v);
                    sd->v[sd->n++] = x->start_of[w->e[i].ids[j]];
                }
        }
    }
    x->sid_off = xcalloc(x->nstarts + 2, sizeof *x->sid_off);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; x->sids[k] && i <= x->w[k].mask; i++)
            for (uint32_t j = 0; j < x->sids[k][i].n; j++)
                x->sid_off[x->sids[k][i].v[j] + 1]++;
    for (size_t i = 0; i < x->nstarts; i++)
        x->sid_off[i + 1] += x->sid_off[i];
    x->sid_keys = xmalloc((x->sid_off[x->nstarts] + 1) * sizeof *x->sid_keys);
    uint32_t *fill = xmalloc((x->nstarts + 1) * sizeof *fill);
    memcpy(fill, x->sid_off, (x->nstarts + 1) * sizeof *fill);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; x->sids[k] && i <= x->w[k].mask; i++)
            for (uint32_t j = 0; j < x->sids[k][i].n; j++)
                x->sid_keys[fill[x->sids[k][i].v[j]]++] = (uint32_t)(k ? x->nkeys0 + i : i);
    free(fill);
}

struct pat_index *pat_index_build(const struct pat_pattern *const *pats, size_t n)
{
    struct pat_index *x = xcalloc(1, sizeof *x);
    size_t capeid = 0;
    x->npats = n;
    x->req_off = xcalloc(n + 1, sizeof *x->req_off);
    x->start = xmalloc((n ? n : 1) * sizeof *x->start);
    for (size_t i = 0; i < n; i++) {
        const struct pat_pattern *pt = pats[i];
        x->req_off[i] = (uint32_t)x->nelemids;
        x->start[i] = PAT_NONE;
        for (size_t k = 0; k < pt->n; k++) {
            const struct pat_elem *e = &pt->elems[k];
            if (!elem_indexed(e))
                continue;
            uint32_t eid = (uint32_t)x->nelemids++;
            index_elem(x, e, eid);
            if (eid >= capeid) {
                capeid = capeid ? 2 * capeid : 4096;
                x->start_of = xrealloc(x->start_of, capeid * sizeof *x->start_of);
                x->pat_of = xrealloc(x->pat_of, capeid * sizeof *x->pat_of);
            }
            x->pat_of[eid] = (uint32_t)i;
            x->start_of[eid] = PAT_NONE;
            if (k == 0)
                x->start_of[eid] = x->start[i] = (uint32_t)x->nstarts++;
        }
    }
    x->req_off[n] = (uint32_t)x->nelemids;
    index_sids(x);
    /* per element id, the keys of its alternatives (slots are final now) */
    x->eid_off = xcalloc(x->nelemids + 2, sizeof *x->eid_off);
    size_t nek = 0, capek = 0;
    for (size_t i = 0, eid = 0; i < n; i++)
        for (size_t k = 0; k < pats[i]->n; k++) {
            const struct pat_elem *e = &pats[i]->elems[k];
            if (!elem_indexed(e))
                continue;
            x->eid_off[eid] = (uint32_t)nek;
            for (size_t a = 0; a < e->nalts; a++) {
                const struct pat_atom *at = &e->alts[a].atoms[0];
                size_t kn;
                uint32_t kh;
                int kk;
                const char *ks = atom_key(at, &kn, &kh, &kk);
                const struct pat_wentry *we = words_find(&x->w[kk], ks, kn, kh);
                if (!we)
                    continue;                 /* cannot happen: index_elem added it */
                if (nek == capek) {
                    capek = capek ? 2 * capek : 4096;
                    x->eid_keys = xrealloc(x->eid_keys, capek * sizeof *x->eid_keys);
                }
                size_t slot = (size_t)(we - x->w[kk].e);
                x->eid_keys[nek++] = (uint32_t)(kk ? x->nkeys0 + slot : slot);
            }
            eid++;
        }
    x->eid_off[x->nelemids] = (uint32_t)nek;
    x->num = words_find(&x->w[0], PAT_NUM_KEY, 1, pat_hash(PAT_NUM_KEY, 1));
    return x;
}

void pat_index_free(struct pat_index *x)
{
    if (!x)
        return;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; x->sids[k] && i <= x->w[k].mask; i++)
            free(x->sids[k][i].v);
        free(x->sids[k]);
        pat_words_free(&x->w[k]);
    }
    free(x->req_off);
    free(x->pat_of);
    free(x->start);
    free(x->start_of);
    free(x->sid_off);
    free(x->sid_keys);
    free(x->eid_off);
    free(x->eid_keys);
    free(x);
}

/* Token pos is the word (k 0) or has the prefix (k 1) of entry e: the
 * entry is seen (pat_possible reads that); when it starts a pattern, its
 * key's positions get pos (each token reaches an entry once). */
static void scan_entry(struct pat_scan *s, int k, const struct pat_wentry *e, size_t pos)
{
    const struct pat_index *x = s->ix;
    size_t slot = (size_t)(e - x->w[k].e);
    size_t key = k ? x->nkeys0 + slot : slot;
    unsigned char *seen = s->seen[k];
    int first = !BIT(seen, slot);
    if (first) {
        seen[slot >> 3] |= (unsigned char)(1u << (slot & 7));
        for (uint32_t j = 0; j < e->nids; j++)
            s->eid_seen[e->ids[j] >> 3] |= (unsigned char)(1u << (e->ids[j] & 7));
    }
    if (x->sids[k][slot].n == 0)
        return;
    if (s->nhits == s->caphits) {
        s->caphits = s->caphits ? 2 * s->caphits : 256;
        s->hits = xrealloc(s->hits, s->caphits * sizeof *s->hits);
    }
    s->hits[s->nhits][0] = (uint32_t)pos;
    s->hits[s->nhits][1] = 0;
    s->nhits++;
    if (first)
        s->head[key] = (uint32_t)s->nhits;
    else
        s->hits[s->tail[key] - 1][1] = (uint32_t)s->nhits;
    s->tail[key] = (uint32_t)s->nhits;
}

void pat_scan_init(struct pat_scan *s, const struct pat_index *ix,
                   const struct pat_tok *v, size_t n)
{
    memset(s, 0, sizeof *s);
    s->ix = ix;
    if (!ix)
        return;
    s->possible = xcalloc(ix->npats + 1, 1);
    size_t nkeys = ix->nkeys0 + (ix->w[1].e ? ix->w[1].mask + 1 : 0);
    s->head = xmalloc((nkeys + 1) * sizeof *s->head);
    s->tail = xmalloc((nkeys + 1) * sizeof *s->tail);
    s->lz = xcalloc(1, sizeof *s->lz);
    s->lz->done = xcalloc((ix->nstarts + 8) / 8, 1);
    s->lz->off = xmalloc((ix->nstarts + 1) * sizeof *s->lz->off);
    s->lz->cnt = xmalloc((ix->nstarts + 1) * sizeof *s->lz->cnt);
    for (int k = 0; k < 2; k++)
        s->seen[k] = xcalloc((ix->w[k].mask + 8) / 8 + 1, 1);
    s->eid_seen = xcalloc((ix->nelemids + 8) / 8 + 1, 1);
    for (size_t i = 0; i < n; i++) {
        const char *w = v[i].s;
        size_t top = v[i].n < ix->max_prefix ? v[i].n : ix->max_prefix;
        if (top >= 3 && !BIT(ix->pre3, pre3_hash(w)))
            top = 0;
        uint32_t h = 2166136261u;            /* FNV-1a, one byte at a time: every prefix's hash */
        const struct pat_wentry *e;
        for (size_t len = 1; len <= v[i].n; len++) {
            h = (h ^ (unsigned char)w[len - 1]) * 16777619u;
            if (len >= 3 && len <= top && BIT(ix->pfx, h & 65535u) &&
                (e = words_find(&ix->w[1], w, len, h)))
                scan_entry(s, 1, e, i);
        }
        if ((e = words_find(&ix->w[0], w, v[i].n, h)))
            scan_entry(s, 0, e, i);
        if (v[i].isnum && ix->num)
            scan_entry(s, 0, ix->num, i);
    }
}

void pat_scan_free(struct pat_scan *s)
{
    free(s->possible);
    free(s->seen[0]);
    free(s->seen[1]);
    free(s->eid_seen);
    if (s->lz) {
        free(s->lz->done);
        free(s->lz->off);
        free(s->lz->cnt);
        free(s->lz->pos);
        free(s->lz);
    }
    free(s->head);
    free(s->tail);
    free(s->hits);
    memset(s, 0, sizeof *s);
}
