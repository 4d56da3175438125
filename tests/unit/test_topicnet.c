/* test_topicnet.c — the fitted topic reader: loading and its errors,
 * scoring (softmax over the declared classes, each known feature once,
 * scaled by 1/sqrt of their number), and that the shipped model
 * (kb/topic-model.tsv) loads, knows every topic of the knowledge base and
 * reads a table of ordinary parent questions as their topics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/util.c"
#include "../../src/text.c"
#include "../../src/tmodel.c"
#include "../../src/topicnet.c"
#include "feature_helpers.h"

/* The triage net's features less function words, their stems and pairs
 * of two of them; a pair with one content word stays. */
static void test_features(void **state)
{
    (void)state;
    static const struct { const char *in, *want; } cases[] = {
        {"", ""},
        {"how do I", ""},
        {"Should we stop?", "u:stop b:we_stop"},
        {"our 3yo naps", "u:3yo b:our_3yo u:naps b:3yo_naps"},
        {"really bedtime", "u:bedtime p:bedti b:really_bedtime"},
        {"Piano lessons, whats best", "u:piano u:lessons p:lesso b:piano_lessons u:best b:whats_best"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b = {{0}, 0};
        size_t n = topicnet_features(cases[i].in, strlen(cases[i].in), collect, &b);
        assert_string_equal(b.s, cases[i].want);
        size_t words = *b.s ? 1 : 0;
        for (const char *c = b.s; *c; c++) words += *c == ' ';
        assert_int_equal(n, words);
    }
}

static void test_load_errors(void **state)
{
    (void)state;
    static const struct { const char *body, *err; } bad[] = {
        {"", "no classes"},
        {"# coachd triage model 1\n", ":1: not a coachd topic model"},
        {"# coachd topic model 1\n", "no classes"},
        {"# coachd topic model 1\n# only comments\n", "no classes"},
        {"# coachd topic model 1\nbias sleep 1\n", ":2: want feature<TAB>class<TAB>weight"},
        {"# coachd topic model 1\nbias\tsleep\tlots\n", ":2: bad weight"},
        {"# coachd topic model 1\nbias\tsleep\tinf\n", ":2: bad weight"},
        {"# coachd topic model 1\nbias\tsleep\t1\nbias\tsleep\t2\n", ":3: empty, repeated"},
        {"# coachd topic model 1\nbias\tsleep\t1\nu:nap\tnaps\t2\n", ":3: undeclared class"},
        {"# coachd topic model 1\nbias\tsleep\t1\nu:nap\tsleep\t2\nbias\tnaps\t0\n",
         ":4: bias lines come before"},
        {"# coachd topic model 1\nbias\tsleep\t1\nu:nap\tsleep\t2\nu:nap\tsleep\t3\n",
         "given twice"},
        {"# coachd topic model 1\nbias\tsleep\t1\n\tsleep\t2\n", ":3: want feature"},
    };
    char err[256], longline[1024];
    static const char head[] = "# coachd topic model 1\nbias\tsleep\t0\nu:";
    memcpy(longline, head, sizeof head - 1);
    memset(longline + sizeof head - 1, 'a', 700);
    strcpy(longline + sizeof head - 1 + 700, "\tsleep\t1\n");
    char *lp = write_tmp(longline);
    assert_null(topicnet_load(lp, err, sizeof err));
    assert_non_null(strstr(err, ":3: line too long"));
    unlink(lp);
    free(lp);
    assert_null(topicnet_load("/nonexistent/topic-model.tsv", err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = write_tmp(bad[i].body);
        err[0] = '\0';
        assert_null(topicnet_load(path, err, sizeof err));
        if (!strstr(err, bad[i].err)) fail_msg("case %zu: got '%s'", i, err);
        unlink(path);
        free(path);
    }
}

static void test_score(void **state)
{
    (void)state;
    char err[256], *path = write_tmp(
        "# coachd topic model 1\n"
        "# comment\n"
        "bias\tsleep\t0\n"
        "bias\tfeeding\t0\n"
        "bias\tnomatch\t1\n"
        "u:bedtime\tsleep\t4\n"
        "u:bottle\tfeeding\t4\n"
        "u:bottle\tsleep\t1\n"
        "b:at_bedtime\tsleep\t2\n");
    struct topicnet *m = topicnet_load(path, err, sizeof err);
    double p[3];
    assert_non_null(m);
    assert_int_equal(topicnet_nclass(m), 3);
    assert_string_equal(topicnet_class_name(m, 1), "feeding");
    assert_null(topicnet_class_name(m, 3));
    assert_int_equal(topicnet_class(m, "nomatch"), 2);
    assert_int_equal(topicnet_class(m, "naps"), -1);
    /* nothing known: the prior (softmax of the biases) */
    assert_int_equal(topicnet_score(m, "hello there", 11, p), 0);
    assert_true(fabs(p[2] - exp(1) / (2 + exp(1))) < 1e-9);
    assert_true(fabs(p[0] + p[1] + p[2] - 1) < 1e-9);
    /* one feature, counted once however often it is written: x = 1 */
    assert_int_equal(topicnet_score(m, "Bedtime, bedtime, BEDTIME", 25, p), 1);
    assert_true(fabs(p[0] - exp(4) / (exp(4) + 1 + exp(1))) < 1e-9);
    /* two features: each at 1/sqrt(2) */
    assert_int_equal(topicnet_score(m, "a bottle at bedtime", 19, p), 3);
    {
        double x = 1 / sqrt(3), z0 = x * (4 + 1 + 2), z1 = x * 4, z2 = 1;
        double s = exp(z0) + exp(z1) + exp(z2);
        assert_true(fabs(p[0] - exp(z0) / s) < 1e-9);
        assert_true(fabs(p[1] - exp(z1) / s) < 1e-9);
    }
    topicnet_free(m);
    unlink(path);
    free(path);
    topicnet_free(NULL);
}

/* tn_is_stop_prefix (a binary search of the sorted function words) says
 * what a scan of them says: some function word is longer than the stem
 * and starts with it. Every prefix of every function word, and some
 * stems of content words, against the scan. */
static int stop_prefix_scan(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof tn_stop / sizeof tn_stop[0]; i++)
        if (strlen(tn_stop[i]) > n && strncmp(tn_stop[i], w, n) == 0) return 1;
    return 0;
}

static void test_stop_prefix(void **state)
{
    static const char *const other[] = {
        "bedti", "shoul", "reall", "doesn", "there", "theyr", "whos", "zzzzz", "aaaaa",
        "abouts", "yourse", "yours", "youre", "wh", "th", "", "\xc3\xa9t\xc3\xa9s",
    };
    (void)state;
    for (size_t i = 1; i < sizeof tn_stop / sizeof tn_stop[0]; i++)
        if (strcmp(tn_stop[i - 1], tn_stop[i]) >= 0)
            fail_msg("function words not sorted at '%s'", tn_stop[i]);
    for (size_t i = 0; i < sizeof tn_stop / sizeof tn_stop[0]; i++)
        for (size_t n = 0; n <= strlen(tn_stop[i]); n++)
            if (tn_is_stop_prefix(tn_stop[i], n) != stop_prefix_scan(tn_stop[i], n))
                fail_msg("'%.*s'", (int)n, tn_stop[i]);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(tn_is_stop_prefix(other[i], strlen(other[i])),
                         stop_prefix_scan(other[i], strlen(other[i])));
    assert_true(tn_is_stop_prefix("shoul", 5));        /* "should" */
    assert_true(tn_is_stop_prefix("reall", 5));        /* "really" */
    assert_false(tn_is_stop_prefix("bedti", 5));
    assert_false(tn_is_stop_prefix("their", 5));       /* "their" itself: no longer one */
}

/* Scoring's set of the features met starts small in the scorer's frame
 * and grows (twice here): a text of 400 words (the most read), 300
 * distinct known ones and 100 of them again after the growth, counts each
 * once and sums as the closed form says, as a short text does. */
static void test_score_many_features(void **state)
{
    enum { NW = 300, NREP = 100 };
    char *model = xmalloc(64 * (NW + 4)), *text = xmalloc(8 * (NW + NREP) + 1), w[8];
    size_t mo = 0, to = 0;
    double p[2], err = 0;
    (void)state;
    mo += (size_t)sprintf(model + mo, "# coachd topic model 1\nbias\ta\t0\nbias\tnomatch\t0\n");
    for (size_t i = 0; i < NW; i++) {
        snprintf(w, sizeof w, "zq%c%c%c", 'a' + (int)(i / 676), 'a' + (int)(i / 26 % 26),
                 'a' + (int)(i % 26));
        mo += (size_t)sprintf(model + mo, "u:%s\ta\t%s\n", w, i % 2 ? "1" : "0.5");
        to += (size_t)sprintf(text + to, "%s ", w);
    }
    for (size_t i = 0; i < NREP; i++) {                 /* again, after the set has grown */
        snprintf(w, sizeof w, "zq%c%c%c", 'a' + (int)(i / 676), 'a' + (int)(i / 26 % 26),
                 'a' + (int)(i % 26));
        to += (size_t)sprintf(text + to, "%s ", w);
    }
    char errbuf[256], *path = write_tmp(model);
    struct topicnet *m = topicnet_load(path, errbuf, sizeof errbuf);
    if (!m) fail_msg("%s", errbuf);
    assert_int_equal(topicnet_score(m, text, to, p), NW);
    {
        double z = (NW / 2 * 1.0 + NW / 2 * 0.5) / sqrt((double)NW);
        err = fabs(p[0] - exp(z) / (exp(z) + 1));
    }
    assert_true(err < 1e-9);
    assert_int_equal(topicnet_score(m, "zqaaa zqaab zqaaa", 17, p), 2);
    assert_true(fabs(p[0] - exp(1.5 / sqrt(2)) / (exp(1.5 / sqrt(2)) + 1)) < 1e-9);
    topicnet_free(m);
    unlink(path);
    free(path);
    free(model);
    free(text);
}

/* The shipped model reads ordinary questions (not from any development
 * set) as their topics: the right topic among its three likeliest. */
static void test_shipped(void **state)
{
    (void)state;
    static const struct { const char *q, *topic; } cases[] = {
        {"how many naps should a 10 month old take", "naps"},
        {"my toddler throws himself on the floor screaming in the shop", "tantrums"},
        {"what temperature counts as a fever for a baby", "fever"},
        {"how do I get my 3 year old to use the potty", "potty-training"},
        {"my son is being picked on at school every day", "bullying"},
        {"when can my baby start eating solid food", "starting-solids"},
        {"how much screen time is ok for a 6 year old", "screen-time"},
        {"our teenager wants to start driving lessons", "teen-driving"},
        {"my daughter has nits again, how do I get rid of them", "lice"},
        {"is it safe for the baby to sleep on her tummy", "safe-sleep"},
    };
    char err[256];
    struct topicnet *m = topicnet_load("kb/topic-model.tsv", err, sizeof err);
    if (!m) fail_msg("%s", err);
    size_t n = topicnet_nclass(m);
    double *p = xcalloc(n, sizeof *p);
    assert_true(topicnet_class(m, "nomatch") >= 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int want = topicnet_class(m, cases[i].topic), above = 0;
        assert_true(want >= 0);
        assert_true(topicnet_score(m, cases[i].q, strlen(cases[i].q), p) > 0);
        for (size_t c = 0; c < n; c++) above += p[c] > p[want];
        if (above >= 3) fail_msg("'%s': %s is not among the three likeliest", cases[i].q,
                                 cases[i].topic);
    }
    free(p);
    topicnet_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_stop_prefix),
        cmocka_unit_test(test_score_many_features),
        cmocka_unit_test(test_shipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
