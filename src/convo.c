/* convo.c — reading a question as part of its conversation (see convo.h).
 *
 * Order of decisions for one question:
 *   0. a short follow-up the fitted model refuses as typed as unsafe,
 *      medical or out of scope (other than for want of parenting words)
 *      is triaged again with its "he"/"she"/"him"/object "her" read as
 *      the child the conversation names (cv_resolve_child); when that
 *      reading passes, the question goes on as passed; an emergency, a
 *      crisis or a policy rule's refusal is never re-read;
 *   1. the safety layer on the question as typed; any refusal stands (an
 *      emergency or a crisis in the question itself is never hidden by
 *      the conversation), except the "no parenting words" fallback, which
 *      is reconsidered: small talk gets a warm reply; a follow-up is
 *      classified again together with the earlier questions, and refused
 *      when that reading is, unless the refusal is the earlier questions'
 *      own, already given (they alone are refused the same way) and is no
 *      emergency, crisis or question of how much medicine to give
 *      (cv_refused_before); a first question gets a clarifying question
 *      when it says nothing the knowledge base knows, leans on a "before"
 *      it does not have ("how long will it last?" after a hello) or is a
 *      short fragment ("every morning is a battle", CONVO_FRAGMENT_WORDS); a
 *      question the layer passes that leans on a dose question ("what
 *      about at bedtime?") is triaged with it and refused as a dose;
 *   2. small talk: praise of the coach ("you're a star", cv_compliment), a
 *      message made only of greeting, thanks or goodbye
 *      words, or chat that asks nothing ("ok thank you, gonna try
 *      tonight", "perfect, screenshotting this", "this is so awkward
 *      haha", an emoji) whose words past the thanks and filler the
 *      knowledge base finds nothing in ("thanks, she still wakes at 5" and
 *      "what helps besides medicine" are questions; "that helps a bit" is
 *      no question about biting);
 *   2b. a first question that says who but not what ("my son has been
 *      acting weird lately", "hi, bit worried about my daughter"): a
 *      clarifying question;
 *   3. retrieval of the question on its own, with the child's age from the
 *      conversation when the question gives none; when that finds nothing
 *      or the question leans on what came before ("what about naps?",
 *      "she's 6", "he's not sleeping because of it"), the question is read
 *      again together with the latest earlier question that had concepts
 *      of its own and the question the conversation's thread opened with
 *      (cv_find_thread). Its own reading still wins when it is a question
 *      of its own: a strong match (CONVO_ALONE_STRONG), a clause with
 *      several concepts (CONVO_OWN_CONCEPTS), or a thing named after "what
 *      about" that the conversation's passage is not about; one weak word
 *      ("is that healthy?", "he's 2 and a half", "clean them") never pulls
 *      it off the topic. A question with no follow-up words whose best
 *      passage is off the conversation's topics (or that follows a
 *      no-match opening) is read that way too, and keeps that reading when
 *      it stays on topic and is at least as much about the question, or
 *      its own reading is weak and the conversation's passage holds its
 *      words, or it is short of concepts, its own reading unsure and the
 *      conversation's confident and more so ("we bath her every night, is
 *      that too much" after eczema);
 *       A follow-up that only brings in another child ("and his sister is
 *      11, same rules?", cv_other_child) is the conversation's question
 *      asked for that child: the conversation read with that child's
 *      age first, never the word "sister" on its own. A passage off the
 *      conversation's main subject (sharing only a side topic) counts as
 *      off its thread, and a bare detail ("only on the left side",
 *      cv_bare_detail) keeps the conversation's reading when that is at
 *      least as confident, or confident on its own terms. An age alone
 *      ("what about when he's like 5", cv_age_only) goes the other
 *      child's way, and for both the answer given last (the earlier
 *      question planned again) stands when the new reading leaves its
 *      subject and its passage is for the new age. A report that it did
 *      not work ("tried that, nothing helps", cv_effort_only), an age
 *      alone and a judgement on a pronoun ("is it bad?") are never the
 *      context a later follow-up is read with;
 *   4. with no concept at all and nothing before it: a clarifying question;
 *   5. below the no-match threshold: the honest no-match, also for a
 *      marked change of subject ("random one but...") the conversation's
 *      passage is not about; it suggests only topics whose passages are
 *      about the question's key concept, else the conversation's own. */
#include "convo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"
#include "util.h"

#define NO_CONTEXT_RULE "out_of_scope.no_parenting_context"


/* ---------- words ---------- */

/* The words of q as text.h reads them (the one shared reader), lowercased
 * with apostrophes dropped ("that's" -> "thats", as the lists below spell
 * them), at most max of up to 31 bytes each. Returns the count (capped). */
static size_t cv_words(const char *q, size_t len, char w[][32], size_t max)
{
    struct text_word tw[64];
    size_t n = text_words(q, len, tw, 64), out = 0;
    if (n > 64) n = 64;
    for (size_t i = 0; i < n && out < max; i++) {
        size_t l = 0;
        for (size_t k = 0; k < tw[i].nlen && l < 31; k++)
            if (tw[i].norm[k] != '\'') w[out][l++] = tw[i].norm[k];
        w[out][l] = '\0';
        if (l) out++;
    }
    return out;
}

static int cv_in_list(const char *w, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) if (strcmp(w, list[i]) == 0) return 1;
    return 0;
}

/* ---------- small talk ---------- */

/* Greetings a message may open with or be made of. */
static const char *const smalltalk_greet[] = {"hi", "hello", "hey", "hiya", "heya", "howdy",
                                              "morning", "evening", "afternoon", "greetings",
                                              NULL};

/* Words for the child (or children) a message is about. */
static const char *const child_words[] = {"baby", "babies", "child", "children", "kid", "kids",
                                          "kiddo", "son", "daughter", "toddler", "teen",
                                          "teenager", "teenage", "boy", "girl", "lo", "infant",
                                          NULL};

/* Words for a person the message may be about. */
static const char *const person_words[] = {"he", "she", "they", "him", "her", "them", "hes",
                                           "shes", "theyre", "his", "hers", "their", NULL};

/* Filler around thanks that says nothing to match on ("that helps a bit,
 * thank you": "bit" is no bite). */
static const char *const chat_filler[] = {"a", "bit", "little", "so", "much", "very", "really",
                                          "you", "that", "this", "thats", "it", "lot", "loads",
                                          "the", "for", "just", "such", NULL};

/* Words that may stand around thanks, greetings and goodbyes without
 * making the message a question. */
static const char *const chat_pad[] = {
    "good", "so", "much", "very", "that", "this", "thats", "really", "you", "a", "lot",
    "for", "the", "info", "advice", "help", "oh", "wow", "ok", "okay", "i", "will", "try",
    "it", "we", "ill", "well", "there", "all", "again", "makes", "got", "it", "yes", "yeah",
    "coach", "all", "everyone", "just", "was", "is", "such", "big", "many", "kind", "of",
    "your", "me", "my", "to", "night", "see", "soon", "now", "then", "and", "def",
    "definitely", "sounds", "plan", "those", "tips", "these", "ideas", "great", "day",
    "have", "nice", "one", "tonight", "im", "going", "give", "shot", "go", "u", "x", "xx",
    "xxx", "gonna", "do", "bit", "little", "loads", NULL};

int convo_smalltalk(const char *q, size_t len, char *reply, size_t n)
{
    static const char *const thank[] = {"thanks", "thank", "thx", "ty", "cheers", "ta", "helps",
                                        "helped", "helpful", "useful", "perfect", "great",
                                        "awesome", "brilliant", "lovely", "amazing", "appreciate",
                                        "appreciated", "wonderful", "excellent", "nice", "cool",
                                        "super", "fab", "fantastic", "sense", "noted", NULL};
    static const char *const bye[] = {"bye", "goodbye", "goodnight", "cya", "later", NULL};
    /* asking after the coach is a greeting ("how r u", "hey, how's it
     * going?", "you ok?"); the words that may close it ("how are you
     * doing today") count only after one */
    static const char *const how_are_you[][5] = {
        {"how", "are", "you", NULL}, {"how", "r", "u", NULL}, {"how", "are", "u", NULL},
        {"how", "r", "you", NULL}, {"how", "are", "ya", NULL}, {"how", "you", "doing", NULL},
        {"how", "ya", "doing", NULL}, {"how", "u", "doing", NULL}, {"hows", "you", NULL},
        {"hows", "it", "going", NULL}, {"how", "is", "it", "going", NULL},
        {"how", "are", "things", NULL}, {"hows", "things", NULL}, {"are", "you", "ok", NULL},
        {"are", "you", "well", NULL}, {"you", "ok", NULL}, {"u", "ok", NULL},
        {"you", "alright", NULL}, {"whats", "up", NULL}, {"wassup", NULL}, {"sup", NULL},
        {"hope", "youre", "well", NULL}, {"hope", "you", "are", "well", NULL},
        {"hows", "your", "day", NULL}, {"how", "is", "your", "day", NULL}};
    static const char *const after_how[] = {"doing", "today", "going", "hun", "mate", NULL};
    char w[16][32];
    size_t nw;
    int g = 0, t = 0, b = 0, how = 0;
    if (len > 120) return 0;
    nw = cv_words(q, len, w, 16);
    if (nw == 0 || nw > 12) return 0;
    for (size_t i = 0; i < nw; i++) {
        size_t k = 0;
        for (size_t p = 0; p < sizeof how_are_you / sizeof how_are_you[0] && !k; p++) {
            while (how_are_you[p][k] && i + k < nw && strcmp(w[i + k], how_are_you[p][k]) == 0)
                k++;
            if (how_are_you[p][k]) k = 0;
        }
        if (k) {
            g = how = 1;
            i += k - 1;
            continue;
        }
        if (how && cv_in_list(w[i], after_how)) continue;
        if (cv_in_list(w[i], smalltalk_greet)) g = 1;
        else if (cv_in_list(w[i], thank)) t = 1;
        else if (cv_in_list(w[i], bye)) b = 1;
        else if (!cv_in_list(w[i], chat_pad)) return 0;
    }
    /* "good night" is a goodbye; "good morning" a greeting */
    for (size_t i = 0; i + 1 < nw; i++)
        if (strcmp(w[i], "good") == 0 && strcmp(w[i + 1], "night") == 0) b = 1;
    if (t)
        snprintf(reply, n, "You're very welcome. You're clearly putting real care into this. "
                           "If anything else comes up, or you want to go over the next step, "
                           "just ask.");
    else if (b)
        snprintf(reply, n, "Take care, and go gently on yourself. I'm here whenever another "
                           "question comes up.");
    else if (g)
        snprintf(reply, n, "Hi! I'm here to help with everyday parenting questions: sleep, "
                           "feeding, behaviour, development, school and family life. What's on "
                           "your mind? Telling me your child's age helps me be specific.");
    else
        return 0;
    return 1;
}

/* The chat markers cv_chat_tone reads. */
static const char *const chat_thank[] = {"thanks", "thank", "thx", "ty", "tysm", "cheers", "ta",
                                         "helps", "helped", "helpful", "appreciate",
                                         "appreciated", "reassuring", "reassured", NULL};
static const char *const chat_bye[] = {"bye", "goodbye", "goodnight", "cya", NULL};
static const char *const chat_greet[] = {"hi", "hello", "hey", "hiya", "heya", "howdy", NULL};
static const char *const chat_ack[] = {"ok", "okay", "k", "kk", "phew", "haha", "hahaha", "lol",
                                       "lmao", "hehe", "luck", "fair", "gotcha", "ugh", "aww",
                                       "alright", "noted", "brill", "lovely", "great", NULL};

/* Approval opening a message ("perfect, screenshotting this for her"). */
static const char *const chat_approve[] = {"perfect", "brilliant", "amazing", "awesome",
                                           "fantastic", "wonderful", "excellent", "fab",
                                           "superb", "legend", "gotcha", NULL};
static const char *const chat_laugh[] = {"haha", "hahaha", "lol", "lmao", "hehe", NULL};
/* Words that ask for something: a message with one is no chat in passing. */
static const char *const chat_asks[] = {"tips", "advice", "ideas", "help", "how", "what", "why",
                                        "when", "where", "which", "should", "can", "could",
                                        "would", "any", "anyone", "recommend", "suggestions",
                                        "please", "pls", "plz", NULL};

