/* test_grounded.c — the grounded engine on the shipped knowledge base: one
 * everyday question per topic gets a relevant, cited, three-step answer whose
 * [n] markers and citations agree, deterministically; chunking reassembles
 * the text exactly. Run from the repository root (reads kb/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util.c"
#include "../../src/text.c"
#include "../../src/url.c"
#include "../../src/tmodel.c"
#include "../../src/topicnet.c"
#include "../../src/kb.c"
#include "../../src/spell.c"

/* These tests use the pure composition functions; streaming reports
 * through the request's callbacks (engine.h), tested in test_turn.c. */
#include "../../src/engine_grounded.c"

static struct kb *kb;

static const struct { const char *topic, *q; } cases[] = {
    {"sleep-routines", "How do I handle bedtime?"},
    {"sleep-routines", "Bedtime is hard. How do I handle bedtime?"},
    {"night-waking", "my 10 month old still wakes up 3 times a night"},
    {"naps", "how many naps does a 1 year old need"},
    {"safe-sleep", "is it safe for my newborn to sleep on her tummy"},
    {"crying-colic", "my 5 week old cries for hours every evening"},
    {"breastfeeding", "how do i know my breastfed baby is getting enough milk"},
    {"bottle-feeding", "how much formula should a 2 month old drink"},
    {"starting-solids", "when can my baby start solid food"},
    {"picky-eating", "my 4 year old refuses vegetables and only eats pasta"},
    {"drinks", "how much juice can a toddler have"},
    {"food-allergies", "when should we introduce peanuts to our baby"},
    {"choking", "which foods are choking hazards for toddlers"},
    {"teething-teeth", "when should my child first see a dentist"},
    {"pacifiers-thumb", "how do i get my 3 year old to give up the dummy"},
    {"potty-training", "how do i know my toddler is ready for potty training"},
    {"bedwetting", "my 6 year old still wets the bed at night"},
    {"fever", "how do i take my toddler's temperature"},
    {"vaccines", "how can i make vaccine shots less scary for my 4 year old"},
    {"colds-illness", "when should i keep my child home from school with a cold"},
    {"car-seats", "when can my child switch to a booster seat"},
    {"childproofing", "how do i childproof the kitchen for a crawling baby"},
    {"water-safety", "how do i keep my toddler safe around the pool"},
    {"sun-safety", "what sunscreen should i use on my 2 year old"},
    {"physical-activity", "how much exercise does a school age child need"},
    {"milestones", "what should my 12 month old be doing by now"},
    {"language", "my 2 year old is not talking much yet"},
    {"reading", "how do i get my 7 year old to enjoy reading"},
    {"screen-time", "how much screen time is ok for a 3 year old"},
    {"first-phones", "what age should my kid get their first phone"},
    {"body-safety", "how do i teach my child about body safety and private parts"},
    {"parent-stress", "i feel so stressed and burnt out as a parent"},
    {"postpartum", "is it normal to feel weepy a week after giving birth"},
    {"tantrums", "my 2 year old has meltdowns in the supermarket"},
    {"hitting-biting", "my toddler hits other kids at playgroup"},
    {"discipline", "what can i do instead of spanking"},
    {"time-outs", "how long should a time out be for a 4 year old"},
    {"whining-limits", "my kid whines all day when i say no"},
    {"lying", "my 6 year old keeps lying to me"},
    {"chores-independence", "what chores can a 5 year old do"},
    {"siblings-new-baby", "how do i prepare my toddler for a new baby"},
    {"imaginary-friends", "my daughter has an imaginary friend is that normal"},
    {"shyness-friendships", "my son is very shy and struggles to make friends"},
    {"separation-anxiety", "my toddler screams at daycare drop off"},
    {"fears-nightmares", "my 4 year old is scared of the dark at bedtime"},
    {"bullying", "my child is being bullied at school"},
    {"school-homework", "how do i set up a homework routine"},
    {"teens-communication", "how do i get my teenager to talk to me"},
    {"divorce-family-change", "how do we tell the kids we are getting divorced"},
    {"grief", "how do i explain death to a 5 year old"},
};

static int setup(void **state)
{
    const char *dirs[1] = {"kb"};
    struct kb_problems pr = {0};
    if (kb_load(dirs, 1, &kb, &pr)) {
        for (size_t i = 0; i < pr.n; i++) fprintf(stderr, "%s\n", pr.items[i]);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    kb_free(kb);
    return 0;
}

static int has_topic(const struct kb_passage *p, const char *topic)
{
    for (size_t i = 0; i < p->ntopics; i++) if (strcmp(p->topics[i], topic) == 0) return 1;
    return 0;
}

/* Every [n] in the text is a citation id, and every citation is used. */
static void check_markers(const char *text, json_t *cit)
{
    size_t n = json_array_size(cit);
    int used[16] = {0};
    for (const char *p = strchr(text, '['); p; p = strchr(p + 1, '[')) {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end != ']') continue;
        assert_true(v >= 1 && (size_t)v <= n);
        used[v] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cit, i);
        assert_int_equal(json_integer_value(json_object_get(c, "id")), (json_int_t)(i + 1));
        assert_true(used[i + 1]);
        assert_non_null(json_string_value(json_object_get(c, "source")));
        assert_non_null(json_string_value(json_object_get(c, "title")));
        assert_int_equal(strncmp(json_string_value(json_object_get(c, "url")), "http", 4), 0);
    }
}

static void test_every_topic_gets_a_cited_three_step_answer(void **state)
{
    int failures = 0, two_steps = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kb_hit hits[5];
        int age;
        const char *q = cases[i].q;
        size_t n = kb_search(kb, q, strlen(q), hits, 5, &age);
        if (n == 0 || !has_topic(hits[0].p, cases[i].topic)) {
            fprintf(stderr, "  off topic: '%s' -> %s (want %s)\n", q, n ? hits[0].p->id : "none",
                    cases[i].topic);
            failures++;
            continue;
        }
        char *text, *again;
        json_t *cit, *cit2;
        grounded_compose(kb, q, strlen(q), hits, n, age, &text, &cit);
        grounded_compose(kb, q, strlen(q), hits, n, age, &again, &cit2);
        assert_string_equal(text, again);                 /* deterministic */
        assert_true(json_equal(cit, cit2));
        assert_non_null(strstr(text, "\n1. "));
        assert_non_null(strstr(text, "\n2. "));
        /* two steps that fit rather than a third from another subject or
         * age (session 13): a few answers only */
        if (!strstr(text, "\n3. ")) {
            fprintf(stderr, "  two steps: '%s'\n", q);
            two_steps++;
        }
        assert_true(json_array_size(cit) >= 1);
        check_markers(text, cit);
        assert_null(strchr(text, '<'));
        free(text); free(again);
        json_decref(cit); json_decref(cit2);
    }
    /* One known miss since the knowledge base grew to 615 passages: "how
     * much formula should a 2 month old drink" ranks the water passage
     * (its keywords say "how much water") over the formula-amounts one
     * (docs/knowledge-base.md). More misses fail the test. */
    assert_true(failures <= 1);
    /* session 13: the sunscreen question's fourth step was insect
     * repellent, the time-out length question's third for children under
     * 2; at most 3 of the 50 may have two */
    assert_true(two_steps <= 3);
}

