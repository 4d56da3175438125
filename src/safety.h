/* safety.h — the deterministic safety layer that runs before retrieval.
 *
 * Every question is normalised (lowercase, punctuation to spaces,
 * contractions expanded, misspellings and txt-speak mapped), split into whole
 * word tokens, and matched against the rules of an operator-editable policy
 * file (policy/safety.json, described in docs/safety.md). Rules are word and
 * phrase patterns with gaps and word classes, never substrings, so "social
 * skills" does not contain "kill". The first category that fires wins, in the
 * order emergency > crisis > unsafe > medical > out_of_scope; otherwise the
 * question is SAFETY_NONE and goes on to retrieval.
 *
 * The policy also holds the refusal templates and the help-line resources of
 * each locale, and the output hook that holds back model sentences that look
 * like a medicine dose. Nothing here touches the network or logs text.
 *
 * Thread-safety: a loaded policy's rules are immutable; the other
 * languages' dictionaries it reads through keep caches, so triage runs on
 * one thread (coachd's loop). safety_policy_warm's loader thread touches a
 * language's dictionary only until it hands it over (spell.h, spell_warm).
 * Verdicts are deterministic: they never depend on that timing. */
#ifndef COACH_SAFETY_H
#define COACH_SAFETY_H

#include <stddef.h>
#include <jansson.h>

typedef enum {
    SAFETY_NONE = 0, SAFETY_EMERGENCY, SAFETY_MEDICAL, SAFETY_CRISIS,
    SAFETY_UNSAFE, SAFETY_OUT_OF_SCOPE,
    SAFETY_LANGUAGE     /* written in a language the coach does not answer in */
} safety_category;

struct safety_policy;  /* opaque; immutable after load, shared read-only */

/* Loads and validates the policy file for one locale ("US", "UK").
 * On failure returns -1 and writes a human-readable message (file, what is
 * wrong, where) into err. *out is owned by the caller: safety_policy_free. */
int safety_policy_load(const char *path, const char *locale,
                       struct safety_policy **out, char *err, size_t errlen);

/* Starts loading every installed language dictionary (and its stem index
 * of the glossary) on a background thread (`coachd serve`): from then on a
 * question in a language whose dictionary is still loading waits for it
 * (at most one language's load, 0.02-1 s; bounded at 10 s), so its verdict
 * is the one it gets later; other questions never wait. Without this call
 * (the CLI tools) each loads on first use, as before. 0 on success or with
 * nothing to load, -1 when the thread cannot start (loads on demand). */
int safety_policy_warm(struct safety_policy *p);

/* How many of the installed language dictionaries are loaded (of *total,
 * optional): 0 of total until safety_policy_warm has loaded them. */
size_t safety_policy_dicts(const struct safety_policy *p, size_t *total);

/* Frees a policy from safety_policy_load (joining its loader thread, after
 * the language it is loading, if any). NULL is a no-op. */
void safety_policy_free(struct safety_policy *p);

/* Classifies a question (UTF-8, up to a few KB; bytes past 16 KB are not
 * read). Pure and deterministic.
 * rule_id (optional, may be NULL) receives a pointer to a policy-owned string
 * naming the rule that fired, or NULL for SAFETY_NONE (for tests and eval;
 * never log it together with the text). Valid while the policy lives. */
safety_category safety_classify(const struct safety_policy *p,
                                const char *text, size_t len,
                                const char **rule_id);

/* What triage made of a question: the category (a refusal unless
 * SAFETY_NONE), the rule or protocol that decided, and optionally a notice
 * to show before an answer: "urgent" (see a doctor today), "prepare" (the
 * first-aid steps and the number, for a "what do I do if..." question),
 * "net" (a red-flag sign no protocol matched: "call 911 now if ...") or
 * "language" (written in another language, answered in English). All
 * pointers are policy-owned; never log them with the text. */
#define SAFETY_ENGLISH_MAX 512   /* bytes of the English reading kept, with its NUL */

struct safety_verdict {
    safety_category category;
    const char *rule_id;            /* rule, protocol or language code; NULL for none */
    const char *protocol_id;        /* protocol behind an emergency/crisis, or NULL */
    const char *notice;             /* "urgent", "prepare", "net", "language" or NULL */
    const char *notice_id;          /* the protocol of the notice (the language code
                                       for "language") */
    const char *language;           /* code of a detected non-English language */
    /* A question in another language whose glossed reading is an ordinary
     * parenting question with no red flag is answered (category
     * SAFETY_NONE, notice "language": that language's note with the
     * numbers, then an answer in English). english is that reading
     * ("son 3 years not want sleep alone"), the text retrieval and the
     * grounded engine read; "" otherwise. Owned by the verdict. */
    char english[SAFETY_ENGLISH_MAX];
};

