/* turn.h — a turn is one question and its answer; it is not a connection.
 *
 * Creating a turn commits the question, runs the pipeline (safety ->
 * retrieval -> engine, or lite mode when the budget is spent -> citations
 * -> save) and records everything it says in an
 * append-only event log. Connections subscribe to a turn from any position
 * of that log and are sent the backlog, then live events; any number can
 * watch one turn, and the turn finishes and is saved whether anyone is
 * watching or not. When it ends the log is stored with the answer, so a
 * reconnect after the turn left memory is replayed from the database.
 *
 * Ownership: turns belong to the turn registry (this module). A turn stays
 * in memory while running and for a linger period after it finished, then
 * it is freed; callers hold a struct turn * only within one callback, or
 * while subscribed (a subscriber is always told when the turn ends before
 * the turn is freed). */
#ifndef COACH_TURN_H
#define COACH_TURN_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"

struct event_base;
struct store;
struct kb;
struct safety_policy;
struct config;
struct budget;

enum turn_status { TURN_COMPLETE, TURN_INCOMPLETE, TURN_STOPPED };

struct turn_env {
    struct event_base *base;
    struct store *store;
    struct kb *kb;
    const struct safety_policy *policy;
    struct engine *engine;
    struct engine *lite;   /* answers when the budget is spent; may be NULL */
    struct budget *budget; /* token budgets; may be NULL (none) */
    int grace_ms;          /* cancel a running turn nobody watched this long */
    int linger_ms;         /* keep a finished turn in memory this long */
};

/* Sets the pipeline's parts; call once before turn_create. */
void turn_setup(const struct turn_env *env);

struct turn;

/* A subscriber. The turn calls on_event for each SSE frame ("id: ...\n
 * data: ...\n\n", valid only during the call) and on_end once when the turn
 * has ended and every frame was delivered; the listener has already been
 * removed from the turn when on_end runs. */
struct turn_listener {
    void (*on_event)(void *arg, const char *frame, size_t len);
    void (*on_end)(void *arg);
    void *arg;
    struct turn_listener *prev_, *next_;   /* private to turn.c */
    size_t after_;                         /* private: frames up to this seq were sent */
};

/* Starts a turn for a validated question (UTF-8, 1..2000 chars). Returns
 * the turn, or NULL if the question could not be committed. */
struct turn *turn_create(const char *session_id, const char *question, size_t len);

/* turn_create in three steps, for a caller that makes the commit off the
 * loop (store_call): turn_prepare (loop: ids, the question copied; NULL
 * when the ids cannot be made), turn_begin_store (any thread, on the
 * store view given: commits the question and its pending answer, and
 * reads the history and token sums the pipeline will need; 0 or -1), then
 * turn_launch (loop: the turn is registered and its pipeline starts) or
 * turn_discard (loop: it was not committed). Between prepare and launch
 * the turn is the caller's and nothing else sees it. */
struct store;
struct turn *turn_prepare(const char *session_id, const char *question, size_t len);
int turn_begin_store(struct store *view, struct turn *t);
void turn_launch(struct turn *t);
void turn_discard(struct turn *t);

/* A live or lingering turn by its answer message id, or NULL. */
struct turn *turn_find(const char *message_id);

const char *turn_message_id(const struct turn *t);
const char *turn_session_id(const struct turn *t);
const char *turn_question(const struct turn *t);
int turn_is_finished(const struct turn *t);
/* 1 when the turn runs on another instance and is followed here. */
int turn_is_mirror(const struct turn *t);
size_t turn_event_count(const struct turn *t);

/* Delivers frames [from, count) to l at once, then live ones. Returns 1
 * when l is subscribed; 0 when the turn had already ended: then on_end
 * followed the backlog immediately and l is not kept. */
int turn_subscribe(struct turn *t, struct turn_listener *l, size_t from);
void turn_unsubscribe(struct turn *t, struct turn_listener *l);

/* ---- opening an answer for a reader (resume) ---- */

/* What turn_open found: a live or lingering turn, or the stored log. */
struct turn_replay {
    struct turn *live;                  /* or NULL */
    json_t *events;                     /* the stored log (owned), or NULL */
    char message_id[32];
    size_t from;
};

/* Opens answer message_id for a reader from position from ("send from
 * seq+1" of a Last-Event-ID), only within session when it is not NULL:
 * from memory while the turn lives, else from the database. Returns 1 when
 * there is something to send (then turn_replay_deliver, in the same loop
 * iteration), 0 when nothing is left (the answer ended, or was lost in a
 * crash: 204), -1 when there is no such answer (nothing kept). */
