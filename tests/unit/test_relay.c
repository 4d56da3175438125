/* test_relay.c — table tests for the openai engine's pure policy
 * (src/filter.c, src/prompt.c): citation markers, sentence ends, dose patterns, the
 * look-behind filter (held dose sentences, out-of-range markers, long runs,
 * every split point), history trimming, the request body, the
 * prompt's version line and citations. The filter is driven with a fake
 * hold rule ("ibuprofen" and a digit in the same sentence) so these tests
 * do not depend on the policy file; test_engine_openai.c uses the real one. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/util.c"
#include "../../src/url.c"
#include "../../src/safety.c"
#include "../../src/tmodel.c"
#include "../../src/gloss.c"
#include "../../src/spell.c"
#include "../../src/filter.c"
#include "../../src/prompt.c"
#include "../../src/text.c"
#include "../../bench/model_delta.h"

/* The shipped policy (its output.dose_units are the units), loaded once. */
static struct safety_policy *shipped;

static struct safety_policy *shipped_policy(void)
{
    char err[512];
    if (!shipped && safety_policy_load("policy/safety.json", "US", &shipped, err, sizeof err))
        fail_msg("policy: %s", err);
    return shipped;
}


/* ---------- markers ---------- */

struct mark_case { const char *in; size_t k; const char *out; uint64_t cited; };

static const struct mark_case mark_cases[] = {
    {"Keep a routine [1].", 2, "Keep a routine [1].", FILTER_BIT(1)},
    {"rhythm [9].", 2, "rhythm.", 0},
    {"a [0] b", 2, "a b", 0},
    {"[1][9]", 2, "[1]", FILTER_BIT(1)},
    {"x [9][1].", 2, "x [1].", FILTER_BIT(1)},
    {"calm [1, 9].", 2, "calm [1].", FILTER_BIT(1)},
    {"calm [9, 2].", 2, "calm [2].", FILTER_BIT(2)},
    {"calm [1,2,9].", 2, "calm [1,2].", FILTER_BIT(1) | FILTER_BIT(2)},
    {"calm [1, 2].", 2, "calm [1, 2].", FILTER_BIT(1) | FILTER_BIT(2)},
    {"calm [1, 1].", 2, "calm [1].", FILTER_BIT(1)},
    {"[9] Keep", 2, "Keep", 0},
    {"line\n[9] Keep", 2, "line\nKeep", 0},
    {"in [2023] we", 2, "in [2023] we", 0},       /* 4 digits: not a marker */
    {"[a] [1 [] [1,] [", 2, "[a] [1 [] [1,] [", 0},
    {"ok [3]", 3, "ok [3]", FILTER_BIT(3)},
    {"ok [4]", 3, "ok", 0},
    {"see [1].", 0, "see.", 0},
    {"[5][6] both", 5, "[5] both", FILTER_BIT(5)},
    {"no markers at all", 5, "no markers at all", 0},
};

static void test_fix_markers_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mark_cases / sizeof mark_cases[0]; i++) {
        const struct mark_case *c = &mark_cases[i];
        size_t len = strlen(c->in);
        char *out = malloc(len + 1);       /* exactly len: ASan checks "never grows" */
        uint64_t cited = 0;
        size_t n = filter_fix_markers(c->in, len, c->k, out, &cited);
        out[n] = '\0';
        if (strcmp(out, c->out) != 0 || cited != c->cited)
            fail_msg("case %zu: '%s' k=%zu -> '%s' cited=%llx, want '%s' %llx", i, c->in, c->k,
                     out, (unsigned long long)cited, c->out, (unsigned long long)c->cited);
        free(out);
    }
}

/* ---------- sentence ends and doses ---------- */

struct end_case { const char *s; size_t from, end; };

static const struct end_case end_cases[] = {
    {"Hello. World", 0, 7},
    {"Hello.", 0, 0},                       /* the next byte decides */
    {"Hello.\nNext", 0, 7},
    {"line\nmore", 0, 5},
    {"1. Keep a calm routine", 0, 0},       /* list number */
    {"Use e.g. this one", 0, 0},            /* abbreviation */
    {"Ask Dr. Lee first. Then", 0, 19},
    {"Wait... then", 0, 8},
    {"Done!) Next", 0, 7},
    {"He said \xE2\x80\x9Cstop.\xE2\x80\x9D Then", 0, 20},
    {"Give 2.5 ml", 0, 0},
    {"\xE4\xB8\xAD\xE6\x96\x87\xE3\x80\x82\xE4\xB8\x8B", 0, 9},
    {"routine [1]. 2. Dim the lights", 0, 13},
    {"A. B. C", 3, 6},
    {"Is it ok? Yes", 0, 10},
    {"**Stop.** Now", 0, 10},
};

static void test_sentence_end_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof end_cases / sizeof end_cases[0]; i++) {
        const struct end_case *c = &end_cases[i];
        size_t e = text_sentence_end(c->s, strlen(c->s), c->from);
        if (e != c->end) fail_msg("case %zu '%s': end %zu, want %zu", i, c->s, e, c->end);
    }
}

static void test_has_dose(void **state)
{
    static const struct { const char *s; int want; } cases[] = {
        {"Give 5 ml of", 1}, {"5ml", 1}, {"2.5 mg/kg", 1}, {"1 teaspoon", 1},
        {"3 Tablets", 1}, {"2-3 drops", 1}, {"5 \xC2\xB5g", 1}, {"100 ml of water", 1},
        {"10-15 ML", 1}, {"2 puffs", 1}, {"two teaspoons", 0}, {"10 minutes", 0},
        {"3 years old", 0}, {"5 going", 0}, {"age 2", 0}, {"every 6 hours", 0},
        {"mg without a number", 0}, {"", 0}, {"room 12g", 1},
    };
    struct safety_policy *p = shipped_policy();
    struct filter_rules r = filter_rules_of(p);
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (filter_has_dose(&r, cases[i].s, strlen(cases[i].s)) != cases[i].want)
            fail_msg("'%s': want %d", cases[i].s, cases[i].want);
}

/* ---------- the filter ---------- */

#define REFERRAL "[[REFERRAL]]"

struct sink {
    char out[16384];
    size_t len;
    int emits;
};

static int fake_hold(void *ctx, const char *s, size_t len)
{
    int digit = 0;
    (void)ctx;
    for (size_t i = 0; i < len; i++) digit |= s[i] >= '0' && s[i] <= '9';
    return digit && memmem(s, len, "ibuprofen", 9) != NULL;
}

/* Numbers as the policy reads them, for a few words: digits, "five",
 * "twenty", and their beginnings when the word may still grow. */
static int fake_number(void *ctx, const char *w, size_t len, int partial)
{
    static const char *const nw[] = {"five", "twenty"};
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        if (w[i] >= '0' && w[i] <= '9') return 1;
    for (size_t i = 0; i < 2; i++)
        if ((len == strlen(nw[i]) || (partial && len < strlen(nw[i]))) &&
            strncasecmp(w, nw[i], len) == 0)
            return 1;
    return 0;
}

/* The fake policy: any number may still become a dose (an "ibuprofen"
 * later in the sentence would make it one), so a sentence waits from its
 * first number to its end. */
static const char *const fake_continuations[] = {"ibuprofen"};

/* Dose units are the shipped policy's (output.dose_units). */
static int fake_dose_unit(void *ctx, const char *w, size_t len, int partial)
{
    (void)ctx;
    return safety_output_dose_unit(shipped_policy(), w, len, partial);
}

static const struct filter_rules fake_rules = {
    .hold = fake_hold, .number = fake_number, .dose_unit = fake_dose_unit,
    .continuations = fake_continuations,
    .ncontinuations = 1, .referral = REFERRAL,
};
static const struct filter_rules no_hold_rules = {.referral = REFERRAL};

static void sink_emit(void *ctx, const char *s, size_t len)
{
    struct sink *k = ctx;
    assert_true(len > 0);
    assert_true(k->len + len < sizeof k->out);
    memcpy(k->out + k->len, s, len);
    k->len += len;
    k->out[k->len] = '\0';
    k->emits++;
}

static struct filter *mk(struct sink *k, size_t nsources)
{
    memset(k, 0, sizeof *k);
    return filter_new_rules(&fake_rules, nsources, sink_emit, k);
}

/* Feeds s split at the given offsets (sorted, ending with (size_t)-1). */
static void feed_split(struct filter *f, const char *s, const size_t *cuts)
{
    size_t at = 0, len = strlen(s);
    for (; *cuts != (size_t)-1 && *cuts <= len; cuts++) {
        filter_feed(f, s + at, *cuts - at);
        at = *cuts;
    }
    filter_feed(f, s + at, len - at);
    filter_finish(f);
}

static void run(const char *s, size_t k, const size_t *cuts, struct sink *out, uint64_t *cited)
{
    struct filter *f = mk(out, k);
    feed_split(f, s, cuts);
    if (cited) *cited = filter_cited(f);
    assert_int_equal(filter_pending(f), 0);
    assert_int_equal(filter_released(f), out->len);
    filter_free(f);
}