static void test_no_match_has_no_citations(void **state)
{
    char *text;
    json_t *cit;
    grounded_compose(kb, "x", 1, NULL, 0, -1, &text, &cit);
    assert_non_null(strstr(text, "vetted guidance"));
    assert_int_equal(json_array_size(cit), 0);
    free(text);
    json_decref(cit);
}

static void test_chunks_reassemble_exactly(void **state)
{
    const char *t = "Hello  there,\nparent. [1]\n\n1. One step [2].";
    size_t len = strlen(t), off = 0, chunks = 0;
    char out[128] = {0};
    while (off < len) {
        size_t n = grounded_next_chunk(t, len, off);
        assert_true(n > 0);
        strncat(out, t + off, n);
        off += n;
        chunks++;
    }
    assert_string_equal(out, t);
    assert_int_equal(chunks, 8);
}

static void test_age_phrase_only_when_it_fits(void **state)
{
    struct kb_hit hits[5];
    int age;
    const char *q = "my 3 year old has tantrums in the shop";
    size_t n = kb_search(kb, q, strlen(q), hits, 5, &age);
    char *text;
    json_t *cit;
    assert_int_equal(age, 36);
    assert_true(n > 0);
    grounded_compose(kb, q, strlen(q), hits, n, age, &text, &cit);
    assert_non_null(strstr(text, "with your 3-year-old"));
    free(text);
    json_decref(cit);
}

/* Which questions are yes/no questions: a table. */
static void test_yes_no_questions(void **state)
{
    static const struct { const char *q; int yes_no; } t[] = {
        {"is it ok to give my 1 year old cow's milk?", 1},
        {"Can I put my baby to sleep on her tummy?", 1},
        {"should I wake my baby to feed at night", 1},
        {"Do we really need a stair gate?", 1},
        {"is 14 too young to be going out with someone?", 1},
        {"so honestly, is it bad to use a dummy?", 1},
        {"when he gets stuck, should I finish his words for him?", 1},
        {"my 2yo hits his sister. is that normal?", 1},
        {"he's 3. Does he need a nap? how long for?", 1},
        {"isn't 8pm too late for bed?", 1},
        {"how do I get my 2yo to sleep?", 0},
        {"what age can he walk to school alone?", 0},
        {"can you tell me how to start solids?", 0},
        {"could you explain night terrors", 0},
        {"is there a way to stop the biting?", 0},
        {"why does she wake at 5am? is it the light?", 0},
        {"if he bites, what do I do?", 0},
        {"bedtime is a fight every night", 0},
        /* a choice between two things to do is no yes/no question */
        {"should I ignore a tantrum or comfort them? getting mixed advice", 0},
        {"should I push through or go back to nappies", 0},
        {"should we use the proper names with toddlers or is that too much", 1},
        {"should i give my newborn a soother or will it cause nipple confusion", 1},
        {"is it ok to leave him or not?", 1},
        /* the forum shape: a judging word at the end */
        {"smelly cord stump normal?", 1},
        {"3 naps a day at 6 months ok?", 1},
        {"how much milk is normal?", 0},
        {"what temperature is safe?", 0},
        {"", 0},
        {"?", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int got = grounded_is_yes_no(t[i].q, strlen(t[i].q));
        if (got != t[i].yes_no) fprintf(stderr, "  yes/no: '%s' -> %d\n", t[i].q, got);
        assert_int_equal(got, t[i].yes_no);
    }
}

/* The first words for a yes/no question, read from the answering
 * sentence: a table over the kinds of question and of sentence. */
static void test_yes_no_verdicts(void **state)
{
    static const struct { const char *q, *sentence, *want; } t[] = {
        /* may I: the passage forbids it, allows it, or sets a condition */
        {"should I make him use his right hand?",
         "Never force a child to switch hands, because it can slow writing.",
         "No, it is best not to."},
        {"can I give my baby honey?", "Do not give honey to a baby under 12 months.",
         "It depends."},
        {"can I give my baby honey?", "Avoid honey in any form for babies.",
         "No, it is best not to."},
        {"is it ok to use a baby carrier?", "A carrier is fine for most babies.", "Yes, usually."},
        {"can my toddler have cows milk?", "Once a child is 12 months, cows milk is a fine drink.",
         "It depends."},
        /* is it normal */
        {"is it normal for my 2 year old to hit?",
         "Hitting and biting are very common between 1 and 3 years.", "Usually, yes."},
        {"my 4yo makes up stories. is that normal?",
         "Most children tell tall tales at this age.", "Usually, yes."},
        /* is it bad / should I worry */
        {"is it bad to force him to eat his vegetables?",
         "Never force a child to eat, since pressure makes refusals last longer.",
         "Yes, it is best avoided."},
        {"should I be worried that she still wets the bed at 5?",
         "Wetting at night is common up to about age 7.", "Usually not."},
        /* the passage says yes or no itself: no extra words */
        {"should I make him switch hands?", "No: let a left-handed child use the left hand.", ""},
        /* what is common is only half a sentence with a but: no "Usually
         * not." to a question whether something is wrong */
        {"breastfeeding hurts and my nipples are cracked, is her latch wrong",
         "Some tenderness in the first days is common, but pain that lasts through the whole "
         "feed usually means the latch needs adjusting.", NULL},
        /* a cue in a clause about something else does not count */
        {"is it safe to use sunscreen on my baby?",
         "Keep babies in the shade; do not use oil of lemon eucalyptus on them.", NULL},
        /* "usually" saying when, not how common, answers nothing */
        {"should I give a dummy? worried about his teeth",
         "If you breastfeed, wait until feeding is going well, usually around 3 to 4 weeks, "
         "before offering a pacifier.", "It depends."},
        /* a child who does NOT do something: what most children do is no yes */
        {"is it normal that my 15 month old isn't walking yet?",
         "Most children walk by about 15 months.", NULL},
        {"should I be worried he doesn't talk much at 2?",
         "Most children say about 50 words by age 2.", NULL},
        /* a condition in a reason or a description is none on the answer */
        {"do i have to wash all the bedding if she's got head lice",
         "You do not need to deep-clean the house for head lice, because lice die within a day "
         "or two once they are off a human head.", "No, there is no need."},
        {"should I do a baby first aid course before she's born",
         "Every parent benefits from an infant CPR class, which teaches what to do if a baby "
         "stops breathing.", NULL},
        {"we missed the 1 year shots, can we catch up?",
         "A child who has missed vaccines usually does not need to restart any series.", NULL},
        /* the forum shape gets a definite yes or no only */
        {"puffy winter coat in car seat ok?",
         "Take off bulky coats and snowsuits before buckling your child into a car seat.", NULL},
        {"leave baby alone w the dog for a minute, ever ok?",
         "Babies should never be left alone with any dog, even a gentle family pet.",
         "No, it is best not to."},
        /* a choice between two things to do gets no yes or no */
        {"should I ignore a tantrum or comfort them?",
         "Calmly ignoring the screaming, while staying close, does not change the answer.", NULL},
        /* no cue at all, or not a yes/no question */
        {"can I start a bedtime routine?", "A bedtime routine has four steps.", NULL},
        {"how do I stop the hitting?", "Never hit back.", NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *got = grounded_verdict(t[i].q, strlen(t[i].q), t[i].sentence);
        if (!t[i].want) {
            if (got) fprintf(stderr, "  verdict: '%s' -> '%s'\n", t[i].q, got);
            assert_null(got);
        } else {
            if (!got || strcmp(got, t[i].want))
                fprintf(stderr, "  verdict: '%s' -> '%s'\n", t[i].q, got ? got : "(null)");
            assert_non_null(got);
            assert_string_equal(got, t[i].want);
        }
    }
}

/* Through composition: a yes/no answer opens with the verdict (cited with
 * the sentence it came from), not with the topic's opening line. */
static void test_yes_no_answer_comes_first(void **state)
{
    static const char *const qs[] = {"is it normal for my 2 year old to hit?",
                                     "how do I stop my 2 year old hitting?"};
    for (size_t i = 0; i < 2; i++) {
        struct kb_hit hits[5];
        int age;
        char *text;
        json_t *cit;
        size_t n = kb_search(kb, qs[i], strlen(qs[i]), hits, 5, &age);
        assert_true(n > 0);
        grounded_compose(kb, qs[i], strlen(qs[i]), hits, n, age, &text, &cit);
        const char *op = kb_topic_opener(kb, hits[0].p->topics[0]);
        if (i == 0) {
            assert_true(strncmp(text, "Usually, yes. ", 14) == 0);
            assert_non_null(strstr(text, "[1]"));
            assert_true(strchr(text, '\n') > strstr(text, "[1]"));   /* same line */
            assert_true(!op || strncmp(text, op, strlen(op)) != 0);
        } else {
            assert_true(strncmp(text, "Usually", 7) != 0);
        }
        free(text);
        json_decref(cit);
    }
}

/* Session 13: two steps sharing four distinct words that say something
 * (similar_steps), from two passages. */
static void test_similar_steps_shared_words(void **state)
{
    assert_true(similar_steps(
        "For a nanny, check identity, references from previous families, and a background check.",
        "Check licensing for nurseries, and references and background checks for a nanny."));
    assert_false(similar_steps(
        "Check belt fit before ditching the booster: your child sits with their back against the seat.",
        "Choose a high-back booster if your car has no head restraint or a low seat back."));
}

/* Near-duplicate steps: a table for similar(). */
static void test_similar_steps(void **state)
{
    static const struct { const char *a, *b; int same; } t[] = {
        {"During a night terror, stay calm, keep your child safe and do not try to wake them.",
         "Stay calm, keep your child safe from furniture or stairs, and wait for it to pass.", 1},
        {"Offer water in an open cup at every meal.", "Offer water in an open cup with meals.", 1},
        {"Keep medicines locked away, out of sight and reach, in their original containers.",
         "Store medicines in their original containers, locked away out of reach.", 1},
        {"Talk to your child about what happened.", "Talk to your child's teacher about the plan.", 0},
        {"Offer a small open cup at meals.", "Read a bedtime story together every night.", 0},
        {"Give a 5-minute warning before lights out.", "Use a timer so the clock signals the change.", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int got = similar(t[i].a, t[i].b);
        if (got != t[i].same) fprintf(stderr, "  similar: '%s' / '%s' -> %d\n", t[i].a, t[i].b, got);
        assert_int_equal(got, t[i].same);
    }
}

/* The lines of an answer that are steps ("1. ...", "2. ..."), markers cut. */
static size_t answer_steps(const char *text, char steps[][512], size_t max)
{
    size_t n = 0;
    for (const char *p = text; p && *p && n < max; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!(p[0] >= '1' && p[0] <= '9' && p[1] == '.' && p[2] == ' ')) continue;
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p - 3) : strlen(p + 3);
        snprintf(steps[n], 512, "%.*s", (int)l, p + 3);
        char *m = strstr(steps[n], " [");
        if (m) *m = '\0';
        n++;
    }
    return n;
}

/* Through composition, for every everyday question: no step says another
 * step or the summary sentence again. */
static void test_no_repeated_steps(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kb_hit hits[5];
        int age;
        char *text, steps[3][512], summary[1024] = "";
        json_t *cit;
        size_t n = kb_search(kb, cases[i].q, strlen(cases[i].q), hits, 5, &age);
        if (n == 0) continue;
        grounded_compose(kb, cases[i].q, strlen(cases[i].q), hits, n, age, &text, &cit);
        const char *s = strstr(text, " [1]");
        if (s) {                                  /* the sentence that ends in the first [1] */
            const char *b = s;
            while (b > text && b[-1] != '\n') b--;
            snprintf(summary, sizeof summary, "%.*s", (int)(s - b), b);
        }
        size_t ns = answer_steps(text, steps, 3);
        for (size_t a = 0; a < ns; a++) {
            if (similar(summary, steps[a])) fprintf(stderr, "  repeats summary: '%s'\n", steps[a]);
            assert_false(similar(summary, steps[a]));
            for (size_t b = a + 1; b < ns; b++) {
                if (similar(steps[a], steps[b]))
                    fprintf(stderr, "  repeated step: '%s' / '%s'\n", steps[a], steps[b]);
                assert_false(similar(steps[a], steps[b]));
            }
        }
        free(text);
        json_decref(cit);
    }
}