/* Chat around the questions: "ok thank you, gonna try tonight", "phew
 * ok", "haha wish me luck", "thank you, I needed to hear that", "👍".
 * The tone of a message that carries a chat marker and asks nothing: 1
 * thanks, 2 goodbye, 3 greeting, 4 an acknowledgement (ok, phew, haha,
 * luck); 0 when it has none, asks ('?'), has a number ("ok, she's 4"),
 * or opens like a follow-up ("but...", "and..."). *nwords gets its word
 * count. A message
 * of symbols only (an emoji) is an acknowledgement. Pure. */
static int cv_chat_tone(const char *q, size_t len, size_t *nwords)
{
    static const char *const opens[] = {"and", "but", "what", "how", "why", "when", "where",
                                        "which", "who", "also", "should", "can", "is", "does",
                                        "do", "will", NULL};
    char w[16][32];
    size_t nw, i0;
    int tone = 0;
    int has_symbol = 0;
    *nwords = 0;
    if (len == 0 || len > 160 || memchr(q, '?', len)) return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)q[i] >= 0x80 || (q[i] > ' ' && q[i] < 0x7f)) has_symbol = 1;
    nw = cv_words(q, len, w, 16);
    *nwords = nw;
    if (nw == 0) return has_symbol ? 4 : 0;
    /* past the opening acknowledgements ("ok. and how long...") */
    for (i0 = 0; i0 < nw && cv_in_list(w[i0], chat_ack); i0++) {}
    if (nw > 14 || (i0 < nw && cv_in_list(w[i0], opens))) return 0;
    for (size_t i = 0; i < nw; i++) {
        double v;
        if (text_number(w[i], strlen(w[i]), &v)) return 0;     /* "ok, she's 4" */
    }
    for (size_t i = 0; i < nw; i++) {
        /* thanks and goodbyes count anywhere; a greeting, an approval
         * ("perfect, ...") or an "ok", "haha" only opening the message */
        /* "if that helps", "in case it's useful" offer something, they
         * thank for nothing ("hes into football if that helps") */
        int offer = strncmp(w[i], "help", 4) == 0 &&
                    ((i >= 1 && (strcmp(w[i - 1], "if") == 0 || strcmp(w[i - 1], "case") == 0)) ||
                     (i >= 2 && (strcmp(w[i - 2], "if") == 0 || strcmp(w[i - 2], "case") == 0 ||
                                 strcmp(w[i - 2], "whether") == 0)) ||
                     (i >= 3 && (strcmp(w[i - 3], "if") == 0 || strcmp(w[i - 3], "case") == 0)));
        /* "nothing helps", "it didn't help": a report that it failed */
        static const char *const negation[] = {"nothing", "not", "doesnt", "didnt", "dont",
                                               "never", "no", "wont", "isnt", "hasnt",
                                               "havent", "cant", NULL};
        if (!offer && strncmp(w[i], "help", 4) == 0 &&
            ((i >= 1 && cv_in_list(w[i - 1], negation)) ||
             (i >= 2 && cv_in_list(w[i - 2], negation))))
            offer = 1;
        int t = offer ? 0 : cv_in_list(w[i], chat_thank) ? 1 : cv_in_list(w[i], chat_bye) ? 2
                : i > i0 ? 0 : cv_in_list(w[i], chat_approve) ? 1
                : cv_in_list(w[i], chat_greet) ? 3 : cv_in_list(w[i], chat_ack) ? 4 : 0;
        if (t && (!tone || t < tone)) tone = t;
    }
    /* laughter closing a short message that asks for nothing and says
     * nothing of the child ("this is so awkward haha"; "...any tips lol"
     * and "she's started asking for a bottle again lol" are questions) */
    if (!tone && nw <= 6 && cv_in_list(w[nw - 1], chat_laugh)) {
        tone = 4;
        for (size_t i = 0; i < nw; i++)
            if (cv_in_list(w[i], chat_asks) || cv_in_list(w[i], child_words) ||
                cv_in_list(w[i], person_words))
                tone = 0;
    }
    return tone;
}

/* The words of q that are not chat markers (cv_chat_tone's thanks,
 * goodbyes, greetings and acknowledgements) nor the filler around them
 * ("a bit", "so much"; "night" and "help" stay: "what helps at night" is a
 * question), space-separated in out (at
 * most n bytes); returns the length (0: nothing but chat). Pure. */
static size_t cv_past_chat(const char *q, size_t len, char *out, size_t n)
{
    char w[16][32];
    size_t nw = cv_words(q, len, w, 16), l = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nw; i++) {
        size_t wl = strlen(w[i]);
        /* "helps" stays: "what helps besides medicine" asks */
        if ((cv_in_list(w[i], chat_thank) && strncmp(w[i], "help", 4) != 0) ||
            cv_in_list(w[i], chat_bye) ||
            cv_in_list(w[i], chat_greet) || cv_in_list(w[i], chat_ack) ||
            cv_in_list(w[i], chat_filler))
            continue;
        if (l + wl + 2 > n) break;
        if (l) out[l++] = ' ';
        memcpy(out + l, w[i], wl);
        l += wl;
        out[l] = '\0';
    }
    return l;
}

static void cv_chat_reply(int tone, char *reply, size_t n)
{
    if (tone == 1)
        snprintf(reply, n, "You're very welcome. You're clearly putting real care into this. "
                           "If anything else comes up, or you want to go over the next step, "
                           "just ask.");
    else if (tone == 2)
        snprintf(reply, n, "Take care, and go gently on yourself. I'm here whenever another "
                           "question comes up.");
    else if (tone == 3)
        snprintf(reply, n, "Hi! I'm here to help with everyday parenting questions: sleep, "
                           "feeding, behaviour, development, school and family life. What's on "
                           "your mind? Telling me your child's age helps me be specific.");
    else
        snprintf(reply, n, "You've got this, and you're not alone in it. I'm here whenever "
                           "another question comes up.");
}

/* ---------- follow-ups ---------- */

#ifndef CONVO_ANAPHOR_WORDS
#define CONVO_ANAPHOR_WORDS 8
#endif
int convo_leans_on_context(const char *q, size_t len)
{
    static const char *const starts[][3] = {
        {"what", "about", NULL}, {"how", "about", NULL}, {"and", NULL, NULL},
        {"what", "if", NULL}, {"but", NULL, NULL}, {"same", "for", NULL}, {"also", NULL, NULL},
        {"what", "else", NULL}, {"and", "what", NULL}, {"or", NULL, NULL}, {"so", NULL, NULL},
        {"ok", "and", NULL}, {"then", NULL, NULL}, {"why", NULL, NULL},
    };
    static const char *const pron[] = {"it", "that", "this", "he", "she", "they", "him", "her",
                                       "them", "thats", "its", "hes", "shes", "theyre", "those",
                                       "these", "then", NULL};
    static const char *const thing[] = {"it", "that", "this", "them", "those", "these", NULL};
    /* said before the follow-up itself ("ok, what else can I try?",
     * "thanks, and if he bites?") */
    static const char *const before[] = {"ok", "okay", "k", "alright", "right", "oh", "hmm",
                                         "um", "yeah", "thanks", "thank", "you", "cheers",
                                         "great", NULL};
    char w[24][32];
    size_t nw = cv_words(q, len, w, 24), i0 = 0;
    if (nw == 0) return 0;
    while (i0 + 1 < nw && cv_in_list(w[i0], before)) i0++;
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        size_t k = 0;
        while (k < 3 && starts[i][k] && i0 + k < nw && strcmp(w[i0 + k], starts[i][k]) == 0) k++;
        if (k > 0 && (k == 3 || !starts[i][k])) return 1;
    }
    if (nw <= 6)
        for (size_t i = 0; i < nw; i++) if (cv_in_list(w[i], pron)) return 1;
    /* a longer one that points back at a thing said before ("he's not
     * sleeping well because of it", "my youngest is 1, does that change
     * anything"): a thing pronoun after its first word ("is it ok to..."
     * and "that book" open their own question) */
    if (nw <= CONVO_ANAPHOR_WORDS)
        for (size_t i = 1; i < nw; i++) if (cv_in_list(w[i], thing)) return 1;
    return 0;
}

/* 1 when q points back at a thing said before: "it", "that", "this",
 * "them", "those", "these" after its first word ("does that count?",
 * "is it too late"; "that book" opening a message is its own). Pure. */
static int cv_points_back(const char *q, size_t len)
{
    static const char *const thing[] = {"it", "that", "this", "them", "those", "these",
                                        "thats", "its", NULL};
    char w[32][32];
    size_t nw = cv_words(q, len, w, 32);
    for (size_t i = 1; i < nw; i++) if (cv_in_list(w[i], thing)) return 1;
    return 0;
}

/* 1 when q has a thing pronoun as the object of what it asks ("how do i
 * bring it up", "do i punish it", "tried that", "should I stop them"):
 * "it" or "them" after a word that makes it no subject ("is it ok",
 * "does it last", "when it happens" are its own question), or "that",
 * "this", "those", "these" closing the message or before a particle
 * ("do that again"). What it points at is what the conversation is
 * about. Pure. */
static int cv_points_back_object(const char *q, size_t len)
{
    static const char *const subj_before[] = {
        "is", "was", "isnt", "wasnt", "does", "did", "doesnt", "didnt", "will", "would",
        "could", "can", "should", "might", "may", "must", "has", "had", "when", "if",
        "because", "since", "until", "while", "so", "and", "but", "or", "as", "though",
        "although", "unless", "once", "before", "after", "till", "whether", "how", "what",
        "why", "where", "think", "thinks", "hope", "feel", "feels", NULL};
    static const char *const particle[] = {"up", "out", "off", "again", "too", "anymore",
                                           "away", "down", "over", "back", "on", NULL};
    static const char *const obj[] = {"it", "them", NULL};
    static const char *const dem[] = {"that", "this", "those", "these", NULL};
    char w[32][32];
    size_t nw = cv_words(q, len, w, 32);
    for (size_t i = 1; i < nw; i++) {
        if (cv_in_list(w[i], obj) && !cv_in_list(w[i - 1], subj_before)) return 1;
        if (cv_in_list(w[i], dem) && (i + 1 == nw || cv_in_list(w[i + 1], particle))) return 1;
    }
    return 0;
}

/* 1 when q opens by naming what it asks about instead ("what about at
 * the pool?", "how about daycare", "same for naps?"): the thing named is
 * the question, however weakly it matches on its own; not a time or a
 * case of the topic ("what about when he comes back"). Pure. */
static int cv_names_new_thing(const char *q, size_t len)
{
    static const char *const clause[] = {"when", "if", "once", "while", "after", "before",
                                         "now", "then", "that", "this", "it", NULL};
    char w[4][32];
    size_t nw = cv_words(q, len, w, 4);
    /* "what about when he comes back" asks about a time in the topic */
    if (nw < 3 || cv_in_list(w[2], clause)) return 0;
    return ((strcmp(w[0], "what") == 0 || strcmp(w[0], "how") == 0) &&
            strcmp(w[1], "about") == 0) ||
           (strcmp(w[0], "same") == 0 && (strcmp(w[1], "for") == 0 || strcmp(w[1], "with") == 0));
}

/* 1 when q says it changes the subject: "random one but...", "also,
 * unrelated...", "btw", "by the way", "different question", "on another
 * note", "off topic", "quick one", "separate thing but..." opening it. A one-word marker closing the message
 * is an afterthought on the same subject ("he's 3 btw"). Pure. */