/* Feeds one piece and returns what it released (the sink's new bytes). */
static const char *step(struct filter *f, struct sink *k, const char *piece)
{
    static char got[512];
    size_t before = k->len;
    filter_feed(f, piece, strlen(piece));
    size_t n = strlen(k->out + before);
    if (n >= sizeof got) n = sizeof got - 1;
    memcpy(got, k->out + before, n);
    got[n] = '\0';
    return got;
}

static void test_filter_streams_words(void **state)
{
    struct sink k;
    struct filter *f = mk(&k, 2);
    (void)state;
    /* each word goes out with the piece that brings it; blanks go with
     * the next word; a fragment goes out when it cannot become a number */
    assert_string_equal(step(f, &k, "I"), "I");
    assert_string_equal(step(f, &k, " hear"), " hear");
    assert_string_equal(step(f, &k, " you, bed"), " you, bed");
    assert_string_equal(step(f, &k, "time "), "time");
    assert_string_equal(step(f, &k, "is hard"), " is hard");
    assert_string_equal(step(f, &k, "."), ".");
    assert_string_equal(step(f, &k, " Keep"), " Keep");
    /* a marker waits until it closes, then goes out fixed */
    assert_string_equal(step(f, &k, " a routine ["), " a routine");
    assert_string_equal(step(f, &k, "1"), "");
    assert_string_equal(step(f, &k, "] at night"), " [1] at night");
    /* "tw" may become "twenty": it waits for the next piece */
    assert_string_equal(step(f, &k, " and tw"), " and");
    assert_string_equal(step(f, &k, "ice a day"), " twice a day");
    filter_finish(f);
    assert_string_equal(k.out, "I hear you, bedtime is hard. Keep a routine [1] at night and "
                               "twice a day");
    assert_int_equal(filter_cited(f), FILTER_BIT(1));
    filter_free(f);
}

static void test_filter_waits_from_first_number(void **state)
{
    struct sink k;
    struct filter *f = mk(&k, 2);
    (void)state;
    assert_string_equal(step(f, &k, "Most toddlers need about"), "Most toddlers need about");
    assert_string_equal(step(f, &k, " 12"), "");
    assert_string_equal(step(f, &k, " hours of sleep"), "");   /* waits for the end */
    assert_string_equal(step(f, &k, " [2]. Naps"), " 12 hours of sleep [2]. Naps");
    /* a list number at a line start is not an amount */
    assert_string_equal(step(f, &k, " help.\n2. Keep"), " help.\n2. Keep");
    assert_string_equal(step(f, &k, " calm. 3."), " calm. 3.");
    assert_string_equal(step(f, &k, " Keep it 2 ways"), " Keep it");
    filter_finish(f);
    assert_string_equal(k.out, "Most toddlers need about 12 hours of sleep [2]. Naps help.\n"
                               "2. Keep calm. 3. Keep it 2 ways");
    filter_free(f);
}

static const char dose_text[] =
    "Fevers are common and usually pass in a few days [1]. "
    "Give 5 ml of infant ibuprofen every 6 hours. "
    "Offer fluids often and let your child rest [2].";

/* A sentence's end seen only after its last word went out: the next
 * sentence is checked on its own, but "e.g." ends nothing. */
static void test_filter_end_after_released_word(void **state)
{
    struct sink k;
    struct filter *f = mk(&k, 1);
    (void)state;
    assert_string_equal(step(f, &k, "Try ibuprofen."), "Try ibuprofen.");
    assert_string_equal(step(f, &k, " 5 ml now."), "");
    filter_finish(f);
    assert_string_equal(k.out, "Try ibuprofen. 5 ml now.");   /* two sentences */
    filter_free(f);

    f = mk(&k, 1);
    assert_string_equal(step(f, &k, "Try ibuprofen, e.g."), "Try ibuprofen, e.g.");
    assert_string_equal(step(f, &k, " 5 ml now."), "");
    filter_finish(f);
    assert_string_equal(k.out, "Try ibuprofen, e.g. \xE2\x80\xA6 " REFERRAL);   /* one */
    assert_int_equal(filter_held(f), 1);
    filter_free(f);
}

/* Found by fuzz/fuzz_filter.c: what is shown must not depend on the cut. */
static void test_filter_cut_independent(void **state)
{
    static const struct { const char *a, *b, *want; size_t k; } cases[] = {
        /* a dropped marker after a word keeps the blank after it */
        {"Sleep well", "[9] and rest.", "Sleep well and rest.", 1},
        {"Sleep well[9]", " and rest.", "Sleep well and rest.", 1},
        /* "[9][1]": the kept marker keeps the blank before the pair */
        {"A steady rhythm [9]", "[1].", "A steady rhythm [1].", 1},
        {"A steady rhythm [9][1", "].", "A steady rhythm [1].", 1},
        /* a marker with a long run of blanks is still a marker */
        {"Rest [2,                            ", "9] well.", "Rest [2] well.", 3},
    };
    (void)state;
    for (size_t i = 0; i < 2 * (sizeof cases / sizeof cases[0]); i++) {
        struct sink k;
        size_t c = i / 2;
        struct filter *f = mk(&k, cases[c].k);
        if (i % 2) {                   /* and without a hold callback */
            filter_free(f);
            f = filter_new_rules(&no_hold_rules, cases[c].k, sink_emit, &k);
        }
        filter_feed(f, cases[c].a, strlen(cases[c].a));
        filter_feed(f, cases[c].b, strlen(cases[c].b));
        filter_finish(f);
        if (strcmp(k.out, cases[c].want) != 0) fail_msg("case %zu/%zu: '%s'", c, i % 2, k.out);
        filter_free(f);
    }
}

/* A leading <think>...</think> (a thinking model without a reasoning
 * parser) is never shown, however the text is cut. */
static void test_filter_drops_think_block(void **state)
{
    static const struct { const char *in, *want; } cases[] = {
        {"<think>\nThe parent asks about bedtime. Maybe 5 ml?\n</think>\n\nKeep a routine [1].",
         "Keep a routine [1]."},
        {"  <think></think>Keep a routine.", "Keep a routine."},
        {"<thinking is fun> Keep.", "<thinking is fun> Keep."},   /* not the tag */
        {"Keep <think> as a word.", "Keep <think> as a word."},   /* only at the start */
        {"<think>only thoughts", ""},
        {"<thi", "<thi"},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t len = strlen(cases[c].in);
        for (size_t a = 0; a <= len; a++) {
            for (size_t b = a; b <= len; b += 3) {
                size_t cuts[] = {a, b, (size_t)-1};
                struct sink k;
                run(cases[c].in, 1, cuts, &k, NULL);
                if (strcmp(k.out, cases[c].want) != 0)
                    fail_msg("case %zu split %zu/%zu: '%s'", c, a, b, k.out);
            }
        }
    }
}

static void test_filter_holds_dose_sentence_every_split(void **state)
{
    const size_t len = strlen(dose_text);
    /* "Give" goes out before its sentence's first number; the rest of the
     * sentence is held at its end */
    const char *want = "Fevers are common and usually pass in a few days [1]. Give \xE2\x80\xA6 "
                       REFERRAL " Offer fluids often and let your child rest [2].";
    /* unless the number came in the same piece as "Give" */
    const char *want_whole = "Fevers are common and usually pass in a few days [1]. "
                             REFERRAL " Offer fluids often and let your child rest [2].";
    const size_t give = strstr(dose_text, "Give") - dose_text,
                 send = strstr(dose_text, "hours. ") - dose_text + 7;
    (void)state;
    for (size_t a = 0; a <= len; a++) {
        size_t cuts[] = {a, (size_t)-1};
        struct sink k;
        uint64_t cited;
        char head[256];
        /* the part of "Give" that came before the number goes out */
        snprintf(head, sizeof head, "Fevers are common and usually pass in a few days [1]. "
                 "%.*s \xE2\x80\xA6 " REFERRAL " Offer fluids often and let your child rest [2].",
                 (int)((a < give + 4 ? a : give + 4) - give), dose_text + give);
        run(dose_text, 2, cuts, &k, &cited);
        if (strcmp(k.out, a > give && a < send ? head : want_whole) != 0)
            fail_msg("split at %zu: '%s'", a, k.out);
        assert_null(strstr(k.out, "5 ml"));
        assert_int_equal(cited, FILTER_BIT(1) | FILTER_BIT(2));
    }
    /* one byte at a time */
    struct sink k;
    struct filter *f = mk(&k, 2);
    for (size_t i = 0; i < len; i++) filter_feed(f, dose_text + i, 1);
    filter_finish(f);
    assert_string_equal(k.out, want);
    assert_int_equal(filter_held(f), 1);
    filter_free(f);
}

static void test_filter_removes_out_of_range_markers(void **state)
{
    const char *text = "Keep a calm routine [1]. Children settle with a steady rhythm [9].";
    const size_t len = strlen(text);
    (void)state;
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b += 7) {
            size_t cuts[] = {a, b, (size_t)-1};
            struct sink k;
            uint64_t cited;
            run(text, 2, cuts, &k, &cited);
            if (strcmp(k.out, "Keep a calm routine [1]. Children settle with a steady rhythm.") != 0)
                fail_msg("split %zu/%zu: '%s'", a, b, k.out);
            assert_int_equal(cited, FILTER_BIT(1));
        }
    }
}

