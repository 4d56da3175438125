/* upsse.h — incremental parser for an OpenAI-compatible streaming response.
 *
 * The `openai` engine POSTs {base}/chat/completions with stream:true and
 * receives text/event-stream bytes from libcurl in arbitrary pieces. This
 * module turns those bytes into a short list of typed events (a content
 * delta, a finish reason, token usage, [DONE], an error) and knows nothing
 * about sockets, curl or the answer: it is a pure function of the bytes fed,
 * so the same events come out for any split of the same stream. Framing
 * follows the WHATWG SSE rules (lines end at CRLF, LF or CR; a blank line
 * ends an event; multi-line data is joined with "\n"); each event's data is
 * parsed as JSON with jansson. Every buffer is bounded by max_line.
 * Design note: docs/upstream-sse.md. */
#ifndef COACH_UPSSE_H
#define COACH_UPSSE_H

#include <stddef.h>

/* Default for upsse_new(..., 0): 64 KiB per line and per pending event. */
#define UPSSE_DEFAULT_MAX_LINE (64u * 1024u)

enum upsse_type {
    UPSSE_DELTA,   /* choices[0].delta.content, non-empty */
    UPSSE_REASONING, /* choices[0].delta.reasoning_content (llama.cpp, vLLM,
                        LM Studio) or .reasoning (Ollama, OpenRouter): a
                        thinking model's thoughts, non-empty; never shown */
    UPSSE_FINISH,  /* choices[0].finish_reason, a non-empty string */
    UPSSE_USAGE,   /* a non-null "usage" object in any chunk */
    UPSSE_DONE,    /* data: [DONE] */
    UPSSE_ERROR    /* upstream error, or an event whose data is not JSON */
};

struct upsse_event {
    enum upsse_type type;
    const char *text; size_t len;   /* DELTA: content (UTF-8, not NUL-terminated);
                                       REASONING: the thought text;
                                       ERROR: message; FINISH: finish_reason.
                                       NULL/0 for USAGE and DONE. Always valid
                                       UTF-8 without NUL bytes when non-NULL. */
    long prompt_tokens, completion_tokens;  /* USAGE: the counts, or -1 when
                                               the upstream left one out or
                                               sent a non-integer; 0 for the
                                               other types */
};

/* Called once per parsed event; `ev` and its strings are valid only during
 * the call (they point into the parser's buffers or a jansson value that is
 * freed afterwards): copy what you keep. The callback must not call
 * upsse_feed/upsse_finish/upsse_free on the same parser. */
typedef void (*upsse_cb)(void *ctx, const struct upsse_event *ev);

struct upsse;                                   /* opaque */

/* A new parser that reports to cb(ctx, ...). max_line bounds one line and
 * the data of one pending event, in bytes (0 = UPSSE_DEFAULT_MAX_LINE).
 * The caller owns the result and frees it with upsse_free. Never NULL
 * (allocation failure aborts, see util.h). */
struct upsse *upsse_new(upsse_cb cb, void *ctx, size_t max_line);

/* Feed bytes; calls cb for each complete event. Returns 0, or -1 on a fatal
 * error (line/buffer over max_line): after that the parser is unusable and
 * every later upsse_feed returns -1 without calling cb. buf is only read
 * during the call; len 0 is allowed (buf may then be NULL). */
int upsse_feed(struct upsse *p, const char *buf, size_t len);

/* End of stream. An unterminated last line is taken as if its line ending
 * had arrived; then an event still missing its blank line is dispatched
 * only when its data is complete JSON or exactly [DONE] (so a server that
 * closes right after its last data line loses nothing), and is otherwise
 * discarded silently, as the SSE spec discards an incomplete event at EOF
 * (a truncated chunk is a cut stream, not malformed upstream output).
 * Returns 0; the parser then accepts no more input (feed returns -1). */
int upsse_finish(struct upsse *p);

/* Frees the parser and its buffers. NULL is allowed. */
void upsse_free(struct upsse *p);

#endif
