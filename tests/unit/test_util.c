/* test_util.c — the shared helpers: UTF-8 validation and length (every
 * class of malformed input the validator must refuse), random ids (length,
 * alphabet, uniqueness, buffer bounds), id validation and ISO-8601
 * timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util.c"

/* Byte strings with an explicit length, so embedded NULs are kept. */
struct bytes { const char *s; size_t len; const char *what; };
#define B(lit, what) { lit, sizeof(lit) - 1, what }

static const struct bytes valid_utf8[] = {
    B("", "empty"),
    B("hello, world", "ASCII"),
    B("\x7F", "DEL is ASCII"),
    B("caf\xC3\xA9", "2-byte e-acute"),
    B("\xC2\x80", "smallest 2-byte U+0080"),
    B("\xDF\xBF", "largest 2-byte U+07FF"),
    B("\xE0\xA0\x80", "smallest 3-byte U+0800"),
    B("\xE2\x82\xAC", "3-byte euro sign"),
    B("\xED\x9F\xBF", "U+D7FF just below the surrogates"),
    B("\xEE\x80\x80", "U+E000 just above the surrogates"),
    B("\xEF\xBF\xBF", "U+FFFF"),
    B("\xF0\x90\x80\x80", "smallest 4-byte U+10000"),
    B("\xF0\x9F\x98\x80", "4-byte emoji"),
    B("\xF4\x8F\xBF\xBF", "U+10FFFF, the last code point"),
    B("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z", "mixed widths"),
};

static const struct bytes invalid_utf8[] = {
    B("\xC0\x80", "overlong NUL (C0 80)"),
    B("\xC1\xBF", "overlong 2-byte (C1)"),
    B("\xE0\x80\x80", "overlong 3-byte (E0 80 80)"),
    B("\xE0\x9F\xBF", "overlong 3-byte U+07FF"),
    B("\xF0\x80\x80\x80", "overlong 4-byte"),
    B("\xF0\x8F\xBF\xBF", "overlong 4-byte U+FFFF"),
    B("\xED\xA0\x80", "high surrogate D800"),
    B("\xED\xBF\xBF", "low surrogate DFFF"),
    B("\xF4\x90\x80\x80", "above U+10FFFF"),
    B("\xF5\x80\x80\x80", "F5 lead byte"),
    B("\xFF", "FF byte"),
    B("\xFE", "FE byte"),
    B("\x80", "lone continuation byte"),
    B("a\xBF" "b", "continuation byte between ASCII"),
    B("\xC3", "truncated 2-byte at end"),
    B("ok\xE2\x82", "truncated 3-byte at end"),
    B("ok\xF0\x9F\x98", "truncated 4-byte at end"),
    B("\xE2\x82" "A", "3-byte cut by ASCII"),
    B("\xC3\xC3\xA9", "lead byte where continuation expected"),
    B("a\0b", "embedded NUL"),
    B("\0", "lone NUL"),
    B("abc\0", "trailing NUL"),
};

static void test_utf8_valid_accepts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid_utf8 / sizeof valid_utf8[0]; i++) {
        if (util_utf8_valid(valid_utf8[i].s, valid_utf8[i].len) != 1)
            fail_msg("rejected valid UTF-8: %s", valid_utf8[i].what);
    }
}

static void test_utf8_valid_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof invalid_utf8 / sizeof invalid_utf8[0]; i++) {
        if (util_utf8_valid(invalid_utf8[i].s, invalid_utf8[i].len) != 0)
            fail_msg("accepted invalid UTF-8: %s", invalid_utf8[i].what);
    }
}

static void test_utf8_valid_respects_len(void **state)
{
    (void)state;
    /* The length bounds the check: a valid prefix of a longer buffer is
     * valid, and a sequence cut by len is truncated even if the buffer
     * continues. */
    const char *s = "ab\xC3\xA9";
    assert_int_equal(util_utf8_valid(s, 2), 1);
    assert_int_equal(util_utf8_valid(s, 3), 0);
    assert_int_equal(util_utf8_valid(s, 4), 1);
    assert_int_equal(util_utf8_valid("\xF0\x9F\x98\x80", 3), 0);
}

static void test_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(util_utf8_len("", 0), 0);
    assert_int_equal(util_utf8_len("hello", 5), 5);
    assert_int_equal(util_utf8_len("caf\xC3\xA9", 5), 4);
    assert_int_equal(util_utf8_len("\xE2\x82\xAC", 3), 1);
    assert_int_equal(util_utf8_len("\xF0\x9F\x98\x80", 4), 1);
    assert_int_equal(util_utf8_len("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z", 11), 5);
    /* counts only within len */
    assert_int_equal(util_utf8_len("abcdef", 3), 3);
}