static void test_filter_referral_once(void **state)
{
    struct sink k;
    size_t none[] = {(size_t)-1};
    (void)state;
    run("Give 5 ml ibuprofen. Or 2 ibuprofen tablets. Rest [1].", 1, none, &k, NULL);
    assert_string_equal(k.out, REFERRAL " " "Rest [1].");
}

static void test_filter_one_emit_per_feed(void **state)
{
    struct sink k;
    struct filter *f = mk(&k, 1);
    (void)state;
    filter_feed(f, "A is so. B is so. C is so. D", 28);
    assert_int_equal(k.emits, 1);
    assert_string_equal(k.out, "A is so. B is so. C is so. D");
    filter_free(f);
}

static char *words(size_t nbytes, const char *word)
{
    size_t wl = strlen(word);
    char *s = calloc(1, nbytes + wl + 1);
    while (strlen(s) < nbytes) strcat(s, word);
    return s;
}

static void test_filter_long_run_released_at_word(void **state)
{
    char *run_text = words(300, "calm words ");
    struct sink k;
    struct filter *f = mk(&k, 1);
    (void)state;
    filter_feed(f, run_text, strlen(run_text));
    assert_int_equal(k.emits, 1);                        /* released without an end */
    assert_int_equal(k.len, strlen(run_text) - 1);       /* the blank goes with a word */
    filter_finish(f);
    assert_string_equal(k.out, run_text);
    filter_free(f);
    free(run_text);
}

static void test_filter_long_run_with_dose_waits(void **state)
{
    char *tail = words(400, "and then some more ");
    char text[1024];
    struct sink k;
    struct filter *f = mk(&k, 1);
    (void)state;
    snprintf(text, sizeof text, "take 5 ml %s", tail);
    filter_feed(f, text, strlen(text));
    assert_string_equal(k.out, "take");                  /* dose-like: not released early */
    filter_feed(f, "ibuprofen now. Rest.", 20);
    assert_string_equal(k.out, "take \xE2\x80\xA6 " REFERRAL " Rest.");
    filter_finish(f);
    assert_string_equal(k.out, "take \xE2\x80\xA6 " REFERRAL " Rest.");
    filter_free(f);
    free(tail);
}

static void test_filter_hard_cap(void **state)
{
    char *text = words(FILTER_HARD_CAP + 100, "5 ml of water ");
    struct sink k;
    struct filter *f = mk(&k, 1);
    (void)state;
    filter_feed(f, text, FILTER_HARD_CAP - 10);
    assert_int_equal(k.emits, 0);
    filter_feed(f, text + FILTER_HARD_CAP - 10, strlen(text) - (FILTER_HARD_CAP - 10));
    assert_int_equal(k.emits, 1);                        /* checked whole, allowed */
    assert_string_equal(k.out, text);
    filter_free(f);
    free(text);
}

static void test_filter_held_after_released_head(void **state)
{
    /* the head (no digit) goes out early; the whole sentence is held when
     * it ends, so only its tail is replaced and "5 ml" never goes out */
    char *head = words(250, "you can give your child some of the ");
    struct sink k;
    struct filter *f = mk(&k, 1);
    (void)state;
    filter_feed(f, head, strlen(head));
    assert_int_equal(k.emits, 1);
    filter_feed(f, "ibuprofen 5 ml now. Rest [1].", 29);
    filter_finish(f);
    assert_null(strstr(k.out, "5 ml"));
    assert_non_null(strstr(k.out, REFERRAL));
    assert_non_null(strstr(k.out, "Rest [1]."));
    assert_int_equal(filter_held(f), 1);
    filter_free(f);
    free(head);
}

static void test_filter_word_cut_avoids_numbers_and_markers(void **state)
{
    char text[512];
    char *pad = words(190, "abc ");
    struct sink k;
    struct filter *f = mk(&k, 3);
    (void)state;
    /* the run waits from "12"; past FILTER_LONG_RUN it is cut at a word,
     * where the last blanks come after "12" and inside "[1, 2]" */
    snprintf(text, sizeof text, "Up to 12 %sup to 12 [1, 2] more", pad);
    filter_feed(f, text, strlen(text));
    assert_int_equal(k.emits, 1);
    assert_int_equal(k.len, strlen(text) - strlen("12 [1, 2] more"));
    filter_finish(f);
    assert_string_equal(k.out, text);
    assert_int_equal(filter_cited(f), FILTER_BIT(1) | FILTER_BIT(2));
    filter_free(f);
    free(pad);
}

static void test_filter_unterminated_dose_tail(void **state)
{
    struct sink k;
    size_t none[] = {(size_t)-1};
    (void)state;
    run("Offer water [1]. Then 5 ml of", 1, none, &k, NULL);     /* cut mid-sentence */
    assert_string_equal(k.out, "Offer water [1]. Then \xE2\x80\xA6 " REFERRAL);
    run("Offer 100 ml of water.", 1, none, &k, NULL);            /* complete, allowed */
    assert_string_equal(k.out, "Offer 100 ml of water.");
    run("Rest well [1]", 1, none, &k, NULL);                     /* no dose: released */
    assert_string_equal(k.out, "Rest well [1]");
}

static void test_filter_no_hold_fn_and_empty(void **state)
{
    struct sink k;
    struct filter *f;
    (void)state;
    memset(&k, 0, sizeof k);
    f = filter_new_rules(NULL, 1, sink_emit, &k);
    filter_finish(f);
    assert_int_equal(k.emits, 0);
    filter_feed(f, "Give 5 ml ibuprofen. ok", 23);
    filter_finish(f);
    assert_string_equal(k.out, "Give 5 ml ibuprofen. ok");
    /* nothing held without a hold callback, not even a cut dose-like tail
     * (fuzz/fuzz_filter.c found that one) */
    filter_feed(f, " Then 5ml[", 10);                /* "5ml[" waits for "]" */
    filter_finish(f);
    assert_string_equal(k.out, "Give 5 ml ibuprofen. ok Then 5ml[");
    filter_free(f);
    filter_free(NULL);
}

/* ---------- Retry-After ---------- */

/* ---------- the filter's word lists in the policy ---------- */

/* Loads the shipped policy with its output_filter section changed by edit;
 * returns the load's status, err gets its message. */
static int load_edited(void (*edit)(json_t *sec), char *err, size_t errsz)
{
    json_error_t je;
    json_t *root = json_load_file("policy/safety.json", 0, &je);
    char path[] = "/tmp/test_relay_XXXXXX";
    int fd = mkstemp(path), rc;
    struct safety_policy *p = NULL;
    assert_non_null(root);
    assert_true(fd >= 0);
    close(fd);
    edit(json_object_get(root, "output_filter"));
    assert_int_equal(json_dump_file(root, path, 0), 0);
    json_decref(root);
    err[0] = '\0';
    rc = safety_policy_load(path, "US", &p, err, errsz);
    safety_policy_free(p);
    unlink(path);
    return rc;
}

static void drop_cues(json_t *sec) { json_object_del(sec, "amount_cues"); }
static void upper_cue(json_t *sec) { json_array_set_new(json_object_get(sec, "amount_cues_before"), 1, json_string("An")); }
static void empty_list(json_t *sec) { json_array_clear(json_object_get(sec, "not_amount_after")); }

/* The amount cues are policy (output_filter), checked at load with an
 * error that names the list, and reach the filter as filter_rules_of's
 * lists: "Give" before a number makes it wait, "by" lets it go. */
static void test_filter_words_come_from_the_policy(void **state)
{
    char err[512];
    const struct safety_filter_words *w = safety_output_filter_words(shipped_policy());
    struct filter_rules r = filter_rules_of(shipped_policy());
    (void)state;
    assert_non_null(w);
    assert_null(safety_output_filter_words(NULL));
    assert_true(w->namount_cues > 0 && r.words.namount_cues == w->namount_cues);
    assert_ptr_equal(r.words.amount_cues, w->amount_cues);
    assert_ptr_equal(r.words.amount_cues_near, w->amount_cues_near);
    assert_ptr_equal(r.words.amount_cues_before, w->amount_cues_before);
    assert_ptr_equal(r.words.not_amount_after, w->not_amount_after);
    assert_true(listed(r.words.amount_cues, r.words.namount_cues, "give", 4));
    assert_true(listed(r.words.not_amount_after, r.words.nnot_amount_after, "by", 2));
    assert_int_not_equal(load_edited(drop_cues, err, sizeof err), 0);
    assert_non_null(strstr(err, "output_filter.amount_cues: missing"));
    assert_int_not_equal(load_edited(upper_cue, err, sizeof err), 0);
    assert_non_null(strstr(err, "output_filter.amount_cues_before[1]: must be one word"));
    assert_int_not_equal(load_edited(empty_list, err, sizeof err), 0);
    assert_non_null(strstr(err, "output_filter.not_amount_after: must have 1 to"));
}

/* ---------- the relay figure ---------- */

/* model_delta: bench/model_delta.h, shared with bench/relayfilter.c */