/* An age is said back only when the question states it as a number: a
 * stage word ("teen", "toddler") ranks passages but is not "your
 * 15-year-old". */
static void test_no_invented_age(void **state)
{
    static const char *const qs[] = {"how do I talk to my teen about vaping",
                                     "my toddler hits other children at playgroup"};
    for (size_t i = 0; i < 2; i++) {
        struct kb_hit hits[5];
        int age;
        char *text;
        json_t *cit;
        size_t n = kb_search(kb, qs[i], strlen(qs[i]), hits, 5, &age);
        assert_true(age >= 0);                   /* read, for ranking */
        assert_int_equal(kb_stated_age(qs[i], strlen(qs[i])), -1);
        assert_true(n > 0);
        grounded_compose(kb, qs[i], strlen(qs[i]), hits, n, age, &text, &cit);
        if (strstr(text, "-year-old") || strstr(text, "-month-old"))
            fprintf(stderr, "  invented age: %s\n", text);
        assert_null(strstr(text, "-year-old"));
        assert_null(strstr(text, "-month-old"));
        free(text);
        json_decref(cit);
    }
    /* an age from elsewhere (an earlier message) that this question does
     * not state is not said either */
    {
        const char *q = "how do I stop the tantrums in the shop";
        struct kb_hit hits[5];
        char *text;
        json_t *cit;
        size_t n = kb_search(kb, q, strlen(q), hits, 5, NULL);
        assert_true(n > 0);
        grounded_compose(kb, q, strlen(q), hits, n, 36, &text, &cit);
        assert_null(strstr(text, "3-year-old"));
        free(text);
        json_decref(cit);
    }
    assert_int_equal(kb_stated_age("my 3 year old", 13), 36);
    assert_int_equal(kb_stated_age("six week old baby", 17), 1);
}

/* The answer to q as a first question (its five best hits, the age it
 * states): *text and *cit are the caller's to free. Asserts a hit. */
static void compose_first(const char *q, char **text, json_t **cit)
{
    struct kb_hit hits[5];
    int age;
    size_t n = kb_search(kb, q, strlen(q), hits, 5, &age);
    assert_true(n > 0);
    grounded_compose(kb, q, strlen(q), hits, n, age, text, cit);
}

/* The answer to q from its eight best hits (kb_search_ex, the age it
 * states), its citation marks checked: *text and *cit are the caller's to
 * free. Asserts a hit. */
