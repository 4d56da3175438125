/* store_pg.c — PostgreSQL persistence for sessions and messages (libpq).
 *
 * The same tables, rows and JSON shapes as store.c's SQLite store, so the
 * two backends answer every store.h call alike. Timestamps are BIGINT
 * milliseconds and JSON columns are TEXT, exactly as in SQLite. Statements
 * are prepared on the server once per connection (PQprepare) and run with
 * PQexecPrepared, text parameters only; a question and its pending answer
 * row go in with one INSERT (one round trip, atomic without BEGIN).
 *
 * Migrations: the list below mirrors store.c's, version for version; the
 * applied version lives in coachd_schema(version) and every pending step runs
 * in one transaction holding pg_advisory_xact_lock(STORE_PG_MIGRATE_LOCK),
 * so two instances starting together cannot both apply one.
 *
 * The loop's connection is used synchronously from the loop thread for the
 * request path (its callers use the result inline). The streaming path's
 * writes go, once store_pg_async_start ran, to the worker thread
 * (pgworker.h) as jobs whose parameters are built and copied here on the
 * loop; their results come back to done functions on the loop, which note
 * how the write went and call the caller back. A lost loop connection
 * makes calls fail at once; reconnect() has the worker re-make it at most
 * once per backoff interval (doubling, capped), prepared, and installs it
 * when the job comes back. Before the worker starts (open, unit tests)
 * and after it stops (shutdown) everything runs inline as before. */
#include "store_pg.h"

#include <ctype.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jtext.h"
#include "metrics.h"
#include "pgworker.h"
#include "store.h"
#include "store_schema.h"
#include "util.h"

#define STORE_PG_MIGRATE_LOCK 4217017

enum {
    P_PING, P_SESSION_INSERT, P_SESSION_EXISTS, P_SESSION_GET, P_MESSAGES_GET,
    P_SESSION_DELETE, P_TURN_BEGIN, P_TURN_FINISH, P_ANSWER_EVENTS, P_HISTORY,
    P_TOKENS_SESSION, P_TOKENS_SINCE, P_RECOVER, P_FEEDBACK_SET, P_FEEDBACK_GET,
    P_PROBE, P_PAGE_ANCHOR, P_PAGE, P_MESSAGE_COUNT, P_EVENTS_APPEND, P_EVENTS_SINCE, P_LEASE_RENEW, P_LEASE_SWEEP, P_NOTIFY,
    P_EVENTS_PRUNE,
    P__COUNT
};

static const char *const pg_sql[P__COUNT] = {
    [P_PING] = "SELECT 1",
    [P_SESSION_INSERT] =
        "INSERT INTO sessions(id, parent_name, created_at) VALUES($1, $2, $3::bigint)",
    [P_SESSION_EXISTS] = "SELECT 1 FROM sessions WHERE id = $1",
    [P_SESSION_GET] = "SELECT created_at, parent_name FROM sessions WHERE id = $1",
    [P_MESSAGES_GET] =
        "SELECT id, role, content, citations, refusal, status, created_at, triage "
        "FROM messages WHERE session_id = $1 ORDER BY seq",
    [P_SESSION_DELETE] = "DELETE FROM sessions WHERE id = $1",
    [P_TURN_BEGIN] =
        "WITH n AS (SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM messages "
        "WHERE session_id = $2::text) "
        "INSERT INTO messages(id, session_id, seq, role, content, status, created_at, owner, "
        "lease_until) "
        "SELECT $1::text, $2::text, seq, 'user', $4::text, 'complete', $5::bigint, NULL, NULL "
        "FROM n UNION ALL "
        "SELECT $3::text, $2::text, seq + 1, 'assistant', '', 'pending', $5::bigint, $6::text, "
        "$7::bigint FROM n",
    [P_TURN_FINISH] =
        "UPDATE messages SET content = $2, status = $3, citations = $4, refusal = $5, "
        "events = $6, engine = $7, prompt_version = $8, prompt_tokens = $9, "
        "completion_tokens = $10, finished_at = $11, triage = $12 "
        "WHERE id = $1 AND role = 'assistant'",
    [P_ANSWER_EVENTS] =
        "SELECT session_id, status, events FROM messages WHERE id = $1 AND role = 'assistant'",
    [P_HISTORY] =
        "SELECT role, content FROM (SELECT seq, role, content FROM messages "
        "WHERE session_id = $1 AND seq < (SELECT seq FROM messages WHERE id = $2) - 1 "
        "AND status <> 'pending' AND refusal IS NULL AND content <> '' "
        "ORDER BY seq DESC LIMIT $3::bigint) AS h ORDER BY seq",
    [P_TOKENS_SESSION] =
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM messages "
        "WHERE session_id = $1",
    [P_TOKENS_SINCE] =
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM messages "
        "WHERE finished_at >= $1::bigint",
    /* start-up: only rows whose lease ran out (or that never had one);
     * another live instance's answers are left alone */
    [P_RECOVER] =
        "UPDATE messages SET status = 'incomplete', "
        "content = COALESCE((SELECT string_agg(e.data::json->>'chunk', '' ORDER BY e.seq) "
        "FROM events e WHERE e.message_id = messages.id), ''), "
        "events = (SELECT json_agg(e.data ORDER BY e.seq)::text FROM events e "
        "WHERE e.message_id = messages.id) "
        "WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $1::bigint)",
    [P_FEEDBACK_SET] =
        "INSERT INTO feedback(message_id, helpful, reason, created_at) "
        "SELECT $1::text, $2::integer, $3::text, $4::bigint FROM messages "
        "WHERE id = $1::text AND role = 'assistant' "
        "ON CONFLICT(message_id) DO UPDATE SET helpful = excluded.helpful, "
        "reason = excluded.reason, created_at = excluded.created_at",
    [P_FEEDBACK_GET] =
        "SELECT f.message_id, f.helpful, f.reason, f.created_at FROM feedback f "
        "JOIN messages m ON m.id = f.message_id WHERE m.session_id = $1",
    /* a write that changes nothing: is the database taking writes again? */
    [P_PROBE] = "UPDATE coachd_schema SET version = version",
    [P_PAGE_ANCHOR] = "SELECT seq FROM messages WHERE id = $1 AND session_id = $2",
    [P_PAGE] =
        "SELECT id, role, content, citations, refusal, status, created_at, triage "
        "FROM messages WHERE session_id = $1 AND seq < $2::bigint ORDER BY seq DESC "
        "LIMIT $3::bigint",
    [P_MESSAGE_COUNT] = "SELECT count(*) FROM messages WHERE session_id = $1",
    /* many answers' events in one statement, and their ids NOTIFYed at the
     * same commit (the CTE runs whether or not it is read) */
    [P_EVENTS_APPEND] =
        "WITH ins AS (INSERT INTO events(message_id, seq, data) "
        "SELECT u.m, u.s, u.d FROM unnest($1::text[], $2::int[], $3::text[]) AS u(m, s, d) "
        "WHERE EXISTS (SELECT 1 FROM messages WHERE id = u.m) "
        "ON CONFLICT DO NOTHING RETURNING 1) "
        "SELECT (SELECT count(*) FROM ins), "
        "(SELECT count(pg_notify('coachd_events', p)) FROM unnest($4::text[]) AS p)",
    [P_EVENTS_SINCE] =
        "SELECT seq, data FROM events WHERE message_id = $1 AND seq > $2::int ORDER BY seq",
    [P_LEASE_RENEW] =
        "UPDATE messages SET lease_until = $2::bigint WHERE owner = $1 AND status = 'pending'",
    [P_LEASE_SWEEP] = NULL,       /* = P_RECOVER, see store_pg_lease_sweep */
    [P_NOTIFY] = "SELECT pg_notify($1, $2)",
    /* a finished answer's row holds its whole log: its event rows can go */
    [P_EVENTS_PRUNE] =
        "DELETE FROM events WHERE (message_id, seq) IN (SELECT e.message_id, e.seq "
        "FROM events e JOIN messages m ON m.id = e.message_id WHERE m.status <> 'pending' "
        "AND COALESCE(m.finished_at, m.created_at) < $1::bigint LIMIT $2::bigint)",
};

