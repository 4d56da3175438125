/* fuzz_pattern.c — libFuzzer driver for the pattern language (pattern.c).
 *
 * The input is split at its first NUL byte into a pattern source and a
 * token stream (space-separated words; digits make a number). The source
 * is compiled against a few word classes (one refers to itself, one is
 * rewritten); a compile either succeeds or says why in a NUL-ended message
 * that names the place. Then the source, if it compiled, and a few fixed
 * patterns covering every element kind are matched against the tokens,
 * without and with the anchor index, at every start: the index must
 * never rule out a match nor move one, every match must lie inside the
 * tokens, and a match found by pat_find must be one pat_match_at gives. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct blk { struct blk *next; unsigned char d[]; };

static void *fz_alloc(void *actx, size_t n)
{
    struct blk **head = actx, *b = calloc(1, sizeof *b + n);
    if (!b) abort();
    b->next = *head;
    *head = b;
    return b->d;
}

static int fz_rewritten(void *rctx, const char *w, size_t n)
{
    (void)rctx;
    return n == 3 && memcmp(w, "pls", 3) == 0;
}

static const char *const m_k[] = {"kill", "hurt (my|our) self", "stab*"};
static const char *const m_n[] = {"@k", "#1..5 pills"};
static const char *const m_self[] = {"x", "@self"};
static const char *const m_bad[] = {"ok", NULL};

static const char *const fixed[] = {
    "kill", "suicid* ~2 (now|tonight|)", "#0..12 (month|months) old", "_ ~3 @k",
    "(not|no) ~1 @n", "a b c ~12 d", "swallow* ... (pill|pills|@k)", "give #1..100 (mg|ml)",
};

static void check(const struct pat_pattern *p, const struct pat_input *plain,
                  const struct pat_input *indexed)
{
    size_t s1, e1, s2, e2, end;
    for (size_t from = 0; from <= plain->n; from++) {
        int r1 = pat_find(p, plain, from, &s1, &e1);
        int r2 = pat_find(p, indexed, from, &s2, &e2);
        if (r1 != r2 || (r1 && (s1 != s2 || e1 != e2))) abort();
        if (r1 && !pat_possible(p, indexed)) abort();
        if (r1 && (s1 < from || e1 < s1 || e1 > plain->n)) abort();
        if (r1 && (!pat_match_at(p, plain, s1, &end) || end != e1)) abort();
        if (!r1) break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    struct blk *arena = NULL;
    struct pat_tok tok[512];
    struct pat_pattern pats[sizeof fixed / sizeof *fixed + 1];
    const struct pat_pattern *pp[sizeof fixed / sizeof *fixed + 1];
    struct pat_class cls[] = {
        {"k", m_k, 3, NULL, 0, 0}, {"n", m_n, 2, NULL, 0, 0},
        {"self", m_self, 2, NULL, 0, 0}, {"bad", m_bad, 2, NULL, 0, 0},
    };
    static struct pat_compiler c;
    size_t np = 0, nt = 0;
    if (!buf) abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    memset(&c, 0, sizeof c);
    c.alloc = fz_alloc;
    c.actx = &arena;
    c.default_gap = 6;
    c.rewritten = fz_rewritten;
    c.classes = cls;
    c.nclasses = 4;
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        if (pat_compile(&c, fixed[i], "fixed", &pats[np]) < 0) abort();
        pats[np].id = (uint32_t)np;
        pp[np] = &pats[np];
        np++;
    }
    if (pat_compile(&c, buf, "fuzz", &pats[np]) == 0) {
        if (pats[np].n == 0 || !pats[np].src) abort();
        pats[np].id = (uint32_t)np;
        pp[np] = &pats[np];
        np++;
    } else if (strncmp(c.err, "fuzz", 4) != 0 && strncmp(c.err, "classes.", 8) != 0) {
        abort();                              /* a message names where */
    }
    /* the tokens: after the first NUL, else the source itself */
    size_t at = strlen(buf) < size ? strlen(buf) + 1 : 0;
    for (size_t i = at; i < size && nt < 512;) {
        while (i < size && (buf[i] == ' ' || buf[i] == '\0')) i++;
        size_t st = i;
        while (i < size && buf[i] != ' ' && buf[i] != '\0') i++;
        if (i == st) break;
        struct pat_tok *t = &tok[nt++];
        t->s = buf + st;
        t->n = i - st;
        t->isnum = buf[st] >= '0' && buf[st] <= '9';
        t->num = t->isnum ? strtod(buf + st, NULL) : 0;
        t->flags = 0;
    }
    struct pat_index *ix = pat_index_build(pp, np);
    struct pat_scan sc;
    pat_scan_init(&sc, ix, tok, nt);
    unsigned char mask[512];
    for (size_t i = 0; i < nt; i++) mask[i] = (unsigned char)(tok[i].n == 2);
    struct pat_input plain = {tok, nt, NULL, NULL}, indexed = {tok, nt, NULL, &sc};
    struct pat_input mplain = {tok, nt, mask, NULL}, mindexed = {tok, nt, mask, &sc};
    for (size_t i = 0; i < np; i++) {
        check(pp[i], &plain, &indexed);
        check(pp[i], &mplain, &mindexed);
    }
    pat_scan_free(&sc);
    pat_index_free(ix);
    while (arena) {
        struct blk *next = arena->next;
        free(arena);
        arena = next;
    }
    free(buf);
    return 0;
}