int turn_open(const char *message_id, size_t from, const char *session, struct turn_replay *r);

/* turn_open and turn_stop in steps, for a caller that reads the store
 * off the loop: the _mem half looks in memory and returns
 * TURN_ASK_STORE when the store must be asked; turn_stored_read (any
 * thread, on a store view) reads the answer's row (and, when it runs on
 * another instance, its events); the _stored half (loop) finishes as
 * turn_open / turn_stop would, and empties s. */
#define TURN_ASK_STORE (-2)
struct turn_stored {
    int found;                          /* store_answer_events */
    char sid[80], status[32];
    json_t *events;                     /* owned */
    int since_rc;
    json_t *since;                      /* owned: the events table, for a pending row */
};
int turn_open_mem(const char *message_id, size_t from, const char *session,
                  struct turn_replay *r);
void turn_stored_read(struct store *view, const char *message_id, struct turn_stored *s);
void turn_stored_clear(struct turn_stored *s);
int turn_open_stored(const char *message_id, size_t from, const char *session,
                     struct turn_stored *s, struct turn_replay *r);
int turn_stop_mem(const char *message_id, const char *session, char *status, size_t n);
int turn_stop_stored(const char *message_id, const char *session, struct turn_stored *s,
                     char *status, size_t n);

/* Delivers what turn_open found to l: a live turn's backlog and then its
 * live frames (returns 1: l is subscribed, as turn_subscribe), or the
 * stored frames and then l->on_end (returns 0). r is emptied. */
int turn_replay_deliver(struct turn_replay *r, struct turn_listener *l);

/* Stops answer message_id (turn_cancel) when it runs, and writes its status
 * ("stopped", or the stored one) to status. Only within session when it is
 * not NULL. 0, or -1 when there is no such answer (in that session). */
int turn_stop(const char *message_id, const char *session, char *status, size_t n);

/* Stops a running turn: the engine is aborted, listeners get done with
 * "stopped": true, the partial answer is saved as 'stopped'. Idempotent. */
void turn_cancel(struct turn *t);

/* Cancels every turn of a session (the session is being deleted). */
void turn_cancel_session(const char *session_id);

/* Forgets every turn of a session that was deleted: running ones are
 * stopped without a save, their listeners are ended (no done), and every
 * turn of the session leaves memory at once, so no route finds it again. */
void turn_drop_session(const char *session_id);

/* A notification from another instance (store_listen's callback):
 * "coachd_events" (ids whose events were stored: mirrors read them),
 * "coachd_stop" (a message id: stop it if it runs here), or channel NULL
 * (the listener reconnected: every mirror re-reads). Other channels are
 * ignored. */
void turn_notify(const char *channel, const char *payload);

/* Graceful shutdown: count of running turns; turn_cancel_all stops them. */
size_t turn_running_count(void);
void turn_cancel_all(void);
/* Frees every turn (at exit, after listeners are gone). */
void turn_free_all(void);

/* Formats an SSE event id for position seq of a message, and parses one
 * back ("<message_id>:<seq>"). Parse returns 0 or -1. */
void turn_format_event_id(const char *message_id, size_t seq, char *out, size_t n);
int turn_parse_event_id(const char *id, char *message_id, size_t n, size_t *seq);

/* Builds one SSE frame for a data object (compact JSON on one line):
 * "id: <message_id>:<seq>\ndata: <data>\n\n". The caller frees the result;
 * *len is its length without the terminating NUL. The _n form takes the
 * data's length. */
char *turn_frame(const char *message_id, size_t seq, const char *data, size_t *len);
char *turn_frame_n(const char *message_id, size_t seq, const char *data, size_t dl, size_t *len);

/* ---- for engines ---- */
void turn_emit_chunk(struct turn *t, const char *text, size_t len);

struct turn_usage {
    long prompt_tokens, completion_tokens;
    const char *prompt_version;
    const char *engine;     /* saved engine name when not the configured
                               engine's (e.g. "grounded-lite"); may be NULL */
};
/* Ends the engine's part. status: TURN_COMPLETE or TURN_INCOMPLETE (then
 * error_msg, safe to show a parent, is sent as an error event). citations
 * (stolen, may be NULL) go in the done event. usage may be NULL. */
void turn_engine_done(struct turn *t, enum turn_status status, const char *error_msg,
                      json_t *citations, const struct turn_usage *usage);

/* The session history for prompts (new reference, may be empty). */
json_t *turn_history(const struct turn *t, int max_msgs);

#endif
