/* filter.h — the one output filter: what a parent is shown of a model's
 * answer (see filter.c). It holds the [n] citation markers, the sentence
 * and dose hold and the medicine rules; the rules come from the safety
 * policy (policy/safety.json "output": hold, hold_if_medicine, medicine,
 * dose_units, dose_continuations, referral; "output_filter": the amount
 * cue word lists), loaded and checked once at start-up, so the engine
 * wires one object, the policy, to it.
 *
 * Nothing here does I/O, reads a clock or logs: the filter is a pure
 * function of the bytes fed to it, so the output policy can be tested as
 * tables and fuzzed. Strings the filter is given are borrowed for the call;
 * what emit receives is valid only during the call. Allocation failure
 * aborts (util.h). */
#ifndef COACH_FILTER_H
#define COACH_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "safety.h" /* struct safety_policy, struct safety_filter_words */

/* Citations are tracked as bits 1..63 of a uint64_t: passages past the
 * 63rd can be given to a model but never cited (coachd retrieves 5). */
#define FILTER_MAX_SOURCES 63
#define FILTER_BIT(n) (UINT64_C(1) << (n))

/* The look-behind: the words of a sentence go out as they come. A number
 * that what came before it cannot make an amount (no amount cue or
 * medicine before it in its sentence, not its first word, not right after
 * "a") goes out at once, and so do the words after it up to one that would
 * complete a dose (a unit, a medicine); from there the sentence waits for
 * its end. From any other number on, the text waits only while the next
 * words could still make it a dose (a continuation of the policy, "mg",
 * "ml ibuprofen", "times a day ibuprofen", completes a held sentence); it
 * goes out as soon as none can, and waits for its sentence end once it
 * reads as a dose. A wait in which a word counts the number ("3 hours",
 * "5% of children") lasts FILTER_MAYBE_WORDS more words at most (at once
 * for a counted word that is no frequency word); after it every word is
 * checked and one that makes the sentence held starts the wait for its
 * end; at once when the sentence then lacks only a medicine ("every 3
 * hours"). Money ("£5"), ordinals ("1st"), shares ("40%") and counts
 * ("3-year-old") are no amount, and no continuation is asked after them
 * or after a closed number ("1.", "(10–11):"); digits beginning a line
 * ("1.", "**0–6 weeks") go out at once like a number nothing makes an
 * amount. A waiting run
 * without a sentence end is released at a word boundary after
 * FILTER_LONG_RUN bytes, unless it has a digit followed by a dose unit;
 * then it waits for its sentence end up to FILTER_HARD_CAP bytes and is
 * checked whole. FILTER_CTX_MAX bounds the already-released head of an
 * unfinished sentence kept to check the sentence as a whole. */
#define FILTER_LONG_RUN 200
#define FILTER_HARD_CAP 2048
#define FILTER_CTX_MAX 1024
#define FILTER_MAX_CONTINUATIONS 16
#define FILTER_CUE_NEAR 3
/* A wait from a number ends after this many words that only may make it
 * a dose ("every 2 hours and after swimming": the next few words). */
#define FILTER_MAYBE_WORDS 3

/* ---- citation markers ---- */

/* Copies in[0..len) to out with every out-of-range citation number removed:
 * a marker is "[n]" or a list "[n, m]" / "[n,m]" (1-3 digit numbers, up to
 * 16 of them); numbers outside 1..nsources go, a marker left empty goes
 * with the blank before it. Kept numbers are OR'ed into *cited (may be
 * NULL) as FILTER_BIT(n). out must hold len bytes (the text never grows);
 * returns the new length. out may not overlap in. */
size_t filter_fix_markers(const char *in, size_t len, size_t nsources, char *out,
                          uint64_t *cited);

/* ---- the rules ---- */