static void compose_eight(const char *q, char **text, json_t **cit)
{
    struct kb_hit hits[8];
    struct kb_result r;
    size_t n = kb_search_ex(kb, q, strlen(q), -1, hits, 8, &r);
    assert_true(n > 0);
    grounded_compose(kb, q, strlen(q), hits, n, r.age, text, cit);
    check_markers(*text, *cit);
}

/* A question asking for an amount, an age or a limit opens on the
 * sentence that gives it (a number, cited [1]), not on a warm opening line;
 * other questions keep the opening line. */
static void test_fact_first(void **state)
{
    static const char *const qs[] = {"how much formula should a 2 month old drink",
                                     "how much screen time is ok for a 3 year old",
                                     "how many naps does a 1 year old need"};
    for (size_t i = 0; i < 3; i++) {
        char *text;
        json_t *cit;
        compose_first(qs[i], &text, &cit);
        const char *m = strstr(text, " [1]");
        assert_non_null(m);
        /* the first line is the cited fact, and it holds a number */
        assert_true(strchr(text, '\n') == NULL || strchr(text, '\n') > m);
        assert_true(gives_quantity(text, (size_t)(m - text)));
        free(text);
        json_decref(cit);
    }
    /* a question asking for information opens on its answer, not on a
     * topic's warm line (session 13) */
    {
        char *text;
        json_t *cit;
        compose_first("what should i ask at the parent teacher meeting", &text, &cit);
        assert_true(strchr(text, '\n') > strstr(text, " [1]"));
        free(text);
        json_decref(cit);
    }
    {
        char *text;
        json_t *cit;
        /* compose42: no topic's stock opening line either; the parent's
         * own feeling or struggle, when told, is answered first */
        compose_first("how do I get my 2 year old to sleep in her own bed", &text, &cit);
        assert_true(strchr(text, '\n') > strstr(text, " [1]"));
        free(text);
        json_decref(cit);
        compose_first("bedtime is a battle every single night with my 4 year old", &text, &cit);
        assert_true(strchr(text, '\n') < strstr(text, " [1]"));   /* a line for the struggle first */
        free(text);
        json_decref(cit);
    }
}

/* Two passages from one page are one source: one citation, one number
 * (the rubric saw "two sources share one URL"). The two biting passages
 * cite the same Zero to Three page. */
static void test_one_page_one_citation(void **state)
{
    const struct kb_passage *a = kb_find(kb, "hitting-biting-biting");
    const struct kb_passage *b2 = kb_find(kb, "hitting-biting-daycare");
    const struct kb_passage *c = kb_find(kb, "tantrums-during-and-after");
    assert_non_null(a);
    assert_non_null(b2);
    assert_string_equal(a->url, b2->url);
    struct kb_hit hits[3] = {{a, 10, 0, 10}, {b2, 9, 0, 9}, {c ? c : a, 8, 0, 8}};
    const char *q = "my toddler bites other children at nursery, how do I stop it";
    char *text;
    json_t *cit;
    grounded_compose(kb, q, strlen(q), hits, c ? 3 : 2, 24, &text, &cit);
    check_markers(text, cit);
    for (size_t i = 0; i < json_array_size(cit); i++)
        for (size_t k = i + 1; k < json_array_size(cit); k++)
            assert_string_not_equal(
                json_string_value(json_object_get(json_array_get(cit, i), "url")),
                json_string_value(json_object_get(json_array_get(cit, k), "url")));
    free(text);
    json_decref(cit);
}

/* A question in two parts is answered in the order asked, each part from
 * its own passage, both cited: the first citation is the first part's,
 * and the steps list the first part's before the second's. The whole
 * question's best passage used to lead ("how much formula ...? also when
 * do babies drop their naps?" opened on vitamin D drops and left the naps
 * out). A joined conversation reading carries no parts (convo.c). */
static void test_two_part_questions_in_order(void **state)
{
    static const struct { const char *q, *first, *second; } two[] = {
        {"how much formula should my 2 month old drink? also when do babies drop their naps?",
         "bottle-feeding", "naps"},
        {"how much screen time is ok for a 3 year old? and when do toddlers stop napping?",
         "screen-time", "naps"},
        {"how do I get rid of head lice? also my 7 year old has started swearing, how do I "
         "stop it?", "lice", "swearing-manners"},
        {"how do I sterilise baby bottles? and is a dummy ok for a newborn?", "bottle-feeding",
         "pacifiers-thumb"},
    };
    for (size_t c = 0; c < sizeof two / sizeof two[0]; c++) {
        struct kb_hit hits[8];
        struct kb_result r;
        char *text;
        json_t *cit;
        size_t n = kb_search_ex(kb, two[c].q, strlen(two[c].q), -1, hits, 8, &r);
        assert_true(n >= 2);
        grounded_compose(kb, two[c].q, strlen(two[c].q), hits, n, r.age, &text, &cit);
        check_markers(text, cit);
        int first = -1, second = -1;
        for (size_t i = 0; i < json_array_size(cit); i++) {
            const char *t = json_string_value(json_object_get(json_array_get(cit, i), "title"));
            for (size_t k = 0; k < kb_count(kb); k++) {
                const struct kb_passage *p = kb_get(kb, k);
                if (strcmp(p->title, t) != 0) continue;
                if (first < 0 && has_topic(p, two[c].first)) first = (int)i;
                if (second < 0 && has_topic(p, two[c].second)) second = (int)i;
            }
        }
        if (first != 0 || second < 1) fprintf(stderr, "  %s\n%s\n", two[c].q, text);
        assert_int_equal(first, 0);
        assert_true(second >= 1);
        /* the second part's sentence comes before the steps: [2] before "1." */
        assert_true(strstr(text, "[2]") < strstr(text, "\n1. "));
        free(text);
        json_decref(cit);
    }
}

/* The answering sentence and the steps fit the child's age: a sentence
 * names an age range ("under 6 months", "from 12 months", "by 18 months",
 * "3 to 5 years", "a 2-year-old") only with an age word or "old"; "every
 * 3 to 4 months" is no age. "is it ok to give my 8 month old water?" was
 * answered with the under-6-months sentence. */