static int in_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void test_random_id(void **state)
{
    (void)state;
    char a[32], b[32];
    assert_int_equal(util_random_id(a, sizeof a, 16), 0);
    assert_int_equal(util_random_id(b, sizeof b, 16), 0);
    assert_int_equal(strlen(a), 22);
    assert_int_equal(strlen(b), 22);
    for (size_t i = 0; i < 22; i++) {
        if (!in_alphabet(a[i])) fail_msg("not URL-safe: 0x%02x", (unsigned char)a[i]);
        if (!in_alphabet(b[i])) fail_msg("not URL-safe: 0x%02x", (unsigned char)b[i]);
    }
    assert_string_not_equal(a, b);
    assert_int_equal(util_id_valid(a), 1);
}

static void test_random_id_lengths(void **state)
{
    (void)state;
    char out[128];
    /* ceil(8*bytes/6) characters */
    static const struct { size_t bytes, chars; } cases[] = {
        {1, 2}, {2, 3}, {3, 4}, {4, 6}, {12, 16}, {16, 22}, {32, 43}, {64, 86},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(out, 'X', sizeof out);
        assert_int_equal(util_random_id(out, sizeof out, cases[i].bytes), 0);
        assert_int_equal(strlen(out), cases[i].chars);
    }
}

static void test_random_id_bounds(void **state)
{
    (void)state;
    char out[128];
    /* 16 bytes need 22 chars + NUL: 23 fits exactly, 22 does not. */
    memset(out, 'X', sizeof out);
    assert_int_equal(util_random_id(out, 23, 16), 0);
    assert_int_equal(strlen(out), 22);
    memset(out, 'X', sizeof out);
    assert_int_equal(util_random_id(out, 22, 16), -1);
    assert_int_equal(out[0], 'X');          /* nothing written */
    assert_int_equal(util_random_id(out, 0, 16), -1);
    /* more random bytes than the internal buffer */
    assert_int_equal(util_random_id(out, sizeof out, 65), -1);
}

static void test_many_random_ids_distinct(void **state)
{
    (void)state;
    enum { N = 200 };
    static char ids[N][32];
    for (int i = 0; i < N; i++) assert_int_equal(util_random_id(ids[i], sizeof ids[i], 16), 0);
    for (int i = 0; i < N; i++)
        for (int k = i + 1; k < N; k++)
            assert_string_not_equal(ids[i], ids[k]);
}

static void test_id_valid(void **state)
{
    (void)state;
    char s64[66], s65[67];
    memset(s64, 'a', 64);
    s64[64] = '\0';
    memset(s65, 'b', 65);
    s65[65] = '\0';

    assert_int_equal(util_id_valid(NULL), 0);
    assert_int_equal(util_id_valid(""), 0);
    assert_int_equal(util_id_valid("a"), 1);
    assert_int_equal(util_id_valid("AZaz09-_"), 1);
    assert_int_equal(util_id_valid(s64), 1);
    assert_int_equal(util_id_valid(s65), 0);
    assert_int_equal(util_id_valid("a.b"), 0);
    assert_int_equal(util_id_valid(".."), 0);
    assert_int_equal(util_id_valid("a/b"), 0);
    assert_int_equal(util_id_valid("a%2F"), 0);
    assert_int_equal(util_id_valid("a b"), 0);
    assert_int_equal(util_id_valid("a:1"), 0);
    assert_int_equal(util_id_valid("caf\xC3\xA9"), 0);
    assert_int_equal(util_id_valid("abc\n"), 0);
}

