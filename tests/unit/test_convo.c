/* test_convo.c — the conversation module on the shipped knowledge base and
 * safety policy: small talk, clarifying questions, follow-ups read with
 * the earlier questions, the remembered age, the honest no-match, and a
 * suite of two- and three-turn conversations (each turn is planned with
 * the questions before it, exactly as the server does). Run from the
 * repository root (reads kb/ and policy/). */
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
#include "../../src/topicnet.c"
#include "../../src/kb.c"
#include "../../src/safety.c"
#include "../../src/tmodel.c"
#include "../../src/gloss.c"
#include "../../src/spell.c"
#include "../../src/convo.c"
#include "../../src/url.c"

static struct kb *kb;
static struct safety_policy *pol;

static int setup(void **state)
{
    const char *dirs[1] = {"kb"};
    struct kb_problems pr = {0};
    char err[512];
    if (kb_load(dirs, 1, &kb, &pr)) {
        for (size_t i = 0; i < pr.n; i++) fprintf(stderr, "%s\n", pr.items[i]);
        return -1;
    }
    if (safety_policy_load("policy/safety.json", "US", &pol, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    kb_free(kb);
    safety_policy_free(pol);
    return 0;
}

/* ---------- pure parts ---------- */

static void test_smalltalk_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"hi", 1}, {"Hello!", 1}, {"hey there", 1}, {"good morning", 1}, {"thanks", 1},
        {"thank you so much", 1}, {"thanks, that helps", 1}, {"that helps", 1},
        {"ok great thanks!", 1}, {"cheers", 1}, {"bye", 1}, {"good night", 1},
        {"that was really helpful", 1}, {"perfect, will try that tonight", 1},
        {"hi, my son won't sleep", 0}, {"thanks but he still bites", 0},
        {"help", 0}, {"is that normal?", 0}, {"", 0}, {"my baby is not breathing", 0},
        {"thanks, he has a fever of 40", 0},
        /* convo39: asking after the coach is a greeting */
        {"how r u", 1}, {"hey, how's it going?", 1}, {"hi how are you doing today", 1},
        {"you ok?", 1}, {"how are you meant to get a toddler to sleep", 0},
        {"hi how are you, my son won't eat", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char reply[CONVO_REPLY_MAX] = "";
        int got = convo_smalltalk(cases[i].q, strlen(cases[i].q), reply, sizeof reply);
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
        if (got) assert_null(strchr(reply, '['));     /* no citation */
    }
}