static void test_age_fit(void **state)
{
    static const struct { const char *s; int age, want; } ages[] = {
        {"Babies under 6 months get all the fluid they need from milk.", 8, -1},
        {"Babies under 6 months get all the fluid they need from milk.", 4, 1},
        {"From about 6 months, offer sips of water from a cup.", 8, 1},
        {"From about 6 months, offer sips of water from a cup.", 3, -1},
        {"Most toddlers drop to one nap by 18 months.", 16, 1},
        {"Most children give up napping between 3 and 5 years.", 48, 1},
        {"Most children give up napping between 3 and 5 years.", 12, -1},
        {"Replace the toothbrush every 3 to 4 months.", 30, 0},
        {"A 2-year-old may say about 50 words.", 24, 1},
        {"Newborns feed 8 to 12 times a day.", 1, 1},
        {"Newborns feed 8 to 12 times a day.", 36, -1},
        {"Offer water with meals.", 8, 0},
        {"Babies under 6 months get all the fluid they need from milk.", -1, 0},
        /* an age range told after the number (README example, 2026-12-03:
         * a cup step "for babies of 4 months and over" for a 2-month-old) */
        {"Try a free-flow beaker, which many babies of 4 months and over accept.", 2, -1},
        {"Try a free-flow beaker, which many babies of 4 months and over accept.", 6, 1},
        {"Children of 5 years or younger need a booster.", 8 * 12, -1},
        /* README example, session 12: "how much formula should my 2 month
         * old drink" opened on the first-days amount */
        {"In the first days, newborns usually take about 1 to 2 ounces every 2 to 3 hours.", 2, -1},
        {"In the first days, newborns usually take about 1 to 2 ounces every 2 to 3 hours.", 0, 1},
        {"By the end of the first month most take around 4 ounces every 3 to 4 hours.", 2, 1},
        {"By the end of the first month most take around 4 ounces every 3 to 4 hours.", 5, -1},
        {"Skin-to-skin helps in the first 6 weeks.", 1, 1},
        {"Skin-to-skin helps in the first 6 weeks.", 3, -1},
        {"Sleep is patchy for the first few months.", 2, 1},
        /* session 13 (rubric review 2026-12-03): stages named for a
         * group, ages with no unit word after a word for children, and a
         * range that says its own ends */
        {"Give toddlers and older children a drink with a straw.", 9, -1},
        {"Give toddlers and older children a drink with a straw.", 24, 1},
        {"Teach children over about 5 to yawn or swallow.", 9, -1},
        {"Teach children over about 5 to yawn or swallow.", 84, 1},
        {"For children under 5, respond to tall stories with interest.", 72, -1},
        {"For children under 5, respond to tall stories with interest.", 36, 1},
        {"Give 6 to 9-year-olds jobs like packing their school bag.", 60, -1},
        {"Give 6 to 9-year-olds jobs like packing their school bag.", 84, 1},
        {"With young children, stop tickling as soon as they say stop.", 144, -1},
        {"Keep regular contact with your teen through family meals.", 72, -1},
        {"Do not let kids over 2 hours a day on screens.", 36, 0},
        /* compose45: words of a stage of sleep and care tell against an
         * age only (blind rubric 2026-12-04: a naps step for a 10-year-old,
         * a morning-nap step for a 4-year-old) */
        {"Count total sleep, adding night sleep and naps together.", 120, -1},
        {"Count total sleep, adding night sleep and naps together.", 36, 0},
        {"When dropping the morning nap, push it later every few days.", 48, -1},
        {"When dropping the morning nap, push it later every few days.", 15, 0},
        {"Lay your baby down on their back in the cot.", 36, -1},
        {"Lay your baby down on their back in the cot.", 6, 0},
        {"Most toddlers move from two naps to one, and most children give up napping "
         "between 3 and 5 years.", 48, 1},
    };
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        int got = age_fit(ages[i].s, strlen(ages[i].s), ages[i].age);
        if (got != ages[i].want) fprintf(stderr, "  %s (%d): %d\n", ages[i].s, ages[i].age, got);
        assert_int_equal(got, ages[i].want);
    }
    const struct kb_passage *p = kb_find(kb, "drinks-water");
    if (p) {
        const char *q = "is it ok to give my 8 month old water?";
        struct kb_hit hits[1] = {{p, 10, 0, 10}};
        char *text;
        json_t *cit;
        grounded_compose(kb, q, strlen(q), hits, 1, 8, &text, &cit);
        const char *first = strstr(text, "[1]");
        assert_non_null(first);
        /* the answering sentence (up to its [1]) is not the under-6-months one */
        char head[1024];
        snprintf(head, sizeof head, "%.*s", (int)(first - text), text);
        assert_true(age_fit(head, strlen(head), 8) >= 0);
        free(text);
        json_decref(cit);
    }
}

/* The grounded engine says it reads English (turn.c hands it a question
 * in another language as its English reading, by this flag, not by name). */
static void test_reads_english(void **state)
{
    struct engine *e = engine_grounded_new(NULL, kb, 0);
    assert_int_equal(e->reads_english, 1);
    e->destroy(e);
}


/* Session 12 (compose39): what kind of question it is. "When" asks a time
 * only where it opens a clause; a fact is a number in digits or a number
 * word before a unit ("one instruction at a time" is none). */
static void test_question_shape(void **state)
{
    (void)state;
    assert_true(asks_for_number("when can my baby eat eggs"));
    assert_true(asks_for_number("she's 7 months, when do night feeds stop"));
    assert_true(asks_for_number("and when does the clinginess end"));
    assert_false(asks_for_number("he only does his homework when i shout at him"));
    assert_false(asks_for_number("what do i do when she bites"));
    assert_true(gives_quantity("Offer 6 to 8 ounces", 19));
    assert_true(gives_quantity("for about two years", 19));
    assert_false(gives_quantity("Give one instruction at a time", 30));
    assert_false(gives_quantity("linking one cycle to the next", 29));
}

/* What the parent says they already tried: after "tried", "not even",
 * in a clause that "doesn't work", or a list of past-tense verbs. */
static void test_tried_words(void **state)
{
    (void)state;
    static const struct { const char *q, *step; int tried; } tc[] = {
        {"we've tried white noise and a dream feed, still up at 5", "Use white noise", 1},
        {"she wakes every hour. fed, winded, changed, swaddled, still crying", "Wind your baby",
         1},
        {"bath story song doesnt work anymore, he is up till 10", "Give a bath", 1},
        {"he picks his skin, not even plasters stop him", "Cover it with a plaster", 1},
        {"she loves the white noise machine, how do i get longer naps", "Use white noise", 0},
        {"what happened at school today, he won't say", "Ask what happened", 0},
    };
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        struct wordset tw, sw;
        tried_words(tc[i].q, strlen(tc[i].q), &tw);
        words_of(tc[i].step, &sw);
        if ((key_overlap(&tw, &sw) > 0) != tc[i].tried) fprintf(stderr, "  %s\n", tc[i].q);
        assert_int_equal(key_overlap(&tw, &sw) > 0, tc[i].tried);
    }
}

/* The parent's own feeling is answered; a child's feeling is not the
 * parent's ("she's worried"), and "awful at maths" is no guilt. */
static void test_feeling_line(void **state)
{
    (void)state;
    static const struct { const char *q; int feels; } tc[] = {
        {"i'm so exhausted, the twins are up all night", 1},
        {"we are shattered, 4 month old wakes hourly", 1},
        {"honestly I feel awful for shouting at her this morning", 1},
        {"he hit another kid at the park in front of everyone. embarrassed.", 1},
        {"i'm really worried about his speech", 1},
        {"she's worried about starting secondary school", 0},
        {"i was awful at maths, how do i help with homework", 0},
        {"he gets tired after school and melts down", 0},
        {"how much milk does a 1 year old need", 0},
    };
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        char buf[256];
        const char *l = feeling_line(tc[i].q, strlen(tc[i].q), buf, sizeof buf);
        if ((l != NULL) != tc[i].feels) fprintf(stderr, "  %s\n", tc[i].q);
        assert_int_equal(l != NULL, tc[i].feels);
    }
}

/* The steps' heading follows the question. */
static void test_steps_heading(void **state)
{
    (void)state;
    assert_string_equal(steps_noun("any ideas for a long car journey", 32), "ideas");
    assert_string_equal(steps_noun("how do i explain divorce to a 6 year old", 40),
                        "ways to go about it");
    assert_string_equal(steps_noun("how do i stop my toddler biting", 31), "things");
}

/* A number the parent gives, against the passage's guide in the same
 * unit and at the same rate. */