static int cv_switch_marker(const char *q, size_t len)
{
    static const char *const one[] = {"random", "unrelated", "btw", "separately", "also",
                                      "offtopic", NULL};
    /* pairs ("by the" must be "by the way": "swung him by the hands") */
    static const char *const two[][3] = {{"by", "the", "way"}, {"off", "topic", NULL},
                                         {"quick", "one", NULL}, {"quick", "question", NULL},
                                         {"another", "question", NULL},
                                         {"different", "question", NULL},
                                         {"another", "thing", NULL}, {"other", "thing", NULL},
                                         {"change", "of", "subject"},
                                         {"changing", "the", "subject"},
                                         {"on", "another", "note"}};
    /* a word for another matter and a word for a question or subject,
     * next to each other or one word apart ("totally different q",
     * "another quick question", "new topic", "changing the subject"); "a
     * new thing" or "a different book" is no change of subject */
    static const char *const other[] = {"another", "different", "other", "new", "separate",
                                        "change", "changing", "switching", NULL};
    static const char *const matter[] = {"question", "questions", "q", "qn", "qu", "topic",
                                         "subject", "note", NULL};
    /* opening the message only ("separate thing, but...", "ok
     * different thing: ..."; "she wants a different thing each night" is
     * no change of subject) */
    static const char *const two_open[][2] = {{"separate", "thing"}, {"different", "thing"}};
    char w[24][32];
    size_t nw = cv_words(q, len, w, 24);
    for (size_t i = 0; i < nw && i < 3; i++)
        for (size_t k = 0; k < sizeof two_open / sizeof two_open[0]; k++)
            if (i + 2 < nw && strcmp(w[i], two_open[k][0]) == 0 &&
                strcmp(w[i + 1], two_open[k][1]) == 0)
                return 1;
    for (size_t i = 0; i < nw; i++) {
        /* one word closing the message adds to what was said ("he's 3
         * btw", "she wets the bed also"); it opens a new subject only
         * before the question it marks */
        if (cv_in_list(w[i], one) && i + 1 < nw) return 1;
        if (cv_in_list(w[i], other) &&
            ((i + 1 < nw && cv_in_list(w[i + 1], matter)) ||
             (i + 2 < nw && cv_in_list(w[i + 2], matter))))
            return 1;
        for (size_t k = 0; k < sizeof two / sizeof two[0]; k++) {
            size_t m = 0;
            while (m < 3 && two[k][m] && i + m < nw && strcmp(w[i + m], two[k][m]) == 0) m++;
            if (m == 3 || (m > 0 && !two[k][m])) return 1;
        }
    }
    return 0;
}

/* ---------- age ---------- */

/* 1 when words w[i], w[i+1] read as a span of time rather than the
 * child's age: "in a month", "a year" not followed by "old" ("move him up
 * a year"), "within 2 weeks", "by 3 months". */
static int cv_time_span(const struct text_word *w, size_t n, size_t i)
{
    static const char *const units[] = {"day", "days", "week", "weeks", "month", "months",
                                        "year", "years", "yr", "yrs", NULL};
    static const char *const before[] = {"in", "within", "by", "next", "after", "over",
                                         "under", "than", "up", "another", "each", "per", NULL};
    int old = i + 2 < n && (strcmp(w[i + 2].norm, "old") == 0 || strcmp(w[i + 2].norm, "olds") == 0);
    if (!cv_in_list(w[i + 1].norm, units) || old) return 0;
    if (strcmp(w[i].norm, "a") == 0 || strcmp(w[i].norm, "an") == 0) return 1;
    return i > 0 && cv_in_list(w[i - 1].norm, before);
}

int convo_stated_age(const char *q, size_t len)
{
    static const char *const lead[] = {"shes", "hes", "theyre", "whos", "is", "turned", "just", "now",
                                       "turning", "age", "aged", "shell", "hell", "be", "nearly",
                                       "almost", "actually", "only", "over", "mines", NULL};
    static const char *const rough[] = {"like", "about", "around", "roughly", NULL};
    static const char *const age_close[] = {"btw", "fyi", "though", "tho", "actually", "lol",
                                            "haha", "already", "too", "also", "by", "the", "way",
                                            "x", "sorry", "forgot", "to", "say", "mention",
                                            "anyway", "if", "that", "helps", "matters", NULL};
    struct text_word tw[48];
    char copy[1024];
    size_t nw;
    int age;
    if (len >= sizeof copy) len = sizeof copy - 1;
    memcpy(copy, q, len);
    copy[len] = '\0';
    nw = text_words(copy, len, tw, 48);
    if (nw > 48) nw = 48;
    /* spans of time are not ages: blank them before kb_parse_age reads */
    for (size_t i = 0; i + 1 < nw; i++)
        if (cv_time_span(tw, nw, i)) {
            memset((char *)tw[i].ptr, ' ', tw[i].len);
            memset((char *)tw[i + 1].ptr, ' ', tw[i + 1].len);
        }
    age = kb_parse_age(copy, len);
    if (age >= 0) return age;
    nw = text_words(q, len, tw, 48);
    if (nw > 48) nw = 48;
    for (size_t i = 0; i < nw; i++) {
        char w0[32] = "";
        long v;
        int lead_ok = 0, paren, half, end;
        if (!(tw[i].flags & TEXT_NUMBER) || tw[i].num < 1 || tw[i].num > 18) continue;
        if (tw[i].flags & TEXT_DIGIT && strchr(tw[i].norm, '.')) continue;
        v = (long)tw[i].num;
        if (i > 0) {
            size_t l = 0;
            for (size_t k = 0; k < tw[i - 1].nlen && l < 31; k++)
                if (tw[i - 1].norm[k] != '\'') w0[l++] = tw[i - 1].norm[k];
            w0[l] = '\0';
            lead_ok = cv_in_list(w0, lead);
            /* "when he's like 5", "she's about 4", "he's around 3": a
             * word of rough measure between an age verb and the number */
            if (!lead_ok && i > 1 && cv_in_list(w0, rough)) {
                size_t m = 0;
                for (size_t k = 0; k < tw[i - 2].nlen && m < 31; k++)
                    if (tw[i - 2].norm[k] != '\'') w0[m++] = tw[i - 2].norm[k];
                w0[m] = '\0';
                lead_ok = cv_in_list(w0, lead) && strcmp(w0, "is") != 0;
            }
        }
        /* "my son (12)" */
        paren = tw[i].ptr > q && tw[i].ptr[-1] == '(' && tw[i].ptr + tw[i].len < q + len &&
                tw[i].ptr[tw[i].len] == ')';
        if (paren) return (int)v * 12;
        if (!lead_ok) continue;
        /* "he's 2 and a half" */
        half = i + 3 < nw && strcmp(tw[i + 1].norm, "and") == 0 &&
               strcmp(tw[i + 2].norm, "a") == 0 && strcmp(tw[i + 3].norm, "half") == 0;
        if (half) return (int)v * 12 + 6;
        /* "she's 6", "he is 4 now", "she's 3. she sucks her thumb" */
        end = i + 1 == nw || (tw[i].flags & TEXT_CLAUSE_END) ||
              strcmp(tw[i + 1].norm, "now") == 0 || strcmp(tw[i + 1].norm, "soon") == 0;
        /* "she's 4 btw", "he's 7 though", "she's 2 by the way": only
         * afterthought words close the clause */
        for (size_t j = i + 1; !end && j < nw && cv_in_list(tw[j].norm, age_close); j++)
            if (j + 1 == nw || (tw[j].flags & TEXT_CLAUSE_END)) end = 1;
        if (end) return (int)v * 12;
    }
    return -1;
}

/* 1 when q names something beyond question words, pronouns and
 * attributes ("how long will it last?" names nothing; "what about naps?"
 * names naps). */
static int cv_has_own_concept(const char *q, size_t len)
{
    static const char *const empty[] = {
        "what", "about", "how", "and", "if", "but", "so", "or", "then", "also", "why", "when",
        "is", "it", "that", "this", "he", "she", "they", "him", "her", "them", "thats", "its",
        "hes", "shes", "theyre", "will", "would", "should", "can", "could", "do", "does", "did",
        "long", "last", "often", "much", "many", "old", "age", "soon", "early", "late", "normal",
        "ok", "okay", "fine", "too", "the", "a", "an", "to", "be", "for", "of", "at", "in",
        "on", "with", "still", "again", "more", "less", "else", "usually", "take", "stop",
        "keep", "going", "happen", "happens", "mean", "means", "worry", "worried", "i", "we",
        "my", "our", "you", "your", "right", "really", "now", "yet", "ever", "way", "wrong",
        "same", "one", "ones", "time", "times", "like", NULL};
    char w[24][32];
    size_t nw = cv_words(q, len, w, 24);
    for (size_t i = 0; i < nw; i++)
        if (!cv_in_list(w[i], empty) && !(w[i][0] >= '0' && w[i][0] <= '9')) return 1;
    return 0;
}

/* 1 when q asks only how to handle something, naming nothing: every word
 * is a question word, a pronoun or filler (cv_has_own_concept's) or a verb
 * of responding ("how should i respond", "what do I say", "how do I
 * react to that", "best way to handle it"). Such a question is about
 * whatever the conversation is about, however its verb matches a passage
 * title on its own ("how to respond when..."). Pure. */
static int cv_generic_only(const char *q, size_t len)
{
    static const char *const handle[] = {
        "respond", "react", "reply", "answer", "say", "handle", "deal", "approach", "cope",
        "talk", "explain", "tell", "word", "phrase", "put", "bring", "up", "start", "begin",
        "best", "thing", "things", "advice", "tips", "help", "go", "back", "first", "next",
        "exactly", "even", "actually", "me", "him", "her", "them", "tell", "should", "must",
        "need", "supposed", "want", "ask", "any", "some", "there", "something", "anything",
        "response", "reaction", "words", "were", "are", "am", "was", "has", "have", "had",
        "where", "who", "which", "not", "dont", "didnt", "said", "reacted", "responded",
        "handled", "handling", "responding", "reacting", "saying", "telling", "explaining", NULL};
    char w[16][32];
    size_t nw = cv_words(q, len, w, 16);
    int verb = 0;
    if (nw == 0 || nw > 10) return 0;
    for (size_t i = 0; i < nw; i++) {
        if (cv_in_list(w[i], handle)) verb = 1;
        else if (cv_has_own_concept(w[i], strlen(w[i]))) return 0;
    }
    return verb;
}

/* 1 when q says who it is about and that something is up, but not what:
 * "my baby keeps doing this weird thing, is that ok?", "need some advice
 * about my teenager pls", "my son has been acting weird lately". Every
 * word is a question word, a pronoun, a word for the child or a vague
 * one. Pure. */
static int cv_is_vague(const char *q, size_t len)
{
    static const char *const vague[] = {
        "little", "advice", "help", "question", "thing", "things", "stuff", "weird", "strange", "odd",
        "funny", "acting", "behaving", "doing", "keeps", "lately", "recently", "some", "need",
        "want", "pls", "please", "plz", "been", "has", "have", "had", "am", "are", "was", "this",
        "something", "anything", "issue", "issues", "problem", "problems", "concerned", "off",
        "bit", "lil", "just", "like", "not", "himself", "herself", "quite", "kinda", "sort",
        "kind", "tips", "any", "anyone", "there", "hes", "shes", "going", "on", "all",
        "very", "weirdly", "differently", "different", "me", "us", "wont", "doesnt", "dont",
        "cant", "isnt", "start", "started", "worried", "worrying", "about",
        /* asking to ask, or struggling with no what ("can I ask you
         * something about my kid", "I'm struggling a bit with my son") */
        "ask", "asking", "questions", "query", "advise", "im", "struggling", "struggle",
        "struggles", "trouble", "troubles", "having", "hard", "tough", "difficult",
        "wondering",
        /* not knowing what to make of it ("i dont know if i should
         * worry", "not sure whether it matters") */
        "know", "sure", "whether", "matters", "matter",
        /* a state with no what ("my son is being weird", "she seems off") */
        "being", "seems", "seem", "seemed", "acts", "act", "acted", NULL};
    char w[24][32];
    size_t nw = cv_words(q, len, w, 24), i0 = 0;
    int who = 0;
    /* past an opening greeting ("hi, bit worried about my daughter"),
     * which must then say who */
    while (i0 < nw && cv_in_list(w[i0], smalltalk_greet)) i0++;
    if (nw == i0 || nw > 16) return 0;
    for (size_t i = i0; i < nw; i++) {
        if (cv_in_list(w[i], child_words)) who = 1;
        else if (!cv_in_list(w[i], vague) && cv_has_own_concept(w[i], strlen(w[i]))) return 0;
    }
    return i0 == 0 || who;
}

