/* relay.h — the pure parts of the openai engine (see relay.c): the request
 * body, history trimming, the system prompt's version line, [n] citation
 * markers, the sentence look-behind that holds dose-like model output back,
 * Retry-After, and the citations of a finished answer.
 *
 * Nothing here does I/O, reads a clock or logs: every function is a pure
 * function of its arguments (the filter of its fed bytes), so the engine's
 * policy can be tested as tables. JSON values returned are new references
 * owned by the caller (json_decref); strings returned are owned by the
 * caller (free). Allocation failure aborts (util.h). */
#ifndef COACH_RELAY_H
#define COACH_RELAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kb.h"

/* Citations are tracked as bits 1..63 of a uint64_t: passages past the
 * 63rd can be given to a model but never cited (coachd retrieves 5). */
#define RELAY_MAX_SOURCES 63
#define RELAY_BIT(n) (UINT64_C(1) << (n))

/* The look-behind: the words of a sentence go out as they come until its
 * first number; from there it waits for its end. A waiting run without a
 * sentence end is released at a word boundary after RELAY_LONG_RUN bytes,
 * unless it has a digit followed by a dose unit; then it waits for its
 * sentence end up to RELAY_HARD_CAP bytes and is checked whole.
 * RELAY_CTX_MAX bounds the already-released head of an unfinished sentence
 * kept to check the sentence as a whole. */
#define RELAY_LONG_RUN 200
#define RELAY_HARD_CAP 2048
#define RELAY_CTX_MAX 1024

/* ---- the request ---- */

/* Request variants some servers need, learned from their 400 answers:
 * OpenAI's newer models (gpt-5, o-series) refuse max_tokens (they take
 * max_completion_tokens) and any temperature but the default. */
#define RELAY_COMPAT_MAX_COMPLETION_TOKENS 1
#define RELAY_COMPAT_NO_TEMPERATURE 2

struct relay_request {
    int compat;                         /* RELAY_COMPAT_* bits */
    const char *model;
    int max_tokens;
    double temperature;
    const char *system_prompt;          /* body of the prompt file */
    const struct kb_hit *hits;          /* passages, numbered [1]..[nhits] */
    size_t nhits;
    int age_months;                     /* -1 when unknown */
    const json_t *history;              /* [{"role","content"}], already trimmed; may be NULL */
    const char *question;
    size_t question_len;
};

/* Rewrites a request body for compat: max_tokens becomes
 * max_completion_tokens, temperature is left out. Idempotent. */
void relay_request_compat(json_t *req, int compat);

/* Reads an OpenAI-style error body ({"error":{"type","code","param",...}})
 * without its message, which may quote the prompt. kind (cap bytes) gets
 * error.type, else error.code, when it is a short identifier, else "".
 * Returns the RELAY_COMPAT_* bit the error asks for: error.param is
 * "max_tokens" or "temperature" and its code says unsupported
 * ("unsupported_parameter", "unsupported_value"); 0 for anything else. */
int relay_upstream_error(const char *body, size_t len, char *kind, size_t cap);

/* The chat-completions body: model, stream:true, stream_options
 * {include_usage:true}, max_tokens, temperature and messages = [one system
 * message: the prompt, a blank line, the numbered passages; history...; the
 * question as the last user message]. */
json_t *relay_request_json(const struct relay_request *r);

/* The passages message: "[n] title (source)", body, steps, the "when to get
 * help" line, and the child's age when known; a "no vetted passage" note
 * when n is 0. Caller frees. */
char *relay_passages_text(const struct kb_hit *hits, size_t n, int age_months);

/* The newest messages of history (oldest first, as store_history returns
 * them) whose contents add up to at most max_chars bytes, starting at a
 * user message; [n] markers are removed from assistant messages (their
 * numbers referred to other passages). Entries without a string role and
 * content are skipped. history may be NULL (-> []). */
json_t *relay_history_trim(const json_t *history, size_t max_chars);

/* ---- the prompt file ---- */

/* A prompt file may open with "version: X". Writes X (trimmed, cut to
 * vlen-1 bytes) or "unversioned" into version, points *body past the version
 * line (or at text), and returns 1 when the line was there, else 0. */
int relay_prompt_split(const char *text, char *version, size_t vlen, const char **body);

/* ---- citation markers ---- */