static void test_compare_line(void **state)
{
    (void)state;
    char out[160];
    const char *help = "Call your doctor if your baby takes more than 32 ounces a day";
    const char *q1 = "my 3 month old drinks 40 oz a day, is that too much";
    assert_true(compare_line(q1, strlen(q1), "Most take 4 ounces a feed.", help, 3, out,
                             sizeof out));
    assert_non_null(strstr(out, "more than"));
    assert_non_null(strstr(out, "32"));
    const char *q2 = "she has about 28oz a day, is that ok?";
    assert_true(compare_line(q2, strlen(q2), "", help, 5, out, sizeof out));
    assert_non_null(strstr(out, "within"));
    /* a day is not a feed */
    const char *q3 = "35 oz a day, too much?";
    assert_false(compare_line(q3, strlen(q3), "Most take 6 to 8 ounces per feed.", NULL, 5, out,
                              sizeof out));
    /* no question about the number */
    const char *q4 = "she drinks 30 oz a day, how do i start solids";
    assert_false(compare_line(q4, strlen(q4), "", help, 5, out, sizeof out));
    /* a guide for another age is no guide */
    const char *q5 = "my 14 month old says 5 words, is that normal";
    const char *h5 = "Ask for a check if your child has fewer than 50 words by age 2.";
    assert_false(compare_line(q5, strlen(q5), "", h5, 14, out, sizeof out));
    const char *q6 = "my 2 year old only says 20 words, is that behind";
    assert_true(compare_line(q6, strlen(q6), "", h5, 24, out, sizeof out));
    assert_non_null(strstr(out, "below"));
}

/* A weaker passage's step shares a key word with the question (or the
 * answering sentence); a part that tells ("... she says all her friends
 * can") draws no passage of its own; steps already tried go last. */
static void test_steps_from_the_question(void **state)
{
    (void)state;
    static const struct { const char *q, *absent; } tc[] = {
        {"how do i talk to my 11 year old son about sex without it being awkward", "shave"},
        {"should my 14 year old keep her phone in her room at night? she says her friends all do",
         "sibling"},
        {"my 2 week old screams every evening, we've fed, changed, burped and rocked her",
         "1. Burp"},
    };
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        char *text;
        json_t *cit;
        compose_eight(tc[i].q, &text, &cit);
        if (strstr(text, tc[i].absent)) fprintf(stderr, "  %s\n%s\n", tc[i].q, text);
        assert_null(strstr(text, tc[i].absent));
        free(text);
        json_decref(cit);
    }
}

/* compose42: no answer opens on its topic's stock opening line (the same
 * line for every question on the topic); one with no feeling told opens on
 * its cited answering sentence. */
static void test_no_stock_opener(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct kb_hit hits[5];
        int age;
        const char *q = cases[i].q;
        size_t n = kb_search(kb, q, strlen(q), hits, 5, &age);
        if (n == 0) continue;
        char *text;
        json_t *cit;
        grounded_compose(kb, q, strlen(q), hits, n, age, &text, &cit);
        for (size_t k = 0; k < n; k++)
            for (size_t t = 0; t < hits[k].p->ntopics; t++) {
                const char *op = kb_topic_opener(kb, hits[k].p->topics[t]);
                if (op && strncmp(text, op, strlen(op)) == 0)
                    fprintf(stderr, "  stock opener: '%s'\n", q);
                assert_false(op && strncmp(text, op, strlen(op)) == 0);
            }
        char fb[256];
        /* compose45: nor on a bare "It depends." */
        assert_null(strstr(text, "It depends."));
        if (!feeling_line(q, strlen(q), fb, sizeof fb)) assert_true(strchr(text, '\n') > strstr(text, "[1]"));
        free(text);
        json_decref(cit);
    }
}

/* compose45: a step framed for starting at an age long past ("from about
 * 6 months" for a 14-month-old) is told apart from one for this age, and
 * composition takes the steps that fit better. */
static void test_started_long_ago(void **state)
{
    (void)state;
    const char *s = "Offer a small open cup with a little water at meals from about 6 months.";
    assert_true(age_started_long_ago(s, strlen(s), 14));
    assert_false(age_started_long_ago(s, strlen(s), 8));    /* just begun */
    assert_false(age_started_long_ago(s, strlen(s), 3));    /* not yet: another age */
    assert_false(age_started_long_ago(s, strlen(s), -1));
    const char *s2 = "From 12 months, give whole cow's milk as a main drink.";
    assert_false(age_started_long_ago(s2, strlen(s2), 20));
    assert_true(age_started_long_ago(s2, strlen(s2), 48));
    const char *q = "is a sippy cup or an open cup better for a 14 month old?";
    char *text;
    json_t *cit;
    compose_eight(q, &text, &cit);
    const char *steps = strstr(text, "1. ");
    assert_non_null(steps);
    if (strstr(steps, "from about 6 months")) fprintf(stderr, "%s\n", text);
    assert_null(strstr(steps, "from about 6 months"));
    free(text);
    json_decref(cit);
}

/* compose45: a loss is answered with condolence, naming whom the parent
 * lost when it is their own; a child's hurt the parent watches, with the
 * child's pronoun; self-doubt in the parent's words; no line for a plain
 * question, nor for "died" or "lost" that is no death. */
