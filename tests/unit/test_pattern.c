/* test_pattern.c — table tests for the pattern language (src/pattern.c):
 * every compile error with its text, each element kind matching and not
 * matching, gaps and backtracking, whole-token comparison, masks, and the
 * anchor index (it never rules out or moves a match, and does rule out a
 * pattern whose required word is absent). Tokens here are the text split
 * at spaces; safety.c's normaliser is tested in test_safety. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/util.c"
#include "../../src/pattern.c"

/* ------------------------------------------------------------ helpers */

struct blk { struct blk *next; unsigned char d[]; };
static struct blk *arena;

static void *t_alloc(void *actx, size_t n)
{
    struct blk *b = xcalloc(1, sizeof *b + n);
    (void)actx;
    b->next = arena;
    arena = b;
    return b->d;
}

static int t_rewritten(void *rctx, const char *w, size_t n)
{
    (void)rctx;
    return n == 3 && memcmp(w, "pls", 3) == 0;     /* as if normalise.spellings had "pls" */
}

static const char *const m_ingest[] = {"swallowed", "ate", "drank some"};
static const char *const m_pill[] = {"pill", "pills", "tablet*"};
static const char *const m_meds[] = {"@pill", "medicine"};
static const char *const m_loop[] = {"x", "@loop"};
static const char *const m_hole[] = {"ok", NULL};
static const char *const m_inner[] = {"(a|@pill)"};
static struct pat_class classes[6];
static struct pat_compiler comp;

static void reset(void)
{
    static const struct { const char *name; const char *const *m; size_t n; } k[] = {
        {"ingest", m_ingest, 3}, {"pill", m_pill, 3}, {"meds", m_meds, 2},
        {"loop", m_loop, 2}, {"hole", m_hole, 2}, {"inner", m_inner, 1},
    };
    memset(classes, 0, sizeof classes);
    for (size_t i = 0; i < 6; i++) {
        classes[i].name = k[i].name;
        classes[i].members = k[i].m;
        classes[i].nmembers = k[i].n;
    }
    memset(&comp, 0, sizeof comp);
    comp.alloc = t_alloc;
    comp.default_gap = 6;
    comp.rewritten = t_rewritten;
    comp.classes = classes;
    comp.nclasses = 6;
}

static int teardown(void **state)
{
    (void)state;
    while (arena) {
        struct blk *next = arena->next;
        free(arena);
        arena = next;
    }
    return 0;
}

/* text split at spaces into tok (numbers: digits and '.') */
static size_t tokens(char *text, struct pat_tok *tok, size_t max)
{
    size_t n = 0;
    for (char *q = strtok(text, " "); q && n < max; q = strtok(NULL, " ")) {
        struct pat_tok *t = &tok[n++];
        t->s = q;
        t->n = strlen(q);
        t->isnum = strspn(q, "0123456789.") == t->n;
        t->num = t->isnum ? strtod(q, NULL) : 0;
        t->flags = 0;
    }
    return n;
}

/* Whether src matches text: -1 when it does not, else the start * 100 +
 * end of the first match. Checks that the index agrees. */
static int first_match(const char *src, const char *text)
{
    char buf[512];
    struct pat_tok tok[64];
    struct pat_pattern p;
    size_t s = 0, e = 0, s2 = 0, e2 = 0;
    reset();
    if (pat_compile(&comp, src, "t", &p) < 0)
        fail_msg("\"%s\" did not compile: %s", src, comp.err);
    snprintf(buf, sizeof buf, "%s", text);
    size_t n = tokens(buf, tok, 64);
    struct pat_input in = {tok, n, NULL, NULL};
    int r = pat_find(&p, &in, 0, &s, &e);
    const struct pat_pattern *pp = &p;
    struct pat_index *ix = pat_index_build(&pp, 1);
    struct pat_scan sc;
    pat_scan_init(&sc, ix, tok, n);
    in.scan = &sc;
    if (r && !pat_possible(&p, &in))
        fail_msg("the index ruled out \"%s\" on \"%s\"", src, text);
    if (pat_find(&p, &in, 0, &s2, &e2) != r || s2 != s || e2 != e)
        fail_msg("the index moved the match of \"%s\" on \"%s\"", src, text);
    /* the first-byte buckets of long elements change nothing either */
    struct pat_elem el[32];
    struct pat_pattern nb = p;
    assert_true(p.n <= 32);
    memcpy(el, p.elems, p.n * sizeof *el);
    for (size_t k = 0; k < p.n; k++)
        el[k].bk = NULL;
    nb.elems = el;
    in.scan = NULL;
    if (pat_find(&nb, &in, 0, &s2, &e2) != r || s2 != s || e2 != e)
        fail_msg("the buckets moved the match of \"%s\" on \"%s\"", src, text);
    pat_scan_free(&sc);
    pat_index_free(ix);
    return r ? (int)(s * 100 + e) : -1;
}