/* 1 when q is a short question built on a pronoun that asks only
 * whether something is all right ("is it bad?", "is that safe?", "should
 * I worry about it?"): every word a question word, a pronoun or filler
 * (cv_has_own_concept's), a number or a word of judgement. As a first
 * message it says neither who nor what: a clarifying question, not a guess from the
 * judgement word ("bad" is no question about swearing). Pure. */
static int cv_judgement_only(const char *q, size_t len)
{
    static const char *const judge[] = {
        "bad", "good", "safe", "unsafe", "serious", "dangerous", "harmful", "healthy",
        "unhealthy", "common", "typical", "concerning", "worrying", "weird", "strange", "odd",
        "alright", "problem", "big", "deal", "sign", "something", "anything", "am", "are",
        "was", "were", "has", "have", NULL};
    char w[16][32];
    size_t nw = cv_words(q, len, w, 16);
    if (nw == 0 || nw > 6 || !convo_leans_on_context(q, len)) return 0;
    for (size_t i = 0; i < nw; i++)
        if (!cv_in_list(w[i], judge) && cv_has_own_concept(w[i], strlen(w[i]))) return 0;
    return 1;
}

/* 1 when q opens with a greeting and the rest is vague and names the
 * child ("hi, bit worried about my daughter"): a first question that
 * needs a clarifying question, not a greeting back. Pure. */
static int cv_greeting_vague(const char *q, size_t len)
{
    char w[1][32];
    return cv_words(q, len, w, 1) == 1 && cv_in_list(w[0], smalltalk_greet) &&
           cv_is_vague(q, len);
}

/* Chat (cv_chat_tone) that is not a question in passing: short, or with
 * nothing the knowledge base answers with confidence ("thanks, she's still
 * waking at 5" is a question). A chat marker makes chat likelier, so the
 * match must clear CONVO_CHAT_MATCH_MIN, above the no-match threshold: "ok
 * fair enough, thanks anyway" only just clears that one, on "enough".
 * Writes the reply. */
#define CONVO_CHAT_MATCH_MIN 0.45

/* Below this no-match probability a question's own best passage is a weak
 * reading, and the conversation's reading wins when it stays on the
 * conversation's topics (convo_plan). Chosen on conv-dev: 0.6 to 0.8 give
 * the same turns there (87.6%), 0.7 is the middle. */
#define CONVO_ALONE_WEAK 0.7

/* At or above this no-match probability a follow-up's own reading is a
 * question of its own ("and she's started seeing a boy, how do i talk
 * about consent"): it wins over the conversation's reading when its
 * passage is more about the question's concepts and holds its key one.
 * Below it a short follow-up's one word ("is that healthy?", "he's 2 and
 * a half") does not pull the answer off the topic. Chosen on C2 and
 * conv-dev (0.45 to 0.6 give C2 the same turns; 0.6 is best on conv-dev). */
#define CONVO_ALONE_STRONG 0.6

/* A follow-up with this many concepts of its own is a question in its own
 * right ("and she's started seeing a boy, how do i talk about consent"):
 * its own reading wins at a lower no-match probability. Chosen on C2 and
 * conv-dev (3 concepts cost conv-dev a turn; 5 gain nothing on C2). */
#define CONVO_OWN_CONCEPTS 4

/* At or above this no-match probability the reading of a question with
 * the conversation is sure enough to win over a weak reading of its own
 * even off the conversation's topics. Chosen on conv-dev (0.7 to 0.85
 * give the same turns on all three dev sets). */
#define CONVO_JOINED_SURE 0.8
#define CONVO_OWN_MATCH 0.4
/* 1 when the words past the chat markers (cv_past_chat) only say how the
 * parent feels or how the moment is ("thanks, feel a lot calmer now",
 * "this is so awkward haha", "ok phew, that's reassuring"): a feeling word
 * with nothing around it but feeling verbs and filler. Nothing about the
 * child gets through (a pronoun, a child word or any other word is not in
 * the lists), so "thanks, she still wakes at 5" stays a question. Pure. */
static int cv_feeling_only(const char *rest, size_t len)
{
    static const char *const feel[] = {
        "calmer", "calm", "better", "relieved", "relief", "reassured", "reassuring", "awkward",
        "embarrassing", "embarrassed", "cringe", "cringey", "silly", "hopeful", "confident",
        "lighter", "clearer", "ready", "prepared", "positive", "weird", "strange", "funny",
        "hilarious", "cute", "sweet", "mad", "crazy", "wild", "hard", "tough", "emotional",
        "grateful", "thankful", "glad", "happy", "happier", "comforting", "encouraging", "alone",
        NULL};
    static const char *const pad[] = {
        "feel", "feeling", "feels", "felt", "i", "im", "am", "is", "its", "it", "this", "that",
        "so", "now", "already", "lot", "much", "way", "less", "more", "really",
        "actually", "totally", "kinda", "quite", "all", "pretty", "makes", "made", "me",
        "getting", "was", "be", "to", "ok", "okay", "bit", "little", "super", "well", "too",
        "somehow", "of", "a", "the", "and", "honestly", "tbh", "about", NULL};
    char w[16][32];
    size_t nw = cv_words(rest, len, w, 16);
    int f = 0;
    for (size_t i = 0; i < nw; i++) {
        if (cv_in_list(w[i], feel)) f = 1;
        else if (!cv_in_list(w[i], pad)) return 0;
    }
    return f;
}

/* 1 when q names a child (a child word or an age): then a question about
 * the coach is no longer only about the coach ("can I ask about my
 * son's sleep"). Pure. */
static int cv_has_any_child_word(const char *q, size_t len)
{
    char w[24][32];
    size_t nw = cv_words(q, len, w, 24);
    for (size_t i = 0; i < nw; i++) if (cv_in_list(w[i], child_words)) return 1;
    return convo_stated_age(q, len) >= 0;
}

/* Words that may close a question about the coach without making it a
 * question about anything else ("how does this work then?", "can I ask
 * you something quickly"). */
static const char *const meta_tail[] = {
    "then", "exactly", "lol", "haha", "please", "pls", "anyway", "here", "actually", "even",
    "again", "for", "me", "us", "with", "x", "you", "something", "a", "question", "quick",
    "quickly", "to", "ask", "this", "is", "it", "the", "or", "not", "if", "thing", "really",
    "real", "person", "bot", "robot", "human", "ai", "an", "chatbot", "tbh", "honestly",
    "sorry", "um", "hmm", NULL};

/* 1 when the words w[0..nw) hold the phrase ph (NULL-ended) in a row and
 * every word after it is in meta_tail (any = 1: whatever follows). */
static int cv_has_phrase(char w[][32], size_t nw, const char *const *ph, int any)
{
    for (size_t i = 0; i < nw; i++) {
        size_t k = 0, j;
        while (ph[k] && i + k < nw && strcmp(w[i + k], ph[k]) == 0) k++;
        if (ph[k]) continue;
        for (j = i + k; j < nw && (any || cv_in_list(w[j], meta_tail)); j++) {}
        if (j == nw) return 1;
    }
    return 0;
}

/* Questions about the coach itself rather than a child. 1: what it is or
 * how to use it ("hey, how does this work?", "what can you help me
 * with", "are you a real person?"): the greeting that says what it helps
 * with. 2: asking whether to ask ("can I ask you something?", "not sure
 * this is the right place to ask", "I have a question"): a clarifying
 * question. A phrase counts only with nothing after it but the words of
 * meta_tail ("what is this rash" and "can I ask how to stop biting" are
 * questions); 0 also for a message of more than CONVO_META_WORDS words.
 * Pure. */
#define CONVO_META_WORDS 12
static int cv_meta(const char *q, size_t len)
{
    static const char *const about[][6] = {
        {"how", "does", "this", "work", NULL}, {"how", "do", "i", "use", "this", NULL},
        {"how", "does", "this", "thing", "work", NULL}, {"what", "can", "you", "do", NULL},
        {"what", "can", "you", "help", NULL}, {"what", "do", "you", "do", NULL},
        {"who", "are", "you", NULL}, {"what", "are", "you", NULL}, {"are", "you", NULL},
        {"is", "this", NULL}, {"what", "is", "this", NULL}, {"whats", "this", NULL}};
    /* anywhere, whatever follows ("lol this is weird talking to a bot but
     * here goes") */
    static const char *const bot[][5] = {{"to", "a", "bot", NULL}, {"to", "a", "robot", NULL},
                                         {"to", "an", "ai", NULL}, {"to", "a", "chatbot", NULL}};
    static const char *const ask[][6] = {
        {"right", "place", NULL}, {"can", "i", "ask", NULL}, {"could", "i", "ask", NULL},
        {"may", "i", "ask", NULL}, {"i", "have", "a", NULL}, {"ive", "got", "a", NULL},
        {"got", "a", NULL}, {"where", "to", "start", NULL}, {"how", "to", "ask", NULL},
        {"how", "to", "put", "it", NULL}};
    char w[24][32];
    size_t nw = cv_words(q, len, w, 24);
    if (nw == 0 || nw > CONVO_META_WORDS) return 0;
    for (size_t i = 0; i < sizeof bot / sizeof bot[0]; i++)
        if (cv_has_phrase(w, nw, bot[i], 1)) return 1;
    for (size_t i = 0; i < sizeof about / sizeof about[0]; i++)
        if (cv_has_phrase(w, nw, about[i], 0)) return 1;
    for (size_t i = 0; i < sizeof ask / sizeof ask[0]; i++)
        if (cv_has_phrase(w, nw, ask[i], 0)) return 2;
    return 0;
}

/* 1 when q only praises the coach ("you're a star", "just wanted to say
 * this app is great", "you've been so helpful", "love this app"): a word
 * for the coach (you, this, app, coach, bot, site) and a word of praise,
 * every other word filler, no question mark and nothing about the child
 * (a pronoun or child word is not in the lists: "she's a star" is about
 * her). Pure. */
static int cv_compliment(const char *q, size_t len)
{
    static const char *const coach[] = {"you", "youre", "youve", "u", "ur", "this", "app",
                                        "coach", "bot", "site", "website", "service", "thing",
                                        "tool", "chat", NULL};
    static const char *const praise[] = {
        "star", "legend", "great", "amazing", "brilliant", "awesome", "fantastic", "wonderful",
        "excellent", "lifesaver", "godsend", "gem", "best", "helpful", "useful", "fab",
        "superb", "love", "loving", "genius", "incredible", "marvellous", "marvelous", "good",
        "lovely", "kind", "angel", "hero", "smart", "clever", NULL};
    static const char *const pad[] = {
        "a", "an", "the", "so", "such", "really", "very", "just", "wanted", "want", "to",
        "say", "said", "i", "im", "is", "are", "have", "been", "absolute", "absolutely",
        "total", "totally", "honestly", "seriously", "actually", "well", "oh", "wow", "ok",
        "okay", "and", "x", "xx", "xxx", "lol", "haha", "must", "say", "thought", "think",
        "id", "let", "know", "it", "its", "of", "most", "ever", "thanks", "thank", "cheers",
        "btw", "by", "way", "too", "all", "quite", "pretty", "truly", "massively", NULL};
    char w[16][32];
    size_t nw;
    int c = 0, pr = 0;
    if (len == 0 || len > 120 || memchr(q, '?', len)) return 0;
    nw = cv_words(q, len, w, 16);
    if (nw == 0 || nw > 12) return 0;
    for (size_t i = 0; i < nw; i++) {
        if (cv_in_list(w[i], coach)) c = 1;
        else if (cv_in_list(w[i], praise)) pr = 1;
        else if (!cv_in_list(w[i], pad)) return 0;
    }
    return c && pr;
}