static void test_loss_and_hurt_lines(void **state)
{
    (void)state;
    static const struct { const char *q, *want; } tc[] = {
        {"My dad passed away and the funeral is next week. Should I take my 5 year old?",
         "sorry about your dad"},
        {"my 9 year old's grandma died. should he go to the funeral", "whole family"},
        {"Our dog died last week. how do I explain death to a 4 year old", "your dog"},
        {"my mother in law died in march and my son keeps asking about her",
         "your mother-in-law"},
        {"we lost our baby at 20 weeks, how do we tell our 3 year old", "your baby"},
        {"my daughter is so stressed about her exams she's crying every night",
         "see her so stressed"},
        {"my son is being called names at school because of his glasses",
         "sorry he is going through"},
        {"I think my 8 year old is being bullied at school, he won't say much", "his side"},
        {"how long should she nap? i feel like im getting it wrong", "getting it wrong"},
        {"my 2 year old only says 10 words, when should i actually worry", "worried"},
        {"i keep shouting at my kids and then feeling awful afterwards", "how much you care"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof tc / sizeof tc[0]; i++) {
        const char *l = feeling_line(tc[i].q, strlen(tc[i].q), buf, sizeof buf);
        if (!l || !strstr(l, tc[i].want)) fprintf(stderr, "  %s -> %s\n", tc[i].q, l ? l : "-");
        assert_non_null(l);
        assert_non_null(strstr(l, tc[i].want));
    }
    static const char *const none[] = {
        "my phone died so i missed the school email, what should i do",
        "he nearly died of embarrassment when i kissed him at the gate",
        "how do i explain death to a 4 year old",
        "she lost her temper at the party and hit another child",
        "my son lost his first tooth, how much does the tooth fairy give",
        "she's worried about starting secondary school",
        "he is scared of the dark, what helps",
        "my 3 month old cries a lot in the evening",
        "how much sleep does a 10 year old need",
        "my 7 year old worries about everything. how do I help her worry less",
        "what's the difference between a night terror and a nightmare in a toddler",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        const char *l = feeling_line(none[i], strlen(none[i]), buf, sizeof buf);
        if (l) fprintf(stderr, "  %s -> %s\n", none[i], l);
        assert_null(l);
    }
    /* the line comes first, ahead of the number asked for, and a question
     * the passage answers "it depends" to opens on its sentence */
    static const struct { const char *q; int feels; } cq[] = {
        {"how long should my 4 month old be awake between naps? i feel like im getting it wrong",
         1},
        {"My 19 month old has started climbing out of his cot at night. Do we move him to a bed?",
         0},
    };
    for (size_t i = 0; i < sizeof cq / sizeof cq[0]; i++) {
        char *text;
        json_t *cit;
        compose_eight(cq[i].q, &text, &cit);
        assert_null(strstr(text, "It depends"));
        if (cq[i].feels) assert_non_null(strstr(text, "getting it wrong"));
        if (cq[i].feels) assert_true(strstr(text, "getting it wrong") < strstr(text, "[1]"));
        free(text);
        json_decref(cit);
    }
}

/* compose42: a struggle told without a feeling word is answered as one;
 * a plain question is not. */
static void test_struggle_line(void **state)
{
    static const char *const hard[] = {"dinner is a battle every single night",
                                       "school mornings are chaos with three kids",
                                       "touched out and exhausted, no time for myself",
                                       "bath time is a nightmare with my 2 year old"};
    char fb[256];
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++)
        assert_non_null(feeling_line(hard[i], strlen(hard[i]), fb, sizeof fb));
    static const char *const plain[] = {"how often should a 6 year old have a bath",
                                        "what should i pack for nursery",
                                        "when do babies start crawling"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        assert_null(feeling_line(plain[i], strlen(plain[i]), fb, sizeof fb));
}

/* compose42: a step that says the answering sentence again is not a step. */
static void test_step_repeats_sentence(void **state)
{
    assert_true(repeats_sentence(
        "Do as much as you can the night before, such as packing bags and laying out clothes, "
        "and keep the same short morning sequence each day.",
        "The night before, lay out clothes, pack school bags and put shoes by the door."));
    assert_true(repeats_sentence(
        "Introduce yourself to the teacher early in the year, tell them about changes at home.",
        "Introduce yourself at the start of the year and ask how the teacher prefers to be "
        "contacted."));
    assert_false(repeats_sentence(
        "A calm routine like a bath, a book and a song helps children settle.",
        "Keep the bath warm, not hot, and test it with your elbow first."));
    assert_false(repeats_sentence(
        "A bedtime routine of about 20 to 30 minutes with the same calm steps in the same order "
        "every night, such as bath, pyjamas, teeth, a book and bed, helps children settle.",
        "Switch off all screens at least 30 to 60 minutes before bedtime and replace them with "
        "a calm routine like a bath, a book and a chat."));
    assert_false(repeats_sentence(
        "Do as much as you can the night before, such as packing bags and laying out clothes.",
        "Wake up 10 to 15 minutes earlier than you need to so there is a buffer for surprises."));
}

/* compose42: an answering sentence carried on by the next ("After that,
 * ... 4 ounces a day") takes it along for an amount; one carried on from
 * the sentence before takes that one along (no "After that" fragment). */
static void test_carried_sentence(void **state)
{
    const char *body = "Give no juice at all to babies under 12 months, since it adds sugar. "
                       "After that, keep juice to 4 ounces a day for ages 1 to 3 years. "
                       "Whole fruit is always a better choice for teeth.";
    const char *q = "how much juice can kids have per day";
    struct wordset qw;
    char out[1024];
    words_of(q, &qw);
    best_sentence(body, &qw, 1, NULL, strlen(q), -1, NULL, out, sizeof out);
    assert_true(strncmp(out, "Give no juice", 13) == 0);
    assert_non_null(strstr(out, "4 ounces a day"));
    assert_null(strstr(out, "Whole fruit"));
    best_sentence(body, &qw, 1, NULL, strlen(q), 24, NULL, out, sizeof out);
    assert_true(strncmp(out, "Give no juice", 13) == 0);    /* not "After that, ..." alone */
    assert_non_null(strstr(out, "4 ounces"));
    /* a question not asking for an amount keeps its one sentence */
    words_of("is juice bad for teeth", &qw);
    best_sentence(body, &qw, 0, NULL, 22, -1, NULL, out, sizeof out);
    assert_null(strstr(out, "After that"));
}

/* compose42: asked how to talk about something, the step that quotes
 * what to say comes first. */
static void test_talk_quote_first(void **state)
{
    static const char *const qs[] = {"how do i talk to my teen about vaping",
                                     "how do i explain death to a 4 year old"};
    for (size_t i = 0; i < 2; i++) {
        char *text;
        json_t *cit;
        compose_first(qs[i], &text, &cit);
        const char *one = strstr(text, "\n1. "), *two = strstr(text, "\n2. ");
        assert_non_null(one);
        assert_non_null(two);
        const char *qt = strchr(one, '"');
        assert_true(qt && qt < two);
        free(text);
        json_decref(cit);
    }
}

/* compose42: "older babies" names an age, so a tummy-time step for them
 * is not for a 2-month-old. */
static void test_older_babies_age(void **state)
{
    const char *s = "Give older babies plenty of time on a safe floor to reach and roll.";
    assert_int_equal(age_fit(s, strlen(s), 2), -1);
    assert_int_equal(age_fit(s, strlen(s), 9), 1);
}

/* compose42: the steps' heading is not the same on every answer, and the
 * same question always gets the same one. */
static void test_headings_vary(void **state)
{
    char seen[8][64];
    size_t nseen = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text;
        json_t *cit;
        struct kb_hit hits[5];
        int age;
        const char *q = cases[i].q;
        size_t n = kb_search(kb, q, strlen(q), hits, 5, &age);
        if (n == 0) continue;
        grounded_compose(kb, q, strlen(q), hits, n, age, &text, &cit);
        const char *one = strstr(text, "\n1. "), *h = one;
        assert_non_null(one);
        while (h > text && h[-1] != '\n') h--;
        char line[64];
        snprintf(line, sizeof line, "%.*s", (int)(one - h), h);
        char *w = strstr(line, " with your");    /* the age does not make a new heading */
        if (w) strcpy(w, ":");
        int dup = 0;
        for (size_t k = 0; k < nseen; k++) dup |= strcmp(seen[k], line) == 0;
        if (!dup && nseen < 8) strcpy(seen[nseen++], line);
        free(text);
        json_decref(cit);
    }
    assert_true(nseen >= 4);
}

/* compose43: a stop after a number ends a sentence in a passage's prose
 * ("for ages 7 to 18. Whole fruit ..."), while a list number opening its
 * line and a decimal do not. */
static void test_sentence_after_number(void **state)
{
    const char *b = "Keep it to 8 ounces for ages 7 to 18. Whole fruit is better.";
    size_t e = body_sentence_end(b, strlen(b), 0);
    assert_int_equal(e, strlen("Keep it to 8 ounces for ages 7 to 18. "));
    const char *l = "1. Offer water first. Then milk.";
    assert_int_equal(body_sentence_end(l, strlen(l), 0), strlen("1. Offer water first. "));
    const char *d = "About 2.5 cups a day. More fills them up.";
    assert_int_equal(body_sentence_end(d, strlen(d), 0), strlen("About 2.5 cups a day. "));
    /* and the amount's answer no longer takes the next sentence along */
    const char *body = "Give no juice to babies under 12 months. After that, keep juice to 4 "
                       "ounces a day for ages 1 to 3 and 8 ounces for ages 7 to 18. Whole "
                       "fruit is always a better choice.";
    struct wordset qw;
    char out[1024];
    words_of("how much juice for a 4 year old", &qw);
    best_sentence(body, &qw, 2, NULL, 0, 48, NULL, out, sizeof out);
    assert_non_null(strstr(out, "4 ounces"));
    assert_null(strstr(out, "Whole fruit"));
}

