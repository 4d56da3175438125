/* engine.h — the answer-engine interface.
 *
 * An engine turns a question and the retrieved passages into answer text,
 * asynchronously, on the event loop. The turn module owns the request and
 * the engine's job:
 *   - start() returns 0 and a job, or -1 if it could not start at all;
 *   - after a successful start the engine calls turn_emit_chunk() any number
 *     of times and then turn_engine_done() exactly once, always from an event
 *     callback (never from inside start());
 *   - cancel() stops the job at once; after it returns the engine must not
 *     call the turn again, and it frees the job.
 * The request and everything it points to stay valid until done or cancel. */
#ifndef COACH_ENGINE_H
#define COACH_ENGINE_H

#include <stddef.h>

#include "kb.h"

struct turn;

struct engine_request {
    struct turn *turn;
    const char *question;
    size_t question_len;
    const struct kb_hit *hits;
    size_t nhits;
    int age_months;                 /* -1 when unknown */
    const char *session_id;
    const char *message_id;
};

struct engine {
    const char *name;
    void *state;
    int (*start)(struct engine *e, const struct engine_request *rq, void **job);
    void (*cancel)(struct engine *e, void *job);
    /* 1 when configured and able to answer (for /readyz). */
    int (*ready)(struct engine *e);
    void (*destroy)(struct engine *e);
};

/* The grounded engine: composes answers from passages, offline. pace_ms is
 * the delay between word chunks (0 = all at once). */
struct event_base;
struct engine *engine_grounded_new(struct event_base *base, const struct kb *kb, int pace_ms);

/* Composes the grounded answer (pure and deterministic): the text with [n]
 * markers and the citations array [{"id","source","title","url"}] numbered
 * as in the text. Both are new and owned by the caller (free / json_decref).
 * With no hits it returns the "no vetted guidance" answer and []. */
#include <jansson.h>
void grounded_compose(const struct kb *kb, const char *question, size_t len,
                      const struct kb_hit *hits, size_t nhits, int age_months,
                      char **text, json_t **citations);

/* Splits text into word-sized chunks (a word and the white space after it);
 * returns the byte length of the chunk starting at text[off]. */
size_t grounded_next_chunk(const char *text, size_t len, size_t off);

#endif
