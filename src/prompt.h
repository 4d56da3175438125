/* prompt.h — what the openai engine sends a model, and the citations of
 * what it answered (see prompt.c): the request body, the numbered passages,
 * the history trimmed to a budget, the system prompt's version line, the
 * reading of an upstream error body, and the citations of a finished answer.
 *
 * Nothing here does I/O, reads a clock or logs: every function is a pure
 * function of its arguments, so the request can be tested as tables. JSON
 * values returned are new references owned by the caller (json_decref);
 * strings returned are owned by the caller (free). Allocation failure
 * aborts (util.h). */
#ifndef COACH_PROMPT_H
#define COACH_PROMPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kb.h"

/* Request variants some servers need, learned from their 400 answers:
 * OpenAI's newer models (gpt-5, o-series) refuse max_tokens (they take
 * max_completion_tokens) and any temperature but the default. */
#define PROMPT_COMPAT_MAX_COMPLETION_TOKENS 1
#define PROMPT_COMPAT_NO_TEMPERATURE 2

struct prompt_request {
    int compat;                         /* PROMPT_COMPAT_* bits */
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
void prompt_request_compat(json_t *req, int compat);

/* Reads an OpenAI-style error body ({"error":{"type","code","param",...}})
 * without its message, which may quote the prompt. kind (cap bytes) gets
 * error.type, else error.code, when it is a short identifier, else "".
 * Returns the PROMPT_COMPAT_* bit the error asks for: error.param is
 * "max_tokens" or "temperature" and its code says unsupported
 * ("unsupported_parameter", "unsupported_value"); 0 for anything else. */
int prompt_upstream_error(const char *body, size_t len, char *kind, size_t cap);

/* The chat-completions body: model, stream:true, stream_options
 * {include_usage:true}, max_tokens, temperature and messages = [one system
 * message: the prompt, a blank line, the numbered passages; history...; the
 * question as the last user message]. */
json_t *prompt_request_json(const struct prompt_request *r);

/* The passages message: "[n] title (source)", body, steps, the "when to get
 * help" line, and the child's age when known; a "no vetted passage" note
 * when n is 0. Caller frees. */
char *prompt_passages_text(const struct kb_hit *hits, size_t n, int age_months);

/* The newest messages of history (oldest first, as store_history returns
 * them) whose contents add up to at most max_chars bytes, starting at a
 * user message; [n] markers are removed from assistant messages (their
 * numbers referred to other passages). Entries without a string role and
 * content are skipped. history may be NULL (-> []). */
json_t *prompt_history_trim(const json_t *history, size_t max_chars);

/* A prompt file may open with "version: X". Writes X (trimmed, cut to
 * vlen-1 bytes) or "unversioned" into version, points *body past the version
 * line (or at text), and returns 1 when the line was there, else 0. */
int prompt_split(const char *text, char *version, size_t vlen, const char **body);

/* [{"id","source","title","url"}] for each cited n (bits of cited, as
 * FILTER_BIT(n)) in 1..nhits, in number order, source = passage
 * source_short; every passage when cited is 0. */
json_t *prompt_citations(const struct kb_hit *hits, size_t nhits, uint64_t cited);

#endif
