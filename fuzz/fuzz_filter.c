/* fuzz_filter.c — libFuzzer driver for the openai engine's look-behind
 * filter (filter_* in src/filter.c).
 *
 * Input layout: byte 0 picks how many pieces to cut the text into (bits
 * 0-3: 1..16), whether a hold callback is installed (bit 4) and how many
 * passages the answer was given (bits 5-7: 0..7); bytes 1-2 seed the
 * generator that picks the cut points; the rest is the model text, used
 * only when it is valid UTF-8 (the filter's contract). Cuts fall on
 * character starts, as deltas do.
 *
 * Checked for every input: each emit is non-empty, valid UTF-8; after
 * finish nothing is pending and the bytes released equal the bytes
 * emitted. Without a hold callback, the text shown must not depend on how
 * it was cut: fed in pieces and one character at a time it equals the text
 * fed whole, except for where a blank next to a dropped out-of-range marker
 * ends up ("a. [9]. b" whole keeps "a. . b", by characters "a.. b"), so
 * spaces and tabs are left out of that comparison. With the hold rules
 * (the shipped policy, policy/safety.json, run from the repository root or
 * named by SAFETY_POLICY) the contract is checked, the referral
 * appears at most once, and what is shown of a held sentence before the
 * referral has no digit followed by a dose unit. Leaks and memory errors are ASan's job. */
#include "filter.h"
#include "safety.h"
#include "text.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REFERRAL "[[REFERRAL]]"

static void sink_emit(void *ctx, const char *s, size_t len)
{
    if (len == 0 || !util_utf8_valid(s, len)) abort();
    strbuf_add(ctx, s, len);
}

static struct safety_policy *policy;
static struct filter_rules rules;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("SAFETY_POLICY");
    char err[512];
    (void)argc, (void)argv;
    if (safety_policy_load(path && *path ? path : "policy/safety.json", "US", &policy, err,
                           sizeof err)) {
        fprintf(stderr, "fuzz_filter: %s\n", err);
        abort();
    }
    rules = filter_rules_of(policy);
    rules.referral = REFERRAL;
    return 0;
}

/* 1 when a and b are equal once spaces and tabs are removed. */
static int same_words(const struct strbuf *a, const struct strbuf *b)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->len && (a->s[i] == ' ' || a->s[i] == '\t')) i++;
        while (j < b->len && (b->s[j] == ' ' || b->s[j] == '\t')) j++;
        if (i == a->len || j == b->len) return i == a->len && j == b->len;
        if (a->s[i++] != b->s[j++]) return 0;
    }
}

/* What is shown of a held sentence (the text before "… " and the
 * referral, from its sentence start) never has a digit followed by a dose
 * unit: the unit of a released number waits with the rest. */
static void held_heads_show_no_dose(const struct strbuf *out)
{
    static const char cutmark[] = "\xE2\x80\xA6 " REFERRAL;
    const char *s = out->s, *at;
    size_t from = 0;
    if (!s) return;
    while ((at = memmem(s + from, out->len - from, cutmark, strlen(cutmark))) != NULL) {
        size_t pos = (size_t)(at - s), start = from, e;
        while ((e = text_sentence_end(s, pos, start)) != 0 && e < pos) start = e;
        if (filter_has_dose(&rules, s + start, pos - start)) abort();
        from = pos + strlen(cutmark);
    }
}

static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static size_t char_start(const char *s, size_t len, size_t at)
{
    while (at < len && ((unsigned char)s[at] & 0xC0) == 0x80) at++;
    return at;
}

/* Feeds text cut as asked (pieces == 0: one character at a time). */
static void run(const char *text, size_t len, int with_hold, size_t nsrc, unsigned pieces,
                uint32_t seed, struct strbuf *out)
{
    static const struct filter_rules none = {.referral = REFERRAL};
    struct filter *f = filter_new_rules(with_hold ? &rules : &none, nsrc, sink_emit, out);
    size_t at = 0;
    memset(out, 0, sizeof *out);
    if (pieces == 0) {
        while (at < len) {
            size_t e = char_start(text, len, at + 1);
            filter_feed(f, text + at, e - at);
            at = e;
        }
    } else {
        uint32_t x = seed | 1;
        for (unsigned p = 1; p < pieces && at < len; p++) {
            size_t e = char_start(text, len, at + next_rand(&x) % (len - at + 1));
            filter_feed(f, text + at, e - at);
            at = e;
        }
        filter_feed(f, text + at, len - at);
    }
    filter_finish(f);
    if (filter_pending(f) != 0 || filter_released(f) != out->len) abort();
    filter_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strbuf whole, cut, bytes;
    const char *text;
    size_t len, nsrc;
    unsigned pieces;
    int with_hold;
    uint32_t seed;

    if (size < 3) return 0;
    pieces = (data[0] & 15u) + 1;
    with_hold = (data[0] >> 4) & 1;
    nsrc = data[0] >> 5;
    seed = (uint32_t)data[1] << 8 | data[2];
    text = (const char *)data + 3;
    len = size - 3;
    if (!util_utf8_valid(text, len) || memchr(text, '\0', len)) return 0;

    run(text, len, with_hold, nsrc, 1, seed, &whole);
    run(text, len, with_hold, nsrc, pieces, seed, &cut);
    run(text, len, with_hold, nsrc, 0, seed, &bytes);
    if (!with_hold) {
        if (!same_words(&whole, &cut) || !same_words(&whole, &bytes)) abort();
    } else if (!memmem(text, len, REFERRAL, strlen(REFERRAL)) &&
               !memmem(text, len, "\xE2\x80\xA6", 3)) {
        const char *r = cut.s ? strstr(cut.s, REFERRAL) : NULL;
        if (r && strstr(r + 1, REFERRAL)) abort();
        held_heads_show_no_dose(&cut);
        held_heads_show_no_dose(&bytes);
    }
    free(whole.s);
    free(cut.s);
    free(bytes.s);
    return 0;
}