/* What the filter asks of the output policy; every member may be NULL.
 *   hold: 1 when a sentence must be held back;
 *   number: 1 when a blank-free word is (or, partial, may grow into) a
 *     number;
 *   dose_unit: 1 when a word (plural or not) is a dose unit, or with
 *     partial may still grow into one;
 *   continuations: words that, after a number, would make a sentence a dose
 *     ("mg", "ml ibuprofen");
 *   range_words: words between two numbers of one amount ("10 to 15 mg");
 *   window: how many words after a number still wait for a unit ("one
 *     chewable tablet"), unless the word is one of not_dose_words ("3
 *     years", "10 minutes"), which ends the wait at once;
 *   amount_cues: words that, anywhere before a number in its sentence,
 *     may make it an amount ("give", "take", "dose"); amount_cues_near:
 *     words that do among the FILTER_CUE_NEAR words before it ("can have
 *     5ml"); amount_cues_before: words that do right before it ("a 2.5 ml
 *     dose"); a medicine before it, or nothing, does too. With amount_cues
 *     NULL every number may be an amount;
 *   not_amount_after: words right after which a number is no amount
 *     ("age 4", "by 18 months"), unless a medicine came before it;
 *   prefix_words: words that begin a number word but are none ("For" of
 *     "Four", "on" of "one"): they go out as soon as they are whole, and
 *     what follows them directly is read with them as one word;
 *   frequency_words: not_dose_words that may be part of a frequency
 *     ("every 4 hours", "3 times a day"): unlike the others ("10 minutes
 *     of"), they do not end a wait that a continuation keeps open, unless
 *     the sentence then lacks only a medicine ("every 4 hours");
 *   referral: replaces the first held sentence (borrowed; outlives the
 *     filter).
 * With hold NULL nothing is held and text goes out as it comes (markers
 * still fixed); with number NULL a word is a number when text_number reads
 * it as one (or, partial, text_number_prefix may grow it into one). */
struct filter_rules {
    int (*hold)(void *ctx, const char *s, size_t len);
    int (*number)(void *ctx, const char *word, size_t len, int partial);
    int (*dose_unit)(void *ctx, const char *word, size_t len, int partial);
    const char *const *continuations;
    size_t ncontinuations;
    const char *const *range_words;
    size_t nrange_words;
    const char *const *not_dose_words;
    size_t nnot_dose_words;
    unsigned window;
    /* the amount cues, prefix and frequency words: a copy of the policy's
     * struct whose lists are borrowed (they outlive the filter) */
    struct safety_filter_words words;
    const char *referral;
    void *ctx;
};

/* The rules of a loaded safety policy (safety_output_*, which hold
 * nothing for a NULL policy; the word lists are the policy's own, from
 * safety_output_filter_words). */
struct filter_rules filter_rules_of(const struct safety_policy *p);

/* 1 when s has a digit followed (after blanks or a hyphen) by a dose unit
 * word (rules->dose_unit), else 0. */
int filter_has_dose(const struct filter_rules *r, const char *s, size_t len);

/* ---- the filter ---- */

typedef void (*filter_emit_fn)(void *ctx, const char *s, size_t len);

struct filter;

/* A filter for one answer given nsources passages, with the output rules
 * of policy (NULL: nothing is held). emit receives released text. Never
 * NULL. policy must outlive the filter. */
struct filter *filter_new(const struct safety_policy *policy, size_t nsources,
                          filter_emit_fn emit_fn, void *emit_ctx);

/* The same with rules given one by one (tests, fuzzing); rules is copied,
 * what it points to must outlive the filter. */
struct filter *filter_new_rules(const struct filter_rules *rules, size_t nsources,
                                filter_emit_fn emit_fn, void *emit_ctx);

/* Feeds model text (valid UTF-8). Every complete sentence is checked and
 * released (fixed markers; held ones replaced); the unfinished sentence is
 * released word by word, up to a number that could still become a dose (a
 * list number starting the sentence does not count, nor does a number
 * nothing before makes an amount) or an unfinished [n] marker; the rest waits as described above. emit runs at most once per
 * call, with everything released by it. */
void filter_feed(struct filter *f, const char *s, size_t len);

/* End of the text: the rest goes through the same check; an unterminated
 * tail with a dose-like number is held. emit runs at most once. */
void filter_finish(struct filter *f);

/* Cited numbers of the released text (FILTER_BIT(n)), bytes released, held
 * sentence count, bytes still pending. */
uint64_t filter_cited(const struct filter *f);
size_t filter_released(const struct filter *f);
size_t filter_held(const struct filter *f);
size_t filter_pending(const struct filter *f);
void filter_free(struct filter *f);

#endif