/* compose43: asked how much, the sentence with the amount answers, not
 * the one with an age only ("at 12 months"). */
static void test_amount_not_age(void **state)
{
    const char *body = "Plain cow's milk can become your child's main milk drink at 12 months. "
                       "From 12 to 24 months, children need whole milk, about 16 to 24 ounces "
                       "(2 to 3 cups) a day. More than about 24 ounces a day can lower iron.";
    const char *q = "how much cows milk should a 1 year old drink a day";
    struct wordset qw;
    char out[1024];
    assert_int_equal(asks_for_number(q), 2);
    assert_int_equal(asks_for_number("what age can he drink cows milk"), 1);
    words_of(q, &qw);
    best_sentence(body, &qw, asks_for_number(q), NULL, 0, 12, NULL, out, sizeof out);
    assert_true(strncmp(out, "From 12 to 24 months", 20) == 0);
    assert_true(gives_amount("about 16 to 24 ounces a day", 27));
    assert_true(gives_amount("two or three baths a week", 25));
    assert_false(gives_amount("main milk drink at 12 months", 28));
    assert_false(gives_amount("give one thing at a time", 24));
    assert_false(gives_amount("by age 2", 8));
}

/* compose43: a rule for an age range the child is in is a no, not "it
 * depends"; one for ages the child is past says nothing. */
static void test_verdict_for_age(void **state)
{
    const char *q = "is it ok for my 10 month old to watch a bit of tv";
    const char *s = "Avoid screens other than video chatting before 18 months, and from 18 "
                    "to 24 months choose only high-quality programmes and watch them together.";
    assert_string_equal(verdict_for_age(q, strlen(q), s, 10), "No, it is best not to.");
    assert_string_equal(verdict_for_age(q, strlen(q), s, 20), "It depends.");
    assert_string_equal(grounded_verdict(q, strlen(q), s), "It depends.");
}

/* compose43: a yes/no question whose sentence says only "it depends" is
 * answered by the passage's step that opens on a no about what was asked;
 * a "don't" inside a step answers nothing. */
static void test_step_answers_yes_no(void **state)
{
    char *text;
    json_t *cit;
    compose_first("is it safe for my baby to sleep on her side", &text, &cit);
    assert_true(strncmp(text, "No, it is best not to. Avoid side sleeping", 42) == 0);
    assert_null(strstr(strchr(text, '\n'), "Avoid side sleeping"));   /* and is no step */
    free(text);
    json_decref(cit);
    compose_first("should kids write thank you cards for birthday presents and from what age",
                  &text, &cit);
    assert_true(strncmp(text, "No,", 3) != 0);
    free(text);
    json_decref(cit);
}

/* compose43: a sentence naming what came before mid-sentence ("with that
 * preparation") is no answering sentence. */
static void test_points_back_mid(void **state)
{
    const char *body = "Do as much as you can the night before, such as packing bags. "
                       "Mornings go more smoothly with that preparation and routine.";
    struct wordset qw;
    char out[1024];
    words_of("how can I make mornings less stressful", &qw);
    best_sentence(body, &qw, 0, NULL, 0, -1, NULL, out, sizeof out);
    assert_true(strncmp(out, "Do as much", 10) == 0);
}

/* compose43: the child's age ties a step to nothing; a weaker passage on
 * another subject gives a step only when it shares two of the question's
 * key words; the asking sentence's subject named in a close passage's
 * title leads. */
static void test_steps_on_the_subject(void **state)
{
    /* "older children and teens" is no step for a 4-year-old */
    const char *older = "Let older children and teens know they can ask you anything.";
    assert_int_equal(age_fit(older, strlen(older), 48), -1);
    assert_int_equal(age_fit(older, strlen(older), 120), 1);
    const char *kids = "Give older children a drink or a snack.";
    assert_int_equal(age_fit(kids, strlen(kids), 48), 1);
    struct wordset a, b;
    words_of("how long should my 9 year old spend on homework", &a);
    words_of("Introduce yourself at the start of the year", &b);
    assert_int_equal(key_overlap(&a, &b), 0);
    words_of("what age should a child stop using a car seat booster", &a);
    words_of("Consider buying a seat for your child under 2 so they can use their own car seat",
             &b);
    assert_int_equal(key_overlap_distinct(&a, &b), 1);
    static const char *const qs[] = {
        "my 10 year old says he has no friends at school. how do I help",
        "what age should a child stop using a car seat booster"};
    static const char *const not[] = {"return it", "under 2"};
    for (size_t i = 0; i < 2; i++) {
        char *text;
        json_t *cit;
        compose_first(qs[i], &text, &cit);
        assert_null(strstr(text, not[i]));
        free(text);
        json_decref(cit);
    }
    char *text;
    json_t *cit;
    compose_first("my 9 year old's grandma died. should he go to the funeral", &text, &cit);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cit, 0), "title")),
                        "Should my child go to the funeral");
    free(text);
    json_decref(cit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_english),
        cmocka_unit_test(test_every_topic_gets_a_cited_three_step_answer),
        cmocka_unit_test(test_no_match_has_no_citations),
        cmocka_unit_test(test_chunks_reassemble_exactly),
        cmocka_unit_test(test_age_phrase_only_when_it_fits),
        cmocka_unit_test(test_yes_no_questions),
        cmocka_unit_test(test_yes_no_verdicts),
        cmocka_unit_test(test_yes_no_answer_comes_first),
        cmocka_unit_test(test_similar_steps),
        cmocka_unit_test(test_similar_steps_shared_words),
        cmocka_unit_test(test_no_repeated_steps),
        cmocka_unit_test(test_no_invented_age),
        cmocka_unit_test(test_fact_first),
        cmocka_unit_test(test_one_page_one_citation),
        cmocka_unit_test(test_two_part_questions_in_order),
        cmocka_unit_test(test_age_fit),
        cmocka_unit_test(test_question_shape),
        cmocka_unit_test(test_tried_words),
        cmocka_unit_test(test_feeling_line),
        cmocka_unit_test(test_loss_and_hurt_lines),
        cmocka_unit_test(test_started_long_ago),
        cmocka_unit_test(test_no_stock_opener),
        cmocka_unit_test(test_struggle_line),
        cmocka_unit_test(test_step_repeats_sentence),
        cmocka_unit_test(test_headings_vary),
        cmocka_unit_test(test_carried_sentence),
        cmocka_unit_test(test_older_babies_age),
        cmocka_unit_test(test_talk_quote_first),
        cmocka_unit_test(test_steps_heading),
        cmocka_unit_test(test_compare_line),
        cmocka_unit_test(test_steps_from_the_question),
        cmocka_unit_test(test_sentence_after_number),
        cmocka_unit_test(test_amount_not_age),
        cmocka_unit_test(test_verdict_for_age),
        cmocka_unit_test(test_step_answers_yes_no),
        cmocka_unit_test(test_points_back_mid),
        cmocka_unit_test(test_steps_on_the_subject),
    };
    return cmocka_run_group_tests_name("grounded", tests, setup, teardown);
}
