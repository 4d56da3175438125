/* store.h — the store: sessions, messages and each answer's event log, in
 * SQLite (a path) or PostgreSQL (a postgresql:// URL or conninfo: the calls
 * go to store_pg.c, which answers them alike; see store_pg.h).
 *
 * Calls are synchronous. On PostgreSQL, once store_async_start ran, the
 * loop thread makes none of them itself: the writes of the streaming path
 * (the *_async calls below) go to a worker thread (pgworker.h), and the
 * request path's reads and writes are made inside store_call, on a small
 * pool of threads, so the loop never waits on the server. SQLite in WAL
 * mode with synchronous=NORMAL makes each commit durable against a process
 * crash (SIGKILL) in well under a millisecond on local disk. Checkpoints
 * (the part that fsyncs) run on a background thread the store owns. JSON values
 * passed in are borrowed; JSON values returned are new references owned by
 * the caller (json_decref). Ids are validated by the callers (util_id_valid). */
#ifndef COACH_STORE_H
#define COACH_STORE_H

#include <jansson.h>
#include <stdint.h>

struct store;

/* The checkpointer runs when the WAL passes this many pages, and every
 * STORE_CKPT_IDLE_S seconds regardless. */
#define STORE_CKPT_PAGES 1000
#define STORE_CKPT_IDLE_S 5

/* Opens (creating or migrating) the database at path (SQLite), or the
 * PostgreSQL database path names (store_pg_is_conninfo). Returns 0 or -1
 * with a message in err. */
int store_open(const char *path, struct store **out, char *err, size_t errlen);
void store_close(struct store *st);
/* Checkpoints the background thread has run so far (for tests). */
unsigned long store_checkpoints(struct store *st);

/* 1 when the database answers a trivial query (PostgreSQL with the worker
 * started: the last answer, never waiting; store_pg_ping). */
int store_ping(struct store *st);

/* Below this much free space where the database lives, the disk counts as
 * full (readiness fails before the writes do). */
#define STORE_MIN_FREE_BYTES (1024 * 1024)

/* How the database stands, for /readyz. */
struct store_health {
    int writable;                  /* no write has failed since the last good one */
    int disk_full;                 /* under STORE_MIN_FREE_BYTES free */
    int file_present;              /* the path still names the open file (it was
                                      not deleted or replaced) */
    unsigned long long free_bytes; /* available to the process (statvfs) */
};
/* Fills h. While writes are failing it tries a one-page write, at most
 * once a second, so that recovery is seen without other traffic. */
void store_health(struct store *st, struct store_health *h);
/* 1 while the last write failed (a write that reached the database, or a
 * COMMIT, clears it). Callers use it to tell a failed save from a row that
 * is gone. */
int store_write_failing(struct store *st);

/* Start-up recovery: answers left 'pending' by a crash become 'incomplete',
 * keeping the words their stored events hold. SQLite: every pending row
 * (the file is this instance's); PostgreSQL: only rows whose lease ran out,
 * never another live instance's. Returns the number of rows fixed, or -1. */
int store_recover(struct store *st);

int store_session_create(struct store *st, const char *id, const char *parent_name,
                         uint64_t now_ms);
/* 1 exists, 0 not found, -1 error. */
int store_session_exists(struct store *st, const char *id);
/* The session as the API returns it, or NULL (*found = 0 when it does not
 * exist, -1 on error). */
json_t *store_session_get(struct store *st, const char *id, int *found);
/* One page of a session, shaped as store_session_get's answer plus
 * "has_more": up to limit messages (oldest first, so the newest is last)
 * from before message before_id, or the newest when before_id is NULL;
 * has_more is true when older messages exist. NULL with *found = 0 when
 * the session does not exist, 2 when before_id is not one of its
 * messages, -1 on error. */
json_t *store_session_page(struct store *st, const char *id, int limit, const char *before_id,
                           int *found);
/* Messages (questions and answers) a session holds, or -1. */
long store_session_message_count(struct store *st, const char *id);
/* 1 deleted, 0 not found, -1 error. Deletes the session's messages and
 * event logs in the same transaction; then, so that the text is not left
 * on disk, has the WAL checkpointed and truncated (secure_delete has zeroed
 * the rows in the database file): by the checkpointer thread, woken at
 * once, so it is done moments after the call returns, or in the call when
 * there is no thread. */
int store_session_delete(struct store *st, const char *id);

/* Commits the parent's question and a 'pending' answer row in one
 * transaction, before any answer text exists. */
int store_turn_begin(struct store *st, const char *session_id,
                     const char *user_msg_id, const char *answer_msg_id,
                     const char *question, uint64_t now_ms);

