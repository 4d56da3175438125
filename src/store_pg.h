/* store_pg.h — the PostgreSQL backend behind store.h, through libpq.
 *
 * store.c dispatches to these when --db is a libpq URI or conninfo
 * (store_pg_is_conninfo); callers only ever see store.h. Every function
 * means what its store_ namesake in store.h means and returns the same
 * codes. The schema is the same versioned list as SQLite's, in PostgreSQL's
 * dialect, tracked in the table coachd_schema and applied under an advisory
 * lock, so instances starting together migrate once.
 *
 * Connections: STORE_PG_CONNECTIONS per instance once it runs: the
 * worker's (pgworker.h: event batches, end-of-turn saves, the lease and
 * prune tick, NOTIFYs and every connect), one per request thread
 * (STORE_PG_POOL of them: store_pg_call runs the request path's reads and
 * writes there, the session's calls on one thread, in order), and one
 * that only LISTENs, read without blocking on the libevent base
 * (store_pg_listen). The connection store_pg_open makes (migrations, and
 * every call before store_pg_async_start: start-up recovery, unit tests)
 * is closed once the workers start, so the loop thread itself makes no
 * PostgreSQL call after that. A lost connection is re-made on its thread
 * with exponential backoff between STORE_PG_BACKOFF_MIN_MS and
 * STORE_PG_BACKOFF_MAX_MS; calls meanwhile fail fast (-1, store_ping 0).
 * A call the server does not answer (a hung server) is answered on the
 * loop after STORE_CALL_TIMEOUT_MS (store.h); statements are also bounded
 * by STORE_PG_STATEMENT_TIMEOUT_MS on the server and by
 * STORE_PG_TCP_USER_TIMEOUT_MS (unacknowledged data) on the client. The
 * conninfo is never logged (it may hold a password).
 *
 * JSON values passed in are borrowed; JSON values returned are new
 * references owned by the caller. */
#ifndef COACH_STORE_PG_H
#define COACH_STORE_PG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct store_pg;
struct store_turn_result;

/* request-path threads, each with its connection (store_pg_call) */
#define STORE_PG_POOL 2
/* the worker, the pool and the listener (one more for a moment at start) */
#define STORE_PG_CONNECTIONS (2 + STORE_PG_POOL)
#define STORE_PG_CONNECT_TIMEOUT_S 2
#define STORE_PG_STATEMENT_TIMEOUT_MS 5000
#define STORE_PG_TCP_USER_TIMEOUT_MS 5000
/* A ping on the worker unanswered this long: the server counts as down. */
#define STORE_PG_PING_STALE_MS 2000
#define STORE_PG_BACKOFF_MIN_MS 100
#define STORE_PG_BACKOFF_MAX_MS 5000

/* 1 when s names a PostgreSQL database: a postgresql:// or postgres:// URI,
 * or a conninfo string that starts with "keyword=" (e.g. "host=... dbname=").
 * Anything else is a SQLite path (write ./a=b.db for a file named a=b.db).
 * Pure; table-tested. */
int store_pg_is_conninfo(const char *s);

/* The number of schema versions this build knows (must equal SQLite's). */
int store_pg_schema_target(void);

/* Connects and migrates. Returns 0 or -1 with a message in err (never the
 * conninfo itself). */
int store_pg_open(const char *conninfo, struct store_pg **out, char *err, size_t errlen);
void store_pg_close(struct store_pg *pg);

int store_pg_ping(struct store_pg *pg);
/* store_write_failing. */
int store_pg_write_failing(struct store_pg *pg);
/* store_health's part a server can answer: *writable is 0 while the
 * connection is down or the last write failed; while so, at most once a
 * second, it re-tries the connection and one write that changes nothing.
 * (Disk space and the data files are the server's: a full disk shows as
 * failing writes.) */
void store_pg_health(struct store_pg *pg, int *writable);
int store_pg_recover(struct store_pg *pg);
int store_pg_batch_begin(struct store_pg *pg);
int store_pg_batch_commit(struct store_pg *pg);