/* ------------------------------------------------------------- tables */

static void test_compile_errors(void **state)
{
    (void)state;
    static const struct { const char *src, *err; } cases[] = {
        {"", "t: empty pattern"},
        {"   ", "t: empty pattern"},
        {"~2 kill", "t: pattern \"~2 kill\" starts with a gap"},
        {"... kill", "t: pattern \"... kill\" starts with a gap"},
        {"kill ~2", "t: pattern \"kill ~2\" ends with a gap"},
        {"kill ~0 him", "t: gap \"~0\" must be ~1..~12 or ..."},
        {"kill ~13 him", "t: gap \"~13\" must be ~1..~12 or ..."},
        {"kill ~x him", "t: gap \"~x\" must be ~1..~12 or ..."},
        {"kill .. him", "t: gap \"..\" must be ~1..~12 or ..."},
        {"kill ~1234 him", "t: gap \"~1234\" must be ~1..~12 or ..."},
        {"(a|) b", "t: pattern \"(a|) b\" must not start with an optional group"},
        {"(a|b", "t: unbalanced or nested parentheses in \"(a|b\""},
        {"(a|(b)) c", "t: unbalanced or nested parentheses in \"(a|(b)) c\""},
        {"a) b", "t: word \"a)\" is not normalised (lowercase letters and digits only)"},
        {"a(b) c", "t: unexpected parenthesis in \"a(b) c\""},
        {"ki*", "t: prefix \"ki*\" is shorter than 3 letters"},
        {"Kill", "t: word \"Kill\" is not normalised (lowercase letters and digits only)"},
        {"kill-him", "t: word \"kill-him\" is not normalised (lowercase letters and digits only)"},
        {"5ml", "t: word \"5ml\" mixes digits and letters; text is split there, so write them as separate words"},
        {"give pls", "t: word \"pls\" is rewritten by normalise.spellings, so it can never match"},
        {"#5", "t: number range \"#5\" must look like #lo..hi"},
        {"#5..2", "t: number range \"#5..2\" must look like #lo..hi"},
        {"#..2", "t: number range \"#..2\" must look like #lo..hi"},
        {"#1..x", "t: number range \"#1..x\" must look like #lo..hi"},
        {"@nope", "t: unknown class \"@nope\""},
        {"(@pill now|x)", "t: class \"@pill now\" must stand alone in its alternative"},
        {"(a @pill|x)", "t: \"@pill\" cannot appear inside a phrase"},
        {"take (a|b c) (x (y|z)|w)", "t: unbalanced or nested parentheses in \"take (a|b c) (x (y|z)|w)\""},
        {"@loop", "classes.loop: class \"@loop\" refers to itself"},
        {"@hole", "classes.hole[1]: members must be non-empty strings"},
        {"@inner", "classes.inner: a class cannot appear inside a phrase group"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct pat_pattern p;
        reset();
        if (pat_compile(&comp, cases[i].src, "t", &p) == 0)
            fail_msg("\"%s\" compiled", cases[i].src);
        if (strcmp(comp.err, cases[i].err) != 0)
            fail_msg("\"%s\": got '%s', want '%s'", cases[i].src, comp.err, cases[i].err);
    }
    /* a long word is a bad word, whatever it is */
    char big[200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct pat_pattern p;
    reset();
    assert_int_equal(pat_compile(&comp, big, "t", &p), -1);
    assert_string_equal(comp.err, "t: bad word in pattern");
}

static void test_classes_resolve(void **state)
{
    (void)state;
    reset();
    comp.nclasses = 3;                  /* ingest, pill, meds: all fine */
    assert_int_equal(pat_classes_resolve(&comp), 0);
    assert_int_equal(classes[2].nalts, 4);          /* @pill spliced: 3 + medicine */
    assert_int_equal(classes[2].state, 2);
    reset();
    assert_int_equal(pat_classes_resolve(&comp), -1);
    assert_string_equal(comp.err, "classes.loop: class \"@loop\" refers to itself");
}

static void test_element_kinds(void **state)
{
    (void)state;
    static const struct { const char *src, *text; int want; } cases[] = {
        /* literal words, whole tokens only */
        {"kill", "i will kill it", 203},
        {"kill", "skills and killer", -1},
        {"rapist", "my therapist said", -1},
        {"kill him", "kill the him", -1},
        /* prefix */
        {"suicid*", "thinking about suicide", 203},
        {"suicid*", "suicid", 1},
        {"suicid*", "suici", -1},
        /* number range, inclusive, decimals */
        {"#0..12 months", "she is 12 months", 204},
        {"#0..12 months", "she is 13 months", -1},
        {"#0..12 months", "she is 0.5 months", 204},
        {"#1..2", "one", -1},
        /* any one token */
        {"give _ mg", "give 5 mg", 3},
        {"give _ mg", "give mg", -1},
        /* classes, including one spliced into another and a phrase member */
        {"@ingest @meds", "he ate tablets", 103},
        {"@ingest @meds", "he drank some medicine", 104},
        {"@ingest @meds", "he drank medicine", -1},
        /* groups with an optional alternative, and inline groups in a phrase */
        {"my (little|) son", "my son", 2},
        {"my (little|) son", "my little son", 3},
        {"my (little|big boy|) son", "my big boy son", 4},
        {"#0..7 (year|years) old", "he is 6 years old", 205},
        /* gaps */
        {"fell ~2 stairs", "fell down the stairs", 4},
        {"fell ~2 stairs", "fell all the way down stairs", -1},
        {"fell ... stairs", "fell a b c d e f stairs", 8},
        {"fell ... stairs", "fell a b c d e f g stairs", -1},
        /* backtracking: the first "not" fails, a later start succeeds */
        {"not ~1 breathing", "not sure he is not breathing", 406},
        /* backtracking over alternatives: the longer one must give way */
        {"(a b|a) b c", "a b c", 3},
        /* backtracking over gaps: the nearest "y" is not followed by "z" */
        {"x ~3 y z", "x y q y z", 5},
        /* the first match is the earliest start */
        {"b", "a b b", 102},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = first_match(cases[i].src, cases[i].text);
        if (got != cases[i].want)
            fail_msg("\"%s\" on \"%s\": got %d, want %d", cases[i].src, cases[i].text, got,
                     cases[i].want);
    }
}

static void test_match_at_mask_and_from(void **state)
{
    (void)state;
    char buf[] = "no he is not breathing not breathing";
    struct pat_tok tok[16];
    struct pat_pattern p;
    size_t n = tokens(buf, tok, 16), s, e, end;
    reset();
    assert_int_equal(pat_compile(&comp, "not breathing", "t", &p), 0);
    struct pat_input in = {tok, n, NULL, NULL};
    assert_true(pat_find(&p, &in, 0, &s, &e));
    assert_int_equal(s, 3);
    assert_int_equal(e, 5);
    assert_true(pat_find(&p, &in, 4, &s, &e));       /* from: the next one */
    assert_int_equal(s, 5);
    assert_false(pat_find(&p, &in, 6, &s, &e));
    assert_true(pat_match_at(&p, &in, 3, &end));
    assert_int_equal(end, 5);
    assert_false(pat_match_at(&p, &in, 2, &end));
    unsigned char mask[16] = {0};
    mask[4] = 1;                                      /* the first "breathing" blanked */
    in.mask = mask;
    assert_true(pat_find(&p, &in, 0, &s, &e));
    assert_int_equal(s, 5);
}

static void test_summary(void **state)
{
    (void)state;
    struct pat_pattern p;
    reset();
    assert_int_equal(pat_compile(&comp, "(my|our) (little|) ~2 (son|daughter|kid*)", "t", &p), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.elems[2].gap, 2);
    assert_string_equal(p.src, "(my|our) (little|) ~2 (son|daughter|kid*)");
    assert_true(p.has_first);
    assert_true(BIT(p.first, 'm') && BIT(p.first, 'o') && !BIT(p.first, 's'));
    assert_ptr_equal(p.anchor, &p.elems[0]);          /* 2 alternatives, fewer than 3 */
    reset();
    assert_int_equal(pat_compile(&comp, "_ #1..5", "t", &p), 0);
    assert_false(p.has_first);
    assert_null(p.anchor);
}

/* first_match (its index and bucket checks) for every pattern on every text. */
static void first_match_all(const char *const *pats, size_t np, const char *const *texts,
                            size_t nt)
{
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < nt; j++)
            first_match(pats[i], texts[j]);
}

/* The index: a pattern whose required word is absent is ruled out; one
 * with no indexable element, or unknown to the index, never is. */
static void test_index(void **state)
{
    (void)state;
    static const char *const srcs[] = {
        "choke* ~3 (food|grape)", "_ #1..5", "give (a|) @pill", "swallow* ... @meds",
        "abcdefghijklmnopqrstuvwxyz* ~2 #1..5",
    };
    struct pat_pattern p[5];
    const struct pat_pattern *pp[5];
    reset();
    for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(pat_compile(&comp, srcs[i], "t", &p[i]), 0);
        p[i].id = i;
        pp[i] = &p[i];
    }
    struct pat_index *ix = pat_index_build(pp, 5);
    char buf[] = "she choked on a grape give tablets";
    struct pat_tok tok[16];
    size_t n = tokens(buf, tok, 16), s, e;
    struct pat_scan sc;
    pat_scan_init(&sc, ix, tok, n);
    struct pat_input in = {tok, n, NULL, &sc};
    assert_true(pat_possible(&p[0], &in));
    assert_true(pat_find(&p[0], &in, 0, &s, &e));
    assert_int_equal(s, 1);
    assert_int_equal(e, 5);
    assert_true(pat_possible(&p[1], &in));            /* nothing to index: always possible */
    assert_false(pat_find(&p[1], &in, 0, &s, &e));
    assert_true(pat_possible(&p[2], &in));
    assert_true(pat_find(&p[2], &in, 0, &s, &e));
    assert_int_equal(s, 5);
    assert_false(pat_possible(&p[3], &in));           /* no word starts "swallow" */
    assert_false(pat_find(&p[3], &in, 0, &s, &e));
    /* its prefix is too long to index, but its number is (PAT_NUM_KEY):
     * no number here */
    assert_false(pat_possible(&p[4], &in));
    struct pat_pattern extra = p[3];
    extra.id = 99;                                    /* unknown to the index */
    assert_true(pat_possible(&extra, &in));
    pat_scan_free(&sc);
    pat_index_free(ix);
}