/* The same versions as store.c's migrations[] (store_schema.h), in
 * PostgreSQL's dialect. */
static const char *const pg_migrations[] = STORE_SCHEMA_MIGRATIONS("BIGINT", "");

struct store_pg {
    PGconn *conn;                 /* NULL or CONNECTION_BAD while lost */
    char *conninfo;               /* owned; never logged */
    uint64_t next_try_ms;         /* monotonic: no reconnect before this */
    unsigned backoff_ms;
    int in_batch;                 /* between batch_begin and batch_commit */
    int write_failed;             /* the last write failed (cleared by a commit) */
    uint64_t probe_ms;            /* when store_pg_health last tried a write */
    int last_integrity;           /* the last failure was a constraint (SQLSTATE 23xxx) */
    char owner[64];               /* store_pg_set_owner */
    int lease_ms;
    struct pg_listener *listener; /* store_pg_listen, or NULL */
    struct pgw *worker;           /* store_pg_async_start, or NULL: all inline */
    int connecting;               /* a connect job for conn is on the worker */
    int probing;                  /* a probe job is on the worker */
    int pinging;                  /* a ping job is on the worker */
    int ping_ok;                  /* the last ping's answer */
    uint64_t ping_sent_ms;        /* when the last ping job was sent */
    /* the request path (store_pg_call) */
    struct event_base *base;
    struct pgw *pool[STORE_PG_POOL];  /* or NULL: calls run inline */
    int view;                     /* this is a call's copy, on a pool thread: conn is
                                     the thread's, never re-made here */
    int wrote;                    /* a view's write that counts (pg_note_write) */
};

int store_pg_schema_target(void)
{
    return (int)(sizeof pg_migrations / sizeof pg_migrations[0]);
}

int store_pg_is_conninfo(const char *s)
{
    const char *p = s;
    if (!s) return 0;
    if (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0) return 1;
    /* conninfo: keyword (letters and '_') then optional spaces then '=' */
    while (*p && (islower((unsigned char)*p) || *p == '_')) p++;
    if (p == s) return 0;
    while (*p == ' ') p++;
    return *p == '=';
}

/* Logs a failed result without its parameters: only the primary message
 * and SQLSTATE (a DETAIL line may quote a key, i.e. an id). */
static void log_result(const char *what, const PGresult *res, const PGconn *conn)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!msg) msg = PQstatus(conn) == CONNECTION_OK ? "no result" : "connection lost";
    fprintf(stderr, "coachd: store(pg): %s: %s%s%s%s\n", what, msg, state ? " (" : "",
            state ? state : "", state ? ")" : "");
}

static PGconn *connect_db(const char *conninfo)
{
    char timeout[16], options[128], tcp[16];
    const char *keys[] = {"connect_timeout", "application_name", "options", "tcp_user_timeout",
                          "keepalives_idle", "keepalives_interval", "keepalives_count",
                          "dbname", "client_encoding", NULL};
    const char *vals[10];
    snprintf(timeout, sizeof timeout, "%d", STORE_PG_CONNECT_TIMEOUT_S);
    snprintf(options, sizeof options, "-c statement_timeout=%d -c client_min_messages=warning "
             "-c synchronous_commit=off", STORE_PG_STATEMENT_TIMEOUT_MS);
    vals[0] = timeout;
    vals[1] = "coachd";
    snprintf(tcp, sizeof tcp, "%d", STORE_PG_TCP_USER_TIMEOUT_MS);
    vals[2] = options;
    vals[3] = tcp;
    vals[4] = "5";
    vals[5] = "2";
    vals[6] = "2";
    vals[7] = conninfo;           /* expanded: its own settings win over the above */
    vals[8] = "UTF8";
    vals[9] = NULL;
    return PQconnectdbParams(keys, vals, 1);
}

static int prepare_all(PGconn *conn, char *err, size_t errlen)
{
    for (int i = 0; i < P__COUNT; i++) {
        char name[16];
        PGresult *res;
        if (!pg_sql[i]) continue;
        snprintf(name, sizeof name, "q%d", i);
        res = PQprepare(conn, name, pg_sql[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "preparing statement %d: %s", i,
                     PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                         ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "failed");
            PQclear(res);
            return -1;
        }
        PQclear(res);
    }
    return 0;
}

/* Runs a parameterless command; 0 or -1 with the server's message in err. */
static int exec_cmd(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType s = PQresultStatus(res);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : -1;
    if (rc && err) {
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(err, errlen, "%s", m ? m : PQerrorMessage(conn));
    }
    PQclear(res);
    return rc;
}

static int pg_migrate(struct store_pg *pg, char *err, size_t errlen)
{
    int target = store_pg_schema_target(), version = -1;
    char sql[160];
    PGresult *res;

    snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%d);"
             "CREATE TABLE IF NOT EXISTS coachd_schema(version INTEGER NOT NULL)",
             STORE_PG_MIGRATE_LOCK);
    if (exec_cmd(pg->conn, sql, err, errlen)) goto fail;
    res = PQexec(pg->conn, "SELECT version FROM coachd_schema");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version < 0) {
        if (exec_cmd(pg->conn, "INSERT INTO coachd_schema(version) VALUES(0)", err, errlen))
            goto fail;
        version = 0;
    }
    if (version > target) {
        snprintf(err, errlen, "database schema v%d is newer than this coachd (v%d)",
                 version, target);
        goto fail;
    }
    for (int v = version; v < target; v++) {
        if (exec_cmd(pg->conn, pg_migrations[v], err, errlen)) goto fail;
        snprintf(sql, sizeof sql, "UPDATE coachd_schema SET version = %d", v + 1);
        if (exec_cmd(pg->conn, sql, err, errlen)) goto fail;
    }
    if (exec_cmd(pg->conn, "COMMIT", err, errlen)) goto fail;
    return 0;
fail:
    exec_cmd(pg->conn, "ROLLBACK", NULL, 0);
    return -1;
}

int store_pg_open(const char *conninfo, struct store_pg **out, char *err, size_t errlen)
{
    struct store_pg *pg = xcalloc(1, sizeof *pg);
    int rc = -1;

    pg->conninfo = xstrdup(conninfo);
    pg->backoff_ms = STORE_PG_BACKOFF_MIN_MS;
    pg->ping_ok = 1;              /* it answered the connect */
    pg->conn = connect_db(conninfo);
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        /* libpq's message names host and port, not the password */
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
                 pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        goto out;
    }
    if (pg_migrate(pg, err, errlen) || prepare_all(pg->conn, err, errlen)) goto out;
    rc = 0;
out:
    if (rc) {
        store_pg_close(pg);
        pg = NULL;
    }
    *out = pg;
    return rc;
}

static void listener_free(struct pg_listener *l);

void store_pg_close(struct store_pg *pg)
{
    if (!pg) return;
    store_pg_async_stop(pg);
    listener_free(pg->listener);
    if (pg->conn) PQfinish(pg->conn);
    free(pg->conninfo);
    free(pg);
}

static void connect_later(struct store_pg *pg);

/* 0 when the connection is usable; re-makes a lost one at most once per
 * backoff interval. */