/* Numbers that cannot become a dose no longer hold model text back: fed
 * to the shipped policy's filter in model-sized deltas, most of the
 * deltas of model-style answers with no dose in them go out as their own
 * event, and the text shown is the text sent. The deltas of a [n] marker
 * (" [", "1", "]") are counted apart: the marker waits until it closes by
 * design, since its numbers decide what is shown. Returns the per mille
 * of the deltas outside markers that went out as their own event.
 * nsources: the passages the filter is given (markers above it are
 * dropped by design, so a corpus citing [3] needs 3 or more). changed:
 * NULL fails the test on a line the filter changes; otherwise such lines
 * (a sentence read as a dose and replaced) are counted there, the way a
 * sealed corpus is scored. */
static unsigned relay_figure_of(const char *path, size_t nsources, size_t *changed)
{
    FILE *fp = fopen(path, "r");
    char line[4096];
    size_t deltas = 0, own = 0, answers = 0, marker = 0, marker_own = 0;
    int in_marker = 0;
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp)) {
        struct sink k;
        struct filter *f;
        size_t len = strcspn(line, "\n"), at = 0, un = 0;
        if (line[0] == '#' || len == 0) continue;
        for (size_t i = 0; i < len; i++) {      /* "\\n" stands for a newline */
            if (line[i] == '\\' && i + 1 < len && line[i + 1] == 'n') line[un++] = '\n', i++;
            else line[un++] = line[i];
        }
        len = un;
        line[len++] = '\n';
        line[len] = '\0';
        memset(&k, 0, sizeof k);
        f = filter_new(shipped_policy(), nsources, sink_emit, &k);
        while (at < len) {
            size_t n = model_delta(line, len, at), before = k.len;
            int o;
            filter_feed(f, line + at, n);
            o = k.len - before == n && memcmp(k.out + before, line + at, n) == 0;
            /* the deltas of a [n] marker wait for it to close by design */
            if (memchr(line + at, '[', n)) in_marker = 1;
            if (!o && !in_marker && getenv("RELAY_SHOW"))
                fprintf(stderr, "WAIT %.*s|%.*s|%.*s\n", (int)(at > 40 ? 40 : at),
                        line + at - (at > 40 ? 40 : at), (int)n, line + at,
                        (int)(len - at - n > 20 ? 20 : len - at - n), line + at + n);
            if (in_marker) marker += 1, marker_own += o;
            else deltas++, own += o;
            if (memchr(line + at, ']', n)) in_marker = 0;
            at += n;
        }
        filter_finish(f);
        if (filter_held(f) != 0 || strcmp(k.out, line) != 0) {
            if (!changed) fail_msg("%s: '%s' shown as '%s'", path, line, k.out);
            ++*changed;
        }
        filter_free(f);
        answers++;
    }
    fclose(fp);
    print_message("relay figure, %s: %zu of %zu deltas outside [n] markers (%.1f%%) of %zu answers "
                  "as their own event; %zu of %zu in all (%.1f%%)\n", path, own, deltas,
                  100.0 * (double)own / (double)deltas, answers, own + marker_own,
                  deltas + marker, 100.0 * (double)(own + marker_own) / (double)(deltas + marker));
    if (changed) print_message("  %zu lines changed by the filter\n", *changed);
    assert_true(answers >= 10 && deltas > 0);
    return (unsigned)(own * 1000 / deltas);
}

static unsigned relay_figure(const char *path)
{
    return relay_figure_of(path, 2, NULL);
}

/* The sealed corpora, scored the way they were measured (docs/openai.md):
 * nine passages, a changed line counted, not failed. RELAY_CORPUS=FILE
 * scores a new corpus the same way (its figure only, no floor). */
static void test_filter_relay_figure_of_sealed_corpora(void **state)
{
    const char *extra = getenv("RELAY_CORPUS");
    size_t c1 = 0, c2 = 0, c3 = 0, cx = 0;
    unsigned first, second, third;
    (void)state;
    if (extra) {
        relay_figure_of(extra, 9, &cx);
        return;
    }
    first = relay_figure_of("tests/filter/sealed-2026-12-02-relay.txt", 9, &c1);
    second = relay_figure_of("tests/filter/sealed-2026-12-02-s10-relay.txt", 9, &c2);
    /* measured at the end of session 5: 95.3% (1 line changed) and 90.4%
     * (6 lines changed); relay30, tuned on both: 97.5% and 96.0% */
    assert_true(first >= 974 && c1 <= 1); /* per mille, truncated */
    assert_true(second >= 959 && c2 <= 6);
    /* session 6's sealed corpus (60 answers, 6 with a medicine amount),
     * written after relay30 and measured once: 93.2% with the session's
     * start binary, 97.3% at its end; 7 lines changed by both */
    third = relay_figure_of("tests/filter/sealed-2026-12-02-relay31.txt", 9, &c3);
    assert_true(third >= 973 && c3 <= 7);
}

/* The figures are in docs/openai.md; each floor is what was measured, so a
 * regression fails. The rules were tuned on answers.txt and, in part, on
 * answers-2.txt (written before any change); answers-3.txt was written
 * after and measured once: it is the honest figure. */
static void test_filter_relays_deltas_of_dose_free_answers(void **state)
{
    unsigned tuned = relay_figure("tests/filter/answers.txt"),
             second = relay_figure("tests/filter/answers-2.txt"),
             fresh = relay_figure("tests/filter/answers-3.txt"),
             fourth = relay_figure("tests/filter/answers-4.txt");
    (void)state;
    /* before the number rules read what came before a number: 77.3%,
     * 67.3%, 74.0% */
    /* relay21, before its changes: 95.1%, 92.7%, 92.7%, 90.3% */
    /* relay30, before its changes: 97.4%, 95.5%, 96.8%, 93.1% */
    assert_true(tuned >= 983);
    assert_true(second >= 973);
    assert_true(fresh >= 982);
    assert_true(fourth >= 958);
}

/* relay21: what still held model text on answers-2..4. A wait from a
 * number that counts hours or times ends after FILTER_MAYBE_WORDS words
 * that only may make a dose, and at once at a word that counts it ("5% of
 * children"); money and ordinals are no amount; "For" first in a
 * sentence goes out once whole. Each delta here goes out as its own
 * event, and a medicine after a wait that ended still holds the rest. */
static void test_filter_ends_waits_that_cannot_be_doses(void **state)
{
    static const char *const cases[][12] = {
        {"Reapply", " it", " every", " 2", " hours", " and", " after", " swimming", ".", NULL},
        {"Many", " families", " give", " £", "1", " a", " week", ".", NULL},
        {"Give", " them", " a", " hug", " before", " their", " 1", "st", " birthday", ".", NULL},
        {"For", " a", " cold", ",", " rest", ".", NULL},
        {"About", " 5", "%", " of", " children", " snore", ".", NULL},
    };
    /* what each delta shows: "" = waits, NULL = itself */
    static const char *const shown[][12] = {
        {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},   /* relay30: needs only a medicine */
        {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},         /* relay30: money, no wait */
        {NULL, NULL, NULL, NULL, NULL, NULL, "", " 1st", NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL, NULL},               /* relay30: a share, no wait */
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct sink k;
        struct filter *f;
        memset(&k, 0, sizeof k);
        f = filter_new(shipped_policy(), 2, sink_emit, &k);
        for (size_t i = 0; cases[c][i]; i++) {
            size_t before = k.len;
            const char *want = shown[c][i] ? shown[c][i] : cases[c][i];
            filter_feed(f, cases[c][i], strlen(cases[c][i]));
            if (k.len - before != strlen(want) || memcmp(k.out + before, want, k.len - before) != 0)
                fail_msg("case %zu delta %zu '%s': shown '%.*s', want '%s'", c, i, cases[c][i],
                         (int)(k.len - before), k.out + before, want);
        }
        filter_finish(f);
        assert_int_equal(filter_held(f), 0);
        filter_free(f);
    }
}

/* relay30: a table of deltas and what each shows ("" = waits, NULL =
 * itself), fed to the shipped policy; held: how many sentences it holds. */
struct relay_case {
    const char *d[16];
    const char *shown[16];
    size_t held;
};

static void check_relay_cases(const struct relay_case *cases, size_t n)
{
    for (size_t c = 0; c < n; c++) {
        struct sink k;
        struct filter_rules r = filter_rules_of(shipped_policy());
        struct filter *f;
        r.referral = REFERRAL;
        memset(&k, 0, sizeof k);
        f = filter_new_rules(&r, 2, sink_emit, &k);
        for (size_t i = 0; cases[c].d[i]; i++) {
            size_t before = k.len;
            const char *want = cases[c].shown[i] ? cases[c].shown[i] : cases[c].d[i];
            filter_feed(f, cases[c].d[i], strlen(cases[c].d[i]));
            if (k.len - before != strlen(want) || memcmp(k.out + before, want, k.len - before) != 0)
                fail_msg("case %zu delta %zu '%s': shown '%.*s', want '%s'", c, i, cases[c].d[i],
                         (int)(k.len - before), k.out + before, want);
        }
        filter_finish(f);
        if (filter_held(f) != cases[c].held)
            fail_msg("case %zu: %zu held, want %zu: '%s'", c, filter_held(f), cases[c].held, k.out);
        filter_free(f);
    }
}

/* relay30: a number that begins a line (a list number, a heading's range)
 * goes out at once, as a number nothing makes an amount does, and the
 * words after it are checked; letters after an apostrophe ("It's") never
 * grow into a number word. A dose next to either still waits. */