static int cv_chat(struct kb *kb, const char *q, size_t len, char *reply, size_t n)
{
    size_t nw;
    int tone;
    if (convo_smalltalk(q, len, reply, n)) return 1;
    if (cv_compliment(q, len)) {
        cv_chat_reply(1, reply, n);
        return 1;
    }
    if (cv_meta(q, len) == 1 && !cv_has_any_child_word(q, len)) {
        cv_chat_reply(3, reply, n);
        return 1;
    }
    if (cv_greeting_vague(q, len)) return 0;      /* a question, however vague */
    tone = cv_chat_tone(q, len, &nw);
    if (!tone) return 0;
    if (nw > 2) {
        /* what the message says past its chat words ("that helps a bit,
         * thank you" is about nothing; "thanks, she still wakes at 5" is) */
        char rest[256];
        size_t rl = cv_past_chat(q, len, rest, sizeof rest);
        struct kb_result r;
        struct kb_hit h[1];
        if (rl && cv_feeling_only(rest, rl)) {
            cv_chat_reply(tone, reply, n);
            return 1;
        }
        if (rl && kb_search_ex(kb, rest, rl, -1, h, 1, &r) > 0 &&
            r.match_prob_lex >= CONVO_CHAT_MATCH_MIN)
            return 0;
    }
    cv_chat_reply(tone, reply, n);
    return 1;
}

/* ---------- no match ---------- */

void convo_nomatch_text(const char *concept, const char *const *near_labels, size_t nnear,
                        char *out, size_t n)
{
    size_t l;
    /* A phrase that opens on a word of amount or frequency ("many minutes
     * a day", "every other weekend") is a piece of the question, not a
     * thing to name back: "that" instead (rubric review 2026-12-03). */
    static const char *const partial[] = {"many", "much", "long", "often", "every", "other",
                                          "few", "some", "more", "most", "less", "fewer", "any",
                                          "all", "each", "times", "old", "late", "early", NULL};
    if (concept && *concept) {
        size_t fl = strcspn(concept, " ");
        for (int k = 0; concept && partial[k]; k++)
            if (strlen(partial[k]) == fl && strncasecmp(concept, partial[k], fl) == 0) concept = NULL;
        for (const char *c = concept; c && *c; c++)
            if (isdigit((unsigned char)*c)) concept = NULL;
    }
    if (concept && *concept)
        snprintf(out, n, "I don't have vetted guidance on %s yet, so I'd rather not guess.",
                 concept);
    else
        snprintf(out, n, "I don't have vetted guidance on that yet, so I'd rather not guess.");
    l = strlen(out);
    if (nnear > 0 && l + 64 < n) {
        snprintf(out + l, n - l, " Topics I can help with that may be close: ");
        for (size_t i = 0; i < nnear; i++) {
            l = strlen(out);
            snprintf(out + l, n - l, "%s%s", i == 0 ? "" : i + 1 == nnear ? " and " : ", ",
                     near_labels[i]);
        }
        l = strlen(out);
        snprintf(out + l, n - l, ".");
    }
    l = strlen(out);
    snprintf(out + l, n - l, " For anything about your child's health, your pediatrician, "
                             "family doctor or health visitor is the best person to ask.");
}

/* ---------- the plan ---------- */

static const char clarify_text[] =
    "I'd like to help with that. Could you tell me a little more: how old is your child, and "
    "what is happening (what they do, how often, and since when)? Then I can point you to "
    "guidance that fits.";

static void cv_refuse(struct convo_plan *out, const struct safety_verdict *v)
{
    out->kind = CONVO_REFUSE;
    out->category = v->category;
    out->rule = v->rule_id;
    if (v != &out->verdict) out->verdict = *v;
}

/* "<question>. <earlier question>" in buf (the question first, so an age
 * or concept it states is read first); returns its length. */
static size_t cv_joined(const char *prev, const char *q, size_t len, char *buf, size_t n)
{
    int w = snprintf(buf, n, "%.*s. %s", (int)len, q, prev);
    return w < 0 ? 0 : (size_t)w >= n ? n - 1 : (size_t)w;
}

/* Appends ". <more>" to buf[0..jl) (nothing when more is NULL); returns
 * the new length. */
static size_t cv_append(char *buf, size_t jl, size_t n, const char *more)
{
    int w;
    if (!more || jl + 2 >= n) return jl;
    w = snprintf(buf + jl, n - jl, ". %s", more);
    return w < 0 ? jl : jl + (size_t)w >= n ? n - 1 : jl + (size_t)w;
}

/* 1 when v refuses a question of how much medicine to give or whether
 * to give it (the policy's medical.dose*, medical.give_medicine rules). */
static int cv_medicine_refusal(const struct safety_verdict *v)
{
    static const char *const medicine_rules[] = {"medical.dose", "medical.give_medicine",
                                                 NULL};
    for (size_t i = 0; v->category == SAFETY_MEDICAL && v->rule_id && medicine_rules[i]; i++)
        if (strncmp(v->rule_id, medicine_rules[i], strlen(medicine_rules[i])) == 0) return 1;
    return 0;
}

/* 1 when a follow-up q leans on an earlier question that is itself refused
 * as a dose or a give-medicine question and q read together with it is
 * refused that way too; *v gets that verdict. The newest such question
 * within CONVO_PREV_MAX is used, past follow-ups and chat refused for
 * want of parenting words, but not past a question the safety layer
 * passed ("how do I help her sleep when she's ill" between the dose
 * question and "what about naps?"); buf (n bytes) is scratch. Pure. */
static int cv_dose_before(const struct safety_policy *policy, const char *q, size_t len,
                          const char *const *prev, size_t nprev, char *buf, size_t n,
                          struct safety_verdict *v)
{
    for (size_t i = nprev; i-- > 0 && nprev - i <= CONVO_PREV_MAX;) {
        struct safety_verdict before;
        size_t jl;
        if (!prev[i]) continue;
        safety_triage(policy, prev[i], strlen(prev[i]), &before);
        if (before.category == SAFETY_NONE) return 0;  /* a question since, answered */
        if (!cv_medicine_refusal(&before)) continue;
        jl = cv_joined(prev[i], q, len, buf, n);
        safety_triage(policy, buf, jl, v);
        return cv_medicine_refusal(v);
    }
    return 0;
}

/* 1 when the refusal v of a follow-up read together with the earlier
 * questions (buf[0..jl), the follow-up's len bytes first, cv_joined) is
 * the earlier questions' own, already given: they alone are refused the
 * same way, so the follow-up ("ok, what else can I try then?" after a
 * refused question about a sleep medicine) adds nothing to refuse. An
 * emergency, a crisis and a question of how much medicine to give
 * (policy rules medical.dose*, medical.give_medicine: "and how much at
 * night?" after a dose question) are always given again. Pure. */
static int cv_refused_before(const struct safety_policy *policy, const char *buf, size_t jl,
                             size_t len, const struct safety_verdict *v)
{
    struct safety_verdict before;
    if (v->category == SAFETY_EMERGENCY || v->category == SAFETY_CRISIS ||
        cv_medicine_refusal(v) || jl <= len + 2)
        return 0;
    safety_triage(policy, buf + len + 2, jl - len - 2, &before);
    return before.category == v->category;
}

/* 1 when passage p shares a topic with a or b (either may be NULL). */
static int cv_on_topics(const struct kb_passage *p, const struct kb_passage *a,
                        const struct kb_passage *b)
{
    for (size_t i = 0; i < p->ntopics; i++) {
        for (size_t k = 0; a && k < a->ntopics; k++)
            if (strcmp(p->topics[i], a->topics[k]) == 0) return 1;
        for (size_t k = 0; b && k < b->ntopics; k++)
            if (strcmp(p->topics[i], b->topics[k]) == 0) return 1;
    }
    return 0;
}

/* 1 when passage p has topic id t. */
static int cv_has_topic(const struct kb_passage *p, const char *t)
{
    for (size_t i = 0; i < p->ntopics; i++) if (strcmp(p->topics[i], t) == 0) return 1;
    return 0;
}

/* 1 when a passage whose main topic is t is about q: its about-fields
 * (title, keywords, asks, topic labels) hold q's key concept and at least
 * CONVO_NEAR_ABOUT of its concepts. Only such a topic is suggested for a
 * question nothing answers, never one that came up among the search's
 * candidates on a passing word ("any tips", "baby"). */
#define CONVO_NEAR_ABOUT 0.3
static int cv_topic_about(struct kb *kb, const char *t, const char *q, size_t len)
{
    for (size_t i = 0, n = kb_count(kb); i < n; i++) {
        const struct kb_passage *p = kb_get(kb, i);
        if (p->ntopics && strcmp(p->topics[0], t) == 0 && kb_about_key(kb, p, q, len) &&
            kb_about_share(kb, p, q, len) >= CONVO_NEAR_ABOUT)
            return 1;
    }
    return 0;
}

static void cv_search(struct kb *kb, const char *q, size_t len, int age_hint,
                        struct convo_plan *out)
{
    out->nhits = kb_search_ex(kb, q, len, age_hint, out->hits, CONVO_HITS, &out->res);
}

/* A question read together with its conversation carries the earlier
 * turns' words, so the no-match model's coverage figures are diluted by
 * words the follow-up never asked about ("what else could help then?"
 * after a refused melatonin question). Such a joined reading keeps the
 * no-match point the conversation rules were tuned at
 * (CONVO_JOINED_MATCH_MIN) when the shipped one is stricter; a question
 * read alone uses the shipped point. The search takes the point as a
 * parameter (kb_search_at): the shared knowledge base is never changed.
 * The joined text's parts are messages, so its hits carry no part. */
#define CONVO_JOINED_MATCH_MIN 0.28

static void cv_search_joined(struct kb *kb, const char *q, size_t len, int age_hint,
                             struct convo_plan *out)
{
    struct kb_thresholds th;
    kb_get_thresholds(kb, &th);
    double mm = th.match_min > CONVO_JOINED_MATCH_MIN ? CONVO_JOINED_MATCH_MIN : th.match_min;
    out->nhits = kb_search_at(kb, q, len, age_hint, mm, out->hits, CONVO_HITS, &out->res);
    /* the parts of a joined reading are the conversation's messages, not
     * parts of the question the answer is composed for (kb_hit.part) */
    for (size_t i = 0; i < out->nhits; i++) out->hits[i].part = 0;
}

/* The question the conversation's thread opened with, found when a
 * reading needs it (it searches each earlier question): oldest first, the
 * first with concepts (chat left out), until a follow-up with a concept of
 * its own whose best passage's main topic is not among that thread's
 * topics ("what about naps?" after bedtime) opens another. */
struct cv_thread {
    int found;
    const char *anchor;                /* NULL: none */
    const struct kb_passage *top;      /* its own best passage, or NULL */
};

static void cv_find_thread(struct kb *kb, const char *const *prev, size_t nprev,
                           struct cv_thread *th)
{
    size_t from = nprev > CONVO_PREV_MAX ? nprev - CONVO_PREV_MAX : 0;
    char dummy[8];
    if (th->found) return;
    th->found = 1;
    for (size_t i = from; i < nprev; i++) {
        const char *p = prev[i];
        struct kb_result r;
        struct kb_hit h[1];
        size_t nh;
        int leans;
        if (!p || cv_chat(kb, p, strlen(p), dummy, sizeof dummy)) continue;
        nh = kb_search_ex(kb, p, strlen(p), -1, h, 1, &r);
        if (r.empty) continue;
        leans = convo_leans_on_context(p, strlen(p));
        /* a marked change of subject with a concept of its own ("totally
         * different question, how do I get her to stay in bed") opens
         * another thread: "she's 3" after it is about bed, not the food
         * the talk opened with */
        if (!th->anchor || (leans && cv_has_own_concept(p, strlen(p)) && nh && th->top &&
                            h[0].p->ntopics && !cv_has_topic(th->top, h[0].p->topics[0])) ||
            (cv_switch_marker(p, strlen(p)) && cv_has_own_concept(p, strlen(p)))) {
            th->anchor = p;
            th->top = nh ? h[0].p : NULL;
        }
    }
}

/* "<question>. <context>. <thread's opening question>" (the last when it
 * is another question) in buf; returns its length. */
static size_t cv_joined_thread(struct kb *kb, const char *const *prev, size_t nprev,
                               struct cv_thread *th, const char *context, const char *q,
                               size_t len, char *buf, size_t n)
{
    size_t jl = cv_joined(context, q, len, buf, n);
    cv_find_thread(kb, prev, nprev, th);
    return cv_append(buf, jl, n, th->anchor != context ? th->anchor : NULL);
}

