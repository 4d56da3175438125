/* test_spell_lang.c — other languages read through hunspell dictionaries
 * (spell_lang in src/spell.c): table tests on small dictionaries written
 * here (stems, accents restored, a typo, German capitals, an ISO-8859-1
 * dictionary, the suggestion budget), the graceful path without any
 * dictionary, and, when Debian's hunspell-es is installed, the real one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <pthread.h>

#include "../../src/util.c"
#include "../../src/text.c"
#include "../../src/spell.c"

static char dir[64];

static void put_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/coachd-spell-lang-XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* Spanish: llorar -> lloraba (imperfect), niño -> niños */
    put_file("es_ES.aff", "SET UTF-8\nSFX A Y 1\nSFX A r ba r\nSFX S Y 1\nSFX S 0 s .\n");
    put_file("es_ES.dic", "3\nllorar/A\nniño/S\ncasa/S\n");
    /* German, ISO-8859-1: capitalised nouns, an umlaut */
    put_file("de_DE.aff", "SET ISO8859-1\nSFX P Y 1\nSFX P 0 er .\n");
    put_file("de_DE.dic", "2\nKind/P\nM\xe4" "dchen/P\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"es_ES.aff", "es_ES.dic", "de_DE.aff", "de_DE.dic"};
    char path[128];
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

/* 1 when cand[0..n) holds want. */
static int has(char cand[][SPELL_MAX_WORD_LEN], size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cand[i], want) == 0)
            return 1;
    return 0;
}

static void test_table(void **state)
{
    (void)state;
    static const struct { const char *lang, *word, *want; } rows[] = {
        {"es", "lloraba", "llorar"},     /* a dictionary word: its stem */
        {"es", "ninos", "nino"},         /* accent restored (niños), then its stem */
        {"es", "llroaba", "llorar"},     /* two letters swapped */
        {"es", "llroaba", "lloraba"},    /* ... and the word they make */
        {"es", "casas", "casa"},
        {"de", "kinder", "kind"},        /* a noun written in lowercase */
        {"de", "madchener", "madchen"},  /* umlaut restored in ISO-8859-1, folded back */
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct spell_lang *s = spell_lang_open(rows[r].lang, dir);
        char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
        assert_non_null(s);
        size_t n = spell_lang_read(s, rows[r].word, strlen(rows[r].word), cand,
                                   SPELL_LANG_MAX_CAND, NULL);
        if (!has(cand, n, rows[r].want))
            fail_msg("%s %s: no %s among %zu", rows[r].lang, rows[r].word, rows[r].want, n);
        assert_false(has(cand, n, rows[r].word));      /* never the word itself */
        /* the second read is the cached one, and the same */
        char again[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
        size_t n2 = spell_lang_read(s, rows[r].word, strlen(rows[r].word), again,
                                    SPELL_LANG_MAX_CAND, NULL);
        assert_int_equal(n, n2);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(cand[i], again[i]);
        spell_lang_close(s);
    }
}

/* Nothing for: a word that is its own stem with no accent to restore, a
 * word no variant makes, not plain letters, too long, a 0 max. */
static void test_nothing(void **state)
{
    (void)state;
    struct spell_lang *s = spell_lang_open("es", dir);
    char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
    assert_non_null(s);
    assert_int_equal(spell_lang_read(s, "llorar", 6, cand, SPELL_LANG_MAX_CAND, NULL), 0);
    assert_int_equal(spell_lang_read(s, "nino", 4, cand, SPELL_LANG_MAX_CAND, NULL), 0);
    assert_int_equal(spell_lang_read(s, "zzzzzz", 6, cand, SPELL_LANG_MAX_CAND, NULL), 0);
    assert_int_equal(spell_lang_read(s, "ni3os", 5, cand, SPELL_LANG_MAX_CAND, NULL), 0);
    assert_int_equal(spell_lang_read(s, "Ninos", 5, cand, SPELL_LANG_MAX_CAND, NULL), 0);
    assert_int_equal(spell_lang_read(s, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 43, cand,
                                     SPELL_LANG_MAX_CAND, NULL), 0);
    assert_int_equal(spell_lang_read(s, "lloraba", 7, cand, 0, NULL), 0);
    assert_int_equal(spell_lang_read(s, "lloraba", 7, cand, 1, NULL), 1);
    spell_lang_close(s);
}

/* A word the dictionary lacks spends the budget, remembered or not; none
 * is spent, and nothing read, at 0; a dictionary word costs nothing. */
static void test_budget(void **state)
{
    (void)state;
    struct spell_lang *s = spell_lang_open("es", dir);
    char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
    int budget = 0;
    assert_int_equal(spell_lang_read(s, "ninos", 5, cand, SPELL_LANG_MAX_CAND, &budget), 0);
    assert_int_equal(budget, 0);
    assert_true(spell_lang_read(s, "lloraba", 7, cand, SPELL_LANG_MAX_CAND, &budget) > 0);
    budget = 1;
    assert_true(spell_lang_read(s, "ninos", 5, cand, SPELL_LANG_MAX_CAND, &budget) > 0);
    assert_int_equal(budget, 0);
    /* remembered, it costs what its first reading cost: with the budget
     * spent it reads nothing, as it would have the first time (what a
     * question reads never depends on the questions before it) */
    assert_int_equal(spell_lang_read(s, "ninos", 5, cand, SPELL_LANG_MAX_CAND, &budget), 0);
    budget = 1;
    assert_true(spell_lang_read(s, "ninos", 5, cand, SPELL_LANG_MAX_CAND, &budget) > 0);
    assert_int_equal(budget, 0);
    assert_true(spell_lang_read(s, "lloraba", 7, cand, SPELL_LANG_MAX_CAND, &budget) > 0);
    spell_lang_close(s);
}

/* Out of descriptors (as when accept() has taken them all): the reader
 * loads nothing and says nothing (hunspell's own "cannot open" lines are
 * never reached), and the next reading, with descriptors back, loads it. */
static void test_out_of_descriptors(void **state)
{
    (void)state;
    struct spell_lang *s = spell_lang_open("es", dir);
    char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
    int fds[4096];
    size_t n = 0;
    struct rlimit was, low;
    assert_non_null(s);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    low = was;
    if (low.rlim_cur > 256) low.rlim_cur = 256;     /* reachable within fds[] */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    while (n < sizeof fds / sizeof fds[0]) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) break;
        fds[n++] = fd;
    }
    assert_true(n < sizeof fds / sizeof fds[0]);
    assert_int_equal(spell_lang_read(s, "lloraba", 7, cand, SPELL_LANG_MAX_CAND, NULL), 0);
    while (n) close(fds[--n]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    assert_true(spell_lang_read(s, "lloraba", 7, cand, SPELL_LANG_MAX_CAND, NULL) > 0);
    assert_string_equal(cand[0], "llorar");
    spell_lang_close(s);
}

