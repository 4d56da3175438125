/* engine.h — the answer-engine interface, and nothing else.
 *
 * An engine turns a question and the retrieved passages into answer text,
 * asynchronously, on the event loop. It knows nothing of turns, sessions
 * or the store: everything it needs is in its request, and it reports
 * through the request's callbacks.
 *   - start() returns 0 and a job, or -1 if it could not start at all;
 *   - after a successful start the engine calls rq->on_chunk any number of
 *     times and then rq->on_done exactly once, always from an event
 *     callback (never from inside start());
 *   - cancel() stops the job at once; after it returns the engine must not
 *     call the request's callbacks again, and it frees the job.
 * The request and everything it points to stay valid until done or cancel
 * (the caller owns them). */
#ifndef COACH_ENGINE_H
#define COACH_ENGINE_H

#include <jansson.h>
#include <stddef.h>

#include "kb.h"

enum engine_status { ENGINE_COMPLETE, ENGINE_INCOMPLETE };

struct engine_usage {
    long prompt_tokens, completion_tokens;
    const char *prompt_version;     /* may be NULL */
};

struct engine_request {
    const char *question;
    size_t question_len;
    const struct kb_hit *hits;
    size_t nhits;
    int age_months;                 /* -1 when unknown */
    const json_t *history;          /* earlier turns [{"role","content"}], oldest
                                       first (engine->history_msgs of them); may be NULL */
    const char *preface;            /* shown before the answer (lite mode); may be NULL */
    /* text for the parent, valid only during the call */
    void (*on_chunk)(void *ctx, const char *text, size_t len);
    /* the end: ENGINE_INCOMPLETE comes with error_msg (safe to show a
     * parent); citations (stolen, may be NULL) and usage (may be NULL) */
    void (*on_done)(void *ctx, enum engine_status status, const char *error_msg,
                    json_t *citations, const struct engine_usage *usage);
    void *ctx;
};

struct engine {
    const char *name;
    void *state;
    int history_msgs;               /* earlier messages it wants in its requests */
    int reads_english;              /* 1: it composes from the words it is given, so a
                                       question in another language reaches it as its
                                       English reading (safety.h); 0: as written */
    int (*start)(struct engine *e, const struct engine_request *rq, void **job);
    void (*cancel)(struct engine *e, void *job);
    /* 1 when configured and able to answer (for /readyz). */
    int (*ready)(struct engine *e);
    void (*destroy)(struct engine *e);
};

#endif