static int reconnect(struct store_pg *pg)
{
    char err[256];
    uint64_t now = util_now_ms();

    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) return 0;
    if (pg->view || now < pg->next_try_ms) return -1;   /* a view's is the pool's */
    if (pg->worker) {                     /* made on the worker; fail fast meanwhile */
        connect_later(pg);
        return -1;
    }
    if (pg->conn) PQfinish(pg->conn);
    pg->conn = connect_db(pg->conninfo);
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK &&
        prepare_all(pg->conn, err, sizeof err) == 0) {
        fprintf(stderr, "coachd: store(pg): reconnected\n");
        pg->backoff_ms = STORE_PG_BACKOFF_MIN_MS;
        pg->next_try_ms = 0;
        return 0;
    }
    pg->next_try_ms = util_now_ms() + pg->backoff_ms;
    pg->backoff_ms = pg->backoff_ms * 2 > STORE_PG_BACKOFF_MAX_MS ? STORE_PG_BACKOFF_MAX_MS
                                                                : pg->backoff_ms * 2;
    return -1;
}

/* Runs prepared statement q with n text parameters (NULL is SQL NULL).
 * Returns the result when its status is want, else logs, clears and
 * returns NULL. The caller PQclears a returned result. */
static PGresult *run(struct store_pg *pg, int q, int n, const char *const *vals,
                     ExecStatusType want, const char *what)
{
    char name[16];
    PGresult *res;

    if (reconnect(pg)) {
        pg->write_failed = 1;             /* unreachable: nothing can be written */
        return NULL;
    }
    snprintf(name, sizeof name, "q%d", q);
    res = PQexecPrepared(pg->conn, name, n, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == want) return res;
    {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        pg->last_integrity = state && strncmp(state, "23", 2) == 0;
    }
    log_result(what, res, pg->conn);
    PQclear(res);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        pg->next_try_ms = 0;              /* retry at the next call */
        pg->write_failed = 1;
    }
    return NULL;
}

/* Records how a write went, as store.c's note_write: a failure sets
 * write_failed; a write outside a batch, or a batch's COMMIT, clears it. */
static void pg_note_write(struct store_pg *pg, int ok)
{
    if (!ok) pg->write_failed = 1;
    else if (!pg->in_batch) pg->write_failed = 0, pg->wrote = 1;
}

/* run() for a write: notes how it went. A constraint error (a duplicate
 * id, an unknown session) is the caller's mistake, not a database that
 * cannot write; it only counts as a failure inside a batch, whose
 * transaction it aborts. */
static PGresult *run_write(struct store_pg *pg, int q, int n, const char *const *vals,
                           const char *what)
{
    PGresult *res;
    pg->last_integrity = 0;
    res = run(pg, q, n, vals, PGRES_COMMAND_OK, what);
    if (res || !pg->last_integrity || pg->in_batch) pg_note_write(pg, res != NULL);
    return res;
}

int store_pg_write_failing(struct store_pg *pg)
{
    return pg->write_failed;
}

static void probe_later(struct store_pg *pg);

void store_pg_health(struct store_pg *pg, int *writable)
{
    uint64_t now = util_now_ms();
    int up = pg->conn && PQstatus(pg->conn) == CONNECTION_OK;
    /* while failing or disconnected, one probe a second at most sees recovery */
    if (pg->worker) {
        /* the probe runs on the worker (its connection is the one the
         * streaming path writes on); the loop has no connection of its own
         * once the worker runs */
        up = pgw_connected(pg->worker);
        if ((pg->write_failed || !up) && now - pg->probe_ms >= 1000) {
            pg->probe_ms = now;
            probe_later(pg);
        }
        *writable = up && !pg->write_failed;
        return;
    }
    if ((pg->write_failed || !up) && !pg->in_batch && now - pg->probe_ms >= 1000) {
        PGresult *res;
        pg->probe_ms = now;
        res = run_write(pg, P_PROBE, 0, NULL, "probe");
        PQclear(res);
        up = pg->conn && PQstatus(pg->conn) == CONNECTION_OK;
    }
    *writable = up && !pg->write_failed;
}

/* Row count of a command result ("UPDATE 3" -> 3). */
static long changes(PGresult *res)
{
    return strtol(PQcmdTuples(res), NULL, 10);
}

static void ping_later(struct store_pg *pg);

/* With the worker: the last ping's answer (a SELECT 1 on the worker's
 * connection, re-sent when a second old), so /readyz never waits on the
 * server; one unanswered for STORE_PG_PING_STALE_MS (a hung server) counts
 * as down. Without it: a ping in the call. */
int store_pg_ping(struct store_pg *pg)
{
    PGresult *res;
    if (pg->worker) {
        uint64_t now = util_now_ms();
        if (pg->pinging) return pg->ping_ok && now - pg->ping_sent_ms < STORE_PG_PING_STALE_MS;
        if (now - pg->ping_sent_ms >= 1000) ping_later(pg);
        return pg->ping_ok;
    }
    res = run(pg, P_PING, 0, NULL, PGRES_TUPLES_OK, "ping");
    PQclear(res);
    return res != NULL;
}

int store_pg_lease_sweep(struct store_pg *pg, uint64_t now_ms)
{
    char when[24];
    const char *v[1] = {when};
    PGresult *res;
    int n;
    snprintf(when, sizeof when, "%llu", (unsigned long long)now_ms);
    res = run_write(pg, P_RECOVER, 1, v, "lease sweep");
    if (!res) return -1;
    n = (int)changes(res);
    PQclear(res);
    return n;
}

int store_pg_recover(struct store_pg *pg)
{
    return store_pg_lease_sweep(pg, util_wall_ms());
}

void store_pg_set_owner(struct store_pg *pg, const char *instance_id, int lease_ms)
{
    snprintf(pg->owner, sizeof pg->owner, "%s", instance_id);
    pg->lease_ms = lease_ms;
}

int store_pg_lease_renew(struct store_pg *pg, uint64_t now_ms)
{
    char until[24];
    const char *v[2] = {pg->owner, until};
    PGresult *res;
    int n;
    if (!pg->owner[0]) return 0;
    snprintf(until, sizeof until, "%llu", (unsigned long long)(now_ms + (uint64_t)pg->lease_ms));
    res = run_write(pg, P_LEASE_RENEW, 2, v, "lease renew");
    if (!res) return -1;
    n = (int)changes(res);
    PQclear(res);
    return n;
}

static void notify_later(struct store_pg *pg, const char *channel, const char *payload);

int store_pg_notify(struct store_pg *pg, const char *channel, const char *payload)
{
    const char *v[2] = {channel, payload};
    PGresult *res;
    if (pg->worker) {
        notify_later(pg, channel, payload);
        return 0;
    }
    res = run(pg, P_NOTIFY, 2, v, PGRES_TUPLES_OK, "notify");
    PQclear(res);
    return res ? 0 : -1;
}

/* Appends s as one element of a PostgreSQL array literal: "..." with
 * backslash and double quote escaped. */
static void array_elem(struct strbuf *b, const char *s, size_t len)
{
    if (b->len > 1) strbuf_add(b, ",", 1);
    strbuf_add(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') strbuf_add(b, "\\", 1);
        strbuf_add(b, s + i, 1);
    }
    strbuf_add(b, "\"", 1);
}

/* The four array parameters of P_EVENTS_APPEND (ids, seqs, data, the
 * NOTIFY payloads) as NUL-terminated strings in b[0..3] (the caller frees
 * each b[i].s). */