/* No dictionary: no reader, and a NULL reader reads nothing. */
static void test_without_dictionary(void **state)
{
    (void)state;
    char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
    assert_null(spell_lang_open("es", "/nonexistent/coachd"));
    assert_null(spell_lang_open("fr", dir));        /* not written here */
    assert_null(spell_lang_open("xx", dir));        /* no such language */
    assert_null(spell_lang_open(NULL, dir));
    assert_int_equal(spell_lang_read(NULL, "ninos", 5, cand, SPELL_LANG_MAX_CAND, NULL), 0);
    spell_lang_close(NULL);
    /* a dictionary that is no dictionary: loads nothing, reads nothing */
    put_file("it_IT.aff", "");
    put_file("it_IT.dic", "");
    struct spell_lang *s = spell_lang_open("it", dir);
    if (s) {
        assert_int_equal(spell_lang_read(s, "bambini", 7, cand, SPELL_LANG_MAX_CAND, NULL), 0);
        spell_lang_close(s);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/it_IT.aff", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/it_IT.dic", dir);
    unlink(path);
}

/* Debian's Spanish dictionary, when installed (scripts/deps.sh does). */
static void test_real_spanish(void **state)
{
    (void)state;
    struct spell_lang *s = spell_lang_open("es", "/usr/share/hunspell");
    char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
    if (!s)
        skip();
    size_t n = spell_lang_read(s, "lloraba", 7, cand, SPELL_LANG_MAX_CAND, NULL);
    assert_true(has(cand, n, "llorar"));
    n = spell_lang_read(s, "despierta", 9, cand, SPELL_LANG_MAX_CAND, NULL);
    assert_true(has(cand, n, "despertar"));
    spell_lang_close(s);
}

/* --- spell_warm, the loader state machine (background thread) ---
 * A fake load per slot that records which thread ran it and can be held
 * at a gate, so every state is reached on purpose, not by timing. */
struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;                   /* the gate: loads past it may finish */
    int hold;                   /* slot whose load waits at the gate (-1: none) */
    int started[8], runs[8];
    pthread_t by[8];
};

static void fake_load(void *arg, size_t i)
{
    struct fake *f = arg;
    pthread_mutex_lock(&f->mu);
    f->started[i] = 1;
    f->by[i] = pthread_self();
    pthread_cond_broadcast(&f->cv);
    while ((int)i == f->hold && !f->open)
        pthread_cond_wait(&f->cv, &f->mu);
    f->runs[i]++;
    pthread_mutex_unlock(&f->mu);
}