struct store_turn_result {
    const char *content;          /* answer text (or refusal message) */
    const char *status;           /* complete | incomplete | stopped */
    json_t *citations;            /* array or NULL */
    json_t *refusal;              /* object or NULL */
    json_t *triage;               /* the triage notice shown before the answer, or NULL */
    json_t *events;               /* array of event data strings (replay) */
    const char *engine;
    const char *prompt_version;   /* NULL for grounded */
    long prompt_tokens, completion_tokens;
};
/* Finishes the answer row. Returns 0, or -1 (also when the row is gone,
 * e.g. the session was deleted meanwhile: then nothing is written). */
int store_turn_finish(struct store *st, const char *answer_msg_id,
                      const struct store_turn_result *r, uint64_t now_ms);

/* Groups the writes between begin and commit into one transaction (used
 * to save answers that end in the same loop iteration together). */
int store_batch_begin(struct store *st);
int store_batch_commit(struct store *st);

/* For replay of a finished answer: its session id, status and event array.
 * Returns 1 found, 0 not found, -1 error. *events is a new reference. */
int store_answer_events(struct store *st, const char *answer_msg_id,
                        char *session_out, size_t session_len,
                        char *status_out, size_t status_len, json_t **events);

/* Session history for an engine prompt: the last max_msgs messages before
 * the given answer, oldest first, as [{"role","content"}]. */
json_t *store_history(struct store *st, const char *session_id,
                      const char *before_answer_id, int max_msgs);

/* Tokens used by a session, and since a wall-clock time (for budgets). */
long store_tokens_session(struct store *st, const char *session_id);
long store_tokens_since(struct store *st, uint64_t since_ms);

/* A parent's feedback on an answer: helpful 1/0 and an optional reason
 * (NULL or "" for none; UTF-8, checked by the caller), replacing any
 * earlier feedback on it. Returns 1 saved, 0 when answer_msg_id is not an
 * assistant message, -1 on error. */
int store_feedback_set(struct store *st, const char *answer_msg_id, int helpful,
                       const char *reason, uint64_t now_ms);
/* Adds "feedback" ({"helpful","reason","created_at"} or null) to every
 * assistant message of a session object as store_session_get returns it
 * (borrowed, changed in place). Returns 0 or -1. */
int store_feedback_attach(struct store *st, json_t *session);

/* ---------- several instances (v4) ----------
 * An answer's events are appended as they are shown (turn.c batches them,
 * one call for many answers), so a crash keeps what was shown and any
 * instance can replay a live answer from the database. */

struct event_base;

/* A pending answer's lease: renewed every STORE_LEASE_RENEW_MS by its
 * instance (turn.c), taken as dead STORE_LEASE_MS after the last renewal. */
#define STORE_LEASE_MS 10000
#define STORE_LEASE_RENEW_MS 3000

/* This instance's id (random per start) and lease length: store_turn_begin
 * records them on the pending answer row. Call once after store_open. */
void store_set_owner(struct store *st, const char *instance_id, int lease_ms);
/* 1 when other instances may share the database (PostgreSQL). */
int store_is_shared(struct store *st);

struct store_event {
    const char *message_id;       /* borrowed */
    size_t seq;                   /* 1-based, as the stream's event id */
    const char *data;             /* the event's JSON text, len bytes; NULL: no row,
                                     only the id in the NOTIFY (a saved answer) */
    size_t len;
};
/* Appends events in one transaction (already stored (id, seq) are
 * skipped; rows of a deleted answer are dropped); on PostgreSQL it also
 * NOTIFYs channel "coachd_events" with the distinct message ids
 * (comma-separated, each payload under 8,000 bytes) at the same commit.
 * Returns the number kept (>= 0) or -1 when the write failed. */
int store_events_append(struct store *st, const struct store_event *ev, size_t n);
/* The stored events after seq from, in order and without a gap, as a new
 * array of JSON texts (*events, the caller's). 0 or -1. */
int store_events_since(struct store *st, const char *message_id, size_t from, json_t **events);

/* Extends the lease of this instance's pending answers to now + lease.
 * Returns rows renewed or -1 (SQLite: 0, nothing to do). */
int store_lease_renew(struct store *st, uint64_t now_ms);
/* Pending answers whose lease ran out (their instance died) become
 * 'incomplete', keeping the words their events saved. Rows fixed or -1
 * (SQLite: 0; store_recover does it at start-up). */
int store_lease_sweep(struct store *st, uint64_t now_ms);

/* Cross-instance signals (PostgreSQL NOTIFY; SQLite: no-ops returning 0):
 * "coachd_stop" (a message id), "coachd_deleted" (a session id),
 * "coachd_session" ("session id,message id": a question asked, for the
 * session's event streams, events.h). */
int store_notify(struct store *st, const char *channel, const char *payload);
/* Listens on "coachd_events", "coachd_stop", "coachd_deleted" and
 * "coachd_session" on a
 * connection of its own, non-blocking on base; cb gets each notification
 * (payload borrowed for the call), and channel NULL after the listener
 * had to reconnect (notifications may have been missed: re-read). 0 or -1. */