/* The start filters (a first element of numbers and words, an element's
 * first bytes in a gap) and the per-entry start positions of the scan
 * (several entries start one element, a word and a prefix on the same
 * token) never rule out or move a match: first_match compares with the
 * matcher without the index. */
/* Elements of PAT_BUCKET_MIN alternatives or more try only those that can
 * start at the token's first byte, in file order (numbers, "_" and the
 * empty alternative everywhere): same match, same end (first_match checks
 * each against the matcher without the buckets). */
static void test_buckets(void **state)
{
    (void)state;
    struct pat_pattern p;
    reset();
    assert_int_equal(pat_compile(&comp, "go (ate|apple pie|app*|#1..3|bee|be|_ x|zoo|) end", "t", &p), 0);
    assert_null(p.elems[0].bk);
    assert_non_null(p.elems[1].bk);
    assert_null(p.elems[2].bk);
    const uint16_t *bk = p.elems[1].bk;
    /* 'a': ate, apple pie, app*, then the number, "_ x" and the empty one */
    assert_int_equal(bk['a' + 1] - bk['a'], 6);
    assert_int_equal(bk[257 + bk['a']], 0);
    assert_int_equal(bk[257 + bk['a'] + 3], 3);
    assert_int_equal(bk['q' + 1] - bk['q'], 3);          /* only the three that start anywhere */
    reset();
    assert_int_equal(pat_compile(&comp, "(a|b)", "t", &p), 0);
    assert_null(p.elems[0].bk);                          /* short: the plain loop */
    static const char *const pats[] = {
        "go (ate|apple pie|app*|#1..3|bee|be|_ x|zoo|) end",
        "she ~3 (ate|apple pie|app*|#1..3|bee|be|zoo|choke*) ~2 (now|today|end)",
        "(on|in|at|by|of|up|to|so|as|is) ~2 (fire|end)",
    };
    static const char *const texts[] = {
        "go ate end", "go apple pie end", "go apple end", "go appetite end", "go 2 end",
        "go 9 end", "go bee end", "go be end", "go q x end", "go end", "go zoo zoo end", "she ate it now",
        "she really did choke today", "she is 2 now", "so it is on fire", "at end",
        "she said apple pie then end", "x y z", "",
    };
    first_match_all(pats, sizeof pats / sizeof *pats, texts, sizeof texts / sizeof *texts);
    assert_int_equal(first_match(pats[0], "go apple pie end"), 4);
    assert_int_equal(first_match(pats[0], "go q x end"), 4);
    assert_int_equal(first_match(pats[0], "go end"), 2);
    assert_int_equal(first_match(pats[0], "go 9 end"), -1);
    assert_int_equal(first_match(pats[2], "so it is on fire"), 205);
}