/* 1 when q is a bare detail added to what was said, asking nothing:
 * at most CONVO_DETAIL_WORDS words, no question mark, not opening with a
 * question word or a verb that asks ("is", "should", "can"), no word that
 * asks for something ("tips", "help", "how") and no marked change of
 * subject ("only on the left side", "mostly at bedtime", "since we moved
 * house"). Pure. */
#define CONVO_DETAIL_WORDS 7
static int cv_bare_detail(const char *q, size_t len)
{
    static const char *const opens[] = {"is", "are", "am", "was", "were", "do", "does", "did",
                                        "will", "shall", "may", "might", "must", "whose", "who",
                                        "has", "have", "any", NULL};
    char w[16][32];
    size_t nw;
    if (memchr(q, '?', len)) return 0;
    nw = cv_words(q, len, w, 16);
    if (nw == 0 || nw > CONVO_DETAIL_WORDS || cv_in_list(w[0], opens)) return 0;
    for (size_t i = 0; i < nw; i++) if (cv_in_list(w[i], chat_asks)) return 0;
    return !cv_switch_marker(q, len);
}

/* 1 when passages p and a share their main subject: p's main topic is
 * one of a's, or a's main topic one of p's. A passage that shares only a
 * side topic (a choking passage's "starting solids" with a drinks
 * passage's) is on another subject. */
static int cv_main_on(const struct kb_passage *p, const struct kb_passage *a)
{
    return (p->ntopics && cv_has_topic(a, p->topics[0])) ||
           (a->ntopics && cv_has_topic(p, a->topics[0]));
}

/* 1 when passage p is on neither the context's best passage's topics nor
 * the thread's, or the conversation has no passage yet (it opened with a
 * no-match): a passage the question's own words found, to be checked
 * against the conversation's reading. */
static int cv_off_thread(struct kb *kb, const char *const *prev, size_t nprev,
                         struct cv_thread *th, const struct kb_passage *ctx_top,
                         const struct kb_passage *p)
{
    if (ctx_top && cv_main_on(p, ctx_top)) return 0;
    cv_find_thread(kb, prev, nprev, th);
    if (!ctx_top && !th->top) return 1;     /* no passage yet: nothing is on it */
    return !th->top || !cv_main_on(p, th->top);
}

/* A short question in a conversation that names too little to stand on
 * its own ("what foods help", "how should i respond") whose own best
 * passage is a weak match on a passing word, while reading it with the
 * conversation finds the conversation's topic at least as confidently:
 * the conversation's reading wins, even when the topic's passage does not
 * hold the question's one word (a constipation passage says "fibre", not
 * "foods"). A question with a concept count above CONVO_SHORT_CONCEPTS is
 * a question of its own. */
#define CONVO_SHORT_CONCEPTS 2
static int cv_short_weak(const struct kb_result *alone, const struct kb_result *joined)
{
    return (alone->concepts <= CONVO_SHORT_CONCEPTS && alone->match_prob_lex < CONVO_OWN_MATCH + 0.1 &&
            joined->match_prob_lex >= alone->match_prob_lex) ||
           (alone->match_prob_lex < CONVO_OWN_MATCH && joined->match_prob_lex >= CONVO_JOINED_SURE);
}

/* ---------- who "he" and "she" are ---------- */

/* Words for an adult, or anyone other than the child, a message may be
 * about: with one in the conversation, "he" and "she" are not resolved. */
static const char *const adult_words[] = {
    "husband", "wife", "partner", "boyfriend", "girlfriend", "bf", "gf", "ex", "dad", "daddy",
    "mum", "mom", "mummy", "mommy", "father", "mother", "stepdad", "stepmum", "stepmom",
    "stepfather", "stepmother", "grandma", "grandpa", "gran", "nan", "nana", "grandad",
    "granddad", "grandmother", "grandfather", "uncle", "aunt", "auntie", "man", "woman", "men",
    "women", "guy", "lady", "teacher", "coach", "babysitter", "nanny", "childminder",
    "neighbour", "neighbor", "friend", "friends", "boss", "brother", "sister", "someone",
    "somebody", "person", "stranger", "adult", "adults", "inlaw", "law", "fiance", "fiancee",
    "cousin", "doctor", "gp", "nurse",
    /* and animals: "my cat keeps scratching, how do i stop her" */
    "cat", "cats", "kitten", "dog", "dogs", "puppy", "pup", "pet", "pets", "hamster", "rabbit",
    "bunny", "horse", "pony", "guinea", "bird", "fish", NULL};

/* 1 when the words of s name the child ("my daughter", "my 4yo", "our
 * toddler") or state an age; *adult set when they name anyone else. */
static int cv_child_named(const char *s, size_t len, int *adult)
{
    static const char *const more_child[] = {"yo", "newborn", "preschooler", "tween",
                                             "youngest", "eldest", "oldest", "twins", "bub",
                                             NULL};
    char w[64][32];
    size_t nw = cv_words(s, len, w, 64);
    int child = convo_stated_age(s, len) >= 0;
    for (size_t i = 0; i < nw; i++) {
        if (cv_in_list(w[i], child_words) || cv_in_list(w[i], more_child)) child = 1;
        if (cv_in_list(w[i], adult_words)) *adult = 1;
    }
    return child;
}

/* 1 when q reports what another adult says or thinks ("my mother in law
 * says we should space them out", "her dad thinks we should take the
 * phone away", "the nurse told us to wait"): a word for an adult followed,
 * at most two words on, by a verb of saying or thinking. The view
 * reported is about whatever the conversation is about. Pure. */
static int cv_reports_view(const char *q, size_t len)
{
    static const char *const say[] = {"says", "said", "thinks", "thought", "reckons",
                                       "reckoned", "told", "tells", "insists", "insisted",
                                       "believes", "wants", "suggested", "suggests", "keeps",
                                       "swears", "claims", "disagrees", "argues", NULL};
    char w[32][32];
    size_t nw = cv_words(q, len, w, 32);
    for (size_t i = 0; i < nw; i++)
        if (cv_in_list(w[i], adult_words))
            for (size_t k = i + 1; k < nw && k <= i + 3; k++)
                if (cv_in_list(w[k], say)) return 1;
    return 0;
}

/* A follow-up of at most this many words may have the model's refusal of
 * it re-read with its pronoun as the child (cv_resolve_child): every dev
 * case was 8 to 12 words; the harmful requests the model passed in that
 * reading were 12 words and more. */
#define CONVO_RESOLVE_WORDS 12
static size_t cv_word_count(const char *q, size_t len)
{
    char w[64][32];
    return cv_words(q, len, w, 64);
}


/* A first message of at most this many words that has no parenting word
 * (the out_of_scope.no_parenting_context fallback) gets a clarifying
 * question, not an out-of-scope refusal: X15's short chat fragments ("I
 * feel guilty all the time", "how many nights") were 5 to 7 words. */
#define CONVO_FRAGMENT_WORDS 8
/* 1 when q names a child of its own with "my" or "our" and, within four
 * words, a word for a child or an age ("my 2 yr old", "our teenage son",
 * "my 16yo's mate"). Pure. */
static int cv_names_own_child(const char *q, size_t len)
{
    static const char *const aged[] = {"old", "olds", "yo", "yos", "yr", "yrs", "month",
                                       "months", "week", "weeks", "newborn", "youngest",
                                       "eldest", "oldest", "twins", "preschooler", "tween",
                                       NULL};
    char w[64][32];
    size_t nw = cv_words(q, len, w, 64);
    for (size_t i = 0; i < nw; i++) {
        if (strcmp(w[i], "my") != 0 && strcmp(w[i], "our") != 0) continue;
        for (size_t k = i + 1; k < nw && k <= i + 4; k++) {
            size_t l = strlen(w[k]);
            char base[32];
            /* "my son's" reads "sons" */
            memcpy(base, w[k], l + 1);
            if (l > 1 && base[l - 1] == 's') base[l - 1] = '\0';
            if (cv_in_list(w[k], child_words) || cv_in_list(w[k], aged) ||
                cv_in_list(base, child_words))
                return 1;
            /* "16yo", "16yos" */
            if (w[k][0] >= '0' && w[k][0] <= '9' && l >= 3 &&
                (strcmp(w[k] + l - 2, "yo") == 0 || strcmp(w[k] + l - 3, "yos") == 0))
                return 1;
        }
    }
    return 0;
}

/* A follow-up's "he" or "she" read as the child the conversation is
 * about: q with each subject pronoun (he, she, he's, she'd, ...) written
 * as "my child" ("what if she starts hitting me" after a talk about a
 * two-year-old's tantrums reads "what if my child starts hitting me"),
 * in buf; returns its length, or 0 when nothing is resolved: no earlier
 * question names the child, anyone else is named in the conversation or
 * the question, or q has no such pronoun. "him" is resolved too ("can i
 * give him something cold to chew on"), and "her" where it is an object
 * (closing a clause or before a preposition, article or conjunction:
 * "keep her in the shade"; "her teeth" stays, a possessive); "them" (also
 * the children, or anyone: "is that going to hurt them") stays. Pure. */
static size_t cv_resolve_child(const char *q, size_t len, const char *const *prev,
                               size_t nprev, char *buf, size_t n)
{
    static const struct { const char *pron, *as; } subj[] = {
        {"he", "my child"}, {"she", "my child"}, {"hes", "my child is"}, {"shes", "my child is"},
        {"hed", "my child would"}, {"shed", "my child would"}, {"hell", "my child will"},
        {"shell", "my child will"}, {"him", "my child"}};
    /* words that follow "her" only when it is an object: prepositions,
     * particles, articles, conjunctions, other pronouns */
    static const char *const her_object_next[] = {
        "in", "on", "at", "to", "into", "onto", "out", "up", "down", "off", "over", "under",
        "with", "without", "from", "for", "by", "a", "an", "the", "some", "any", "something",
        "anything", "back", "away", "home", "inside", "outside", "indoors", "outdoors",
        "instead", "too", "again", "now", "then", "when", "if", "so", "and", "or", "but",
        "because", "while", "until", "till", "alone", "still", "there", "here", "it", "i",
        "we", "you", "he", "she", "they", "myself", "ourselves", "anymore", "yet", "enough",
        "less", "more", "much", "all", "every", "each", "before", "after", "during", NULL};
    struct text_word tw[64];
    size_t nw, out = 0, from = 0, done = 0;
    int adult = 0, child = 0;
    for (size_t i = nprev > CONVO_PREV_MAX ? nprev - CONVO_PREV_MAX : 0; i < nprev; i++)
        if (prev[i] && cv_child_named(prev[i], strlen(prev[i]), &adult)) child = 1;
    /* the question names its own child ("my 2 yr old ... give her
     * anything", "my daughter ... without her") or someone else: its
     * pronoun has its antecedent there ("he's 20 months" names none) */
    cv_child_named(q, len, &adult);
    if (!child || adult || n < 2 || cv_names_own_child(q, len)) return 0;
    nw = text_words(q, len, tw, 64);
    if (nw > 64) nw = 64;
    for (size_t i = 0; i < nw; i++) {
        char w0[32];
        size_t l = 0;
        const char *as = NULL;
        for (size_t k = 0; k < tw[i].nlen && l < 31; k++)
            if (tw[i].norm[k] != '\'') w0[l++] = tw[i].norm[k];
        w0[l] = '\0';
        for (size_t k = 0; k < sizeof subj / sizeof subj[0] && !as; k++)
            if (strcmp(w0, subj[k].pron) == 0) as = subj[k].as;
        /* "her" as an object ("keep her in the shade", "should I wake
         * her?"): closing a clause or before a word no noun is; before any
         * other word it may own it ("her teeth") and stays */
        if (!as && strcmp(w0, "her") == 0 &&
            (i + 1 == nw || (tw[i].flags & TEXT_CLAUSE_END) ||
             cv_in_list(tw[i + 1].norm, her_object_next)))
            as = "my child";
        if (!as) continue;
        {
            size_t pre = (size_t)(tw[i].ptr - q) - from, al = strlen(as);
            /* "she'll" is read as one word; "she 'll" never comes apart */
            if (out + pre + al + 1 >= n) return 0;
            memcpy(buf + out, q + from, pre);
            out += pre;
            memcpy(buf + out, as, al);
            out += al;
            from = (size_t)(tw[i].ptr - q) + tw[i].len;
            done++;
        }
    }
    if (!done || out + (len - from) + 1 >= n) return 0;
    memcpy(buf + out, q + from, len - from);
    out += len - from;
    buf[out] = '\0';
    return out;
}