static void append_params(const struct store_event *ev, size_t n, struct strbuf b[4])
{
    struct strbuf one = {0};
    const char *prev = NULL;

    for (int i = 0; i < 4; i++) {
        b[i] = (struct strbuf){0};
        strbuf_add(&b[i], "{", 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (ev[i].data) {                 /* NULL: only the id in the NOTIFY */
            array_elem(&b[0], ev[i].message_id, strlen(ev[i].message_id));
            strbuf_printf(&b[1], "%s%zu", b[1].len > 1 ? "," : "", ev[i].seq);
            array_elem(&b[2], ev[i].data, ev[i].len);
        }
        if (prev && strcmp(prev, ev[i].message_id) == 0) continue;
        prev = ev[i].message_id;
        /* ids only, a payload under NOTIFY's 8,000-byte limit */
        if (one.len + strlen(prev) + 1 > 7800) {
            array_elem(&b[3], one.s, one.len);
            one.len = 0;
        }
        if (one.len) strbuf_add(&one, ",", 1);
        strbuf_str(&one, prev);
    }
    if (one.len) array_elem(&b[3], one.s, one.len);
    for (int i = 0; i < 4; i++) strbuf_add(&b[i], "}", 1);
    free(one.s);
}

int store_pg_events_append(struct store_pg *pg, const struct store_event *ev, size_t n)
{
    struct strbuf b[4];
    const char *v[4];
    PGresult *res;
    int kept = -1;

    if (n == 0) return 0;
    append_params(ev, n, b);
    for (int i = 0; i < 4; i++) v[i] = b[i].s;
    res = run(pg, P_EVENTS_APPEND, 4, v, PGRES_TUPLES_OK, "events append");
    pg_note_write(pg, res != NULL);
    if (res) kept = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    for (int i = 0; i < 4; i++) free(b[i].s);
    return kept;
}

int store_pg_events_since(struct store_pg *pg, const char *message_id, size_t from,
                          json_t **events)
{
    char num[24];
    const char *v[2] = {message_id, num};
    PGresult *res;
    size_t next = from + 1;

    *events = NULL;
    snprintf(num, sizeof num, "%zu", from);
    res = run(pg, P_EVENTS_SINCE, 2, v, PGRES_TUPLES_OK, "events since");
    if (!res) return -1;
    *events = json_array();
    for (int i = 0; i < PQntuples(res) && strtoull(PQgetvalue(res, i, 0), NULL, 10) == next;
         i++, next++)
        json_array_append_new(*events, json_string(PQgetvalue(res, i, 1)));
    PQclear(res);
    return 0;
}

int store_pg_session_create(struct store_pg *pg, const char *id, const char *parent_name,
                            uint64_t now_ms)
{
    char when[24];
    const char *v[3] = {id, parent_name, when};
    PGresult *res;
    snprintf(when, sizeof when, "%llu", (unsigned long long)now_ms);
    res = run_write(pg, P_SESSION_INSERT, 3, v, "session create");
    PQclear(res);
    return res ? 0 : -1;
}

int store_pg_session_exists(struct store_pg *pg, const char *id)
{
    const char *v[1] = {id};
    PGresult *res = run(pg, P_SESSION_EXISTS, 1, v, PGRES_TUPLES_OK, "session exists");
    int rc;
    if (!res) return -1;
    rc = PQntuples(res) > 0;
    PQclear(res);
    return rc;
}

static uint64_t col_u64(const PGresult *res, int row, int col)
{
    return (uint64_t)strtoull(PQgetvalue(res, row, col), NULL, 10);
}

static json_t *json_col(const PGresult *res, int row, int col)
{
    json_t *v;
    if (PQgetisnull(res, row, col)) return json_null();
    v = json_loads(PQgetvalue(res, row, col), 0, NULL);
    return v ? v : json_null();
}

static json_t *pg_message_row(const PGresult *res, int row)
{
    char when[32];
    const char *status = PQgetvalue(res, row, 5);
    json_t *cit = json_col(res, row, 3);
    util_iso8601(col_u64(res, row, 6), when, sizeof when);
    if (json_is_null(cit)) {
        json_decref(cit);
        cit = json_array();
    }
    /* 'pending' rows are live turns: the API calls them streaming. */
    if (strcmp(status, "pending") == 0) status = "streaming";
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o}",
                     "id", PQgetvalue(res, row, 0),
                     "role", PQgetvalue(res, row, 1),
                     "content", PQgetvalue(res, row, 2),
                     "citations", cit,
                     "refusal", json_col(res, row, 4),
                     "status", *status ? status : "complete",
                     "created_at", when,
                     "triage", json_col(res, row, 7));
}

/* The session's own row as {session_id, created_at, parent_name}: *found
 * 1 with it, 0 when there is no such session, -1 on a database error. */
static json_t *session_head(struct store_pg *pg, const char *id, int *found, const char *what)
{
    const char *v[1] = {id};
    PGresult *res = run(pg, P_SESSION_GET, 1, v, PGRES_TUPLES_OK, what);
    json_t *session;
    char when[32];

    *found = -1;
    if (!res) return NULL;
    if (PQntuples(res) == 0) {
        *found = 0;
        PQclear(res);
        return NULL;
    }
    util_iso8601(col_u64(res, 0, 0), when, sizeof when);
    session = json_pack("{s:s, s:s, s:o}", "session_id", id, "created_at", when,
                        "parent_name", PQgetisnull(res, 0, 1)
                            ? json_null() : json_string(PQgetvalue(res, 0, 1)));
    PQclear(res);
    *found = 1;
    return session;
}

json_t *store_pg_session_get(struct store_pg *pg, const char *id, int *found)
{
    const char *v[1] = {id};
    json_t *session = session_head(pg, id, found, "session get"), *msgs;
    PGresult *res;

    if (!session) return NULL;
    *found = -1;
    res = run(pg, P_MESSAGES_GET, 1, v, PGRES_TUPLES_OK, "session get");
    if (!res) {
        json_decref(session);
        return NULL;
    }
    msgs = json_array();
    for (int i = 0; i < PQntuples(res); i++) json_array_append_new(msgs, pg_message_row(res, i));
    json_object_set_new(session, "messages", msgs);
    PQclear(res);
    *found = 1;
    return session;
}

