/* convo.h — reading a question as part of its conversation.
 *
 * Before an engine runs, the pipeline asks this module what kind of turn a
 * question is, given the session's earlier questions:
 *   - a refusal (the safety layer's decision, unchanged: it always runs
 *     first on the question as typed);
 *   - small talk ("hi", "thanks", "that helps", "thanks, I feel calmer
 *     now", "how does this work?", "you're a star"): a short warm reply,
 *     no citation;
 *   - a vague first question ("is that normal?") or asking whether to ask
 *     ("can I ask you something?"): a clarifying question back (the
 *     child's age and what is happening);
 *   - no match: the knowledge base has nothing vetted on the question's
 *     concept; an honest "I don't have vetted guidance on X yet" with the
 *     nearest topics it does cover, citing nothing;
 *   - an answer: the passages retrieved for the question read together with
 *     the conversation ("what about naps?", "she's 6", "and if he bites?"),
 *     and the child's age remembered from earlier questions; a follow-up
 *     that only brings in another child ("what about her brother who's
 *     6") or only an age ("what about when he's like 5") is the
 *     conversation's question asked for that child's age, and keeps the
 *     answer given last when that answer's passage is for that age.
 *
 * A short follow-up (at most 12 words) that the fitted model refuses as
 * unsafe, medical or out of scope, perhaps only because its "he", "she",
 * "him" or object "her" could be anyone, is triaged again with the
 * pronoun read as the child the conversation names (never when the
 * question names its own child, anyone else or an animal); it goes on
 * only when that reading passes. An emergency, a crisis or a policy
 * rule's refusal as typed always stands.
 *
 * The safety layer is used, not changed: a follow-up the classifier calls
 * out of scope only because it has no parenting words of its own
 * (rule out_of_scope.no_parenting_context) is classified again together
 * with the earlier questions (a refusal that is only the earlier
 * questions' own is not repeated, unless it is an emergency, a crisis or
 * a medicine dose); a follow-up that leans on a dose question is triaged
 * with it and refused as a dose; every other decision stands, so an
 * emergency or a crisis in the question as typed is always refused.
 *
 * Everything here is pure given the kb and policy (kb_search is not
 * reentrant: one loop). Memory: a plan owns nothing; its hit and near-topic
 * pointers live as long as the kb, its rule id as long as the policy. */
#ifndef COACH_CONVO_H
#define COACH_CONVO_H

#include <stddef.h>

#include "kb.h"
#include "safety.h"

enum convo_kind {
    CONVO_ANSWER = 0,   /* run the engine on hits */
    CONVO_REFUSE,       /* safety refused: category, rule */
    CONVO_SMALLTALK,    /* reply, no citation */
    CONVO_CLARIFY,      /* reply: a clarifying question */
    CONVO_NOMATCH       /* reply: the honest no-match; done says nomatch */
};

#define CONVO_HITS 5
#define CONVO_REPLY_MAX 1024
#define CONVO_PREV_MAX 6      /* earlier questions read, newest first */

struct convo_plan {
    enum convo_kind kind;
    safety_category category;          /* CONVO_REFUSE */
    const char *rule;                  /* CONVO_REFUSE, may be NULL */
    char reply[CONVO_REPLY_MAX];       /* SMALLTALK, CLARIFY, NOMATCH */
    struct kb_hit hits[CONVO_HITS];    /* ANSWER */
    size_t nhits;
    int age;                           /* months: this question's, else the
                                          conversation's; -1 unknown */
    int followup;                      /* 1: read with an earlier question */
    struct kb_result res;              /* the search that decided */
    struct safety_verdict verdict;     /* triage of the question (or of it read with
                                          the earlier one, when that refused): its
                                          notice, and the refusal's protocol */
};

/* Plans the turn for question q given prev[0..nprev), the session's earlier
 * questions, oldest first (may be NULL/0). */
void convo_plan(struct kb *kb, const struct safety_policy *policy, const char *q, size_t len,
                const char *const *prev, size_t nprev, struct convo_plan *out);

/* Small talk: 1 and a reply (NUL-ended, at most n bytes) when the whole
 * message is a greeting, thanks or goodbye; else 0. Pure. */
int convo_smalltalk(const char *q, size_t len, char *reply, size_t n);

/* 1 when q reads as a follow-up that leans on what came before: it starts
 * (past an "ok", "thanks") with "what about", "and if", "how about", "what
 * if", "what else", "same for", or is a short message built on a pronoun
 * ("is it normal?", "how long should it last?"), or a message of up to
 * eight words that points back at a thing ("he's not sleeping well
 * because of it"). Pure. */
int convo_leans_on_context(const char *q, size_t len);

/* The child's age in months a message states: kb_parse_age, with spans
 * of time left out ("in a month", "move him up a year"), and also a bare
 * number after an age verb ending a clause ("she's 6", "he just turned
 * 3", "she's actually nearly 4", "he's 2 and a half") or in brackets
 * ("my son (12)"); else -1. Pure. */
int convo_stated_age(const char *q, size_t len);

/* The honest no-match answer for a concept ("" for none) and up to
 * KB_NEAR_TOPICS nearby topic labels. Pure. */
void convo_nomatch_text(const char *concept, const char *const *near_labels, size_t nnear,
                        char *out, size_t n);

#endif