static void test_iso8601(void **state)
{
    (void)state;
    static const struct { uint64_t ms; const char *want; } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1, "1970-01-01T00:00:00.001Z"},
        {999, "1970-01-01T00:00:00.999Z"},
        {1000, "1970-01-01T00:00:01.000Z"},
        {1700000000123ULL, "2023-11-14T22:13:20.123Z"},
        {951782400000ULL, "2000-02-29T00:00:00.000Z"},      /* leap day */
        {1798761599999ULL, "2026-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];   /* more than the 25 needed: gcc's truncation check */
        memset(out, 'X', sizeof out);
        util_iso8601(cases[i].ms, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_iso8601_bounded(void **state)
{
    (void)state;
    /* The documented size (25) fits exactly; a smaller buffer truncates
     * and stays terminated, never overruns. */
    char out[64];
    /* volatile: opaque to gcc's -Wformat-truncation, which cannot know the
     * year has four digits */
    volatile size_t exact = 25, small = 10;
    memset(out, 'X', sizeof out);
    util_iso8601(1700000000123ULL, out, exact);
    assert_string_equal(out, "2023-11-14T22:13:20.123Z");
    memset(out, 'X', sizeof out);
    util_iso8601(1700000000123ULL, out, small);
    assert_string_equal(out, "2023-11-1");
    assert_int_equal(out[10], 'X');
}

static void test_clocks(void **state)
{
    (void)state;
    uint64_t a = util_now_ms(), w = util_wall_ms();
    uint64_t b = util_now_ms();
    assert_true(b >= a);
    /* the wall clock is after 2023-11-14 */
    assert_true(w > 1700000000000ULL);
}

static void test_xalloc(void **state)
{
    (void)state;
    char *p = xstrndup("abcdef", 3);
    char *q = xstrdup("");
    int *z = xcalloc(4, sizeof *z);
    assert_string_equal(p, "abc");
    assert_string_equal(q, "");
    for (int i = 0; i < 4; i++) assert_int_equal(z[i], 0);
    z = xrealloc(z, 100 * sizeof *z);
    z[99] = 7;
    assert_int_equal(z[99], 7);
    free(p);
    free(q);
    free(z);
}

/* util_topk_push keeps the best k, higher score first, an equal score by
 * the lower id first (a fixed rule: kb.c's run_query keeps its candidates
 * with it), whatever order the entries come in. */
static void test_topk(void **state)
{
    (void)state;
    struct util_scored top[3];
    size_t n = 0;
    assert_int_equal(util_topk_push(top, &n, 0, 1.0, 1), 0);
    assert_int_equal(n, 0);
    assert_int_equal(util_topk_push(top, &n, 3, 1.0, 5), 1);
    assert_int_equal(util_topk_push(top, &n, 3, 3.0, 9), 1);
    assert_int_equal(util_topk_push(top, &n, 3, 2.0, 7), 1);
    assert_int_equal(n, 3);
    assert_true(top[0].id == 9 && top[1].id == 7 && top[2].id == 5);
    assert_int_equal(util_topk_push(top, &n, 3, 0.5, 1), 0);   /* below the last */
    assert_int_equal(util_topk_push(top, &n, 3, 1.0, 6), 0);   /* a tie, higher id */
    assert_int_equal(util_topk_push(top, &n, 3, 1.0, 4), 1);   /* a tie, lower id */
    assert_true(top[2].id == 4 && top[2].score == 1.0);
    assert_int_equal(util_topk_push(top, &n, 3, 3.0, 2), 1);   /* ties the first */
    assert_int_equal(n, 3);
    assert_true(top[0].id == 2 && top[1].id == 9 && top[2].id == 7);
    /* against a full sort: 200 pseudo-random scores with many ties */
    {
        struct util_scored best[10], all[200];
        size_t nb = 0;
        uint32_t r = 12345;
        for (int i = 0; i < 200; i++) {
            r = r * 1103515245u + 12345u;
            all[i] = (struct util_scored){(double)((r >> 16) % 20), 200 - i};
            util_topk_push(best, &nb, 10, all[i].score, all[i].id);
        }
        for (int i = 0; i < 200; i++)            /* selection sort of all */
            for (int j = i + 1; j < 200; j++)
                if (all[j].score > all[i].score ||
                    (all[j].score == all[i].score && all[j].id < all[i].id)) {
                    struct util_scored tmp = all[i];
                    all[i] = all[j];
                    all[j] = tmp;
                }
        assert_int_equal(nb, 10);
        for (int i = 0; i < 10; i++) {
            assert_true(best[i].score == all[i].score);
            assert_int_equal(best[i].id, all[i].id);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_accepts),
        cmocka_unit_test(test_utf8_valid_rejects),
        cmocka_unit_test(test_utf8_valid_respects_len),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_random_id),
        cmocka_unit_test(test_random_id_lengths),
        cmocka_unit_test(test_random_id_bounds),
        cmocka_unit_test(test_many_random_ids_distinct),
        cmocka_unit_test(test_id_valid),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_iso8601_bounded),
        cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_xalloc),
        cmocka_unit_test(test_topk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
