/* test_text.c — the one text reader: words as slices with their normalised
 * form (case, accents, apostrophes, fractions, decimal points, slashes),
 * digit/letter pieces, number words, number prefixes, sentence ends, and
 * the FTS5 porter stemmer reached through xFindTokenizer (checked against
 * the stems an FTS5 table itself produces). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/text.c"

/* Input, options, then the expected words' normalised forms joined by '|'. */
static const struct { const char *in; unsigned opts; const char *want; } word_cases[] = {
    {"", 0, ""},
    {"Hello, World!", 0, "hello|world"},
    {"my 3yo won't sleep", 0, "my|3yo|won't|sleep"},
    {"she\xE2\x80\x99s fine", 0, "she's|fine"},
    {"`quoted' 'words'", 0, "quoted|words"},
    {"temp 38.5 at 2.", 0, "temp|38.5|at|2"},
    {"1.2.3", 0, "1.2.3"},            /* a version: no number */
    {"b/c mg/kg", 0, "b|c|mg|kg"},
    {"b/c mg/kg /x y/", TEXT_KEEP_SLASH, "b/c|mg/kg|x|y"},
    {"Convulsi\xC3\xB3n \xC5\x81\xC3\xB3\xC5\xBCko", 0, "convulsion|lozko"},
    {"NI\xC3\x91O stra\xC3\x9F" "e \xC3\x86on", 0, "nino|strasse|aeon"},
    {"\xC2\xBD tsp and \xC2\xBE", 0, "0.5|tsp|and|0.75"},
    {"\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 you", 0,   /* Cyrillic lowercased */
     "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82|you"},
    {"kh\xC3\xB4ng th\xE1\xBB\x9F \xC4\x91\xC6\xB0\xE1\xBB\xA3\x63", 0, "khong|tho|duoc"},  /* Vietnamese */
    {"Feti\xC8\x9B\x61 \xC8\x99i", 0, "fetita|si"},                    /* Romanian comma below */
    {"ab\xE6\x95\x91\xE5\x91\xBD!", 0, "ab|\xE6\x95\x91|\xE5\x91\xBD"},    /* CJK: a word per character */
    /* other scripts' digits read as ASCII digits, their punctuation as punctuation */
    {"\xD9\xA1\xD9\xA2 \xDA\xA9\xDB\x8C\xD9\x84\xD9\x88\xD8\x8C \xDB\xB1\xDB\xB6\xD8\x9F", 0,
     "12|\xDA\xA9\xDB\x8C\xD9\x84\xD9\x88|16"},                       /* Arabic, Persian */
    {"\xE0\xA5\xA9 \xE0\xA7\xAB\xE0\xA5\xA4 \xEF\xBC\x93\xEF\xBC\x98 \xE0\xB9\x92", 0, "3|5|38|2"},  /* Devanagari, Bengali, fullwidth, Thai */
    /* Thai pieces: ไม่หายใจ -> ไม่ หา ย ใจ; digits and Latin letters apart */
    {"\xE0\xB9\x84\xE0\xB8\xA1\xE0\xB9\x88\xE0\xB8\xAB\xE0\xB8\xB2\xE0\xB8\xA2\xE0\xB9\x83\xE0\xB8\x88", 0,
     "\xE0\xB9\x84\xE0\xB8\xA1\xE0\xB9\x88|\xE0\xB8\xAB\xE0\xB8\xB2|\xE0\xB8\xA2|\xE0\xB9\x83\xE0\xB8\x88"},
    {"ab\xE0\xB8\x81" "3", 0, "ab|\xE0\xB8\x81|3"},
    {"\xCE\xA0\xCF\x8E\xCF\x82 \xCF\x80\xCE\xB1\xCE\xB9\xCE\xB4\xCE\xAF", 0,      /* Greek: tonos folded */
     "\xCF\x80\xCF\x89\xCF\x82|\xCF\x80\xCE\xB1\xCE\xB9\xCE\xB4\xCE\xB9"},
    {"fire\xF0\x9F\x94\xA5now \xE2\x80\x94 dash", 0, "fire|now|dash"},
    {"bad \xFF byte", 0, "bad|byte"},
    {"x\xC3", 0, "x"},
    {"a\xC3\x97" "b", 0, "a|b"},
};

static void join_norms(const struct text_word *w, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "|" : "", w[i].norm);
}

static void test_words(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof word_cases / sizeof word_cases[0]; c++) {
        struct text_word w[32];
        char got[512];
        size_t n = text_words_opt(word_cases[c].in, strlen(word_cases[c].in), w, 32,
                                  word_cases[c].opts);
        join_norms(w, n, got, sizeof got);
        if (strcmp(got, word_cases[c].want) != 0)
            fail_msg("case %zu \"%s\": got \"%s\", want \"%s\"", c, word_cases[c].in, got,
                     word_cases[c].want);
    }
}

/* TEXT_STOP_AT_MAX: every max, the words written and their flags are those
 * of a full read, and reading max at a time from the end of the last word
 * (as safety.c's normaliser does) gives the full read's words. */