static void test_start_filters(void **state)
{
    (void)state;
    struct pat_pattern p;
    reset();
    assert_int_equal(pat_compile(&comp, "(fever|#38..43) ~2 (now|today)", "t", &p), 0);
    assert_false(p.has_first);
    assert_true(p.num_first);
    assert_true(BIT(p.first, 'f') && !BIT(p.first, 'n'));
    assert_int_equal(p.elems[0].starts, 2);
    assert_int_equal(p.elems[1].starts, 1);
    assert_true(BIT(p.elems[1].first, 'n') && BIT(p.elems[1].first, 't'));
    reset();
    assert_int_equal(pat_compile(&comp, "_ (a|) b", "t", &p), 0);
    assert_false(p.num_first);
    assert_int_equal(p.elems[0].starts, 0);
    assert_int_equal(p.elems[1].starts, 0);             /* optional: no filter */
    assert_int_equal(first_match("#1..5 (year|years) old", "she is 3 years old"), 205);
    assert_int_equal(first_match("#1..5 (year|years) old", "she is 7 years old"), -1);
    assert_int_equal(first_match("(fever|#38..43) ~2 (now|today)", "temp 39 now"), 103);
    assert_int_equal(first_match("(fever|#38..43) ~2 (now|today)", "a fever since today"), 104);
    assert_int_equal(first_match("(fever|#38..43) ~2 (now|today)", "37 now fever"), -1);
    assert_int_equal(first_match("baby ~3 (choking|chokes)", "baby is now choking"), 4);
    assert_int_equal(first_match("baby ~3 (choking|chokes)", "baby is now not really choking"), -1);
    assert_int_equal(first_match("(chok*|choked|choke) ~2 grape", "she choked choked on a grape"), 206);
    assert_int_equal(first_match("(chok*|choked|choke) ~2 grape", "choke grape choked"), 2);
    assert_int_equal(first_match("(chok*|choke) (on|) @pill", "she choked on tablets"), 104);
}