json_t *store_pg_session_page(struct store_pg *pg, const char *id, int limit,
                              const char *before_id, int *found)
{
    const char *v[3] = {id, NULL, NULL};
    char anchor[24] = "9223372036854775807", lim[16];
    json_t *session = session_head(pg, id, found, "session page"), *msgs;
    PGresult *res;
    int n;

    if (!session) return NULL;
    *found = -1;
    if (before_id) {
        const char *a[2] = {before_id, id};
        res = run(pg, P_PAGE_ANCHOR, 2, a, PGRES_TUPLES_OK, "session page");
        if (!res || PQntuples(res) == 0) {
            if (res) *found = 2;           /* not one of its messages */
            PQclear(res);
            json_decref(session);
            return NULL;
        }
        snprintf(anchor, sizeof anchor, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    snprintf(lim, sizeof lim, "%d", limit + 1);   /* one more says whether there is more */
    v[1] = anchor;
    v[2] = lim;
    res = run(pg, P_PAGE, 3, v, PGRES_TUPLES_OK, "session page");
    if (!res) {
        json_decref(session);
        return NULL;
    }
    n = PQntuples(res);
    msgs = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_insert_new(msgs, 0, pg_message_row(res, i));   /* newest last */
    json_object_set_new(session, "messages", msgs);
    json_object_set_new(session, "has_more", json_boolean(n > limit));
    PQclear(res);
    *found = 1;
    return session;
}

long store_pg_session_message_count(struct store_pg *pg, const char *id)
{
    const char *v[1] = {id};
    PGresult *res = run(pg, P_MESSAGE_COUNT, 1, v, PGRES_TUPLES_OK, "message count");
    long n;
    if (!res) return -1;
    n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

int store_pg_session_delete(struct store_pg *pg, const char *id)
{
    const char *v[1] = {id};
    PGresult *res = run_write(pg, P_SESSION_DELETE, 1, v, "session delete");
    int rc;
    if (!res) return -1;
    rc = changes(res) > 0;
    PQclear(res);
    return rc;
}

int store_pg_turn_begin(struct store_pg *pg, const char *session_id, const char *user_msg_id,
                        const char *answer_msg_id, const char *question, uint64_t now_ms)
{
    char when[24], until[24];
    const char *v[7] = {user_msg_id, session_id, answer_msg_id, question, when,
                        pg->owner[0] ? pg->owner : NULL, until};
    PGresult *res;
    snprintf(when, sizeof when, "%llu", (unsigned long long)now_ms);
    snprintf(until, sizeof until, "%llu", (unsigned long long)(now_ms + (uint64_t)pg->lease_ms));
    res = run_write(pg, P_TURN_BEGIN, 7, v, "turn begin");
    PQclear(res);
    return res ? 0 : -1;
}

/* JSON as text for a parameter: NULL for none or null. Free with free(). */
static char *json_param(json_t *v)
{
    return !v || json_is_null(v) ? NULL : jtext_dump(v, NULL);
}

int store_pg_turn_finish(struct store_pg *pg, const char *answer_msg_id,
                         const struct store_turn_result *r, uint64_t now_ms)
{
    char ptok[24], ctok[24], when[24];
    char *cit = json_param(r->citations), *ref = json_param(r->refusal);
    char *ev = json_param(r->events), *tri = json_param(r->triage);
    const char *v[12] = {answer_msg_id, r->content ? r->content : "", r->status, cit, ref, ev,
                         r->engine, r->prompt_version, ptok, ctok, when, tri};
    PGresult *res;
    int rc = -1;

    snprintf(ptok, sizeof ptok, "%ld", r->prompt_tokens);
    snprintf(ctok, sizeof ctok, "%ld", r->completion_tokens);
    snprintf(when, sizeof when, "%llu", (unsigned long long)now_ms);
    res = run_write(pg, P_TURN_FINISH, 12, v, "turn finish");
    if (!res) metrics_inc(METRICS_SAVE_FAILURES);
    else rc = changes(res) > 0 ? 0 : -1;
    PQclear(res);
    free(cit);
    free(ref);
    free(ev);
    free(tri);
    return rc;
}

int store_pg_batch_begin(struct store_pg *pg)
{
    char err[256];
    if (reconnect(pg) || exec_cmd(pg->conn, "BEGIN", err, sizeof err)) {
        fprintf(stderr, "coachd: store(pg): begin: %s\n", pg->conn ? err : "no connection");
        pg_note_write(pg, 0);
        return -1;
    }
    pg->in_batch = 1;
    return 0;
}

/* COMMIT of a transaction that an error aborted answers "ROLLBACK", not an
 * error: only the "COMMIT" tag means the batch was kept. */
int store_pg_batch_commit(struct store_pg *pg)
{
    PGresult *res = NULL;
    int ok = 0;
    pg->in_batch = 0;
    if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
        res = PQexec(pg->conn, "COMMIT");
        ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0;
    }
    if (!ok) {
        log_result("commit", res && PQresultStatus(res) != PGRES_COMMAND_OK ? res : NULL,
                   pg->conn);
        metrics_inc(METRICS_SAVE_FAILURES);
        if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
            exec_cmd(pg->conn, "ROLLBACK", NULL, 0);
    }
    PQclear(res);
    pg_note_write(pg, ok);
    return ok ? 0 : -1;
}

int store_pg_answer_events(struct store_pg *pg, const char *answer_msg_id,
                           char *session_out, size_t session_len,
                           char *status_out, size_t status_len, json_t **events)
{
    const char *v[1] = {answer_msg_id};
    PGresult *res = run(pg, P_ANSWER_EVENTS, 1, v, PGRES_TUPLES_OK, "answer events");
    int found;

    *events = NULL;
    if (!res) return -1;
    found = PQntuples(res) > 0;
    if (found) {
        snprintf(session_out, session_len, "%s", PQgetvalue(res, 0, 0));
        snprintf(status_out, status_len, "%s", PQgetvalue(res, 0, 1));
        *events = json_col(res, 0, 2);
        if (!json_is_array(*events)) {
            json_decref(*events);
            *events = json_array();
        }
    }
    PQclear(res);
    return found;
}

json_t *store_pg_history(struct store_pg *pg, const char *session_id,
                         const char *before_answer_id, int max_msgs)
{
    char lim[16];
    const char *v[3] = {session_id, before_answer_id, lim};
    json_t *arr = json_array();
    PGresult *res;

    snprintf(lim, sizeof lim, "%d", max_msgs);
    res = run(pg, P_HISTORY, 3, v, PGRES_TUPLES_OK, "history");
    for (int i = 0; res && i < PQntuples(res); i++)
        json_array_append_new(arr, json_pack("{s:s, s:s}", "role", PQgetvalue(res, i, 0),
                                             "content", PQgetvalue(res, i, 1)));
    PQclear(res);
    return arr;
}

static long pg_scalar_long(struct store_pg *pg, int q, const char *arg)
{
    const char *v[1] = {arg};
    PGresult *res = run(pg, q, 1, v, PGRES_TUPLES_OK, "token sum");
    long n = 0;
    if (res && PQntuples(res) > 0) n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

long store_pg_tokens_session(struct store_pg *pg, const char *session_id)
{
    return pg_scalar_long(pg, P_TOKENS_SESSION, session_id);
}

long store_pg_tokens_since(struct store_pg *pg, uint64_t since_ms)
{
    char when[24];
    snprintf(when, sizeof when, "%llu", (unsigned long long)since_ms);
    return pg_scalar_long(pg, P_TOKENS_SINCE, when);
}

int store_pg_feedback_set(struct store_pg *pg, const char *answer_msg_id, int helpful,
                          const char *reason, uint64_t now_ms)
{
    char when[24];
    const char *v[4] = {answer_msg_id, helpful ? "1" : "0", reason && *reason ? reason : NULL,
                        when};
    PGresult *res;
    int rc;

    snprintf(when, sizeof when, "%llu", (unsigned long long)now_ms);
    res = run_write(pg, P_FEEDBACK_SET, 4, v, "feedback set");
    if (!res) return -1;
    rc = changes(res) > 0;
    PQclear(res);
    return rc;
}

int store_pg_feedback_attach(struct store_pg *pg, json_t *session)
{
    json_t *msgs = json_object_get(session, "messages"), *m;
    const char *sid = json_string_value(json_object_get(session, "session_id"));
    const char *v[1] = {sid};
    PGresult *res;
    size_t i;

    if (!sid || !json_is_array(msgs)) return -1;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "assistant") == 0) json_object_set_new(m, "feedback", json_null());
    }
    res = run(pg, P_FEEDBACK_GET, 1, v, PGRES_TUPLES_OK, "feedback read");
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *mid = PQgetvalue(res, r, 0);
        char when[32];
        util_iso8601(col_u64(res, r, 3), when, sizeof when);
        json_array_foreach(msgs, i, m) {
            const char *id = json_string_value(json_object_get(m, "id"));
            if (!id || strcmp(id, mid) != 0) continue;
            json_object_set_new(m, "feedback", json_pack("{s:b, s:o, s:s}",
                "helpful", atoi(PQgetvalue(res, r, 1)),
                "reason", PQgetisnull(res, r, 2) ? json_null()
                                                 : json_string(PQgetvalue(res, r, 2)),
                "created_at", when));
            break;
        }
    }
    PQclear(res);
    return 0;
}

/* ---------- the listening connection ----------
 * A second connection, only for LISTEN, read without blocking on the
 * libevent base: PQsocket readable -> PQconsumeInput -> PQnotifies. When it
 * breaks, it is re-made on a timer with the same backoff as the main
 * connection, and cb(NULL) says notifications may have been missed. */