/* Copies in[0..len) to out with every out-of-range citation number removed:
 * a marker is "[n]" or a list "[n, m]" / "[n,m]" (1-3 digit numbers, up to
 * 16 of them); numbers outside 1..nsources go, a marker left empty goes
 * with the blank before it. Kept numbers are OR'ed into *cited (may be
 * NULL) as RELAY_BIT(n). out must hold len bytes (the text never grows);
 * returns the new length. out may not overlap in. */
size_t relay_fix_markers(const char *in, size_t len, size_t nsources, char *out,
                         uint64_t *cited);

/* ---- sentences and doses ---- */

/* The end of the first sentence in s[from..len): the index just past its
 * boundary, or 0 when no boundary is known yet. Boundaries: a newline;
 * '.', '!' or '?' (then any closing quotes, brackets or emphasis marks)
 * followed by a blank — but not after a 1-3 digit list number ("2.") or a
 * short abbreviation ("e.g.", "approx.", "Dr."); the CJK full stop and
 * full-width ! and ?. A terminator at the very end is not yet a boundary:
 * the next byte decides. */
size_t relay_sentence_end(const char *s, size_t len, size_t from);

/* 1 when s has a digit followed (after blanks or a hyphen) by a dose unit
 * word: ml, mg, mcg, g, tsp, teaspoon, tablet, drop, capsule, puff, unit,
 * dose, ... (singular or plural, any case), else 0. */
int relay_has_dose(const char *s, size_t len);

/* ---- the look-behind filter ---- */

/* hold: 1 when a sentence must be held back (safety_output_hold).
 * number: 1 when a blank-free word is (or, partial, may grow into) a number
 * (safety_output_number); both get hold_ctx.
 * emit: receives released text (valid only during the call). */
typedef int (*relay_hold_fn)(void *ctx, const char *s, size_t len);
typedef int (*relay_number_fn)(void *ctx, const char *word, size_t len, int partial);
typedef void (*relay_emit_fn)(void *ctx, const char *s, size_t len);

struct relay_filter;

/* A filter for one answer given nsources passages. referral (borrowed, must
 * outlive the filter) replaces the first held sentence; later held sentences
 * are dropped. hold_fn NULL: nothing is held and text goes out as it comes
 * (markers still fixed). number_fn NULL: a word with an ASCII digit is a
 * number. Never NULL. */
struct relay_filter *relay_filter_new(size_t nsources, relay_hold_fn hold_fn,
                                      relay_number_fn number_fn, void *hold_ctx,
                                      const char *referral, relay_emit_fn emit_fn,
                                      void *emit_ctx);

/* Feeds model text (valid UTF-8). Every complete sentence is checked and
 * released (fixed markers; held ones replaced); the unfinished sentence is
 * released word by word up to its first number (a list number starting
 * the sentence does not count) or an unfinished [n] marker; the rest waits for
 * its sentence end, or is released as a long run as described above. emit
 * runs at most once per call, with everything released by it. */
void relay_filter_feed(struct relay_filter *f, const char *s, size_t len);

/* End of the text: the rest goes through the same check; an unterminated
 * tail with a dose-like number is held. emit runs at most once. */
void relay_filter_finish(struct relay_filter *f);

/* Cited numbers of the released text (RELAY_BIT(n)), bytes released, held
 * sentence count, bytes still pending. */
uint64_t relay_filter_cited(const struct relay_filter *f);
size_t relay_filter_released(const struct relay_filter *f);
size_t relay_filter_held(const struct relay_filter *f);
size_t relay_filter_pending(const struct relay_filter *f);
void relay_filter_free(struct relay_filter *f);

/* ---- faults, citations, budgets ---- */

/* Retry-After (delta-seconds or an HTTP date, relative to now) in ms, capped
 * at cap_ms; -1 when value is NULL or not understood. */
long relay_retry_after_ms(const char *value, time_t now, long cap_ms);

/* [{"id","source","title","url"}] for each cited n (bits of cited) in
 * 1..nhits, in number order, source = passage source_short; every passage
 * when cited is 0. */
json_t *relay_citations(const struct kb_hit *hits, size_t nhits, uint64_t cited);

/* The start of the UTC day containing wall_ms (ms since the epoch). */
uint64_t relay_utc_midnight_ms(uint64_t wall_ms);

#endif