static void test_filter_releases_line_numbers(void **state)
{
    static const struct relay_case cases[] = {
        {{"1", ".", " Offer", " two", " choices", ".", NULL},
         {NULL, NULL, NULL, "", " two choices", NULL}, 0},
        {{"Calm", ".", "\n", "2", ")", " Rest", " early", ".", NULL}, {NULL}, 0},
        {{"- **", "0", "\xE2\x80\x93", "6", " weeks", ":**", " feeds", ".", NULL}, {NULL}, 0},
        {{"It's", " fine", ".", " There's", " time", ".", NULL}, {NULL}, 0},
        /* mid-line, a sentence's first number still waits */
        {{"Rest", ".", " 5", " hours", " is", " plenty", ".", NULL},
         {NULL, NULL, "", " 5 hours", NULL, NULL, NULL}, 0},
        /* the unit after a line's number waits, and the sentence holds */
        {{"5", " ml", " of", " Calpol", " is", " usual", ".", NULL},
         {NULL, "", "", "", "", "", "", NULL}, 1},
        {{"1", ".", " Give", " 5", " ml", " of", " Calpol", ".", NULL},
         {NULL, NULL, NULL, "", "", "", "", ""}, 1},
        {{"It's", " fine", " to", " give", " 5", "ml", " of", " Calpol", ".", NULL},
         {NULL, NULL, NULL, NULL, "", "", "", "", ""}, 1},
    };
    (void)state;
    check_relay_cases(cases, sizeof cases / sizeof cases[0]);
}

/* relay30: a number that can be no amount whatever came before it (money,
 * a share, a number joined to a word that counts it, "3-year-old") goes
 * out once it is known, and no continuation of the policy makes the word
 * after it wait ("£3 a" + "day ibuprofen"); "a 12-hour" still waits, as a
 * frequency may be a dose's, and a unit or dose next to them still holds. */
static void test_filter_releases_numbers_that_count(void **state)
{
    static const struct relay_case cases[] = {
        {{"Around", " 40", "%", " of", " teens", " say", " so", ".", NULL}, {NULL}, 0},
        {{"-", " Ages", " 5", "\xE2\x80\x93", "7", ":", " \xC2\xA3", "1", "\xE2\x80\x93",
          "\xC2\xA3", "3", " a", " week", "\n", NULL}, {NULL}, 0},
        {{"Give", " a", " 5", "-", "minute", " warning", ".", NULL},
         {NULL, NULL, "", "", " 5-minute", NULL, NULL}, 0},
        {{"Say", " a", " 3", "-", "year", "-", "old", " and", " an", " 8", "-", "year", "-", "old", ".", NULL},
         {NULL, NULL, "", "", " 3-year", NULL, NULL, NULL, NULL, "", "", " 8-year", NULL, NULL, NULL}, 0},
        /* a frequency: the word after it decides ("dose": the rest waits) */
        {{"Take", " a", " 12", "-", "hour", " dose", " of", " Calpol", ".", NULL},
         {NULL, NULL, "", "", "", "", "", "", ""}, 0},
        {{"Give", " a", " 5", "-", "ml", " dose", " of", " Calpol", ".", NULL},
         {NULL, NULL, "", "", "", "", "", "", ""}, 1},
        {{"Give", " a", " 2", "-", "week", " course", " of", " 5", " ml", " of", " Calpol", ".", NULL},
         {NULL, NULL, "", "", " 2-week", NULL, NULL, "", "", "", "", ""}, 1},
        {{"Spend", " \xC2\xA3", "3", " a", " week", " on", " 5", " ml", " of", " Calpol", ".", NULL},
         {NULL, NULL, NULL, NULL, NULL, NULL, NULL, "", "", "", ""}, 1},
    };
    (void)state;
    check_relay_cases(cases, sizeof cases / sizeof cases[0]);
}

/* relay30: a wait on a frequency ends once the sentence lacks only a
 * medicine, wherever it would stand ("every 3 hours"), and so does one on
 * a count that is no frequency ("20–30 minutes"): from there each word is
 * checked, so a medicine later still holds the rest. "every" before a
 * number is no amount cue: it counts the interval. After "one
 * of", a superlative or a pronoun ("the best", "you") counts the number
 * among a group, as a count noun does. */
static void test_filter_ends_waits_that_lack_only_a_medicine(void **state)
{
    static const struct relay_case cases[] = {
        {{"Feed", " every", " 3", " hours", " in", " the", " day", ".", NULL}, {NULL}, 0},
        /* a count that is no frequency: only a later word could make a dose */
        {{"Offer", " the", " potty", " every", " 20", "\xE2\x80\x93", "30", " minutes", " to", " start", ".",
          NULL}, {NULL}, 0},
        {{"Every", " 4", " hours", ",", " give", " 5", " ml", " of", " Calpol", ".", NULL},
         {NULL, NULL, NULL, NULL, NULL, "", "", "", "", ""}, 1},
        {{"Pocket", " money", " is", " one", " of", " the", " best", " tools", ".", NULL},
         {NULL, NULL, NULL, NULL, "", "", " of the best", NULL, NULL}, 0},
        {{"Just", " the", " 2", " of", " you", ".", NULL}, {NULL, NULL, NULL, "", " of you", NULL}, 0},
        /* a medicine after the wait ended still holds the rest */
        {{"Feed", " it", " every", " 3", " hours", " with", " ibuprofen", ".", NULL},
         {NULL, NULL, NULL, NULL, NULL, NULL, "", ""}, 1},
        /* a medicine before: held at once */
        {{"Give", " Calpol", " every", " 4", " hours", ".", NULL}, {NULL, NULL, NULL, "", "", ""}, 1},
        /* a day's count still waits for its "a day" */
        {{"Give", " Calpol", " 3", " times", " a", " day", ".", NULL},
         {NULL, NULL, "", "", "", "", ""}, 1},
    };
    (void)state;
    check_relay_cases(cases, sizeof cases / sizeof cases[0]);
}

/* relay30: a number whose phrase closed ("1.", "(10–11):") lets the next
 * word out at once; the second number of a range whose first was no
 * amount is none either ("aged 8 to 12", though "give" came before);
 * "for" and "on" go out whole unless an amount cue is right before them
 * ("Try on" may still become "Try one"). A dose next to them still holds. */
static void test_filter_releases_closed_ranges_and_prefix_words(void **state)
{
    static const struct relay_case cases[] = {
        {{"1", ".", " A", " useful", " rule", ".", NULL}, {NULL}, 0},
        {{"1", ".", " **", "Stage", " one", " (", "10", "\xE2\x80\x93", "11", "):**", " a", " basic",
          " phone", ".", NULL},
         {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}, 0},
        {{"Give", " $", "5", " a", " week", " for", " kids", " aged", " 8", " to", " 12", " now", ".", NULL},
         {NULL}, 0},
        {{"Give", " them", " \xC2\xA3", "5", ";", " they", " spend", " it", " all", " on", " treats", ".", NULL},
         {NULL}, 0},
        /* a cue right before: "on" may become "one" */
        {{"Try", " on", "e", " tablet", " of", " Calpol", ".", NULL}, {NULL, "", "", "", "", "", ""}, 1},
        /* "for" then "ty": read as one word, after "give" an amount */
        {{"Give", " it", " for", "ty", " ml", " of", " Calpol", ".", NULL},
         {NULL, NULL, NULL, "", "", "", "", ""}, 1},
        {{"1", ".", " A", " 5", " ml", " dose", " of", " Calpol", ".", NULL},
         {NULL, NULL, NULL, "", "", "", "", "", ""}, 1},
        {{"For", " kids", " aged", " 2", " to", " 5", " ml", " of", " Calpol", ".", NULL},
         {NULL, NULL, NULL, NULL, NULL, NULL, "", "", "", ""}, 1},
    };
    (void)state;
    check_relay_cases(cases, sizeof cases / sizeof cases[0]);
}

/* A word that is no number but has a digit and a unit in it waits with
 * the rest of its sentence: fuzz/fuzz_filter.c found "e.g. 5 [28g<th"
 * shown before the referral of a sentence held at its end. */
static void check_no_dose_shown(const char *line);

static void test_filter_waits_at_a_unit_inside_a_word(void **state)
{
    struct sink k;
    struct filter *f;
    char in[] = "\x7e\x12\x34I qear you, bedtime itheou, bedtime ithe dosthe'de@ seo.g. 5 [28g<th "
                "ink>ltwe [28g<thinkn(\x19 [1, 2] ok";
    (void)state;
    memset(&k, 0, sizeof k);
    f = filter_new(shipped_policy(), 2, sink_emit, &k);
    assert_string_equal(step(f, &k, "Mix it, e.g."), "Mix it, e.g.");
    assert_string_equal(step(f, &k, " 5"), " 5");
    assert_string_equal(step(f, &k, " [28g"), "");
    assert_string_equal(step(f, &k, " of"), "");
    filter_finish(f);
    assert_int_equal(filter_held(f), 1);               /* "5 [28g" holds */
    assert_null(strstr(k.out, "28g"));
    filter_free(f);
    /* the fuzzer's input, its first 3 bytes the driver's settings */
    check_no_dose_shown(in + 3);
}

/* With the shipped policy a number that what came before it cannot make
 * an amount goes out at once; any other waits only while the next words
 * could still make it a dose. */