static void test_stop_at_max(void **state)
{
    static const char *const texts[] = {
        "Tylenol 5ml, then SLEEP. Half! she's 38.5 b/c mg/kg; it's ok",
        "a \xC2\xBD b\xC2\xBC c \xE5\xA5\xBD\xE5\x90\x97 d''e 'f' g. h - i (j) k\n l",
        "x y z ... 1.2.3 w' 'v t\xE2\x80\x99s \xC3\x89t\xC3\xA9 \xFF q",
        "", "   ", "one",
    };
    for (size_t c = 0; c < sizeof texts / sizeof *texts; c++)
        for (unsigned opts = 0; opts <= TEXT_KEEP_SLASH; opts++) {
            struct text_word all[64], part[64];
            size_t len = strlen(texts[c]);
            size_t total = text_words_opt(texts[c], len, all, 64, opts);
            assert_true(total < 64);
            for (size_t max = 1; max <= total + 1; max++) {
                size_t n = text_words_opt(texts[c], len, part, max, opts | TEXT_STOP_AT_MAX);
                assert_int_equal(n, total <= max ? total : max + 1);
                for (size_t i = 0; i < (n < max ? n : max); i++) {
                    assert_string_equal(part[i].norm, all[i].norm);
                    assert_int_equal(part[i].flags, all[i].flags);
                    assert_ptr_equal(part[i].ptr, all[i].ptr);
                    assert_int_equal(part[i].len, all[i].len);
                }
                /* max at a time */
                size_t off = 0, got = 0;
                for (;;) {
                    size_t k = text_words_opt(texts[c] + off, len - off, part, max,
                                              opts | TEXT_STOP_AT_MAX);
                    for (size_t i = 0; i < (k < max ? k : max); i++, got++) {
                        assert_string_equal(part[i].norm, all[got].norm);
                        assert_int_equal(part[i].flags, all[got].flags);
                    }
                    if (k <= max)
                        break;
                    off = (size_t)(part[max - 1].ptr + part[max - 1].len - texts[c]);
                }
                assert_int_equal(got, total);
            }
        }
}

/* The number words are ordered by length and number_len_at gives each
 * length's range: every one is found, with its value, and nothing else. */
static void test_number_words_by_length(void **state)
{
    (void)state;
    assert_int_equal(sizeof number_len_at, NUMBER_WORD_MAX - NUMBER_WORD_MIN + 2);
    assert_int_equal(number_len_at[sizeof number_len_at - 1], NNUMBER_WORDS);
    for (size_t i = 0; i < NNUMBER_WORDS; i++) {
        double v = -1;
        size_t n = number_words[i].n;
        assert_int_equal(strlen(number_words[i].w), n);
        assert_true(n >= NUMBER_WORD_MIN && n <= NUMBER_WORD_MAX);
        assert_true(i >= number_len_at[n - NUMBER_WORD_MIN] && i < number_len_at[n - NUMBER_WORD_MIN + 1]);
        assert_true(text_number(number_words[i].w, n, &v));
        assert_true(v == number_words[i].v);
    }
    double v;
    assert_false(text_number("once", 4, &v));
    assert_false(text_number("tens", 4, &v));
    assert_false(text_number("sevens", 6, &v));
    assert_false(text_number("seventeens", 10, &v));
}

static void test_word_slices_and_flags(void **state)
{
    const char *s = "Tylenol 5ml, then SLEEP. Half!";
    struct text_word w[8];
    (void)state;
    size_t n = text_words(s, strlen(s), w, 8);
    assert_int_equal(n, 5);
    assert_int_equal(w[0].ptr - s, 0);
    assert_int_equal(w[0].len, 7);
    assert_memory_equal(w[1].ptr, "5ml", 3);
    assert_true(w[1].flags & TEXT_DIGIT);
    assert_true(w[1].flags & TEXT_ALPHA);
    assert_false(w[1].flags & TEXT_NUMBER);
    assert_true(w[3].flags & TEXT_SENT_END);
    assert_false(w[2].flags & TEXT_SENT_END);
    assert_true(w[4].flags & TEXT_NUMBER);
    assert_true(w[4].num == 0.5);
    assert_true(w[4].flags & TEXT_SENT_END);
    /* an Arabic comma ends a clause, an Arabic question mark and a danda a sentence */
    const char *a = "\xD8\xA8\xD8\x8C \xD8\xAC\xD8\x9F \xE0\xA4\x95\xE0\xA5\xA4 x";
    n = text_words(a, strlen(a), w, 8);
    assert_int_equal(n, 4);
    assert_true(w[0].flags & TEXT_CLAUSE_END);
    assert_false(w[0].flags & TEXT_SENT_END);
    assert_true(w[1].flags & TEXT_SENT_END);
    assert_true(w[2].flags & TEXT_SENT_END);
    assert_true(w[1].len == 2);
}