/* 1 when q only brings in another child ("and his sister is 11, same
 * rules?", "what about her brother who's 6", "do i need to treat her
 * brother too", "his twin sister already can"): a word for a brother,
 * sister or twin, and every other word a question word, a pronoun, an age
 * or filler (cv_has_own_concept's, or asking whether the same goes for
 * them). The question is the conversation's, asked for that child. Pure. */
static int cv_other_child(const char *q, size_t len)
{
    static const char *const sib[] = {"brother", "brothers", "sister", "sisters", "twin",
                                      "twins", "sibling", "siblings", "bro", "sis",
                                      "stepbrother", "stepsister", NULL};
    static const char *const pad[] = {
        "who", "whos", "same", "rules", "rule", "apply", "applies", "also", "already", "need",
        "needs", "treat", "treating", "works", "work", "his", "her", "their", "has", "have",
        "as", "well", "both", "either", "there", "any", "different", "differently", "like",
        "just", "cant", "dont", "doesnt", "isnt", "older", "younger", "big", "little", "baby",
        "eldest", "youngest", "oldest", "middle", "other", "year", "years", "yr", "yrs", "yo",
        "old", "olds", "month", "months", "nearly", "almost", "only", "turned", "goes",
        "go", "true", "count", "counts", "him", "she", "he", "them", "advice", "answer",
        "ok", "okay", "thanks", "tho", "though", "too", "is", "was", "does", "do",
        /* the same thing wanted, or the same trouble ("she wants one too
         * now", "hes even worse") */
        "want", "wants", "wanted", "one", "now", "even", "worse", "better", NULL};
    char w[24][32];
    size_t nw = cv_words(q, len, w, 24);
    int s = 0;
    if (nw == 0 || nw > 14) return 0;
    for (size_t i = 0; i < nw; i++) {
        size_t l = strlen(w[i]);
        if (cv_in_list(w[i], sib)) s = 1;
        else if (cv_in_list(w[i], pad) || (w[i][0] >= '0' && w[i][0] <= '9')) continue;
        else if (l >= 3 && strcmp(w[i] + l - 2, "yo") == 0 && w[i][0] >= '0' && w[i][0] <= '9')
            continue;
        else if (cv_has_own_concept(w[i], l)) return 0;
    }
    return s;
}

/* 1 when q only reports that what was tried has not worked ("tried
 * that, doesnt work", "we did, nothing helps", "still not working"):
 * every word a question word, a pronoun or filler (cv_has_own_concept's)
 * or a word of trying and failing. It names no concept of its own ("doesnt
 * work" is no question about time-outs not working): it is about the
 * conversation's topic, and it is no topic for a later follow-up to be
 * read with. Pure. */
static int cv_effort_only(const char *q, size_t len)
{
    static const char *const effort[] = {
        "tried", "try", "trying", "tries", "work", "works", "worked", "working", "doesnt",
        "didnt", "dont", "isnt", "wont", "hasnt", "havent", "nothing", "help", "helps",
        "helped", "helping", "already", "everything", "all", "not", "no", "luck", "done",
        "did", "have", "has", "had", "ive", "weve", "yes", "yeah", "yep", "nope", "use",
        "used", "using", "bit", "much", "any", "either", "sadly", "unfortunately", "honestly",
        "tbh", NULL};
    char w[16][32];
    size_t nw = cv_words(q, len, w, 16);
    int tried = 0;
    if (nw == 0 || nw > 8) return 0;
    for (size_t i = 0; i < nw; i++) {
        if (cv_in_list(w[i], effort)) tried = 1;
        else if (cv_has_own_concept(w[i], strlen(w[i]))) return 0;
    }
    return tried;
}

/* 1 when q states an age and says nothing else ("what about when he's
 * like 5", "and if she's 10?", "she's 6 now", "my youngest is 3"): every
 * word is a question word, a pronoun or filler (cv_has_own_concept's), a
 * word of age or a number. The question is the conversation's, asked for
 * that age. Pure. */
static int cv_age_only(const char *q, size_t len)
{
    static const char *const agew[] = {"year", "years", "yr", "yrs", "yo", "old", "olds",
                                       "month", "months", "mo", "week", "weeks", "turned",
                                       "turns", "turning", "nearly", "almost", "about",
                                       "around", "roughly", "only", "just", "youngest",
                                       "eldest", "oldest", "little", "one", "half", "older",
                                       "younger",
                                       /* comparing with the child before ("hes even
                                        * worse", "she wants one too") */
                                       "even", "worse", "better", "as", "well", "both",
                                       "want", "wants", "wanted", NULL};
    char w[16][32];
    size_t nw = cv_words(q, len, w, 16);
    if (nw == 0 || nw > 10 || convo_stated_age(q, len) < 0) return 0;
    for (size_t i = 0; i < nw; i++) {
        size_t l = strlen(w[i]);
        if (cv_in_list(w[i], agew) || (w[i][0] >= '0' && w[i][0] <= '9')) continue;
        if (l >= 3 && strcmp(w[i] + l - 2, "yo") == 0 && w[i][0] >= '0' && w[i][0] <= '9')
            continue;
        if (cv_has_own_concept(w[i], l)) return 0;
    }
    return 1;
}