struct pg_listener {
    struct store_pg *pg;
    struct event_base *base;
    store_notify_cb cb;
    void *arg;
    PGconn *conn;
    struct event *read_ev;        /* on PQsocket while connected */
    struct event *retry_ev;       /* reconnect timer */
    unsigned backoff_ms;
};

static void listener_drop(struct pg_listener *l)
{
    if (l->read_ev) event_free(l->read_ev);
    l->read_ev = NULL;
    if (l->conn) PQfinish(l->conn);
    l->conn = NULL;
}

static void listener_free(struct pg_listener *l)
{
    if (!l) return;
    listener_drop(l);
    if (l->retry_ev) event_free(l->retry_ev);
    free(l);
}

static void listener_retry_later(struct pg_listener *l)
{
    struct timeval tv = {l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000};
    listener_drop(l);
    evtimer_add(l->retry_ev, &tv);
    l->backoff_ms = l->backoff_ms * 2 > STORE_PG_BACKOFF_MAX_MS ? STORE_PG_BACKOFF_MAX_MS
                                                                : l->backoff_ms * 2;
}

static void listener_read(evutil_socket_t fd, short what, void *arg)
{
    struct pg_listener *l = arg;
    PGnotify *n;
    if (!PQconsumeInput(l->conn)) {
        fprintf(stderr, "coachd: store(pg): listener connection lost; reconnecting\n");
        listener_retry_later(l);
        return;
    }
    while (l->conn && (n = PQnotifies(l->conn)) != NULL) {
        l->cb(l->arg, n->relname, n->extra);
        PQfreemem(n);
    }
}

/* A connection that LISTENs on the three channels, non-blocking, or NULL.
 * Blocks (bounded by STORE_PG_CONNECT_TIMEOUT_S): at start-up on the loop,
 * later on the worker. */
static PGconn *listen_conn(const char *conninfo)
{
    char err[256];
    PGconn *c = connect_db(conninfo);
    if (!c || PQstatus(c) != CONNECTION_OK ||
        exec_cmd(c, "LISTEN coachd_events; LISTEN coachd_stop; LISTEN coachd_deleted; "
                 "LISTEN coachd_session",
                 err, sizeof err) || PQsetnonblocking(c, 1)) {
        if (c) PQfinish(c);
        return NULL;
    }
    return c;
}

/* Installs a listening connection (owned from now on). */
static void listener_install(struct pg_listener *l, PGconn *c)
{
    l->conn = c;
    l->read_ev = event_new(l->base, PQsocket(l->conn), EV_READ | EV_PERSIST, listener_read, l);
    event_add(l->read_ev, NULL);
    l->backoff_ms = STORE_PG_BACKOFF_MIN_MS;
}

static int listener_connect(struct pg_listener *l)
{
    PGconn *c = listen_conn(l->pg->conninfo);
    if (!c) return -1;
    listener_install(l, c);
    return 0;
}

static void listener_connected(struct pg_listener *l, PGconn *c)
{
    if (!c) {
        listener_retry_later(l);
        return;
    }
    listener_install(l, c);
    fprintf(stderr, "coachd: store(pg): listener reconnected\n");
    l->cb(l->arg, NULL, NULL);
}

static void listen_later(struct pg_listener *l);

static void listener_retry(evutil_socket_t fd, short what, void *arg)
{
    struct pg_listener *l = arg;
    if (l->pg->worker) listen_later(l);    /* the connect runs on the worker */
    else listener_connected(l, listen_conn(l->pg->conninfo));
}

int store_pg_listen(struct store_pg *pg, struct event_base *base, store_notify_cb cb, void *arg)
{
    struct pg_listener *l = xcalloc(1, sizeof *l);
    l->pg = pg;
    l->base = base;
    l->cb = cb;
    l->arg = arg;
    l->backoff_ms = STORE_PG_BACKOFF_MIN_MS;
    l->retry_ev = evtimer_new(base, listener_retry, l);
    listener_free(pg->listener);
    pg->listener = l;
    if (listener_connect(l)) {
        listener_retry_later(l);
        return -1;
    }
    return 0;
}

int store_pg_events_prune(struct store_pg *pg, uint64_t before_ms, int limit)
{
    char when[24], lim[16];
    const char *v[2] = {when, lim};
    PGresult *res;
    int n;
    snprintf(when, sizeof when, "%llu", (unsigned long long)before_ms);
    snprintf(lim, sizeof lim, "%d", limit);
    res = run_write(pg, P_EVENTS_PRUNE, 2, v, "events prune");
    if (!res) return -1;
    n = (int)changes(res);
    PQclear(res);
    return n;
}

/* ---------- off the loop: jobs for the worker (pgworker.h) ----------
 * Each job's parameters are copied here on the loop; run() executes them
 * on the worker's connection (wexec: the statements are prepared there
 * by worker_open); done() is back on the loop: it notes how the write went
 * (write_failed, metrics) and calls the caller. */

/* The worker's connection: connected and prepared, or NULL. */
static PGconn *worker_open(void *arg)
{
    struct store_pg *pg = arg;
    char err[256];
    PGconn *c = connect_db(pg->conninfo);
    if (c && PQstatus(c) == CONNECTION_OK) pgw_note_socket(c);   /* cut if stop gives up */
    if (c && PQstatus(c) == CONNECTION_OK && prepare_all(c, err, sizeof err) == 0) return c;
    pgw_note_socket(NULL);
    if (c) PQfinish(c);
    return NULL;
}

/* Marks the job's connection as going away when a failed result says so
 * (no result, SQLSTATE class 08 or 57P: a restart, a terminated backend). */
static void note_lost(struct pgw_job *j, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state || strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
        j->conn_lost = 1;
}

/* run() on the worker: the result when its status is want, else NULL
 * (logged; note_lost). conn NULL (down) is a failure. */
static PGresult *wexec(PGconn *conn, struct pgw_job *j, int q, int n, const char *const *vals,
                       ExecStatusType want, const char *what)
{
    char name[16];
    PGresult *res;
    if (!conn) return NULL;
    snprintf(name, sizeof name, "q%d", q);
    res = PQexecPrepared(conn, name, n, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == want) return res;
    note_lost(j, res);
    log_result(what, res, conn);
    PQclear(res);
    return NULL;
}

int store_pg_async_running(struct store_pg *pg)
{
    return pg->worker != NULL;
}

unsigned store_pg_async_pending(struct store_pg *pg)
{
    unsigned n = pg->worker ? pgw_pending(pg->worker) : 0;
    for (int i = 0; i < STORE_PG_POOL; i++) n += pg->pool[i] ? pgw_pending(pg->pool[i]) : 0;
    return n;
}