static void test_words_bounded(void **state)
{
    char big[300];
    struct text_word w[2];
    (void)state;
    memset(big, 'a', sizeof big);
    size_t n = text_words(big, sizeof big, w, 2);
    assert_int_equal(n, 1);
    assert_int_equal(w[0].len, sizeof big);
    assert_int_equal(w[0].nlen, TEXT_WORD_MAX - 1);
    assert_int_equal(text_words("a b c d", 7, w, 2), 4);   /* counts past max */
    assert_string_equal(w[1].norm, "b");
}

static void test_pieces(void **state)
{
    static const struct { const char *w; const char *want; } cases[] = {
        {"3yo", "3|yo"}, {"5ml", "5|ml"}, {"38.5c", "38.5|c"}, {"abc", "abc"},
        {"a1b2", "a|1|b|2"}, {"", ""},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct text_span sp[8];
        char got[64];
        size_t o = 0, n = text_pieces(cases[c].w, strlen(cases[c].w), sp, 8);
        got[0] = '\0';
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%.*s", i ? "|" : "",
                                  (int)sp[i].len, cases[c].w + sp[i].off);
        assert_string_equal(got, cases[c].want);
    }
}

static void test_numbers(void **state)
{
    static const struct { const char *w; int ok; double v; } cases[] = {
        {"3", 1, 3}, {"38.5", 1, 38.5}, {"1.2.3", 0, 0}, {"three", 1, 3}, {"twenty", 1, 20},
        {"sixty", 1, 60}, {"half", 1, 0.5}, {"quarter", 1, 0.25}, {"zero", 1, 0},
        {"threes", 0, 0}, {"thre", 0, 0}, {"", 0, 0}, {"3a", 0, 0}, {"1234567890123456", 0, 0},
        {"seventy", 0, 0},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double v = -1;
        int ok = text_number(cases[c].w, strlen(cases[c].w), &v);
        if (ok != cases[c].ok || (ok && v != cases[c].v))
            fail_msg("\"%s\": got %d %g", cases[c].w, ok, v);
    }
    assert_true(text_number_prefix("tw", 2));
    assert_true(text_number_prefix("Seve", 4));
    assert_true(text_number_prefix("seven", 5));      /* seventeen */
    assert_false(text_number_prefix("sixty", 5));
    assert_false(text_number_prefix("xy", 2));
    assert_false(text_number_prefix("", 0));
}

static void test_sentence_end(void **state)
{
    static const struct { const char *s; size_t from; size_t want; } cases[] = {
        {"Hello there. Next", 0, 13},
        {"Hello there.", 0, 0},                   /* the next byte decides */
        {"e.g. this. Then", 0, 11},
        {"Dr. Smith said so! Yes", 0, 19},
        {"1. First. Second", 0, 10},
        {"It is 38.5 degrees. Ok", 0, 20},
        {"Really?! Yes", 0, 9},
        {"He said \"stop.\" Then", 0, 16},
        {"line one\nline two", 0, 9},
        {"\xE5\xA5\xBD\xE3\x80\x82more", 0, 6},
        {"no end here", 0, 0},
        {"A. B. C", 3, 6},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t got = text_sentence_end(cases[c].s, strlen(cases[c].s), cases[c].from);
        if (got != cases[c].want)
            fail_msg("\"%s\" from %zu: got %zu, want %zu", cases[c].s, cases[c].from, got,
                     cases[c].want);
    }
}

/* The stems must be the ones an FTS5 porter table stores. */
static void test_stem_matches_fts5(void **state)
{
    static const char *const words[] = {
        "sleeping", "naps", "tantrums", "running", "happily", "bedtime", "caresses",
        "ponies", "relational", "generalization", "feeding", "vomiting", "seizures", "a",
    };
    sqlite3 *db;
    sqlite3_stmt *st;
    (void)state;
    assert_int_equal(text_init(), 0);
    assert_int_equal(text_init(), 0);             /* idempotent */
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE VIRTUAL TABLE f USING fts5(x, tokenize='porter unicode61');"
                                      "CREATE VIRTUAL TABLE v USING fts5vocab(f, 'row');",
                                  NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char stem[64], sql[128];
        const unsigned char *want;
        assert_true(text_stem(words[i], strlen(words[i]), stem, sizeof stem) > 0);
        sqlite3_exec(db, "DELETE FROM f", NULL, NULL, NULL);
        snprintf(sql, sizeof sql, "INSERT INTO f VALUES('%s')", words[i]);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT term FROM v", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        want = sqlite3_column_text(st, 0);
        if (strcmp(stem, (const char *)want) != 0)
            fail_msg("%s: text_stem %s, fts5 %s", words[i], stem, want);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    char small[4];
    assert_int_equal(text_stem("sleeping", 8, small, sizeof small), 0);   /* does not fit */
    assert_int_equal(text_stem("", 0, small, sizeof small), 0);
    text_free();
    assert_int_equal(text_stem("sleeping", 8, small, sizeof small), 0);   /* closed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_stop_at_max),
        cmocka_unit_test(test_number_words_by_length),
        cmocka_unit_test(test_word_slices_and_flags),
        cmocka_unit_test(test_words_bounded),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_sentence_end),
        cmocka_unit_test(test_stem_matches_fts5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