static void test_filter_releases_numbers_that_are_no_dose(void **state)
{
    struct sink k;
    struct filter *f = filter_new(shipped_policy(), 2, sink_emit, &k);
    (void)state;
    memset(&k, 0, sizeof k);
    assert_string_equal(step(f, &k, "Most toddlers need"), "Most toddlers need");
    assert_string_equal(step(f, &k, " 12"), " 12");           /* nothing makes it an amount */
    assert_string_equal(step(f, &k, " hours"), " hours");
    assert_string_equal(step(f, &k, " of"), " of");
    assert_string_equal(step(f, &k, " sleep, and 3"), " sleep, and 3");
    assert_string_equal(step(f, &k, " years"), " years");
    assert_string_equal(step(f, &k, " old"), " old");
    assert_string_equal(step(f, &k, " sleep"), " sleep");
    assert_string_equal(step(f, &k, " 10"), " 10");
    assert_string_equal(step(f, &k, " to"), " to");
    assert_string_equal(step(f, &k, " 12"), " 12");
    assert_string_equal(step(f, &k, " hours a night."), " hours a night.");
    /* relay25: after "for a" or "with a" a number goes out at once */
    assert_string_equal(step(f, &k, " A playdate for a"), " A playdate for a");
    assert_string_equal(step(f, &k, " 3"), " 3");
    assert_string_equal(step(f, &k, " or"), " or");
    assert_string_equal(step(f, &k, " 4"), " 4");
    assert_string_equal(step(f, &k, " year old works, with a"), " year old works, with a");
    assert_string_equal(step(f, &k, " 12"), " 12");
    assert_string_equal(step(f, &k, " inch"), " inch");
    assert_string_equal(step(f, &k, " wheel."), " wheel.");
    /* after a dose verb a range waits for its second number */
    assert_string_equal(step(f, &k, " Offer"), " Offer");
    assert_string_equal(step(f, &k, " 10"), "");
    assert_string_equal(step(f, &k, " to"), "");
    assert_string_equal(step(f, &k, " 12"), "");
    assert_string_equal(step(f, &k, " choices."), " 10 to 12 choices.");
    /* a unit after a word or two makes an amount: it waits for the end */
    assert_string_equal(step(f, &k, " Try one"), " Try");
    assert_string_equal(step(f, &k, " chewable"), "");
    assert_string_equal(step(f, &k, " tablet"), "");
    assert_string_equal(step(f, &k, " of Tylenol"), "");
    assert_string_equal(step(f, &k, " every four hours."), "");
    filter_finish(f);
    assert_int_equal(filter_held(f), 1);
    assert_null(strstr(k.out, "chewable"));
    filter_free(f);

    /* a released number: the unit after it waits, and the sentence is held
     * from there ("1" then "ml" without a blank, too) */
    const struct { const char *const *pieces; const char *want; } cases[] = {
        {(const char *const[]){"Between 6 and 12 months", ",", " 2", ".", "5", " ml", " of",
                               " Calpol", " is", " usual", ".", NULL},
         "Between 6 and 12 months, 2.5 \xE2\x80\xA6 " REFERRAL},
        {(const char *const[]){"Most toddlers between", " 1", "ml", " of", " ibuprofen", ".", NULL},
         "Most toddlers between 1 \xE2\x80\xA6 " REFERRAL},
        {(const char *const[]){"By age", " 4", " most", " children", " sleep", " well", ".", NULL},
         "By age 4 most children sleep well."},
        /* a medicine before it: "at" is no time */
        {(const char *const[]){"Melatonin", " at", " 1", " mg", " helps", ".", NULL},
         "Melatonin at \xE2\x80\xA6 " REFERRAL},
        /* a clock time is no amount, even first in a line */
        {(const char *const[]){"**", "7", ":", "30", "**", " bath", ".", NULL}, "**7:30** bath."},
        /* nor is an age */
        {(const char *const[]){"Children", " aged", " 2", " to", " 5", " can", " have", " 5", "ml",
                               " of", " Calpol", ".", NULL},
         "Children aged 2 to 5 can have \xE2\x80\xA6 " REFERRAL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(&k, 0, sizeof k);
        struct filter_rules r = filter_rules_of(shipped_policy());
        r.referral = REFERRAL;
        f = filter_new_rules(&r, 2, sink_emit, &k);
        for (const char *const *pc = cases[c].pieces; *pc; pc++) filter_feed(f, *pc, strlen(*pc));
        filter_finish(f);
        if (strcmp(k.out, cases[c].want) != 0) fail_msg("case %zu: '%s'", c, k.out);
        filter_free(f);
    }
}

/* What a parent sees of a held sentence is never a dose: every hold line
 * of tests/safety/output.tsv, and sentences whose number nothing before
 * it makes an amount, fed in model-sized deltas, a byte at a time and cut
 * once at every byte, are held, and the text shown before the referral has
 * no digit followed by a dose unit and is not held itself. For the lines
 * of output.tsv it is exactly what the filter showed before numbers were
 * released early (commit 01deae4). */
static void check_held(const char *line, const char *want_head)
{
    const size_t len = strlen(line);
    struct filter_rules r = filter_rules_of(shipped_policy());
    r.referral = REFERRAL;
    for (size_t mode = 0; mode < len + 2; mode++) {
        struct sink k;
        struct filter *f;
        size_t at = 0;
        memset(&k, 0, sizeof k);
        f = filter_new_rules(&r, 2, sink_emit, &k);
        if (mode == 0) {                         /* model-sized deltas */
            while (at < len) {
                size_t n = model_delta(line, len, at);
                filter_feed(f, line + at, n);
                at += n;
            }
        } else if (mode == 1) {                  /* a byte at a time */
            for (; at < len; at++) filter_feed(f, line + at, 1);
        } else {                                 /* cut once */
            filter_feed(f, line, mode - 2);
            filter_feed(f, line + mode - 2, len - (mode - 2));
        }
        filter_finish(f);
        char *ref = strstr(k.out, REFERRAL);
        if (filter_held(f) != 1 || !ref) fail_msg("not held (mode %zu): '%s'", mode, k.out);
        *ref = '\0';
        size_t hl = strlen(k.out);
        /* (a rule that needs no number, "twice daily" with a medicine, is
         * checked at the sentence end: such a sentence is shown whole and
         * the referral follows it; the heads below say where) */
        if ((!want_head || *want_head == '\0' || strstr(want_head, "\xE2\x80\xA6 ")) &&
            (filter_has_dose(&r, k.out, hl) || safety_output_hold(shipped_policy(), k.out, hl)))
            fail_msg("a dose shown (mode %zu): '%s'", mode, k.out);
        if (want_head && mode < 2 && strcmp(k.out, want_head) != 0)
            fail_msg("'%s' (mode %zu) shows '%s', not '%s'", line, mode, k.out, want_head);
        filter_free(f);
    }
}

/* Fed in model deltas, a byte at a time and cut once at every byte, what
 * is shown before any referral has no digit followed by a dose unit. */
static void check_no_dose_shown(const char *line)
{
    const size_t len = strlen(line);
    struct filter_rules r = filter_rules_of(shipped_policy());
    r.referral = REFERRAL;
    for (size_t mode = 0; mode < len + 2; mode++) {
        struct sink k;
        struct filter *f;
        char *ref;
        memset(&k, 0, sizeof k);
        f = filter_new_rules(&r, 3, sink_emit, &k);
        if (mode == 0) {
            for (size_t at = 0, n; at < len; at += n) filter_feed(f, line + at, n = model_delta(line, len, at));
        } else if (mode == 1) {
            for (size_t at = 0; at < len; at++) filter_feed(f, line + at, 1);
        } else {
            filter_feed(f, line, mode - 2);
            filter_feed(f, line + mode - 2, len - (mode - 2));
        }
        filter_finish(f);
        if ((ref = strstr(k.out, REFERRAL)) != NULL) {
            size_t hl = (size_t)(ref - k.out), st = 0, e;
            while ((e = text_sentence_end(k.out, hl, st)) != 0 && e < hl) st = e;
            if (filter_has_dose(&r, k.out + st, hl - st))
                fail_msg("a dose shown (mode %zu): '%.*s'", mode, (int)hl, k.out);
        }
        filter_free(f);
    }
}

static void test_filter_shows_no_dose_of_a_held_sentence(void **state)
{
    /* what was shown before this change, in the order of output.tsv */
    static const char *const heads[] = {
        "For a child of this weight, the usual dose of children's ibuprofen is \xE2\x80\xA6 ",
        "Give \xE2\x80\xA6 ", "You can give \xE2\x80\xA6 ", "The typical amount is \xE2\x80\xA6 ",
        "Most toddlers can take \xE2\x80\xA6 ", "Try \xE2\x80\xA6 ", "Offer \xE2\x80\xA6 ",
        "A dose of \xE2\x80\xA6 ", "Give him \xE2\x80\xA6 ", "Use \xE2\x80\xA6 ",
        "Melatonin at \xE2\x80\xA6 ", "Give \xE2\x80\xA6 ", "She can have \xE2\x80\xA6 ",
        "Children over 6 can take a \xE2\x80\xA6 ", "He can take \xE2\x80\xA6 ",
        "You might give \xE2\x80\xA6 ", "A common starting dose of Zyrtec for toddlers is \xE2\x80\xA6 ",
        "Rub a pea-sized amount of 1% hydrocortisone cream on the rash twice daily. ",
        "Try giving \xE2\x80\xA6 ", "For teething, a \xE2\x80\xA6 ", "The right dose is usually \xE2\x80\xA6 ",
        "It's fine to give ibuprofen \xE2\x80\xA6 ", "Give your child \xE2\x80\xA6 ",
        "Alternate \xE2\x80\xA6 ", "A 6 month old usually gets \xE2\x80\xA6 ",
        "Children's Benadryl: \xE2\x80\xA6 ", "Dose: \xE2\x80\xA6 ", "You can use \xE2\x80\xA6 ",
        "Give \xE2\x80\xA6 ", "", "Let her take \xE2\x80\xA6 ", "Try \xE2\x80\xA6 ",
        "Give him \xE2\x80\xA6 ", "Children aged 2 to 5 can have \xE2\x80\xA6 ",
    };
    /* numbers nothing before makes an amount, a unit or medicine after */
    static const char *const loose[] = {
        "Between 6 and 12 months, 2.5 ml of infant paracetamol is usual.",
        "For a 2 year old, 5 ml of Calpol is the usual amount.",
        "Most children aged 2 to 5 do well on 2 puffs of the inhaler.",
        "By age 4 most children need 10 mg of loratadine.",
        "Around 1 in 10 children need 1 tablet of Tylenol at night.",
        "After 3 days, 1 teaspoon of cough syrup at night is fine.",
        "Up to 4 times a day, 5ml of Calpol can be given.",
        "In older children 7.5ml of ibuprofen works.",
        "Between 3 and 4 doses of Calpol a day is the limit.",
        "A baby of 6 months can have 2.5 mL of infant ibuprofen.",
        "For children under 12, 1 suppository of glycerin helps.",
        "Many parents find 2 sprays of the nasal steroid in each nostril help.",
        "Brush 3 times a day, then rub in a little Calpol.",
        "For a cold, 2 teaspoons of the cough medicine help.",
        /* found by fuzz/fuzz_filter.c: "ml5" read as a number let "ml" out */
        "Between 1 and 2 5 ml5 ml of Calpol with water.",
        /* relay21: waits that end at their bound, money, ordinals, "For" */
        "Reapply it every 2 hours and after swimming with ibuprofen.",
        "Praise them 3 times a day for being kind, and give 5 ml of Calpol.",
        "Around 5% of children need 5 ml of Calpol at night.",
        /* relay25: "for a" / "with a" before a number is no amount cue */
        "For a 3 year old, a 5 ml dose of paracetamol is usual.",
        "Start with a 2.5 ml dose of infant ibuprofen.",
        "It works for a 4 year old with 1 tablet of paracetamol.",
        "Use it for a 12 inch spacer with 2 puffs of the inhaler.",
        "Up to 4 times a day for a week, 5ml of Calpol can be given.",
        "Every 4 hours and at night, 2.5 ml of infant paracetamol helps.",
        "Many families spend £5 on 10 ml of Calpol.",
        "Before their 1st birthday, 2.5 ml of infant ibuprofen is the most.",
        "Forty ml of Calpol is too much.",
        "On 2 days a week and at night, give 5 ml of Calpol.",
        /* relay30: a line's first number, "It's" */
        "5 ml of Calpol is the usual dose.",
        "1.5 ml of Calpol works.",
        "1. Give 5 ml of Calpol at night.",
        "- **2.5 ml** of infant ibuprofen is usual.",
        "2) 10ml of Calpol at bedtime.",
        "It's fine to give 5 ml of Calpol.",
        "It's 5 ml of Calpol at most.",
        /* relay30: money, shares, count compounds */
        "Give a 5-minute warning, then 5 ml of Calpol.",
        "Around 40% of children need 5 ml of Calpol.",
        "Spend £3 a week on 5 ml of Calpol.",
        "Give a 2-week course of 5 ml of amoxicillin.",
        "Take a 12-hour dose of ibuprofen, 5 ml.",
        "Give a 5-ml dose of Calpol.",
        "For a 3-year-old, 2.5 ml of infant ibuprofen is usual.",
        "About 20% more, so 7.5 ml of Calpol.",
        /* relay30: waits that lack only a medicine, groups after "of" */
        "Feed it every 3 hours with 5 ml of Calpol.",
        "Every 4 hours, in the day and at night, give ibuprofen.",
        "It is one of the best ways to give 5 ml of Calpol.",
        "Give one of the best 5 ml doses of Calpol.",
        "Give one of the most effective, ibuprofen.",
        "Give it 3 times per day with Calpol.",
        /* relay30: closed numbers, ranges, "for" and "on" */
        "1. A 5 ml dose of Calpol.",
        "(Ages 2 to 5): a 5 ml dose of Calpol.",
        "For kids aged 2 to 5 ml of Calpol is fine.",
        "Give it for forty minutes, then 5 ml of Calpol.",
        "Spend it all on one 5 ml dose of Calpol.",
        /* after a share each word is checked: the head is not held */
        "Around 40% of parents say: Melatonin at 1 mg helps.",
    };
    FILE *fp = fopen("tests/safety/output.tsv", "r");
    char line[1024];
    size_t n = 0;
    (void)state;
    assert_non_null(fp);
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "hold\t", 5) != 0) continue;
        line[strcspn(line, "\n")] = '\0';
        assert_true(n < sizeof heads / sizeof heads[0]);
        check_held(line + 5, heads[n++]);
    }
    fclose(fp);
    assert_int_equal(n, sizeof heads / sizeof heads[0]);
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) check_held(loose[i], NULL);
}