typedef void (*store_notify_cb)(void *arg, const char *channel, const char *payload);
int store_listen(struct store *st, struct event_base *base, store_notify_cb cb, void *arg);

/* ---------- off the loop ----------
 * The writes of the streaming path: event batches, end-of-turn saves, the
 * lease tick and NOTIFYs. On PostgreSQL after store_async_start they run
 * in order on the worker thread's own connection and cb runs later on the
 * loop thread (from the base); store_notify then only queues. On SQLite,
 * or before start / after stop, they run in the call and cb is called
 * before it returns. Everything passed in is copied (borrowed for the
 * call); what cb gets is borrowed for the call. */

/* Starts the worker (PostgreSQL; SQLite: nothing to do). The loop's own
 * connection is from then on re-made by the worker too, so no connect
 * blocks the loop. 0 or -1. */
int store_async_start(struct store *st, struct event_base *base);
/* Runs every queued write, calls their callbacks, stops the worker. */
void store_async_stop(struct store *st);
/* Writes queued on the worker and not yet called back (0 on SQLite). */
unsigned store_async_pending(struct store *st);

/* store_events_append; cb gets its return value. */
typedef void (*store_append_cb)(void *arg, int kept);
void store_events_append_async(struct store *st, const struct store_event *ev, size_t n,
                               store_append_cb cb, void *arg);

/* One answer to finish (store_turn_finish's arguments). */
struct store_save {
    const char *answer_msg_id;
    struct store_turn_result r;
};
/* Finishes n answers in one transaction, committed durably (PostgreSQL:
 * synchronous_commit on for it) before cb is called: rcs[i] is 0 saved,
 * 1 the row is gone (nothing written), -1 the write failed (then every
 * answer of the call is -1: the transaction did not commit). */
typedef void (*store_save_cb)(void *arg, const char *const *ids, const int *rcs, size_t n);
void store_turns_finish_async(struct store *st, const struct store_save *s, size_t n,
                              uint64_t now_ms, store_save_cb cb, void *arg);

/* ---------- the request path, off the loop ----------
 * store_call runs fn(view, arg), in which fn may call any synchronous
 * function above on view (never on st), and then done(arg, how) on the
 * loop thread:
 *  - PostgreSQL, once store_async_start ran: fn runs on one of the
 *    STORE_PG_POOL request threads (store_pg.h), each with its own
 *    connection, picked by key (a session id, or NULL), so one session's
 *    calls run one after another in the order they were made. done gets
 *    STORE_CALL_DONE when fn returned. When fn has not returned
 *    STORE_CALL_TIMEOUT_MS after the call (a hung server), done gets
 *    STORE_CALL_TIMEOUT then (answer 503, keep arg) and STORE_CALL_LATE
 *    once fn returned (what fn found is stale: free arg, answer nothing;
 *    a write fn made may have been kept).
 *  - SQLite, or before start / after stop: fn(st, arg) in the call, then
 *    done(arg, STORE_CALL_DONE), before store_call returns.
 * fn must not touch loop-thread state: it only fills arg. How fn's writes
 * went is known to store_write_failing(st) when done runs. */
#define STORE_CALL_TIMEOUT_MS 4000
enum { STORE_CALL_DONE, STORE_CALL_TIMEOUT, STORE_CALL_LATE };
typedef void (*store_call_fn)(struct store *view, void *arg);
typedef void (*store_call_done)(void *arg, int how);
void store_call(struct store *st, const char *key, store_call_fn fn, store_call_done done,
                void *arg);
/* Finishes every store_call in flight (their done functions run) and
 * stops the request threads; later calls run in the call. Call before the
 * HTTP server whose requests they answer is freed. */
void store_calls_stop(struct store *st);

/* Stored events of an answer that finished (its row has the whole log)
 * are redundant once STORE_PRUNE_GRACE_MS passed; each tick deletes at
 * most STORE_PRUNE_ROWS of them. */
#define STORE_PRUNE_GRACE_MS 60000
#define STORE_PRUNE_ROWS 2000
/* Deletes up to limit event rows of answers that are no longer pending
 * and finished (or were started, for one recovery marked incomplete)
 * before before_ms. Rows deleted or -1. */
int store_events_prune(struct store *st, uint64_t before_ms, int limit);

/* The periodic tick: store_lease_renew, store_lease_sweep, then
 * store_events_prune(now - STORE_PRUNE_GRACE_MS, STORE_PRUNE_ROWS); cb gets
 * the sweep's count of answers marked incomplete (or -1) and the rows
 * pruned (or -1). */
typedef void (*store_tick_cb)(void *arg, int fixed, int pruned);
void store_tick_async(struct store *st, uint64_t now_ms, store_tick_cb cb, void *arg);

#endif