/* Number atoms are indexed under one key every number token reaches: a
 * pattern that starts with a number (or a number or words) is tried only
 * at numbers and its words, one that needs a number is ruled out without
 * one, and neither moves a match (first_match compares with the matcher
 * without the index). */
static void test_number_key(void **state)
{
    (void)state;
    static const char *const pats[] = {
        "#1..5 (year|years) old", "(fever|#38..43) ~2 (now|today)", "#0..2.9 (month|months) old",
        "(baby|#0..7 year old) ~4 asleep", "she is #1..17 now", "(#6..20 puffs|puffs) ~8 still",
        "abcdefghijklmnopqrstuvwxyz* ~2 #1..5",
    };
    static const char *const texts[] = {
        "she is 3 years old", "she is 7 years old", "2 3 4 years old", "temp 39 now",
        "a fever since today", "37 now fever 38 today", "he is 2.5 months old", "baby is 2 months old",
        "my 4 year old is asleep", "baby now asleep", "she is 12 now and she is 3 now",
        "10 puffs and still wheezing", "puffs 2 still", "no numbers at all here", "", "5",
        "abcdefghijklmnopqrstuvwxyzs and 3",
    };
    first_match_all(pats, sizeof pats / sizeof *pats, texts, sizeof texts / sizeof *texts);
    assert_int_equal(first_match(pats[0], "2 3 4 years old"), 205);
    assert_int_equal(first_match(pats[2], "baby is 2 months old"), 205);
    assert_int_equal(first_match(pats[4], "she is 12 now and she is 3 now"), 4);
    assert_int_equal(first_match(pats[6], "abcdefghijklmnopqrstuvwxyzs and 3"), 3);
    /* needs a number: ruled out where none stands, possible where one does */
    struct pat_pattern p;
    reset();
    assert_int_equal(pat_compile(&comp, "she is #1..17 now", "t", &p), 0);
    const struct pat_pattern *pp = &p;
    struct pat_index *ix = pat_index_build(&pp, 1);
    const char *const cases[2] = {"she is now", "she is 4 now"};
    for (int k = 0; k < 2; k++) {
        char buf[64];
        struct pat_tok tok[16];
        struct pat_scan sc;
        snprintf(buf, sizeof buf, "%s", cases[k]);
        size_t n = tokens(buf, tok, 16);
        pat_scan_init(&sc, ix, tok, n);
        struct pat_input in = {tok, n, NULL, &sc};
        assert_int_equal(pat_possible(&p, &in), k);
        pat_scan_free(&sc);
    }
    pat_index_free(ix);
}