/* ---------- history ---------- */

static json_t *msg(const char *role, const char *content)
{
    return json_pack("{s:s, s:s}", "role", role, "content", content);
}

static void test_history_trim(void **state)
{
    json_t *h = json_array(), *t;
    (void)state;
    json_array_append_new(h, msg("user", "0123456789"));
    json_array_append_new(h, msg("assistant", "abcdefghij"));
    json_array_append_new(h, msg("user", "second q.."));
    json_array_append_new(h, msg("assistant", "Do this [1]."));

    t = prompt_history_trim(h, 25);                  /* 12 + 10 fit, 10 more do not */
    assert_int_equal(json_array_size(t), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "content")), "second q..");
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 1), "content")), "Do this.");
    json_decref(t);

    t = prompt_history_trim(h, 35);                  /* would start with an assistant */
    assert_int_equal(json_array_size(t), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "role")), "user");
    json_decref(t);

    t = prompt_history_trim(h, 1000);
    assert_int_equal(json_array_size(t), 4);
    json_decref(t);

    t = prompt_history_trim(h, 0);
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);

    json_array_append_new(h, json_pack("{s:s, s:i}", "role", "user", "content", 3));
    json_array_append_new(h, msg("system", "sneaky"));
    json_array_append_new(h, msg("user", "last"));
    t = prompt_history_trim(h, 1000);
    assert_int_equal(json_array_size(t), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 4), "content")), "last");
    json_decref(t);

    t = prompt_history_trim(NULL, 100);
    assert_int_equal(json_array_size(t), 0);
    json_decref(t);
    json_decref(h);
}

/* ---------- request, prompt, citations ---------- */

static const char *const steps_a[] = {"Start the routine at the same time.", "Dim the lights."};
static const struct kb_passage pa = {
    .id = "sleep-a", .title = "Bedtime routines", .source = "American Academy of Pediatrics",
    .source_short = "AAP", .url = "https://example.org/a", .body = "A routine helps.",
    .steps = steps_a, .nsteps = 2, .help = "Talk to your doctor if sleep stays hard.",
};
static const struct kb_passage pb = {
    .id = "sleep-b", .title = "Wake times", .source = "NHS", .source_short = "NHS",
    .url = "https://example.org/b", .body = "Keep the same wake time.",
};