static void cv_plan(struct kb *kb, const struct safety_policy *policy, const char *q, size_t len,
                    const char *const *prev, size_t nprev, int depth, struct convo_plan *out)
{
    const char *rule = NULL, *context = NULL;
    size_t ctx_i = 0;
    const struct kb_passage *ctx_top = NULL;
    struct cv_thread th = {0, NULL, NULL};
    char buf[4096];
    int ctx_age = -1, age = convo_stated_age(q, len);
    safety_category c;

    memset(out, 0, sizeof *out);
    out->age = -1;
    /* The conversation: the latest age stated, and the latest earlier
     * question that had concepts of its own (chat left out). */
    for (size_t i = nprev; i-- > 0 && nprev - i <= CONVO_PREV_MAX;) {
        const char *p = prev[i];
        char dummy[8];
        if (!p) continue;
        if (ctx_age < 0) ctx_age = convo_stated_age(p, strlen(p));
        /* a turn that only gave an age, said it did not work or asked
         * whether it is all right ("she's 6", "tried that, doesnt work",
         * "is it bad?") is read with the conversation itself: the
         * question before it is the context */
        if (!context && !cv_chat(kb, p, strlen(p), dummy, sizeof dummy) &&
            !cv_effort_only(p, strlen(p)) && !cv_age_only(p, strlen(p)) &&
            !cv_judgement_only(p, strlen(p))) {
            struct kb_result r;
            struct kb_hit h[1];
            size_t nh = kb_search_ex(kb, p, strlen(p), -1, h, 1, &r);
            if (!r.empty) {
                context = p;
                ctx_i = i;
                ctx_top = nh ? h[0].p : NULL;
            }
        }
    }
    out->age = age >= 0 ? age : ctx_age;

    safety_triage(policy, q, len, &out->verdict);
    c = out->verdict.category;
    rule = out->verdict.rule_id;
    if (c != SAFETY_NONE && c != SAFETY_EMERGENCY && c != SAFETY_CRISIS &&
        !out->verdict.english[0] && context && rule && strncmp(rule, "model.", 6) == 0 &&
        cv_word_count(q, len) <= CONVO_RESOLVE_WORDS &&
        !(c == SAFETY_OUT_OF_SCOPE && strcmp(rule, NO_CONTEXT_RULE) == 0)) {
        /* a follow-up refused only because its "he" or "she" could be
         * anyone: triaged again with the pronoun read as the child the
         * conversation is about; every refusal of that reading stands.
         * Only the fitted model's unsafe, medical and out-of-scope
         * verdicts on a short follow-up are reconsidered (the model's
         * false alarms on little text: "is it ok to keep her in the shade
         * instead?"): an emergency or a crisis as typed always stands
         * (convo39: the resolved reading of "she is blue", "she said she's
         * been planning how to do it" or a partner's "he hits me" was
         * passed by the model), and so does a policy rule's refusal and a
         * longer question's, which says what it asks in its own words
         * ("how do I flog him with the koboko so it doesn't show", "what
         * can i mix into my teen's drink so he's too drowsy") */
        char rq[1024];
        size_t rl = cv_resolve_child(q, len, prev, nprev, rq, sizeof rq);
        struct safety_verdict rv;
        if (rl) {
            safety_triage(policy, rq, rl, &rv);
            if (rv.category == SAFETY_NONE && !rv.english[0]) {
                out->verdict = rv;
                c = SAFETY_NONE;
                rule = NULL;
            }
        }
    }
    if (c == SAFETY_NONE && out->verdict.english[0]) {
        /* another language, answered in English: from here on the question
         * is its English reading (safety.h) */
        q = out->verdict.english;
        len = strlen(q);
        age = convo_stated_age(q, len);
        out->age = age >= 0 ? age : ctx_age;
    }
    if (c == SAFETY_NONE && nprev && convo_leans_on_context(q, len)) {
        /* "and how much at bedtime?" after a dose question asks a dose,
         * though its own words ("bedtime") pass: the newest earlier
         * question refused as a dose on its own (it need not be the
         * conversation's context or thread: a medicine word may give the
         * knowledge base nothing to search) is read with it */
        struct safety_verdict v2;
        if (cv_dose_before(policy, q, len, prev, nprev, buf, sizeof buf, &v2)) {
            cv_refuse(out, &v2);
            return;
        }
    }
    if (c != SAFETY_NONE) {
        int fallback = c == SAFETY_OUT_OF_SCOPE && rule && strcmp(rule, NO_CONTEXT_RULE) == 0;
        if (!fallback) {
            cv_refuse(out, &out->verdict);
            return;
        }
        if (cv_chat(kb, q, len, out->reply, sizeof out->reply)) {
            out->kind = CONVO_SMALLTALK;
            return;
        }
        if (context) {
            struct safety_verdict v2;
            size_t jl = cv_joined_thread(kb, prev, nprev, &th, context, q, len, buf, sizeof buf);
            safety_triage(policy, buf, jl, &v2);
            if (v2.category != SAFETY_NONE && !cv_refused_before(policy, buf, jl, len, &v2)) {
                cv_refuse(out, &v2);
                return;
            }
            /* a follow-up: read it with the earlier question below */
        } else {
            struct kb_result r;
            struct kb_hit h[1];
            kb_search_ex(kb, q, len, -1, h, 1, &r);
            /* nothing to go on, or a follow-up with nothing before it to
             * lean on ("how long will it last?" after a hello), or a short
             * message the knowledge base does find something in ("every
             * morning is a battle", "I work nights"): too little to answer,
             * and nothing off-topic in it (off-topic requests have rules
             * of their own), so ask rather than refuse */
            if (r.empty || r.nomatch || convo_leans_on_context(q, len) || cv_meta(q, len) == 2 ||
                cv_word_count(q, len) <= CONVO_FRAGMENT_WORDS) {
                out->kind = CONVO_CLARIFY;
                snprintf(out->reply, sizeof out->reply, "%s", clarify_text);
                return;
            }
            cv_refuse(out, &out->verdict);
            return;
        }
    } else if (cv_chat(kb, q, len, out->reply, sizeof out->reply)) {
        out->kind = CONVO_SMALLTALK;
        return;
    }
    if (cv_meta(q, len) == 2 && !cv_has_any_child_word(q, len)) {
        out->kind = CONVO_CLARIFY;      /* "can I ask you something?" */
        snprintf(out->reply, sizeof out->reply, "%s", clarify_text);
        return;
    }
    if (!context && (cv_is_vague(q, len) || cv_judgement_only(q, len))) {
        out->kind = CONVO_CLARIFY;
        snprintf(out->reply, sizeof out->reply, "%s", clarify_text);
        return;
    }

    cv_search(kb, q, len, out->age, out);
    if (context && (cv_other_child(q, len) || cv_age_only(q, len))) {
        /* another child brought in ("and his sister is 11, same rules?"):
         * the conversation's question asked for that child, its age (or
         * none) read first; the word "sister" is no question about
         * siblings */
        struct convo_plan alone = *out;
        char lead[64] = "";
        size_t ll = 0, jl;
        if (age >= 24) ll = (size_t)snprintf(lead, sizeof lead, "my %d year old", age / 12);
        else if (age >= 0) ll = (size_t)snprintf(lead, sizeof lead, "my %d month old", age);
        out->age = age;
        jl = cv_joined_thread(kb, prev, nprev, &th, context, lead, ll, buf, sizeof buf);
        cv_search_joined(kb, buf, jl, out->age, out);
        if (out->nhits == 0 && alone.nhits > 0) *out = alone;
        else out->followup = 1;
        if (depth == 0 && out->nhits > 0) {
            /* the conversation's question as it was answered: the earlier
             * question planned again with its own conversation; when the
             * reading for this child's age leaves that answer's subject
             * ("what about when he's like 5" after leaving a puppy and a
             * toddler alone together is no question about home alone),
             * that answer's passages stand when they are for this age,
             * composed for it (an answer for teens is no answer for "7
             * months") */
            struct convo_plan *sub = malloc(sizeof *sub);
            if (sub) {
                cv_plan(kb, policy, context, strlen(context), prev, ctx_i, 1, sub);
                if (sub->kind == CONVO_ANSWER && sub->nhits > 0 &&
                    !cv_main_on(out->hits[0].p, sub->hits[0].p) &&
                    (age < 0 || (sub->hits[0].p->age_lo <= age && age <= sub->hits[0].p->age_hi))) {
                    memcpy(out->hits, sub->hits, sizeof out->hits);
                    out->nhits = sub->nhits;
                    out->res = sub->res;
                    out->followup = 1;
                }
                free(sub);
            }
        }
        if (out->nhits > 0) {
            out->kind = CONVO_ANSWER;
            return;
        }
    }
    /* A follow-up ("and if he bites?", "how long will it last?", "she's
     * 6") is read with the question before it. The conversation's reading
     * wins when its passage is about this question's own concept too, or
     * when the question has no concept of its own; otherwise ("what about
     * at the pool?") the question's own best passage does. */
    /* A question that does not lean on the conversation by its words, but
     * whose own best passage is off the conversation's topics ("should I
     * go back to nappies or push through" in a potty-training talk), is
     * read with the conversation too; that reading wins when it stays on
     * the conversation's topics and its passage is at least as much about
     * this question's concepts as the question's own best passage, or when
     * the question's own match is weak (its no-match probability under
     * CONVO_ALONE_WEAK: "how can I help him at home" after a talk about
     * late talking matches a childcare passage on "home", barely) and the
     * conversation's passage is about one of its concepts at least (a
     * baby's name after a kitchen-safety question is no kitchen question). */
    if (context && out->nhits > 0 && !convo_leans_on_context(q, len) &&
        !(cv_switch_marker(q, len) && cv_has_own_concept(q, len)) &&
        cv_off_thread(kb, prev, nprev, &th, ctx_top, out->hits[0].p)) {
        struct convo_plan alone = *out;
        size_t jl = cv_joined_thread(kb, prev, nprev, &th, context, q, len, buf, sizeof buf);
        cv_search_joined(kb, buf, jl, out->age, out);
        double with = out->nhits > 0 ? kb_about_share(kb, out->hits[0].p, q, len) : 0;
        /* on the conversation's topics, or a confident reading of the two
         * together that holds the question's words where its own is weak
         * ("how do I settle her in" after choosing a nursery: settling in,
         * not moving house) */
        int on = out->nhits > 0 &&
                 (cv_on_topics(out->hits[0].p, ctx_top, th.top) || (!ctx_top && !th.top) ||
                  (alone.res.match_prob_lex < CONVO_ALONE_WEAK &&
                   out->res.match_prob_lex >= CONVO_JOINED_SURE &&
                   (with > 0 || kb_cover_share(kb, out->hits[0].p, q, len) > 0)));
        double sa = kb_about_share(kb, alone.hits[0].p, q, len);
        /* a question of its own (CONVO_OWN_CONCEPTS concepts or more, its
         * key one in its own passage's about-fields, that passage at least
         * three times as much about it as the conversation's, and no thing
         * pronoun pointing back) is read alone, however weak its match:
         * "speaking of which, when do babies smile and laugh?" after a
         * no-match opening is a question the knowledge base covers. "how
         * long should it take? ours takes an hour" points back and stays;
         * "she says her tummy hurts before mock tests" in an exam-stress
         * talk is not three times as much about school refusal */
        int own_q = alone.res.key_about && alone.res.concepts >= CONVO_OWN_CONCEPTS &&
                    alone.res.match_prob_lex >= CONVO_OWN_MATCH && sa >= 3 * with &&
                    !cv_points_back(q, len);
        if (on && !own_q &&
            ((alone.res.match_prob_lex < CONVO_ALONE_WEAK &&
              (with > 0 || (kb_cover_share(kb, out->hits[0].p, q, len) > 0 &&
                            out->res.match_prob_lex >= alone.res.match_prob_lex))) ||
             with >= sa || cv_short_weak(&alone.res, &out->res) ||
             /* a bare detail ("only on the left side") read with the
              * conversation at least as confidently as alone, or
              * confidently (CONVO_ALONE_WEAK): "she's 11, just moved up
              * to secondary" after school refusal adds to that question */
             (cv_bare_detail(q, len) && (out->res.match_prob_lex >= alone.res.match_prob_lex ||
                                         out->res.match_prob_lex >= CONVO_ALONE_WEAK)) ||
             /* another adult's view of what was said before ("my mother
              * in law says we should space them out, is that a thing") */
             (cv_reports_view(q, len) && cv_points_back(q, len) &&
              out->res.match_prob_lex >= alone.res.match_prob_lex) ||
             /* a thing pointed back at as what it asks about ("how do I
              * bring it up without her shutting down" after finding a
              * vape), read with the conversation confidently */
             (cv_points_back_object(q, len) && out->res.match_prob_lex >= CONVO_JOINED_SURE) ||
             /* nothing of its own but how to handle it ("how should i
              * respond", "how do I react") in a conversation with a topic */
             ((ctx_top || th.top) && cv_generic_only(q, len)) ||
             /* a question short of concepts whose own reading is not
              * sure, read with the conversation confidently and more
              * confidently than alone: its words came up on a passing
              * subject ("we bath her every night, is that too much"
              * after eczema, "is it weird that she talks to him at
              * dinner" after an imaginary friend), even when the
              * conversation's passage does not hold them */
             (alone.res.concepts < CONVO_OWN_CONCEPTS &&
              out->res.match_prob_lex >= CONVO_ALONE_WEAK &&
              out->res.match_prob_lex > alone.res.match_prob_lex &&
              alone.res.match_prob_lex < CONVO_JOINED_SURE) ||
             /* a sure reading with the conversation, unless the question's
              * own is sure too and at least twice as much about it
              * ("nursery or childminder for a 10 month old?" after guilt
              * about going back to work asks about childcare) */
             (with > 0 && alone.res.concepts < CONVO_OWN_CONCEPTS &&
              out->res.match_prob_lex >= CONVO_JOINED_SURE &&
              out->res.match_prob_lex > alone.res.match_prob_lex &&
              !(alone.res.match_prob_lex >= CONVO_JOINED_SURE && sa >= 2 * with))))
            out->followup = 1;
        else if (out->nhits == 0 && !ctx_top && !th.top &&
                 alone.res.match_prob_lex < CONVO_ALONE_WEAK && !own_q)
            out->followup = 1;      /* the no-match the conversation opened with */
        else
            *out = alone;
    } else if (context && (out->nhits == 0 || convo_leans_on_context(q, len))) {
        struct convo_plan alone = *out;
        size_t jl = cv_joined_thread(kb, prev, nprev, &th, context, q, len, buf, sizeof buf);
        int own = cv_has_own_concept(q, len) && !cv_effort_only(q, len);
        cv_search_joined(kb, buf, jl, out->age, out);
        double sj = out->nhits > 0 ? kb_about_share(kb, out->hits[0].p, q, len) : 0;
        double sa = alone.nhits > 0 ? kb_about_share(kb, alone.hits[0].p, q, len) : 0;
        if (out->nhits == 0 && alone.nhits > 0)
            *out = alone;           /* reading it together made it worse */
        else if (cv_bare_detail(q, len) && out->nhits > 0 &&
                 cv_on_topics(out->hits[0].p, ctx_top, th.top) &&
                 out->res.match_prob_lex >= CONVO_ALONE_WEAK)
            out->followup = 1;      /* a detail added, no question of its own ("he's 12,
                                       just started secondary" after he won't go to
                                       school): the conversation's question, read
                                       with it confidently (CONVO_ALONE_WEAK), on its
                                       topics */
        else if (own && alone.nhits > 0 && out->nhits > 0 && alone.res.key_about && sa > sj &&
                 (alone.res.match_prob_lex >= CONVO_ALONE_STRONG ||
                  (alone.res.concepts >= CONVO_OWN_CONCEPTS &&
                   alone.res.match_prob_lex >= CONVO_OWN_MATCH) ||
                  (sj <= 0 && cv_names_new_thing(q, len))))
            *out = alone;           /* a question of its own, on a new concept */
        else if (own && alone.nhits > 0 && cv_switch_marker(q, len))
            *out = alone;           /* a marked change of subject the knowledge base covers */
        else if (own && alone.nhits > 0 && out->nhits > 0 && sj <= 0 && sa > 0 &&
                 alone.res.concepts >= CONVO_OWN_CONCEPTS && !cv_points_back(q, len))
            *out = alone;           /* several things of its own, none of them in the
                                       conversation's passage, and no word pointing back
                                       at it ("and my sister's bringing her big dog to
                                       stay, any tips" after gun storage; "what about
                                       video calls with nana, does that count?" after
                                       screens stays) */
        else if (own && alone.nhits == 0 && alone.res.nomatch && out->nhits > 0 &&
                 cv_switch_marker(q, len) && (sj <= 0 || !out->res.key_about))
            *out = alone;           /* the earlier topic says nothing on it either */
        else
            out->followup = 1;
    }
    if (out->nhits > 0) {
        out->kind = CONVO_ANSWER;
        return;
    }
    if (out->res.empty && !context) {
        out->kind = CONVO_CLARIFY;
        snprintf(out->reply, sizeof out->reply, "%s", clarify_text);
        return;
    }
    {
        const char *labels[KB_NEAR_TOPICS];
        size_t nl = 0;
        for (size_t i = 0; i < out->res.nnear && nl < KB_NEAR_TOPICS; i++) {
            const char *lab = kb_topic_label(kb, out->res.near[i]);
            if (lab && cv_topic_about(kb, out->res.near[i], q, len)) labels[nl++] = lab;
        }
        /* none near the question: the conversation's own topic */
        if (nl == 0 && ctx_top && ctx_top->ntopics) {
            const char *lab = kb_topic_label(kb, ctx_top->topics[0]);
            if (lab) labels[nl++] = lab;
        }
        out->kind = CONVO_NOMATCH;
        convo_nomatch_text(out->res.concept, labels, nl, out->reply, sizeof out->reply);
    }
}

/* A question in another language is answered from its English reading
 * only when that reading says enough to answer or to say honestly that
 * nothing fits; a clarifying question in English would not help a parent
 * who wrote in Polish, so it gets the language's note with the numbers
 * (the refusal safety would have given). */
void convo_plan(struct kb *kb, const struct safety_policy *policy, const char *q, size_t len,
                const char *const *prev, size_t nprev, struct convo_plan *out)
{
    cv_plan(kb, policy, q, len, prev, nprev, 0, out);
    if (out->verdict.english[0] && out->verdict.language &&
        (out->kind == CONVO_CLARIFY || out->kind == CONVO_SMALLTALK)) {
        safety_verdict_language(&out->verdict);
        out->reply[0] = '\0';
        cv_refuse(out, &out->verdict);
    }
}