int store_pg_async_start(struct store_pg *pg, struct event_base *base)
{
    if (pg->worker) return 0;
    pg->base = base;
    pg->worker = pgw_start(base, worker_open, pg);
    for (int i = 0; pg->worker && i < STORE_PG_POOL; i++)
        if (!(pg->pool[i] = pgw_start(base, worker_open, pg))) {
            store_pg_async_stop(pg);
            return -1;
        }
    /* from here on nothing runs on the loop's own connection (every call
     * of the request path is a store_pg_call): close it */
    if (pg->worker && pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    return pg->worker ? 0 : -1;
}

void store_pg_calls_stop(struct store_pg *pg)
{
    for (int i = 0; i < STORE_PG_POOL; i++) pgw_stop_soon(pg->pool[i]);
    for (int i = 0; i < STORE_PG_POOL; i++) {
        struct pgw *w = pg->pool[i];
        pg->pool[i] = NULL;        /* what the done functions call runs inline */
        pgw_stop(w);
    }
}

void store_pg_async_stop(struct store_pg *pg)
{
    struct pgw *w = pg->worker;
    store_pg_calls_stop(pg);
    pg->worker = NULL;             /* what the done functions submit runs inline */
    pgw_stop(w);
}

/* ---------- the request path on the pool ----------
 * A call runs fn on a copy of the store (the view) whose connection is
 * the pool thread's; the copy is made on the loop when the call is made
 * (owner, lease), so the thread reads nothing the loop writes. How its
 * writes went is carried back to the store in call_done, on the loop.
 * The timer answers for a call the server does not answer in time. */
struct call_job {
    struct pgw_job job;
    struct store_pg *pg;
    struct store_pg view;
    store_pg_call_fn fn;
    store_pg_done_fn done;
    void *arg;
    struct event *timer;
    int timed_out;
};

static void call_run(struct pgw_job *j, PGconn *conn)
{
    struct call_job *c = (struct call_job *)j;
    c->view.conn = conn;
    c->view.write_failed = c->view.wrote = c->view.in_batch = 0;
    if (!conn) c->view.write_failed = 1;   /* down: fail fast (run() sees no connection) */
    c->fn(&c->view, c->arg);
    c->view.conn = NULL;
}

static void call_done(struct pgw_job *j)
{
    struct call_job *c = (struct call_job *)j;
    struct store_pg *pg = c->pg;
    if (c->timer) event_free(c->timer);
    if (c->view.write_failed) pg->write_failed = 1;
    else if (c->view.wrote) pg->write_failed = 0;
    c->done(c->arg, c->timed_out ? STORE_CALL_LATE : STORE_CALL_DONE);
    free(c);
}

static void call_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct call_job *c = arg;
    (void)fd; (void)what;
    c->timed_out = 1;
    metrics_inc(METRICS_SAVE_FAILURES);
    c->done(c->arg, STORE_CALL_TIMEOUT);
}

void store_pg_call(struct store_pg *pg, const char *key, store_pg_call_fn fn,
                   store_pg_done_fn done, void *arg)
{
    struct call_job *c;
    struct timeval tv = {STORE_CALL_TIMEOUT_MS / 1000, (STORE_CALL_TIMEOUT_MS % 1000) * 1000};
    unsigned slot = key ? util_hash(key, strlen(key)) % STORE_PG_POOL : 0;
    if (!pg->pool[slot]) {                 /* before start, after stop: in the call */
        fn(pg, arg);
        done(arg, STORE_CALL_DONE);
        return;
    }
    c = xcalloc(1, sizeof *c);
    c->job = (struct pgw_job){.run = call_run, .done = call_done, .no_retry = 1};
    c->pg = pg;
    c->view = *pg;
    c->view.view = 1;
    c->view.conn = NULL;
    c->view.worker = NULL;
    c->view.listener = NULL;
    memset(c->view.pool, 0, sizeof c->view.pool);
    c->fn = fn;
    c->done = done;
    c->arg = arg;
    c->timer = evtimer_new(pg->base, call_timeout, c);
    if (c->timer) evtimer_add(c->timer, &tv);
    pgw_submit(pg->pool[slot], &c->job);
}

/* connects: the loop's connection or the listener's */
struct connect_job {
    struct pgw_job job;
    struct store_pg *pg;
    struct pg_listener *listener; /* NULL: the loop's connection */
    PGconn *conn;                 /* the result, or NULL */
};

static void connect_run(struct pgw_job *j, PGconn *unused)
{
    struct connect_job *c = (struct connect_job *)j;
    c->conn = c->listener ? listen_conn(c->pg->conninfo) : worker_open(c->pg);
}

static void connect_done(struct pgw_job *j)
{
    struct connect_job *c = (struct connect_job *)j;
    struct store_pg *pg = c->pg;
    if (c->listener) {
        listener_connected(c->listener, c->conn);
    } else {
        pg->connecting = 0;
        if (c->conn) {
            if (pg->conn) PQfinish(pg->conn);
            pg->conn = c->conn;
            fprintf(stderr, "coachd: store(pg): reconnected\n");
            pg->backoff_ms = STORE_PG_BACKOFF_MIN_MS;
            pg->next_try_ms = 0;
        } else {
            pg->next_try_ms = util_now_ms() + pg->backoff_ms;
            pg->backoff_ms = pg->backoff_ms * 2 > STORE_PG_BACKOFF_MAX_MS
                                 ? STORE_PG_BACKOFF_MAX_MS : pg->backoff_ms * 2;
        }
    }
    free(c);
}

static void connect_later(struct store_pg *pg)
{
    struct connect_job *c;
    if (pg->connecting) return;
    c = xcalloc(1, sizeof *c);
    c->job = (struct pgw_job){.run = connect_run, .done = connect_done};
    c->pg = pg;
    pg->connecting = 1;
    pgw_submit(pg->worker, &c->job);
}

static void listen_later(struct pg_listener *l)
{
    struct connect_job *c = xcalloc(1, sizeof *c);
    c->job = (struct pgw_job){.run = connect_run, .done = connect_done};
    c->pg = l->pg;
    c->listener = l;
    pgw_submit(l->pg->worker, &c->job);
}

/* a write that changes nothing, and NOTIFY: one statement each */
struct stmt_job {
    struct pgw_job job;
    struct store_pg *pg;
    int q, n, ok;
    char *v[2];
};

static void stmt_run(struct pgw_job *j, PGconn *conn)
{
    struct stmt_job *s = (struct stmt_job *)j;
    PGresult *res = wexec(conn, j, s->q, s->n, (const char *const *)s->v,
                          s->q == P_PROBE ? PGRES_COMMAND_OK : PGRES_TUPLES_OK,
                          s->q == P_PROBE ? "probe" : s->q == P_PING ? "ping" : "notify");
    s->ok = res != NULL;
    PQclear(res);
}

static void stmt_done(struct pgw_job *j)
{
    struct stmt_job *s = (struct stmt_job *)j;
    if (s->q == P_PROBE) {
        s->pg->probing = 0;
        pg_note_write(s->pg, s->ok);
    } else if (s->q == P_PING) {
        s->pg->pinging = 0;
        s->pg->ping_ok = s->ok;
    }
    free(s->v[0]);
    free(s->v[1]);
    free(s);
}

static struct stmt_job *stmt_job_new(struct store_pg *pg, int q)
{
    struct stmt_job *s = xcalloc(1, sizeof *s);
    s->job = (struct pgw_job){.run = stmt_run, .done = stmt_done};
    s->pg = pg;
    s->q = q;
    return s;
}

static void probe_later(struct store_pg *pg)
{
    if (pg->probing) return;
    pg->probing = 1;
    pgw_submit(pg->worker, &stmt_job_new(pg, P_PROBE)->job);
}

static void ping_later(struct store_pg *pg)
{
    pg->pinging = 1;
    pg->ping_sent_ms = util_now_ms();
    pgw_submit(pg->worker, &stmt_job_new(pg, P_PING)->job);
}

static void notify_later(struct store_pg *pg, const char *channel, const char *payload)
{
    struct stmt_job *s = stmt_job_new(pg, P_NOTIFY);
    s->n = 2;
    s->v[0] = xstrdup(channel);
    s->v[1] = xstrdup(payload);
    pgw_submit(pg->worker, &s->job);
}

/* an event batch */
struct append_job {
    struct pgw_job job;
    struct store_pg *pg;
    char *v[4];
    int kept;
    store_append_cb cb;
    void *arg;
};