struct store_event;
struct event_base;
typedef void (*store_notify_cb)(void *arg, const char *channel, const char *payload);

/* The rest of store.h's calls, each as store_pg_NAME(struct store_pg *pg,
 * PARAMS): one list, X(return type, NAME, (PARAMS)), declared below, so
 * that store.h's documented prototypes are not copied out here again. */
#define STORE_PG_CALLS(X) \
    X(int, session_create, (const char *id, const char *parent_name, uint64_t now_ms)) \
    X(int, session_exists, (const char *id)) \
    X(json_t *, session_get, (const char *id, int *found)) \
    X(int, session_delete, (const char *id)) \
    X(json_t *, session_page, (const char *id, int limit, const char *before_id, int *found)) \
    X(long, session_message_count, (const char *id)) \
    X(int, turn_begin, (const char *session_id, const char *user_msg_id, \
                        const char *answer_msg_id, const char *question, uint64_t now_ms)) \
    X(int, turn_finish, (const char *answer_msg_id, const struct store_turn_result *r, \
                         uint64_t now_ms)) \
    X(int, answer_events, (const char *answer_msg_id, char *session_out, size_t session_len, \
                           char *status_out, size_t status_len, json_t **events)) \
    X(json_t *, history, (const char *session_id, const char *before_answer_id, int max_msgs)) \
    X(long, tokens_session, (const char *session_id)) \
    X(long, tokens_since, (uint64_t since_ms)) \
    X(int, feedback_set, (const char *answer_msg_id, int helpful, const char *reason, \
                          uint64_t now_ms)) \
    X(int, feedback_attach, (json_t *session)) \
    X(void, set_owner, (const char *instance_id, int lease_ms)) \
    X(int, events_append, (const struct store_event *ev, size_t n)) \
    X(int, events_since, (const char *message_id, size_t from, json_t **events)) \
    X(int, lease_renew, (uint64_t now_ms)) \
    X(int, lease_sweep, (uint64_t now_ms)) \
    X(int, notify, (const char *channel, const char *payload)) \
    X(int, listen, (struct event_base *base, store_notify_cb cb, void *arg)) \
    X(int, events_prune, (uint64_t before_ms, int limit))
#define STORE_PG_PARAMS_(...) __VA_ARGS__
#define STORE_PG_DECLARE_(ret, name, params) \
    ret store_pg_##name(struct store_pg *pg, STORE_PG_PARAMS_ params);
STORE_PG_CALLS(STORE_PG_DECLARE_)

/* store.h's off-the-loop calls (store.c runs them inline while
 * store_pg_async_running is 0). */
struct store_save;
typedef void (*store_append_cb)(void *arg, int kept);
typedef void (*store_save_cb)(void *arg, const char *const *ids, const int *rcs, size_t n);
typedef void (*store_tick_cb)(void *arg, int fixed, int pruned);
int store_pg_async_start(struct store_pg *pg, struct event_base *base);
void store_pg_async_stop(struct store_pg *pg);
int store_pg_async_running(struct store_pg *pg);
unsigned store_pg_async_pending(struct store_pg *pg);
void store_pg_events_append_async(struct store_pg *pg, const struct store_event *ev, size_t n,
                                  store_append_cb cb, void *arg);
void store_pg_turns_finish_async(struct store_pg *pg, const struct store_save *s, size_t n,
                                 uint64_t now_ms, store_save_cb cb, void *arg);
void store_pg_tick_async(struct store_pg *pg, uint64_t now_ms, store_tick_cb cb, void *arg);

/* store_call (store.h): fn runs on a pool thread, given a view of pg
 * (calls on it use that thread's connection); done on the loop. */
typedef void (*store_pg_call_fn)(struct store_pg *view, void *arg);
typedef void (*store_pg_done_fn)(void *arg, int how);
void store_pg_call(struct store_pg *pg, const char *key, store_pg_call_fn fn,
                   store_pg_done_fn done, void *arg);
/* Finishes the pool's calls (done functions run) and stops its threads. */
void store_pg_calls_stop(struct store_pg *pg);

#endif