/* Triage: the old rules, then the policy's protocols over concepts, most
 * urgent first (docs/safety.md). Pure and deterministic. */
void safety_triage(const struct safety_policy *p, const char *text, size_t len,
                   struct safety_verdict *v);

/* Turns a verdict for a question in another language that was to be
 * answered from its English reading (category SAFETY_NONE, notice
 * "language") into that language's refusal, the note with the numbers, as
 * triage gives when the reading says too little: for a caller that finds
 * the reading gives it nothing to answer. No-op when v->language is NULL. */
void safety_verdict_language(struct safety_verdict *v);

/* The refusal for a verdict (as safety_refusal_json), with the first-aid
 * line, source and numbers of the protocol behind it when there is one.
 * NULL for SAFETY_NONE. New reference owned by the caller. */
json_t *safety_verdict_json(const struct safety_policy *p, const struct safety_verdict *v);

/* The notice for a verdict that has one, as the stream's triage event data:
 * {"level","reason","message","source","resources":[...]}; NULL when none.
 * New reference owned by the caller. */
json_t *safety_notice_json(const struct safety_policy *p, const struct safety_verdict *v);

/* "emergency", "medical", "crisis", "unsafe", "out_of_scope", "language", "none".
 * Static string; "none" for out-of-range values. */
const char *safety_category_name(safety_category c);

/* The refusal payload for a category:
 * {"category":"...","empathy":"...","message":"...","resources":[{"name","phone","url"}]}
 * New reference owned by the caller (json_decref). rule_id may be NULL; if
 * given, lets the policy pick rule-specific resources (e.g. poison control).
 * Returns NULL for SAFETY_NONE (nothing to refuse). */
json_t *safety_refusal_json(const struct safety_policy *p, safety_category c,
                            const char *rule_id);

/* Output hook: 1 if this sentence of model output must be held back (dose-like
 * medicine instruction), else 0. Pass one complete sentence. */
int safety_output_hold(const struct safety_policy *p, const char *sentence, size_t len);

/* 1 when word (one blank-free piece of model text) is a number as the hold
 * rules read numbers (digits, "5ml", "twenty", "half", "½"), else 0. With
 * partial, the word may still grow (more text may follow it directly), so it
 * also counts when its letters could become a number word ("tw", "fi"). The
 * output filter (filter.c) waits at a number while it could still become a
 * dose and checks the whole sentence at its end, so an amount is never
 * shown before that check. */
int safety_output_number(const struct safety_policy *p, const char *word, size_t len,
                         int partial);

/* 1 when word (letters, any case) is one of output.dose_units or its
 * plural ("ml", "Tablets"); with partial also when it is the beginning of
 * one ("m", "tabl"). */
int safety_output_dose_unit(const struct safety_policy *p, const char *word, size_t len,
                            int partial);

/* output.dose_continuations: what may follow a number to make a sentence a
 * dose ("mg", "ml ibuprofen"); the load checks that each one after "give 2"
 * is held. Sets *out (policy-owned) and returns the count. */
size_t safety_output_continuations(const struct safety_policy *p, const char *const **out);

/* output.not_dose_words: words that, right after a number, say it is no
 * amount of medicine ("years", "minutes"); *window gets output.dose_window,
 * how many other words after a number may still be followed by a unit.
 * Sets *out (policy-owned) and returns the count. */
size_t safety_output_not_dose_words(const struct safety_policy *p, const char *const **out,
                                    unsigned *window);

/* output.dose_ranges: words that join the two numbers of one amount ("to"
 * in "10 to 15 mg"). Sets *out (policy-owned) and returns the count. */
size_t safety_output_range_words(const struct safety_policy *p, const char *const **out);

/* "output_filter": the output filter's word lists (filter.h says how each
 * is read), lowercase single words, checked at load. */
struct safety_filter_words {
    const char *const *amount_cues;        /* anywhere before a number */
    const char *const *amount_cues_near;   /* among the few words before it */
    const char *const *amount_cues_before; /* right before it */
    const char *const *not_amount_after;   /* right after these it is no amount */
    const char *const *prefix_words;       /* begin a number word, are none */
    const char *const *frequency_words;    /* may be part of a frequency */
    size_t namount_cues, namount_cues_near, namount_cues_before, nnot_amount_after;
    size_t nprefix_words, nfrequency_words;
};

/* The policy's output_filter lists (policy-owned; NULL for a NULL policy). */
const struct safety_filter_words *safety_output_filter_words(const struct safety_policy *p);

/* The sentence that replaces a held one (policy-owned string, already
 * resolved for the policy's locale). */
const char *safety_output_referral(const struct safety_policy *p);

#endif