static void test_request_compat(void **state)
{
    static const struct { const char *body; int bit; const char *kind; } errs[] = {
        {"{\"error\":{\"message\":\"Unsupported parameter: 'max_tokens'\",\"type\":"
         "\"invalid_request_error\",\"param\":\"max_tokens\",\"code\":\"unsupported_parameter\"}}",
         PROMPT_COMPAT_MAX_COMPLETION_TOKENS, "invalid_request_error"},
        {"{\"error\":{\"param\":\"temperature\",\"code\":\"unsupported_value\"}}",
         PROMPT_COMPAT_NO_TEMPERATURE, "unsupported_value"},
        {"{\"error\":{\"param\":\"temperature\",\"code\":\"unsupported_parameter\"}}",
         PROMPT_COMPAT_NO_TEMPERATURE, "unsupported_parameter"},
        {"{\"error\":{\"param\":\"max_tokens\",\"code\":\"integer_below_min_value\"}}", 0,
         "integer_below_min_value"},
        {"{\"error\":{\"param\":\"messages\",\"code\":\"unsupported_value\"}}", 0,
         "unsupported_value"},
        {"{\"error\":{\"message\":\"x\",\"type\":\"exceed_context_size_error\"}}", 0,
         "exceed_context_size_error"},
        /* a type that is not an identifier is not logged */
        {"{\"error\":{\"type\":\"my prompt said: hello\"}}", 0, ""},
        {"not json", 0, ""},
        {"", 0, ""},
    };
    json_t *req;
    char kind[64];
    (void)state;
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        if (prompt_upstream_error(errs[i].body, strlen(errs[i].body), kind, sizeof kind) != errs[i].bit)
            fail_msg("case %zu", i);
        if (strcmp(kind, errs[i].kind) != 0) fail_msg("case %zu: kind '%s'", i, kind);
    }
    req = json_pack("{s:s, s:i, s:f}", "model", "m", "max_tokens", 700, "temperature", 0.3);
    prompt_request_compat(req, 0);
    assert_int_equal(json_integer_value(json_object_get(req, "max_tokens")), 700);
    prompt_request_compat(req, PROMPT_COMPAT_MAX_COMPLETION_TOKENS);
    assert_null(json_object_get(req, "max_tokens"));
    assert_int_equal(json_integer_value(json_object_get(req, "max_completion_tokens")), 700);
    assert_non_null(json_object_get(req, "temperature"));
    prompt_request_compat(req, PROMPT_COMPAT_MAX_COMPLETION_TOKENS | PROMPT_COMPAT_NO_TEMPERATURE);
    assert_null(json_object_get(req, "temperature"));
    assert_int_equal(json_integer_value(json_object_get(req, "max_completion_tokens")), 700);
    json_decref(req);
}

static void test_request_json(void **state)
{
    struct kb_hit hits[2] = {{&pa, 9.0, 0, 9.0}, {&pb, 5.0, 0, 5.0}};
    json_t *hist = json_array(), *req, *msgs;
    char *dump;
    const char *q = "How do I handle bedtime?XXX";
    (void)state;
    json_array_append_new(hist, msg("user", "earlier"));
    json_array_append_new(hist, msg("assistant", "earlier answer"));
    req = prompt_request_json(&(struct prompt_request){
        .model = "m1", .max_tokens = 700, .temperature = 0.3, .system_prompt = "You are a coach.",
        .hits = hits, .nhits = 2, .age_months = 30, .history = hist,
        .question = q, .question_len = 24});
    assert_non_null(req);
    assert_string_equal(json_string_value(json_object_get(req, "model")), "m1");
    assert_true(json_is_true(json_object_get(req, "stream")));
    assert_true(json_is_true(json_object_get(json_object_get(req, "stream_options"), "include_usage")));
    assert_int_equal(json_integer_value(json_object_get(req, "max_tokens")), 700);
    msgs = json_object_get(req, "messages");
    /* one system message (strict chat templates refuse a second): the
     * prompt, a blank line, then the passages */
    assert_int_equal(json_array_size(msgs), 4);
    const char *p = json_string_value(json_object_get(json_array_get(msgs, 0), "content"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
    assert_true(strncmp(p, "You are a coach.\n\nVetted passages for this question.", 52) == 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "role")), "user");
    assert_non_null(strstr(p, "[1] Bedtime routines (source: American Academy of Pediatrics)\nA routine helps."));
    assert_non_null(strstr(p, "- Start the routine at the same time.\n- Dim the lights.\n"));
    assert_non_null(strstr(p, "When to get help: Talk to your doctor"));
    assert_non_null(strstr(p, "[2] Wake times (source: NHS)\nKeep the same wake time."));
    assert_null(strstr(p, "[3]"));
    assert_non_null(strstr(p, "30 months"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), "earlier");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 3), "role")), "user");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 3), "content")),
                        "How do I handle bedtime?");
    dump = json_dumps(req, JSON_COMPACT | JSON_REAL_PRECISION(6));
    assert_non_null(strstr(dump, "\"temperature\":0.3"));
    free(dump);
    json_decref(req);
    json_decref(hist);

    /* no passages: a note instead, no numbers; no history */
    req = prompt_request_json(&(struct prompt_request){
        .model = "m", .max_tokens = 16, .temperature = 0, .system_prompt = "S",
        .hits = NULL, .nhits = 0, .age_months = -1, .history = NULL, .question = "hi",
        .question_len = 2});
    msgs = json_object_get(req, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    p = json_string_value(json_object_get(json_array_get(msgs, 0), "content"));
    assert_true(strncmp(p, "S\n\n", 3) == 0);
    assert_non_null(strstr(p, "No vetted passage"));
    assert_null(strstr(p, "[1]"));
    assert_null(strstr(p, "months"));
    json_decref(req);
}

static void test_prompt_split(void **state)
{
    char v[16];
    const char *body;
    (void)state;
    assert_int_equal(prompt_split("version: coach-1\nBody here", v, sizeof v, &body), 1);
    assert_string_equal(v, "coach-1");
    assert_string_equal(body, "Body here");
    assert_int_equal(prompt_split("Version:   x  \r\n\nBody", v, sizeof v, &body), 1);
    assert_string_equal(v, "x");
    assert_string_equal(body, "Body");
    assert_int_equal(prompt_split("You are a coach.", v, sizeof v, &body), 0);
    assert_string_equal(v, "unversioned");
    assert_string_equal(body, "You are a coach.");
    assert_int_equal(prompt_split("version:\nBody", v, sizeof v, &body), 0);
    assert_string_equal(body, "version:\nBody");
    assert_int_equal(prompt_split("version: a-very-long-version-name\nB", v, sizeof v, &body), 1);
    assert_string_equal(v, "a-very-long-ver");
    assert_int_equal(prompt_split("version: only", v, sizeof v, &body), 1);
    assert_string_equal(body, "");
}

static void test_citations(void **state)
{
    struct kb_hit hits[2] = {{&pa, 9.0, 0, 9.0}, {&pb, 5.0, 0, 5.0}};
    json_t *c;
    (void)state;
    c = prompt_citations(hits, 2, FILTER_BIT(2));
    assert_int_equal(json_array_size(c), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(c, 0), "id")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "source")), "NHS");
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "title")), "Wake times");
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "url")), "https://example.org/b");
    json_decref(c);
    c = prompt_citations(hits, 2, 0);                 /* none cited: all given */
    assert_int_equal(json_array_size(c), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "source")), "AAP");
    json_decref(c);
    c = prompt_citations(hits, 2, FILTER_BIT(1) | FILTER_BIT(9));   /* 9 is out of range */
    assert_int_equal(json_array_size(c), 1);
    json_decref(c);
    c = prompt_citations(NULL, 0, 0);
    assert_int_equal(json_array_size(c), 0);
    json_decref(c);
}

static void test_midnight(void **state)
{
    (void)state;
    assert_int_equal(util_utc_midnight_ms(86400000ULL * 5 + 123), 86400000ULL * 5);
    assert_int_equal(util_utc_midnight_ms(86400000ULL * 5), 86400000ULL * 5);
    assert_int_equal(util_utc_midnight_ms(86400000ULL * 6 - 1), 86400000ULL * 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fix_markers_table),
        cmocka_unit_test(test_sentence_end_table),
        cmocka_unit_test(test_has_dose),
        cmocka_unit_test(test_filter_streams_words),
        cmocka_unit_test(test_filter_waits_from_first_number),
        cmocka_unit_test(test_filter_relays_deltas_of_dose_free_answers),
        cmocka_unit_test(test_filter_relay_figure_of_sealed_corpora),
        cmocka_unit_test(test_filter_words_come_from_the_policy),
        cmocka_unit_test(test_filter_ends_waits_that_cannot_be_doses),
        cmocka_unit_test(test_filter_releases_line_numbers),
        cmocka_unit_test(test_filter_releases_numbers_that_count),
        cmocka_unit_test(test_filter_ends_waits_that_lack_only_a_medicine),
        cmocka_unit_test(test_filter_releases_closed_ranges_and_prefix_words),
        cmocka_unit_test(test_filter_waits_at_a_unit_inside_a_word),
        cmocka_unit_test(test_filter_releases_numbers_that_are_no_dose),
        cmocka_unit_test(test_filter_shows_no_dose_of_a_held_sentence),
        cmocka_unit_test(test_filter_end_after_released_word),
        cmocka_unit_test(test_filter_cut_independent),
        cmocka_unit_test(test_filter_drops_think_block),
        cmocka_unit_test(test_filter_holds_dose_sentence_every_split),
        cmocka_unit_test(test_filter_removes_out_of_range_markers),
        cmocka_unit_test(test_filter_referral_once),
        cmocka_unit_test(test_filter_one_emit_per_feed),
        cmocka_unit_test(test_filter_long_run_released_at_word),
        cmocka_unit_test(test_filter_long_run_with_dose_waits),
        cmocka_unit_test(test_filter_hard_cap),
        cmocka_unit_test(test_filter_held_after_released_head),
        cmocka_unit_test(test_filter_word_cut_avoids_numbers_and_markers),
        cmocka_unit_test(test_filter_unterminated_dose_tail),
        cmocka_unit_test(test_filter_no_hold_fn_and_empty),
        cmocka_unit_test(test_history_trim),
        cmocka_unit_test(test_request_json),
        cmocka_unit_test(test_request_compat),
        cmocka_unit_test(test_prompt_split),
        cmocka_unit_test(test_citations),
        cmocka_unit_test(test_midnight),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    safety_policy_free(shipped);
    return rc;
}