static void fake_init(struct fake *f, int hold)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->hold = hold;
}

static void fake_wait_started(struct fake *f, size_t i)
{
    pthread_mutex_lock(&f->mu);
    while (!f->started[i])
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void fake_open(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->open = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void test_warm_states(void **state)
{
    struct fake f;
    size_t total = 0;
    double waited;
    (void)state;
    /* no thread: nothing loads until asked; the asker loads it itself */
    fake_init(&f, -1);
    struct spell_warm *w = spell_warm_new(3, fake_load, &f, 0);
    assert_non_null(w);
    assert_int_equal(spell_warm_state(w, 1), SPELL_WARM_IDLE);
    assert_int_equal(spell_warm_ready(w, &total), 0);
    assert_int_equal(total, 3);
    assert_int_equal(spell_warm_wait(w, 1, 0, NULL), 1);
    assert_true(pthread_equal(f.by[1], pthread_self()));
    assert_int_equal(spell_warm_state(w, 1), SPELL_WARM_READY);
    assert_int_equal(spell_warm_state(w, 0), SPELL_WARM_IDLE);
    assert_int_equal(spell_warm_wait(w, 1, 0, NULL), 1);      /* READY: not loaded twice */
    assert_int_equal(f.runs[1], 1);
    assert_int_equal(spell_warm_wait(w, 3, 0, NULL), -1);
    assert_int_equal(spell_warm_state(w, 3), -1);
    spell_warm_free(w);
    assert_int_equal(spell_warm_wait(NULL, 0, 0, NULL), -1);
    spell_warm_free(NULL);

    /* the thread holds slot 0 at the gate: a caller of slot 0 times out
     * (still LOADING), a caller of slot 2 (IDLE: the thread is behind)
     * loads it itself, and slot 0's caller, once the gate opens, gets the
     * thread's load; every slot is loaded exactly once */
    fake_init(&f, 0);
    w = spell_warm_new(3, fake_load, &f, 1);
    assert_non_null(w);
    fake_wait_started(&f, 0);
    assert_int_equal(spell_warm_state(w, 0), SPELL_WARM_LOADING);
    assert_int_equal(spell_warm_wait(w, 0, 30, &waited), 0);
    assert_true(waited >= 25);
    assert_int_equal(spell_warm_wait(w, 2, 0, NULL), 1);
    assert_true(pthread_equal(f.by[2], pthread_self()));
    fake_open(&f);
    assert_int_equal(spell_warm_wait(w, 0, 10000, NULL), 1);
    assert_false(pthread_equal(f.by[0], pthread_self()));
    assert_int_equal(spell_warm_wait(w, 1, 10000, NULL), 1);
    assert_int_equal(spell_warm_ready(w, &total), 3);
    spell_warm_free(w);
    for (int i = 0; i < 3; i++)
        assert_int_equal(f.runs[i], 1);

    /* freed while the thread is loading: it finishes that slot and stops */
    fake_init(&f, 0);
    w = spell_warm_new(3, fake_load, &f, 1);
    fake_wait_started(&f, 0);
    fake_open(&f);
    spell_warm_free(w);
    assert_int_equal(f.runs[0], 1);
    assert_int_equal(f.runs[1] + f.runs[2] <= 2, 1);
}

/* The real thing: every installed dictionary loaded on the thread, then
 * read here (ASan/TSan see the hand-over). */
static void warm_real_load(void *arg, size_t i)
{
    struct spell_lang **l = arg;
    spell_lang_load(l[i]);
}

static void test_warm_real(void **state)
{
    static const char *const codes[] = {"es", "nl", "sv"};
    struct spell_lang *l[3];
    size_t n = 0;
    (void)state;
    for (size_t i = 0; i < 3; i++)
        if ((l[n] = spell_lang_open(codes[i], "/usr/share/hunspell")) != NULL)
            n++;
    if (n == 0)
        skip();
    struct spell_warm *w = spell_warm_new(n, warm_real_load, l, 1);
    assert_non_null(w);
    for (size_t i = n; i-- > 0;) {
        char out[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
        assert_int_equal(spell_warm_wait(w, i, 10000, NULL), 1);
        (void)spell_lang_read(l[i], "mama", 4, out, SPELL_LANG_MAX_CAND, NULL);
    }
    spell_warm_free(w);
    for (size_t i = 0; i < n; i++)
        spell_lang_close(l[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_nothing),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_out_of_descriptors),
        cmocka_unit_test(test_without_dictionary),
        cmocka_unit_test(test_real_spanish),
        cmocka_unit_test(test_warm_states),
        cmocka_unit_test(test_warm_real),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
