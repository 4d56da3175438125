/* fuzz_upsse.c — libFuzzer driver for the upstream SSE parser (src/upsse.c).
 *
 * Input layout: byte 0 picks the cap (bit 7: a tiny 48-byte max_line that
 * makes the fatal paths reachable, else the 64 KiB default) and how many
 * pieces to cut the stream into (bits 0-3: 1..16); bytes 1-2 seed the
 * generator that picks the cut points; the rest is the stream. The stream
 * is parsed whole, in those pieces, and one byte at a time, every piece in
 * its own exact-size heap block, and the three runs must agree on every
 * event (so in particular on the concatenated DELTA text) and on whether
 * the parse hit the fatal cap. Each event is also checked on its own:
 * DELTA/FINISH/ERROR text non-empty, valid UTF-8 without NUL. Leaks and
 * memory errors are ASan's job. Build and run with fuzz/Makefile. */
#include "upsse.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trace {
    char *s;            /* every event, serialized */
    size_t len, cap;
    char *deltas;       /* DELTA texts concatenated */
    size_t dlen, dcap;
    int fatal;
};

static void grow(char **s, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        *cap = (*len + n) * 2 + 64;
        *s = xrealloc(*s, *cap);
    }
    if (n) memcpy(*s + *len, p, n);
    *len += n;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_upsse: invariant broken: %s\n", what);
        abort();
    }
}

static void on_event(void *ctx, const struct upsse_event *ev)
{
    struct trace *t = ctx;
    char head[64];
    int n;

    if (ev->type == UPSSE_DELTA || ev->type == UPSSE_REASONING || ev->type == UPSSE_FINISH ||
        ev->type == UPSSE_ERROR) {
        check(ev->text != NULL && ev->len > 0, "text event without text");
        check(util_utf8_valid(ev->text, ev->len), "event text is not valid UTF-8");
    } else {
        check(ev->text == NULL && ev->len == 0, "text on a USAGE/DONE event");
    }
    if (ev->type == UPSSE_USAGE)
        check(ev->prompt_tokens >= -1 && ev->completion_tokens >= -1, "negative count");
    n = snprintf(head, sizeof head, "%d:%ld:%ld:%zu:", (int)ev->type,
                 ev->prompt_tokens, ev->completion_tokens, ev->len);
    grow(&t->s, &t->len, &t->cap, head, (size_t)n);
    grow(&t->s, &t->len, &t->cap, ev->text, ev->len);
    if (ev->type == UPSSE_DELTA) grow(&t->deltas, &t->dlen, &t->dcap, ev->text, ev->len);
}

/* Parses s[0..n) cut before each offset in cuts[0..ncuts) (ascending). */
static void run(struct trace *t, const char *s, size_t n, size_t max_line,
                const size_t *cuts, size_t ncuts)
{
    struct upsse *p = upsse_new(on_event, t, max_line);
    size_t start = 0;

    memset(t, 0, sizeof *t);
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        char *piece = xmalloc(end - start);
        memcpy(piece, s + start, end - start);
        if (upsse_feed(p, piece, end - start) < 0) t->fatal = 1;
        free(piece);
        start = end;
        if (t->fatal) {
            check(upsse_feed(p, "\n\n", 2) == -1, "feed accepted after fatal");
            break;
        }
    }
    check(upsse_finish(p) == 0, "finish failed");
    upsse_free(p);
}

static void same(const struct trace *a, const struct trace *b, const char *how)
{
    check(a->fatal == b->fatal, how);
    check(a->dlen == b->dlen && (a->dlen == 0 || memcmp(a->deltas, b->deltas, a->dlen) == 0), how);
    check(a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0), how);
}

static void done(struct trace *t)
{
    free(t->s);
    free(t->deltas);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace whole, split, bytes;
    size_t cuts[16], ncuts, n, max_line;
    uint32_t seed;
    const char *s;

    if (size < 3) return 0;
    max_line = (data[0] & 0x80) ? 48 : 0;
    ncuts = data[0] & 0x0F;
    seed = (uint32_t)data[1] << 8 | data[2];
    s = (const char *)data + 3;
    n = size - 3;

    for (size_t k = 0; k < ncuts; k++) {       /* an LCG: deterministic cuts */
        seed = seed * 1103515245u + 12345u;
        cuts[k] = n ? (seed >> 8) % (n + 1) : 0;
    }
    qsort(cuts, ncuts, sizeof cuts[0], cmp_size);

    run(&whole, s, n, max_line, NULL, 0);
    run(&split, s, n, max_line, cuts, ncuts);
    same(&whole, &split, "split parse differs from whole parse");
    if (n <= 4096) {
        size_t *all = xmalloc((n ? n : 1) * sizeof *all);
        for (size_t i = 0; i + 1 < n; i++) all[i] = i + 1;
        run(&bytes, s, n, max_line, all, n ? n - 1 : 0);
        same(&whole, &bytes, "byte-at-a-time parse differs from whole parse");
        done(&bytes);
        free(all);
    }
    done(&whole);
    done(&split);
    return 0;
}