static void test_words(void **state)
{
    (void)state;
    struct pat_words w = {0};
    char keys[600][8];
    uint32_t n;
    for (uint32_t i = 0; i < 600; i++) {           /* grows past its first size */
        snprintf(keys[i], sizeof keys[i], "w%u", i);
        pat_words_add(&w, keys[i], strlen(keys[i]), pat_hash(keys[i], strlen(keys[i])), i);
        pat_words_add(&w, keys[i], strlen(keys[i]), pat_hash(keys[i], strlen(keys[i])), i);
    }
    pat_words_add(&w, "w7", 2, pat_hash("w7", 2), 1000);
    const uint32_t *ids = pat_words_get(&w, "w7", 2, pat_hash("w7", 2), &n);
    assert_non_null(ids);
    assert_int_equal(n, 2);                            /* the repeat of 7 was dropped */
    assert_int_equal(ids[0], 7);
    assert_int_equal(ids[1], 1000);
    ids = pat_words_get(&w, "w599", 4, pat_hash("w599", 4), &n);
    assert_non_null(ids);
    assert_int_equal(ids[0], 599);
    assert_null(pat_words_get(&w, "w600", 4, pat_hash("w600", 4), &n));
    pat_words_free(&w);
    assert_null(pat_words_get(&w, "w1", 2, pat_hash("w1", 2), &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_classes_resolve),
        cmocka_unit_test(test_element_kinds),
        cmocka_unit_test(test_match_at_mask_and_from),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_start_filters),
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_number_key),
        cmocka_unit_test(test_words),
    };
    return cmocka_run_group_tests_name("pattern", tests, NULL, teardown);
}