static void test_leans_on_context_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"what about naps?", 1}, {"and if he bites?", 1}, {"how about at nursery", 1},
        {"what if she refuses", 1}, {"is that normal?", 1}, {"how long should it last?", 1},
        {"why?", 1}, {"my 2 year old bites other kids at nursery", 0},
        {"how much formula does a 2 month old need", 0},
        /* a thing pronoun pointing back, in a longer message */
        {"he's not eating well because of it", 1}, {"my eldest is 9, does that matter", 1},
        {"is it ok to give a baby water in hot weather", 0},
        {"ok, what else can we try?", 1}, {"thanks! and if she still refuses?", 1},
        {"that book about potty training, is it any good for a 2 year old", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = convo_leans_on_context(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

static void test_stated_age_table(void **state)
{
    static const struct { const char *q; int months; } cases[] = {
        {"she's 6", 72}, {"he is 4 now", 48}, {"she just turned 3", 36}, {"my 18 month old", 18},
        {"he's 2 and a half", 30}, {"she's 6 and hates baths", -1}, {"what about naps?", -1},
        {"shes 10", 120}, {"we have 3 kids", -1},
        /* spans of time are not ages */
        {"I go back to work in a month, how do I prep her", -1},
        {"should i ask them to move him up a year", -1},
        {"she'll be ready within 2 weeks", -1}, {"my 2 year old", 24},
        {"a year old and not walking", 12},
        /* corrections and other ways of saying it */
        {"shes actually nearly 4", 48}, {"not a baby anymore, she's 3. she sucks her thumb", 36},
        {"My son (12) is being teased", 144}, {"she’s 6", 72},
        /* convo39: afterthought words may close the age */
        {"she's 4 btw", 48}, {"he's 7 though", 84}, {"she's 2 by the way", 24},
        {"he's 3 if that matters", 36}, {"she's 6 to 7 hours a night", -1},
        /* convo43: a word of rough measure after the age verb */
        {"what about when he's like 5", 60}, {"she's about 4", 48}, {"he's around 3 now", 36},
        {"he wakes about 3", -1}, {"bedtime is about 8", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = convo_stated_age(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].months) fail_msg("'%s': got %d, want %d", cases[i].q, got, cases[i].months);
    }
}

/* Chat around the questions (cv_chat_tone): 1 thanks, 2 goodbye, 3
 * greeting, 4 acknowledgement, 0 none. */
static void test_chat_tone_table(void **state)
{
    static const struct { const char *q; int tone; } cases[] = {
        {"ok thank you, gonna try tonight", 1}, {"thank you, I needed to hear that", 1},
        {"thanks that's reassuring", 1}, {"phew ok", 4}, {"haha wish me luck", 4},
        {"ugh ok. wish me luck", 4}, {"lol teenagers", 4}, {"\xf0\x9f\x91\x8d", 4},
        {"hello! hope you can help", 3}, {"bye for now", 2},
        /* questions, follow-ups, ages and trailing laughter are not chat */
        {"ok. and how long does this usually go on for", 0},
        {"thanks, what about naps?", 0}, {"ok she's 4", 0},
        {"we can't agree on a name for our baby boy, any tips lol", 0},
        {"she's already started asking to have a bottle again lol", 0},
        {"?", 0}, {"", 0}, {"my son bites", 0},
        /* an approval opening it, laughter closing a short aside */
        {"perfect, sending this to my mum", 1}, {"brilliant, printing that out", 1},
        {"this is all so embarrassing haha", 4}, {"he did it again lol", 0},
        {"any ideas lol", 0},
        /* convo39: "if that helps" offers a fact, it thanks for nothing */
        {"she loves horses if that helps", 0}, {"in case it helps, he's an only child", 0},
        /* convo43: a report that it failed thanks for nothing */
        {"we did the alarm, nothing helps", 0}, {"tried it, didn't help", 0},
        {"that helps, thanks", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t nw;
        int got = cv_chat_tone(cases[i].q, strlen(cases[i].q), &nw);
        if (got != cases[i].tone) fail_msg("'%s': got %d, want %d", cases[i].q, got, cases[i].tone);
    }
}

/* Chat that carries a question the knowledge base answers is a question. */
static void test_chat_plan(void **state)
{
    static const struct { const char *q; int small; } cases[] = {
        {"ok thank you, gonna try tonight", 1}, {"haha good to know it's not just me", 1},
        {"thanks, she still wakes at 5am every morning", 0},
        /* a chat marker and a word a passage happens to use ("enough"): chat */
        {"ok fair enough, thanks anyway", 1},
        {"ok thanks, the tantrums are still bad", 0},
        /* the chat words and their padding say nothing to match on ("a
         * bit" is no bite) */
        {"that helped a little, thank you", 1}, {"this helps a bit, cheers", 1},
        {"thanks but he still bites his sister", 0},
        /* "helps" asked about is a question */
        {"teething baby screaming all night, what helps besides medicine", 0},
    };
    const char *prev[1] = {"my 2 year old fights bedtime every night"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct convo_plan pl;
        convo_plan(kb, pol, cases[i].q, strlen(cases[i].q), prev, 1, &pl);
        if ((pl.kind == CONVO_SMALLTALK) != cases[i].small)
            fail_msg("'%s': kind %d", cases[i].q, (int)pl.kind);
        if (pl.kind == CONVO_SMALLTALK) assert_int_equal(pl.nhits, 0);
    }
}

/* A first question that says who but not what gets a clarifying question. */
static void test_vague_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"my baby keeps doing this weird thing, is that ok?", 1},
        {"need some advice about my teenager pls", 1}, {"my son has been acting weird lately", 1},
        {"help", 1}, {"is that normal?", 1},
        {"my son has been biting lately", 0}, {"my teenager won't get off her phone", 0},
        {"what about naps?", 0},
        /* conv32: a negated verb says nothing of what */
        {"my son wont stop doing it", 1}, {"my daughter doesn't stop", 1},
        {"my son won't stop hitting", 0},
        /* convo43: a state with no what */
        {"my son is being weird", 1}, {"my daughter seems off", 1},
        {"my son is being rude to his teacher", 0},
        /* convo45: not knowing what to make of it says nothing of what */
        {"my kid keeps doing this thing and i dont know if i should worry", 1},
        {"not sure whether it matters but my son is acting odd", 1},
        {"my son doesnt know his letters yet", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cv_is_vague(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

/* convo43: the parts of a follow-up that say nothing of their own: a
 * judgement on a pronoun ("is it bad?"), a report that it did not work,
 * an age alone, a thing pointed back at as the object of the question. */
static void test_followup_parts_table(void **state)
{
    static const struct { const char *q; int judge, effort, age, obj; } cases[] = {
        {"is it bad?", 1, 0, 0, 0}, {"is that safe", 1, 0, 0, 0},
        {"should i worry about it?", 1, 0, 0, 1}, {"is it eczema?", 0, 0, 0, 0},
        {"is it bad to skip naps", 0, 0, 0, 0},
        {"tried that, doesnt work", 0, 1, 0, 0}, {"we did the alarm, nothing helps", 0, 0, 0, 0},
        {"still not working", 0, 1, 0, 0}, {"we tried prunes, no luck", 0, 0, 0, 0},
        {"what about when he's like 5", 1, 0, 1, 0}, {"she's 6 now", 1, 0, 1, 0},
        {"same for my 9 year old? hes even worse", 0, 0, 1, 0},
        {"she's 6 and hates baths", 0, 0, 0, 0}, {"hes 12, just started secondary", 0, 0, 0, 0},
        {"how do i bring it up without her shutting down", 0, 0, 0, 1},
        {"do i punish it or let it go", 0, 0, 0, 1}, {"is it ok to give him a dummy", 0, 0, 0, 0},
        {"how long does it last", 1, 0, 0, 0}, {"when it happens what do i do", 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *q = cases[i].q;
        size_t l = strlen(q);
        if (cv_judgement_only(q, l) != cases[i].judge) fail_msg("judgement '%s'", q);
        if (cv_effort_only(q, l) != cases[i].effort) fail_msg("effort '%s'", q);
        if (cv_age_only(q, l) != cases[i].age) fail_msg("age only '%s'", q);
        if (cv_points_back_object(q, l) != cases[i].obj) fail_msg("object '%s'", q);
    }
}

/* conv32: a greeting opening a vague first message is a question to
 * clarify, not a greeting to return. */
static void test_greeting_vague_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"hi, bit worried about my daughter", 1}, {"hello, need some advice about my son", 1},
        {"hi", 0}, {"hi there", 0}, {"hi, my son bites at nursery", 0},
        {"bit worried about my daughter", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cv_greeting_vague(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

/* convo37: a change of subject said as "another/different/new" next to a
 * word for a question or subject, one word apart at most; not "a new
 * thing he does" or "a different book". */
static void test_switch_marker_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"totally different q but he wants to quit swimming", 1},
        {"another quick question, when do teeth come in", 1},
        {"new topic: what age for a first phone", 1},
        {"changing the subject, how much screen time is ok", 1},
        {"on a different note, she hates baths", 1},
        {"btw is juice ok", 1},
        {"he has a new thing where he screams at dinner", 0},
        {"should we try a different book at bedtime", 0},
        {"what about naps", 0},
        /* convo39: a one-word marker closing the message is an afterthought */
        {"he's 3 btw", 0}, {"she wets the bed also", 0}, {"also, is juice ok", 1},
        /* convo45: "separate thing" or "different thing" opening it */
        {"separate thing but should we name a guardian in our will?", 1},
        {"ok different thing, when do teeth come in", 1},
        {"she wants a different thing for dinner every night", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cv_switch_marker(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

/* convo37: what is left past the thanks and filler that only says how the
 * parent feels is chat; anything about the child or a thing is not. */
static void test_feeling_only_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"feel calmer now", 1}, {"is awkward", 1}, {"im so relieved", 1},
        {"feeling a lot more confident about it", 1}, {"makes me feel less alone", 1},
        {"shes still waking at 5", 0}, {"bedtime is hard", 0}, {"feel", 0},
        {"feel like a terrible mum", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cv_feeling_only(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

/* convo37: a follow-up's subject "he"/"she" is read as the child the
 * conversation names, unless anyone else is named; "him" too, "her" and
 * "them" stay. */
static void test_resolve_child_table(void **state)
{
    static const struct { const char *prev, *q, *want; } cases[] = {
        {"my toddler screams on the floor at the shops", "what if she starts hitting me",
         "what if my child starts hitting me"},
        {"my son bit a kid at nursery", "he's 20 months, he can't talk yet",
         "my child is 20 months, my child can't talk yet"},
        {"my 3 year old won't sleep", "she'll be 4 soon", "my child will be 4 soon"},
        {"my 7 month old is teething", "can i give him something cold to chew on",
         "can i give my child something cold to chew on"},
        /* convo39: "her" as an object; a possessive "her" stays */
        {"what factor sun cream for my 1 year old", "is it ok to keep her in the shade instead?",
         "is it ok to keep my child in the shade instead?"},
        {"my 4 month old hates the car seat", "should I take her out when she cries",
         "should I take my child out when my child cries"},
        {"my 2 year old is teething", "her gums look red", NULL},
        /* nothing to resolve */
        {"my husband and I argue about bedtime", "he hits me when I say no", NULL},
        {"my toddler screams at the shops", "my partner says he hits me", NULL},
        {"how do I cope with stress", "what if he hits me", NULL},
        {"my 13 year old came out as non-binary", "is that going to hurt them", NULL},
        /* convo39: the question names its own child, or an animal */
        {"my 3 year old won't sleep", "my 2 yr old has a fever, do i need to give her anything", NULL},
        {"my 3 year old won't sleep", "our 16yo's mate says he's fine", NULL},
        {"my 3 year old won't sleep", "my son's foreskin is tight when he wees", NULL},
        {"my 3 year old won't sleep", "my cat keeps scratching the sofa, how do i stop her", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        const char *prev[1] = {cases[i].prev};
        size_t l = cv_resolve_child(cases[i].q, strlen(cases[i].q), prev, 1, buf, sizeof buf);
        if (!cases[i].want && l) fail_msg("'%s': resolved to '%s'", cases[i].q, buf);
        if (cases[i].want && (!l || strcmp(buf, cases[i].want) != 0))
            fail_msg("'%s': got '%s'", cases[i].q, l ? buf : "(none)");
    }
}

/* convo39: another adult's view reported ("X says/thinks/told ..."). */
static void test_reports_view_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"my mother in law says we should wait, is that right", 1},
        {"her dad thinks we should take the phone away", 1},
        {"the nurse told us to space them out", 1}, {"my husband really wants to try it", 1},
        {"she says she hates school", 0}, {"my dad died last year", 0},
        {"what does the research say", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cv_reports_view(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

/* convo37: questions about the coach itself: what it is (1), whether to
 * ask (2); a message that goes on to a real question is neither. */
static void test_meta_table(void **state)
{
    static const struct { const char *q; int want; } cases[] = {
        {"hey, how does this work?", 1}, {"what can you help me with", 1},
        {"are you a real person?", 1}, {"hello, is this a bot", 1}, {"who are you", 1},
        {"can I ask you something?", 2}, {"not sure if this is the right place", 2},
        {"hi, I have a question", 2}, {"dont know where to start tbh", 2},
        {"how do I get my 2 year old to sleep", 0}, {"what can I do about biting", 0},
        {"can I ask you something about my toddler who wakes up at 5 every single day", 0},
        {"what is this rash on her cheek", 0}, {"can I ask how to stop biting", 0},
        {"the sleep training method, how does it work", 0}, {"is this normal?", 0},
        {"is this a phase", 0}, {"are you sure", 0}, {"lol this is weird talking to a bot but here goes", 1},
        {"I have a question", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cv_meta(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].want) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

/* convo37: when the conversation's reading beats a question's own weak one */
static void test_short_weak(void **state)
{
    struct kb_result a, j;
    memset(&a, 0, sizeof a);
    memset(&j, 0, sizeof j);
    a.concepts = 1; a.match_prob_lex = 0.42; j.match_prob_lex = 0.5;
    assert_true(cv_short_weak(&a, &j));         /* "what foods help" */
    j.match_prob_lex = 0.3;
    assert_false(cv_short_weak(&a, &j));        /* the two together are no surer */
    a.concepts = 5; a.match_prob_lex = 0.17; j.match_prob_lex = 0.95;
    assert_true(cv_short_weak(&a, &j));         /* a barely-matching reading of its own */
    a.match_prob_lex = 0.5;
    assert_false(cv_short_weak(&a, &j));        /* a question of its own */
}

/* convo37: a question only about how to handle something names nothing */
static void test_generic_only_table(void **state)
{
    static const struct { const char *q; int yes; } cases[] = {
        {"how should i respond", 1}, {"how do I react", 1}, {"what do I say to her", 1},
        {"best way to handle it?", 1}, {"how do i bring it up with him", 1},
        {"how should i respond to the bedwetting", 0}, {"what do I say to the school", 0},
        {"how long will it last", 0}, {"is that normal", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = cv_generic_only(cases[i].q, strlen(cases[i].q));
        if (got != cases[i].yes) fail_msg("'%s': got %d", cases[i].q, got);
    }
}

static void test_nomatch_text(void **state)
{
    const char *labels[2] = {"Sleep routines", "Naps"};
    char out[CONVO_REPLY_MAX];
    convo_nomatch_text("ear piercing", labels, 2, out, sizeof out);
    assert_non_null(strstr(out, "I don't have vetted guidance on ear piercing yet"));
    assert_non_null(strstr(out, "Sleep routines and Naps"));
    assert_null(strchr(out, '['));
    convo_nomatch_text("", NULL, 0, out, sizeof out);
    assert_non_null(strstr(out, "on that yet"));
}

/* ---------- conversations ---------- */

/* Expected outcome of one turn: 'A' an answer whose first passage has
 * topic, 'S' small talk, 'C' a clarifying question, 'N' the no-match,
 * 'R' a refusal. age: the age the plan reads (months), or -2 to skip. */
struct turn_case { const char *q; char kind; const char *topic; int age; };
struct convo_case { const char *name; struct turn_case t[3]; };

static const struct convo_case convos[] = {
    /* the third turn leans on the question the conversation opened with,
     * not only on the one just before it */
    /* a follow-up without parenting words of its own is triaged with the
     * thread's opening question, not only the one before it */
    {"no parenting words, two back", {{"my 7 year old refuses to read at bedtime, how can I make reading fun", 'A', "reading", 84},
                                      {"do magazines count?", 'A', "reading", 84},
                                      {"what about podcasts", 'A', "reading", 84}}},
    /* "what about naps?" opens a thread: the turn after it stays on naps */
    {"a switch opens a thread", {{"my 2 year old fights bedtime every night", 'A', "sleep-routines", 24},
                                 {"what about naps?", 'A', "naps", 24},
                                 {"and how long should they be?", 'A', "naps", 24}}},
    /* no follow-up words, but on the conversation's topic */
    {"stays on the topic", {{"we started potty training our daughter and she has accidents all day", 'A', "potty-training", -2},
                            {"should we go back to nappies for a while", 'A', "potty-training", -2}}},
    {"opening question anchors", {{"my 3 year old has huge meltdowns when we leave the park", 'A', "tantrums", 36},
                                  {"should I just carry her to the car?", 'A', NULL, 36},
                                  {"she's nearly 4, shouldn't she have grown out of this by now?", 'A', "tantrums", 48}}},
    {"naps after bedtime", {{"my 2 year old fights bedtime every night", 'A', "sleep-routines", 24},
                            {"what about naps?", 'A', "naps", 24}}},
    {"age given later", {{"how much screen time is ok", 'A', "screen-time", -1},
                         {"she's 6", 'A', "screen-time", 72}}},
    {"biting after hitting", {{"my toddler hits other kids at playgroup", 'A', "hitting-biting", 24},
                              {"and if he bites?", 'A', "hitting-biting", 24}}},
    {"peanuts after solids", {{"when can my baby start solid food", 'A', "starting-solids", -2},
                              {"what about peanuts?", 'A', "food-allergies", -2}}},
    {"hi then question", {{"hi", 'S', NULL, -2},
                          {"my 4 year old refuses vegetables", 'A', "picky-eating", 48}}},
    {"question then thanks", {{"how do i know my toddler is ready for potty training", 'A', "potty-training", 24},
                              {"thanks, that helps", 'S', NULL, -2}}},
    {"vague first", {{"is that normal?", 'C', NULL, -2},
                     {"my 3 year old still wets the bed at night", 'A', "bedwetting", 36}}},
    {"vague follow-up", {{"my 2 year old has meltdowns in the supermarket", 'A', "tantrums", 24},
                         {"is that normal?", 'A', "tantrums", 24}}},
    {"three turns sleep", {{"my 10 month old still wakes up 3 times a night", 'A', "night-waking", 10},
                           {"what about naps?", 'A', "naps", 10},
                           {"thanks", 'S', NULL, -2}}},
    {"age sticks", {{"my 5 year old lies all the time", 'A', "lying", 60},
                    {"how do i set up a homework routine", 'A', "school-homework", 60}}},
    {"new age wins", {{"my 3 year old is scared of the dark", 'A', "fears-nightmares", 36},
                      {"she's 6", 'A', "fears-nightmares", 72}}},
    {"greeting, vague, detail", {{"hello", 'S', NULL, -2},
                                 {"is this normal", 'C', NULL, -2},
                                 {"my 18 month old bites when he is frustrated", 'A', "hitting-biting", 18}}},
    {"greeting, vague, detail (conv32)", {{"hi, bit worried about my daughter", 'C', NULL, -2},
                                          {"my 3 year old has tantrums every day", 'A', "tantrums", 36}}},
    {"emergency still refused", {{"my 2 year old has a cold", 'A', "colds-illness", 24},
                                 {"he is not breathing", 'R', NULL, -2}}},
    {"dose still refused", {{"my 4 year old has a fever", 'A', "fever", 48},
                            {"how many ml of ibuprofen can i give him", 'R', NULL, -2}}},
    {"nomatch then covered", {{"which ukulele should my 7 year old learn on", 'N', NULL, -2},
                              {"how do i get my 7 year old to enjoy reading", 'A', "reading", 84}}},
    /* the follow-up's own reading is weak (a passage that only shares
     * "home"): the conversation's reading wins */
    {"weak own reading", {{"my 2 year old is a late talker and only has a few words", 'A', "language", 24},
                          {"how do i help her at home", 'A', "language", 24}}},
    {"covered then nomatch", {{"how do i childproof the kitchen", 'A', "childproofing", -2},
                              {"what's a good name for a baby boy", 'N', NULL, -2}}},
    {"a place name is not the topic", {{"We live in Quentinborough. How do I handle bedtime?", 'A', "sleep-routines", -2},
                                       {"thanks", 'S', NULL, -2}}},
    {"bye", {{"my teenager won't talk to me", 'A', "teens-communication", 180},
             {"ok bye", 'S', NULL, -2}}},
    {"drinks then juice", {{"how much milk should a 2 year old drink", 'A', "drinks", 24},
                           {"what about juice?", 'A', "drinks", 24}}},
    {"car seat then booster", {{"when can my child face forward in the car seat", 'A', "car-seats", -2},
                               {"and when can he use a booster?", 'A', "car-seats", -2}}},
    {"sun then water", {{"what sunscreen should i use on my 2 year old", 'A', "sun-safety", 24},
                        {"what about at the pool?", 'A', "water-safety", 24}}},
    {"teeth follow-up", {{"when should my child first see a dentist", 'A', "teething-teeth", -2},
                         {"and how often should we brush?", 'A', "teething-teeth", -2}}},
    {"dummy then age", {{"how do i get my child to give up the dummy", 'A', "pacifiers-thumb", -2},
                        {"he's 3", 'A', "pacifiers-thumb", 36}}},
    {"tantrum then time out", {{"my 3 year old has tantrums", 'A', "tantrums", 36},
                               {"how long should a time out be?", 'A', "time-outs", 36}}},
    {"siblings", {{"how do i prepare my toddler for a new baby", 'A', "siblings-new-baby", 24},
                  {"what if she gets jealous?", 'A', "siblings-new-baby", 24}}},
    {"bullying then school", {{"my child is being bullied at school", 'A', "bullying", -2},
                              {"what if the school does nothing?", 'A', "bullying", -2}}},
    {"divorce then age", {{"how do we tell the kids we are getting divorced", 'A', "divorce-family-change", -2},
                          {"they're 5 and 8", 'A', "divorce-family-change", -2}}},
    {"grief", {{"how do i explain death to a 5 year old", 'A', "grief", 60},
               {"should she go to the funeral?", 'A', "grief", 60}}},
    {"phones", {{"what age should my kid get their first phone", 'A', "first-phones", -2},
                {"what about social media?", 'A', NULL, -2}}},
    {"reading then screens", {{"my 7 year old hates reading", 'A', "reading", 84},
                              {"is it because of the ipad?", 'A', "screen-time", 84}}},
    {"separation", {{"my toddler screams at daycare drop off", 'A', "separation-anxiety", 24},
                    {"how long will it last?", 'A', "separation-anxiety", 24}}},
    {"shy", {{"my son is very shy and struggles to make friends", 'A', "shyness-friendships", -2},
             {"he is 9", 'A', "shyness-friendships", 108}}},
    {"postpartum", {{"i feel weepy a week after giving birth", 'A', "postpartum", -2},
                    {"thank you", 'S', NULL, -2}}},
    {"stress", {{"i feel so stressed and burnt out as a parent", 'A', "parent-stress", -2},
                {"what can i do tonight?", 'A', "parent-stress", -2}}},
    {"chores", {{"what chores can a 5 year old do", 'A', "chores-independence", 60},
                {"and pocket money?", 'A', NULL, 60}}},
    {"whining", {{"my kid whines all day when i say no", 'A', "whining-limits", -2},
                 {"she's 4", 'A', "whining-limits", 48}}},
    {"imaginary friend", {{"my daughter has an imaginary friend", 'A', "imaginary-friends", -2},
                          {"is that normal?", 'A', "imaginary-friends", -2}}},
    {"milestones", {{"what should my 12 month old be doing by now", 'A', "milestones", 12},
                    {"what about talking?", 'A', NULL, 12}}},
    {"hi bye", {{"hi", 'S', NULL, -2}, {"thanks bye", 'S', NULL, -2}}},
    {"vaccines", {{"how can i make vaccine shots less scary", 'A', "vaccines", -2},
                  {"she's 4", 'A', "vaccines", 48}}},
    {"bottle then amount", {{"how do i make up a bottle of formula", 'A', "bottle-feeding", -2},
                            {"and how much should a 2 month old have?", 'A', "bottle-feeding", 2}}},
    {"breastfeeding then three", {{"how do i know my breastfed baby is getting enough milk", 'A', "breastfeeding", -2},
                                  {"she's 6 weeks", 'A', "breastfeeding", 1},
                                  {"thanks that helps", 'S', NULL, -2}}},
    {"choking first aid stays", {{"which foods are choking hazards for toddlers", 'A', "choking", 24},
                                 {"what about grapes?", 'A', "choking", 24}}},
    /* Session 9: a follow-up's one weak word does not pull it off the
     * topic (an age, a pronoun question, "because of it") */
    {"age with a half stays", {{"my son lies on the floor screaming every time we leave the shop", 'A', "tantrums", -2},
                               {"she's 3 and a half", 'A', "tantrums", 42}}},
    {"clean them stays", {{"when can we get our daughter's ears pierced", 'A', "ear-piercing", -2},
                          {"how should we clean them afterwards", 'A', "ear-piercing", -2}}},
    {"because of it stays", {{"my daughter has exams next month and she is really stressed about them", 'A', "exam-stress", -2},
                             {"she can't sleep properly because of it", 'A', "exam-stress", -2}}},
    /* ...but a clause of its own that matches well switches */
    {"own clause switches", {{"my 15 year old son is learning to drive, I'm nervous", 'A', "teen-driving", 180},
                             {"also he's been staying up till 3am on school nights", 'A', "teen-sleep", 180}}},
    /* a weak reading of its own loses to the conversation's passage that
     * holds its words, in its body if not its title ("which foods") */
    {"foods for the topic", {{"my 3 year old hasn't done a poo for 5 days", 'A', "constipation", 36},
                             {"any foods that help with that", 'A', "constipation", 36}}},
    /* a refusal is the earlier question's: a follow-up with nothing of its
     * own to refuse is not refused again; an emergency is given again */
    {"refused opener, follow-up", {{"is it ok to give my 4 year old melatonin gummies so she sleeps", 'R', NULL, 48},
                                   {"alright, what else could help then?", 'A', NULL, 48}}},
    {"emergency opener, follow-up", {{"my baby just swallowed a button battery", 'R', NULL, -2},
                                     {"what do i do?", 'R', NULL, -2}}},
    {"dose opener, follow-up", {{"how much ibuprofen can i give my 3 year old", 'R', NULL, 36},
                                {"and how much at night", 'R', NULL, 36},
                                {"what about at bedtime?", 'R', NULL, 36}}},
    /* convo37: past a question answered since, a dose question is not
     * leaned on */
    {"dose, then sleep, then naps", {{"how much calpol can i give my 2 year old", 'R', NULL, 24},
                                     {"how do i help her sleep when she's poorly", 'A', NULL, 24},
                                     {"what about naps?", 'A', "naps", 24}}},
    {"a full question switches", {{"my 15 year old has started driving lessons and I'm a nervous wreck", 'A', "teen-driving", 180},
                                  {"and he's got a girlfriend now, how do we talk to him about consent", 'A', "dating-consent", 180}}},
    /* after a no-match, a generic follow-up is about that: no-match, not
     * a passage its one word found */
    {"nomatch then generic", {{"how do we choose godparents, my sister is upset we didn't ask her", 'N', NULL, -2},
                              {"how should i respond", 'N', NULL, -2}}},
    /* a follow-up with only a hello before it: what is "it"? */
    {"hello then it", {{"hello there", 'S', NULL, -2}, {"how long does it usually last?", 'C', NULL, -2}}},
    /* a change of subject nothing covers is the no-match, not the old topic */
    {"switch to nothing", {{"what sun cream should I use for my toddler", 'A', "sun-safety", -2},
                           {"random question but how do i clean a teddy that says dont machine wash", 'N', NULL, -2}}},
    /* a marked change of subject the knowledge base covers is read on its own */
    {"switch to covered", {{"what sun cream should I use for my toddler", 'A', "sun-safety", -2},
                           {"random question but what age for a first haircut", 'A', "haircuts", -2}}},
    /* convo37: a short follow-up that names little ("what foods help")
     * stays on the conversation's topic rather than a passage its one
     * word found elsewhere */
    {"constipation then foods", {{"my 4 year old hasn't done a poo for 5 days and cries when she tries", 'A', "constipation", 48},
                                 {"which foods help", 'A', "constipation", 48}}},
    /* convo37: a follow-up with several things of its own, none in the
     * conversation's passage, is read on its own */
    {"guns then a dog", {{"we keep a rifle in the house, how do we store it safely with kids", 'A', "firearm-storage", -2},
                         {"and my brother is coming with his big dog for a week, my youngest is 3, any tips", 'A', "pets-dog-safety", 36}}},
    /* convo37 read "she" here as the toddler and answered; convo39: a
     * crisis as typed (the domestic-violence protocol) always stands,
     * because the resolved reading of real disclosures ("he hits me but
     * never the kids", "he keeps kicking me when he's drunk") passed too */
    {"tantrum then she hits", {{"my 2 year old daughter throws herself on the floor screaming when we leave the park", 'A', NULL, 24},
                               {"what if she starts hitting me when it happens", 'R', NULL, 24}}},
    /* convo39: an emergency, a crisis or a policy rule's refusal of a
     * follow-up stands whatever its pronouns; the model's verdict on a
     * question that names its own child is not re-read either */
    {"tantrum then a crisis", {{"my 3 year old has tantrums at bedtime", 'A', NULL, 36},
                               {"she told me she's been planning how to do it since christmas", 'R', NULL, -2},
                               {"she is blue", 'R', NULL, -2}}},
    {"tantrum then a partner", {{"my 3 year old has tantrums at bedtime", 'A', NULL, 36},
                                {"he hits me but never the kids, is it ok for them to stay with him", 'R', NULL, -2}}},
    /* convo39: a longer request the model refuses as unsafe is not
     * re-read with its pronoun as the child */
    {"tantrum then a harmful request", {{"my 3 year old has tantrums at bedtime", 'A', NULL, 36},
                                        {"any tips for getting her to sleep through with something from the chemist", 'R', NULL, -2}}},
    {"fever then medicine", {{"my 3 year old has tantrums at bedtime", 'A', NULL, 36},
                             {"my 2 yr old has a fever of 38 and is still running around playing. do i need to give her anything", 'R', NULL, -2}}},
    /* ... but a partner named in the conversation is never read as the
     * child, and an emergency in the resolved reading is still refused */
    {"partner then he hits", {{"my husband and I keep arguing about our 4 year old's bedtime", 'A', NULL, 48},
                              {"he hits me when I say no", 'R', NULL, -2}}},
    {"fever then not breathing", {{"my 2 year old has a temperature of 38.5", 'A', NULL, 24},
                                  {"she's not breathing properly and her lips look blue", 'R', NULL, -2}}},
    /* convo37: asking about the coach gets the greeting; asking whether
     * to ask gets a clarifying question; then the question is answered */
    {"what is this, then ask", {{"hiya, what can you help with?", 'S', NULL, -2},
                                {"can I ask you something?", 'C', NULL, -2},
                                {"my 3 year old still wakes up twice a night", 'A', NULL, 36}}},
    /* convo37: a short question its own words send elsewhere ("nursery":
     * working and childcare) stays with a surer reading of the
     * conversation that holds its words */
    {"cold then nursery", {{"my 3 year old has had a runny nose and a cough for over a week", 'A', "colds-illness", 36},
                           {"when is she ok to go back to nursery", 'A', "colds-illness", 36}}},
    /* convo37: "how should i react" is about the conversation's topic,
     * not a passage whose title has "react" */
    {"boyfriend then react", {{"my 15 year old daughter has her first boyfriend", 'A', NULL, 180},
                              {"how should i react", 'A', "dating-consent", 180}}},
    /* convo37: thanks with how the parent feels is small talk; a thanks
     * with a new fact about the child is not */
    {"thanks and a feeling", {{"my 2 year old has a temperature of 38.2 but is eating and playing", 'A', NULL, 24},
                              {"thank you, I feel so much calmer now", 'S', NULL, -2},
                              {"ok this is a bit embarrassing lol", 'S', NULL, -2}}},
    /* convo39: an age added "btw" stays on the topic; a fact offered "if
     * that helps" is no thanks; asking after the coach is a greeting */
    {"age btw", {{"my daughter only eats white food, rice and bread and nothing else", 'A', "picky-eating", -2},
                 {"she's 4 btw", 'A', "picky-eating", 48}}},
    {"how are you then a fact", {{"hiya, how are you?", 'S', NULL, -2},
                                 {"my 6 year old won't do his homework without a fight", 'A', NULL, 72},
                                 {"he loves minecraft if that helps", 'A', NULL, 72}}},
    /* convo39: a question of its own (several concepts, none pointing
     * back) leaves a no-match opening (and a conversation's topic: the
     * parent's own low mood in a colic talk, but this suite's paraphrases
     * of that are refused or retrieved too weakly to test it) */
    /* convo39: another adult's view of what was said before stays on
     * the conversation's topic */
    {"jabs then a grandparent's view", {{"my son has his 12 week jabs tomorrow, what side effects are normal afterwards", 'A', "vaccines", -2},
                                        {"his grandma thinks we should spread them out, is that a thing", 'A', "vaccines", -2}}},
    {"no-match then its own", {{"what should we write in a baby memory book", 'N', NULL, -2},
                               {"speaking of which, at what age do babies first smile and laugh?", 'A', "milestones", -2}}},
    /* convo41: another child brought in is the conversation's question
     * asked for that child, with its age; praise of the coach is small
     * talk; struggling with a named child says no what */
    {"screens then a sibling", {{"what's a sensible screen time limit for my 5 year old", 'A', "screen-time", 60},
                                {"does the same go for her brother who's 10", 'A', "screen-time", 120}}},
    {"praise then struggling", {{"you are an absolute lifesaver", 'S', NULL, -2},
                                {"having some trouble with my son lately", 'C', NULL, -2}}},
    /* lead, session 13: a short first message with no parenting word that
     * the knowledge base finds something in is asked about, not refused
     * as out of scope; an off-topic request is still refused */
    {"a short fragment first", {{"every morning is a battle", 'C', NULL, -2}}},
    {"a shift worker first", {{"I work nights", 'C', NULL, -2}}},
    {"off topic first", {{"what is the capital of france", 'R', NULL, -2}}},
    /* convo43: an age alone after a follow-up is the question answered
     * last, for that age; a report that it did not work is no thanks and
     * no topic; a vague first message built on a pronoun gets a
     * clarifying question; a judgement word is no topic */
    {"age after a follow-up", {{"we are getting a puppy and we have a 1 year old", 'A', "pets-dog-safety", 12},
                               {"should they ever be left alone together", 'A', "pets-dog-safety", 12},
                               {"what about when hes like 4", 'A', "pets-dog-safety", 48}}},
    {"it did not work", {{"my 4 year old whines about everything and it goes on for ages", 'A', "whining-limits", 48},
                         {"we tried that, nothing helps", 'A', "whining-limits", 48},
                         {"what if i just give in sometimes", 'A', "whining-limits", 48}}},
    {"screens then an older child", {{"how many hours of tablet is too much for a 6 year old", 'A', "screen-time", 72},
                                     {"same for my 12 year old? hes even worse", 'A', "screen-time", 144}}},
    {"pronoun first", {{"is it bad?", 'C', NULL, -2},
                       {"my daughter is being strange", 'C', NULL, -2},
                       {"she's 14, hardly talks to us and stays in her room", 'A', "teens-communication", 168}}},
    /* a detail added with the age asks nothing of its own: the
     * conversation's question stands */
    {"refusal then a detail", {{"my daughter refuses to go to school, says her tummy hurts every morning", 'A', "school-refusal", -2},
                               {"shes 11, just moved up to secondary", 'A', "school-refusal", 132}}},
    /* a sure question of its own, twice as much about itself as the
     * conversation's passage is, keeps its own reading */
    {"guilt then childcare", {{"back at work full time after maternity leave and I feel so guilty", 'A', "working-parents", -2},
                              {"should we pick a nursery or a childminder?", 'A', "choosing-childcare", -2}}},
    /* a follow-up never lowers safety: the triage reads each message on
     * its own first, so an emergency after a vague opening or a cold, or
     * a dose asked again for another age, is still refused */
    {"emergency after vague", {{"is it serious?", 'C', NULL, -2},
                               {"my 2 year old has a temperature of 38.5 and is floppy", 'R', NULL, -2}}},
    {"emergency in a follow-up", {{"my 2 year old has a bad cold", 'A', NULL, 24},
                                  {"she is struggling to breathe", 'R', NULL, -2}}},
    {"dose then an age", {{"how much paracetamol can i give my 2 year old", 'R', NULL, -2},
                          {"what about when shes 4", 'R', NULL, -2}}},
    /* convo45: a question short of concepts whose own reading is unsure
     * stays on the conversation's topic when that reading is confident
     * and more so: the bath is asked about because of the eczema, the
     * dinner because of the imaginary friend */
    {"eczema then baths", {{"babys cheeks have red rough dry patches and she scratches them", 'A', "eczema", -2},
                           {"we bath her every night is that too much", 'A', "eczema", -2}}},
    {"imaginary friend at dinner", {{"my 4yo has an imaginary friend called bob who gets blamed for everything", 'A', "imaginary-friends", 48},
                                    {"is it weird that she talks to him at dinner", 'A', "imaginary-friends", 48}}},
    /* convo45: "separate thing but..." changes the subject; what the
     * knowledge base does not cover is the honest no-match, also for a
     * detail added to it */
    {"separate thing, not covered", {{"my mum keeps giving the kids sweets even though I've asked her not to", 'A', NULL, -2},
                                     {"separate thing but should we name my sister as guardian in our will?", 'N', NULL, -2},
                                     {"we have 2 kids", 'N', NULL, -2}}},
};

static int has_topic(const struct kb_passage *p, const char *topic)
{
    for (size_t i = 0; i < p->ntopics; i++) if (strcmp(p->topics[i], topic) == 0) return 1;
    return 0;
}

static char kind_char(enum convo_kind k)
{
    return k == CONVO_ANSWER ? 'A' : k == CONVO_REFUSE ? 'R' : k == CONVO_SMALLTALK ? 'S'
         : k == CONVO_CLARIFY ? 'C' : 'N';
}

static void test_conversation_suite(void **state)
{
    size_t n = sizeof convos / sizeof convos[0], failed = 0, turns = 0;
    assert_true(n >= 40);
    for (size_t c = 0; c < n; c++) {
        const char *prev[3];
        size_t np = 0;
        for (size_t k = 0; k < 3 && convos[c].t[k].q; k++) {
            const struct turn_case *tc = &convos[c].t[k];
            struct convo_plan pl;
            int ok;
            convo_plan(kb, pol, tc->q, strlen(tc->q), prev, np, &pl);
            turns++;
            ok = kind_char(pl.kind) == tc->kind;
            if (ok && tc->kind == 'A' && tc->topic) ok = pl.nhits && has_topic(pl.hits[0].p, tc->topic);
            if (ok && tc->age != -2) ok = pl.age == tc->age;
            if (ok && tc->kind != 'A') ok = pl.nhits == 0 || tc->kind == 'R';
            if (!ok) {
                fprintf(stderr, "  conversation '%s' turn %zu '%s': got %c %s age %d (want %c %s age %d)\n",
                        convos[c].name, k + 1, tc->q, kind_char(pl.kind),
                        pl.nhits ? pl.hits[0].p->id : "-", pl.age, tc->kind,
                        tc->topic ? tc->topic : "-", tc->age);
                failed++;
            }
            prev[np++] = tc->q;
        }
    }
    fprintf(stderr, "  conversations: %zu, turns: %zu, failed turns: %zu\n", n, turns, failed);
    /* Known misses today (listed above; docs/knowledge-base.md): one, the
     * baby-name question answered from a passage instead of no-match (the
     * third turn of the dose conversation is refused again since convo37:
     * cv_dose_before). The suite fails if a second turn goes wrong. */
    assert_true(failed <= 1);
}

/* The honest no-match cites nothing and names the concept. */
static void test_nomatch_plan(void **state)
{
    struct convo_plan pl;
    /* kb29's activities topic now covers choosing an instrument, so the
     * uncovered question is a particular instrument's model */
    const char *q = "which ukulele should my 7 year old learn on";
    convo_plan(kb, pol, q, strlen(q), NULL, 0, &pl);
    assert_int_equal(pl.kind, CONVO_NOMATCH);
    assert_int_equal(pl.nhits, 0);
    assert_non_null(strstr(pl.reply, "I don't have vetted guidance on"));
    assert_non_null(strstr(pl.reply, "ukulele"));
}

/* A no-match suggests only topics about the question (none on a passing
 * word: a baby-name question is no formula question); in a conversation
 * with nothing near, it offers the conversation's own topic. */
static void test_nomatch_suggestions(void **state)
{
    struct convo_plan pl;
    const char *q = "what outfits should we pick for a family photoshoot";
    const char *prev[1] = {"how do i get my 2 year old to fall asleep at bedtime"};
    convo_plan(kb, pol, q, strlen(q), NULL, 0, &pl);
    assert_int_equal(pl.kind, CONVO_NOMATCH);
    assert_null(strstr(pl.reply, "may be close"));
    q = "how do i choose a baby name we both like";
    convo_plan(kb, pol, q, strlen(q), NULL, 0, &pl);
    assert_int_equal(pl.kind, CONVO_NOMATCH);
    assert_null(strstr(pl.reply, "formula"));
    convo_plan(kb, pol, prev[0], strlen(prev[0]), NULL, 0, &pl);
    assert_int_equal(pl.kind, CONVO_ANSWER);
    const char *label = kb_topic_label(kb, pl.hits[0].p->topics[0]);
    assert_non_null(label);
    q = "random one, what outfits should we pick for a family photoshoot";
    convo_plan(kb, pol, q, strlen(q), prev, 1, &pl);
    assert_int_equal(pl.kind, CONVO_NOMATCH);
    assert_non_null(strstr(pl.reply, "may be close"));
    assert_non_null(strstr(pl.reply, label));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smalltalk_table),
        cmocka_unit_test(test_leans_on_context_table),
        cmocka_unit_test(test_stated_age_table),
        cmocka_unit_test(test_nomatch_text),
        cmocka_unit_test(test_chat_tone_table),
        cmocka_unit_test(test_chat_plan),
        cmocka_unit_test(test_vague_table),
        cmocka_unit_test(test_greeting_vague_table),
        cmocka_unit_test(test_followup_parts_table),
        cmocka_unit_test(test_switch_marker_table),
        cmocka_unit_test(test_feeling_only_table),
        cmocka_unit_test(test_resolve_child_table),
        cmocka_unit_test(test_meta_table),
        cmocka_unit_test(test_reports_view_table),
        cmocka_unit_test(test_short_weak),
        cmocka_unit_test(test_generic_only_table),
        cmocka_unit_test(test_nomatch_plan),
        cmocka_unit_test(test_nomatch_suggestions),
        cmocka_unit_test(test_conversation_suite),
    };
    return cmocka_run_group_tests_name("convo", tests, setup, teardown);
}