static void append_run(struct pgw_job *j, PGconn *conn)
{
    struct append_job *a = (struct append_job *)j;
    PGresult *res = wexec(conn, j, P_EVENTS_APPEND, 4, (const char *const *)a->v, PGRES_TUPLES_OK,
                          "events append");
    a->kept = res ? atoi(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
}

static void append_done(struct pgw_job *j)
{
    struct append_job *a = (struct append_job *)j;
    pg_note_write(a->pg, a->kept >= 0);
    if (a->cb) a->cb(a->arg, a->kept);
    for (int i = 0; i < 4; i++) free(a->v[i]);
    free(a);
}

void store_pg_events_append_async(struct store_pg *pg, const struct store_event *ev, size_t n,
                                  store_append_cb cb, void *arg)
{
    struct append_job *a;
    struct strbuf b[4];
    if (n == 0) {
        if (cb) cb(arg, 0);
        return;
    }
    a = xcalloc(1, sizeof *a);
    a->job = (struct pgw_job){.run = append_run, .done = append_done};
    a->pg = pg;
    a->cb = cb;
    a->arg = arg;
    append_params(ev, n, b);
    for (int i = 0; i < 4; i++) a->v[i] = b[i].s;   /* taken over */
    pgw_submit(pg->worker, &a->job);
}

/* end-of-turn saves: one transaction, committed durably */
#define SAVE_PARAMS 12
struct save_job {
    struct pgw_job job;
    struct store_pg *pg;
    size_t n;
    char **ids;
    char *(*v)[SAVE_PARAMS];
    int *rcs;
    int ok;
    store_save_cb cb;
    void *arg;
};

static void save_run(struct pgw_job *j, PGconn *conn)
{
    struct save_job *s = (struct save_job *)j;
    PGresult *res = NULL;

    s->ok = 0;
    if (!conn) goto out;
    /* the connection's default is synchronous_commit=off (event batches:
     * a crash of the server may lose the last few); done means saved, so
     * this commit waits for the WAL flush, on the worker */
    res = PQexec(conn, "BEGIN; SET LOCAL synchronous_commit TO on");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        note_lost(j, res);
        log_result("save begin", res, conn);
        PQclear(res);
        res = NULL;
        goto out;
    }
    PQclear(res);
    res = NULL;
    for (size_t i = 0; i < s->n; i++) {
        res = wexec(conn, j, P_TURN_FINISH, SAVE_PARAMS, (const char *const *)s->v[i],
                    PGRES_COMMAND_OK, "turn finish");
        if (!res) goto out;
        s->rcs[i] = changes(res) > 0 ? 0 : 1;
        PQclear(res);
    }
    res = PQexec(conn, "COMMIT");
    s->ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0;
    if (!s->ok && PQresultStatus(res) != PGRES_COMMAND_OK) note_lost(j, res);
    if (!s->ok) log_result("commit", PQresultStatus(res) != PGRES_COMMAND_OK ? res : NULL, conn);
    PQclear(res);
out:
    if (!s->ok) {
        if (conn && PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
            exec_cmd(conn, "ROLLBACK", NULL, 0);
        for (size_t i = 0; i < s->n; i++) s->rcs[i] = -1;
    }
}

static void save_done(struct pgw_job *j)
{
    struct save_job *s = (struct save_job *)j;
    pg_note_write(s->pg, s->ok);
    if (!s->ok) metrics_inc(METRICS_SAVE_FAILURES);
    if (s->cb) s->cb(s->arg, (const char *const *)s->ids, s->rcs, s->n);
    for (size_t i = 0; i < s->n; i++) {
        free(s->ids[i]);
        for (int k = 0; k < SAVE_PARAMS; k++) free(s->v[i][k]);
    }
    free(s->ids);
    free(s->v);
    free(s->rcs);
    free(s);
}

static char *dup_or_null(const char *p)
{
    return p ? xstrdup(p) : NULL;
}

void store_pg_turns_finish_async(struct store_pg *pg, const struct store_save *in, size_t n,
                                 uint64_t now_ms, store_save_cb cb, void *arg)
{
    struct save_job *s = xcalloc(1, sizeof *s);
    char num[24];

    s->job = (struct pgw_job){.run = save_run, .done = save_done};
    s->pg = pg;
    s->n = n;
    s->cb = cb;
    s->arg = arg;
    s->ids = xcalloc(n, sizeof *s->ids);
    s->v = xcalloc(n, sizeof *s->v);
    s->rcs = xcalloc(n, sizeof *s->rcs);
    for (size_t i = 0; i < n; i++) {
        const struct store_turn_result *r = &in[i].r;
        char **v = s->v[i];
        s->ids[i] = xstrdup(in[i].answer_msg_id);
        v[0] = xstrdup(in[i].answer_msg_id);
        v[1] = xstrdup(r->content ? r->content : "");
        v[2] = dup_or_null(r->status);
        v[3] = json_param(r->citations);
        v[4] = json_param(r->refusal);
        v[5] = json_param(r->events);
        v[6] = dup_or_null(r->engine);
        v[7] = dup_or_null(r->prompt_version);
        snprintf(num, sizeof num, "%ld", r->prompt_tokens);
        v[8] = xstrdup(num);
        snprintf(num, sizeof num, "%ld", r->completion_tokens);
        v[9] = xstrdup(num);
        snprintf(num, sizeof num, "%llu", (unsigned long long)now_ms);
        v[10] = xstrdup(num);
        v[11] = json_param(r->triage);
    }
    pgw_submit(pg->worker, &s->job);
}

/* the tick: lease renewal, sweep, prune */
struct tick_job {
    struct pgw_job job;
    struct store_pg *pg;
    char owner[64], until[24], now[24], before[24];
    int fixed, pruned, ok;
    store_tick_cb cb;
    void *arg;
};

static long changes_or(PGresult *res)
{
    long n = res ? changes(res) : -1;
    PQclear(res);
    return n;
}

static void tick_run(struct pgw_job *j, PGconn *conn)
{
    struct tick_job *t = (struct tick_job *)j;
    char lim[16];
    const char *renew[2] = {t->owner, t->until}, *sweep[1] = {t->now}, *prune[2] = {t->before, lim};
    long renewed = 0;
    snprintf(lim, sizeof lim, "%d", STORE_PRUNE_ROWS);
    if (t->owner[0])
        renewed = changes_or(wexec(conn, j, P_LEASE_RENEW, 2, renew, PGRES_COMMAND_OK, "lease renew"));
    t->fixed = (int)changes_or(wexec(conn, j, P_RECOVER, 1, sweep, PGRES_COMMAND_OK, "lease sweep"));
    t->pruned = (int)changes_or(wexec(conn, j, P_EVENTS_PRUNE, 2, prune, PGRES_COMMAND_OK,
                                      "events prune"));
    t->ok = renewed >= 0 && t->fixed >= 0 && t->pruned >= 0;
}

static void tick_done(struct pgw_job *j)
{
    struct tick_job *t = (struct tick_job *)j;
    pg_note_write(t->pg, t->ok);
    if (t->cb) t->cb(t->arg, t->fixed, t->pruned);
    free(t);
}

void store_pg_tick_async(struct store_pg *pg, uint64_t now_ms, store_tick_cb cb, void *arg)
{
    struct tick_job *t = xcalloc(1, sizeof *t);
    t->job = (struct pgw_job){.run = tick_run, .done = tick_done};
    t->pg = pg;
    t->cb = cb;
    t->arg = arg;
    snprintf(t->owner, sizeof t->owner, "%s", pg->owner);
    snprintf(t->until, sizeof t->until, "%llu",
             (unsigned long long)(now_ms + (uint64_t)pg->lease_ms));
    snprintf(t->now, sizeof t->now, "%llu", (unsigned long long)now_ms);
    snprintf(t->before, sizeof t->before, "%llu",
             (unsigned long long)(now_ms > STORE_PRUNE_GRACE_MS ? now_ms - STORE_PRUNE_GRACE_MS : 0));
    pgw_submit(pg->worker, &t->job);
}
