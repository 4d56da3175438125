/* store.c — SQLite persistence for sessions and messages, and the
 * dispatch to store_pg.c: when store_open is given a PostgreSQL URL, every
 * call below begins by handing over to its store_pg_ namesake.
 *
 * Schema versions are tracked with PRAGMA user_version and applied in order
 * by migrate(); every statement is prepared once at open and reused.
 * A question is committed (with a 'pending' answer row) before any answer
 * text is produced, and the answer row is completed in a single UPDATE when
 * the turn ends, so a crash loses nothing that was acknowledged: start-up
 * turns leftover 'pending' rows into 'incomplete', with the words their
 * events (stored in batches as they are shown, v4) hold. secure_delete is on so
 * that a deleted conversation is overwritten, not just unlinked.
 *
 * Checkpoints run on a thread of their own. In WAL mode with
 * synchronous=NORMAL a commit is a write to the WAL without fsync, but
 * SQLite's automatic checkpoint (copying the WAL back into the database,
 * with fsync) runs inside whichever commit crosses 1,000 pages: on the
 * event loop, holding every stream for milliseconds to tens of them. So the
 * automatic checkpoint is replaced by a WAL hook that, past STORE_CKPT_PAGES,
 * wakes a checkpointer thread with its own connection; it runs PASSIVE
 * checkpoints, which never block the loop's writer. The thread also
 * checkpoints every few seconds while idle. Nothing else leaves the loop. */
#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "jtext.h"
#include "metrics.h"
#include "store_pg.h"
#include "store_schema.h"
#include "util.h"

enum {
    Q_SESSION_INSERT, Q_SESSION_EXISTS, Q_SESSION_GET, Q_MESSAGES_GET,
    Q_SESSION_DELETE, Q_MSG_INSERT, Q_NEXT_SEQ, Q_TURN_FINISH, Q_ANSWER_EVENTS,
    Q_HISTORY, Q_TOKENS_SESSION, Q_TOKENS_SINCE, Q_RECOVER, Q_EVENT_INSERT, Q_EVENTS_SINCE,
    Q_EVENTS_PRUNE, Q__COUNT
};

static const char *const sql_text[Q__COUNT] = {
    [Q_SESSION_INSERT] = "INSERT INTO sessions(id, parent_name, created_at) VALUES(?1, ?2, ?3)",
    [Q_SESSION_EXISTS] = "SELECT 1 FROM sessions WHERE id = ?1",
    [Q_SESSION_GET] = "SELECT created_at, parent_name FROM sessions WHERE id = ?1",
    [Q_MESSAGES_GET] =
        "SELECT id, role, content, citations, refusal, status, created_at, triage "
        "FROM messages WHERE session_id = ?1 ORDER BY seq",
    [Q_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
    [Q_MSG_INSERT] =
        "INSERT INTO messages(id, session_id, seq, role, content, status, created_at, owner, "
        "lease_until) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_NEXT_SEQ] = "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE session_id = ?1",
    [Q_TURN_FINISH] =
        "UPDATE messages SET content = ?2, status = ?3, citations = ?4, refusal = ?5, "
        "events = ?6, engine = ?7, prompt_version = ?8, prompt_tokens = ?9, "
        "completion_tokens = ?10, finished_at = ?11, triage = ?12 "
        "WHERE id = ?1 AND role = 'assistant'",
    [Q_ANSWER_EVENTS] =
        "SELECT session_id, status, events FROM messages WHERE id = ?1 AND role = 'assistant'",
    [Q_HISTORY] =
        "SELECT role, content FROM (SELECT seq, role, content FROM messages "
        "WHERE session_id = ?1 AND seq < (SELECT seq FROM messages WHERE id = ?2) - 1 "
        "AND status != 'pending' AND refusal IS NULL AND content != '' "
        "ORDER BY seq DESC LIMIT ?3) ORDER BY seq",
    [Q_TOKENS_SESSION] =
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM messages "
        "WHERE session_id = ?1",
    [Q_TOKENS_SINCE] =
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM messages "
        "WHERE finished_at >= ?1",
    /* a crashed answer keeps the words its event log had saved (v4) */
    [Q_RECOVER] =
        "UPDATE messages SET status = 'incomplete', "
        "content = COALESCE((SELECT group_concat(c, '') FROM (SELECT json_extract(data, '$.chunk') "
        "AS c FROM events WHERE message_id = messages.id ORDER BY seq)), ''), "
        "events = (SELECT json_group_array(data) FROM (SELECT data FROM events "
        "WHERE message_id = messages.id ORDER BY seq)) "
        "WHERE status = 'pending'",
    [Q_EVENT_INSERT] = "INSERT OR IGNORE INTO events(message_id, seq, data) VALUES(?1, ?2, ?3)",
    [Q_EVENTS_SINCE] =
        "SELECT seq, data FROM events WHERE message_id = ?1 AND seq > ?2 ORDER BY seq",
    /* a finished answer's row holds its whole log: its event rows can go */
    [Q_EVENTS_PRUNE] =
        "DELETE FROM events WHERE (message_id, seq) IN (SELECT e.message_id, e.seq "
        "FROM events e JOIN messages m ON m.id = e.message_id WHERE m.status != 'pending' "
        "AND COALESCE(m.finished_at, m.created_at) < ?1 LIMIT ?2)",
};

/* the versions (store_schema.h), in SQLite's dialect */
static const char *const migrations[] = STORE_SCHEMA_MIGRATIONS("INTEGER", " WITHOUT ROWID");

struct store {
    struct store_pg *pg;          /* set: every call goes to store_pg.c */
    char owner[64];               /* this instance (store_set_owner) */
    int lease_ms;
    sqlite3 *db;
    sqlite3_stmt *q[Q__COUNT];
    char path[4096];              /* as opened, for the free-space check */
    int write_failed;             /* the last write failed (cleared by a commit) */
    uint64_t probe_ms;            /* when store_health last tried a write */
    /* the checkpointer (only when the database is a WAL file) */
    pthread_t ckpt;
    int ckpt_started;
    pthread_mutex_t mu;           /* guards the fields below */
    pthread_cond_t cv;
    int ckpt_due, ckpt_stop;
    int purge_due;                /* a delete asked for a TRUNCATE checkpoint */
    unsigned long ckpt_done;      /* checkpoints that ran (store_checkpoints) */
};

/* Runs on the loop thread after each commit: wakes the checkpointer when
 * the WAL has grown past STORE_CKPT_PAGES. Installing it switches SQLite's
 * own automatic checkpoint off. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct store *st = arg;
    (void)db; (void)name;
    if (pages >= STORE_CKPT_PAGES) {
        pthread_mutex_lock(&st->mu);
        if (!st->ckpt_due) {
            st->ckpt_due = 1;
            pthread_cond_signal(&st->cv);
        }
        pthread_mutex_unlock(&st->mu);
    }
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    struct store *st = arg;
    sqlite3 *db = NULL;

    /* the main connection's file name stays valid: it closes after the join */
    if (sqlite3_open_v2(sqlite3_db_filename(st->db, "main"), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf(stderr, "coachd: store: checkpointer cannot open the database; the WAL will grow\n");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 1000);
    /* a connection only finds the WAL once it has read the database; until
     * then a checkpoint quietly does nothing */
    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    pthread_mutex_lock(&st->mu);
    while (!st->ckpt_stop) {
        if (!st->ckpt_due) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += STORE_CKPT_IDLE_S;
            if (pthread_cond_timedwait(&st->cv, &st->mu, &until) == ETIMEDOUT) st->ckpt_due = 1;
            continue;
        }
        int purge = st->purge_due, rc = SQLITE_OK;
        st->ckpt_due = st->purge_due = 0;
        pthread_mutex_unlock(&st->mu);
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        /* after a delete: the PASSIVE pass above did the copying without
         * blocking the loop's writer; TRUNCATE, which holds writers off
         * while it runs, then has only the rest to copy, and cuts the WAL
         * (with the deleted text in its older frames) to nothing */
        if (purge) rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        pthread_mutex_lock(&st->mu);
        if (rc != SQLITE_OK) st->purge_due = 1;   /* busy: again at the next run */
        st->ckpt_done++;
    }
    pthread_mutex_unlock(&st->mu);
    sqlite3_close(db);
    return NULL;
}

/* Starts the checkpointer when the database is a WAL file. */
static void ckpt_start(struct store *st)
{
    sqlite3_stmt *s = NULL;
    int wal = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        wal = strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!wal) return;
    sqlite3_wal_hook(st->db, wal_hook, st);
    if (pthread_create(&st->ckpt, NULL, ckpt_main, st) == 0) {
        st->ckpt_started = 1;
        return;
    }
    sqlite3_wal_autocheckpoint(st->db, 1000);     /* no thread: SQLite's own */
}

unsigned long store_checkpoints(struct store *st)
{
    unsigned long n;
    if (st->pg) return 0;
    pthread_mutex_lock(&st->mu);
    n = st->ckpt_done;
    pthread_mutex_unlock(&st->mu);
    return n;
}

static int exec(struct store *st, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err) snprintf(err, errlen, "%s", msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int migrate(struct store *st, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int version = 0, target = (int)(sizeof migrations / sizeof migrations[0]);
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) == SQLITE_ROW) version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > target) {
        snprintf(err, errlen, "database schema v%d is newer than this coachd (v%d)",
                 version, target);
        return -1;
    }
    for (int v = version; v < target; v++) {
        char sql[64];
        if (exec(st, "BEGIN IMMEDIATE", err, errlen)) return -1;
        if (exec(st, migrations[v], err, errlen)) {
            exec(st, "ROLLBACK", NULL, 0);
            return -1;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (exec(st, sql, err, errlen) || exec(st, "COMMIT", err, errlen)) {
            exec(st, "ROLLBACK", NULL, 0);
            return -1;
        }
    }
    return 0;
fail:
    snprintf(err, errlen, "%s", sqlite3_errmsg(st->db));
    return -1;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
    struct store *st = xcalloc(1, sizeof *st);
    int rc = -1;

    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    if (store_pg_is_conninfo(path)) {
        if (store_pg_schema_target() != (int)(sizeof migrations / sizeof migrations[0])) {
            snprintf(err, errlen, "PostgreSQL schema v%d does not match SQLite's v%d",
                     store_pg_schema_target(), (int)(sizeof migrations / sizeof migrations[0]));
            goto out;
        }
        rc = store_pg_open(path, &st->pg, err, errlen);
        goto out;
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto out;
    }
    snprintf(st->path, sizeof st->path, "%s", path);
    sqlite3_busy_timeout(st->db, 5000);
    if (exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                 "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;", err, errlen))
        goto out;
    if (migrate(st, err, errlen)) goto out;
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &st->q[i], NULL) != SQLITE_OK) {
            snprintf(err, errlen, "preparing statement %d: %s", i, sqlite3_errmsg(st->db));
            goto out;
        }
    }
    ckpt_start(st);
    rc = 0;
out:
    if (rc) {
        store_close(st);
        st = NULL;
    }
    *out = st;
    return rc;
}

void store_close(struct store *st)
{
    if (!st) return;
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->mu);
        st->ckpt_stop = 1;
        pthread_cond_signal(&st->cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->ckpt, NULL);
    }
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    store_pg_close(st->pg);
    for (int i = 0; i < Q__COUNT; i++) sqlite3_finalize(st->q[i]);
    if (st->db) {
        sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        sqlite3_close(st->db);
    }
    free(st);
}

/* Returns the prepared statement, reset and unbound, ready to bind. */
static sqlite3_stmt *stmt(struct store *st, int which)
{
    sqlite3_stmt *s = st->q[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static void log_sql_error(struct store *st, const char *what)
{
    fprintf(stderr, "coachd: store: %s: %s\n", what, sqlite3_errmsg(st->db));
}

/* Records how a write went: a failure sets write_failed; a write that
 * reached the database (autocommit, or a COMMIT) clears it. Writes inside
 * a batch are only known to be safe at its COMMIT. */
static void note_write(struct store *st, int ok)
{
    if (!ok) st->write_failed = 1;
    else if (sqlite3_get_autocommit(st->db)) st->write_failed = 0;
}

int store_ping(struct store *st)
{
    if (st->pg) return store_pg_ping(st->pg);
    sqlite3_stmt *s = stmt(st, Q_NEXT_SEQ);
    int ok;
    sqlite3_bind_text(s, 1, "", -1, SQLITE_STATIC);
    ok = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    return ok;
}

int store_write_failing(struct store *st)
{
    if (st->pg) return store_pg_write_failing(st->pg);
    return st->write_failed;
}

/* One page written and committed: the user_version cookie set to the value
 * it has, which SQLite still writes (page 1 goes to the WAL). */
static void probe_write(struct store *st)
{
    sqlite3_stmt *s = NULL;
    int v = 0;
    char sql[64];
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
    note_write(st, exec(st, sql, NULL, 0) == 0);
}

void store_health(struct store *st, struct store_health *h)
{
    struct statvfs vfs;
    int moved = 0;
    uint64_t now = util_now_ms();
    char dir[sizeof st->path];

    if (st->pg) {
        store_pg_health(st->pg, &h->writable);
        h->disk_full = 0;
        h->file_present = 1;
        h->free_bytes = 0;
        return;
    }
    if (st->write_failed && now - st->probe_ms >= 1000) {
        st->probe_ms = now;
        probe_write(st);
    }
    h->writable = !st->write_failed;
    /* SQLite's unix VFS answers 1 when the path no longer names the inode
     * it opened: the file was deleted (its last link) or replaced. */
    if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK)
        moved = 0;
    h->file_present = !moved;
    snprintf(dir, sizeof dir, "%s", st->path);
    if (statvfs(st->path, &vfs) == 0 || statvfs(dirname(dir), &vfs) == 0) {
        h->free_bytes = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        h->disk_full = h->free_bytes < STORE_MIN_FREE_BYTES;
    } else {
        h->free_bytes = 0;
        h->disk_full = 0;     /* unknown: the write checks still count */
    }
}

int store_recover(struct store *st)
{
    if (st->pg) return store_pg_recover(st->pg);
    sqlite3_stmt *s = stmt(st, Q_RECOVER);
    if (sqlite3_step(s) != SQLITE_DONE) {
        log_sql_error(st, "recover");
        return -1;
    }
    return sqlite3_changes(st->db);
}

int store_session_create(struct store *st, const char *id, const char *parent_name,
                         uint64_t now_ms)
{
    if (st->pg) return store_pg_session_create(st->pg, id, parent_name, now_ms);
    sqlite3_stmt *s = stmt(st, Q_SESSION_INSERT);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (parent_name) sqlite3_bind_text(s, 2, parent_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)now_ms);
    if (sqlite3_step(s) != SQLITE_DONE) {
        log_sql_error(st, "session create");
        note_write(st, 0);
        sqlite3_reset(s);
        return -1;
    }
    sqlite3_reset(s);
    note_write(st, 1);
    return 0;
}

int store_session_exists(struct store *st, const char *id)
{
    if (st->pg) return store_pg_session_exists(st->pg, id);
    sqlite3_stmt *s = stmt(st, Q_SESSION_EXISTS);
    int rc;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    log_sql_error(st, "session exists");
    return -1;
}

static json_t *json_column(sqlite3_stmt *s, int col)
{
    const char *txt = (const char *)sqlite3_column_text(s, col);
    json_t *v;
    if (!txt) return json_null();
    v = json_loads(txt, 0, NULL);
    return v ? v : json_null();
}

static json_t *message_row(sqlite3_stmt *s)
{
    char when[32];
    const char *status = (const char *)sqlite3_column_text(s, 5);
    json_t *cit = json_column(s, 3);
    util_iso8601((uint64_t)sqlite3_column_int64(s, 6), when, sizeof when);
    if (json_is_null(cit)) {
        json_decref(cit);
        cit = json_array();
    }
    /* 'pending' rows are live turns: the API calls them streaming. */
    if (status && strcmp(status, "pending") == 0) status = "streaming";
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:o}",
                     "id", (const char *)sqlite3_column_text(s, 0),
                     "role", (const char *)sqlite3_column_text(s, 1),
                     "content", (const char *)sqlite3_column_text(s, 2),
                     "citations", cit,
                     "refusal", json_column(s, 4),
                     "status", status ? status : "complete",
                     "created_at", when,
                     "triage", json_column(s, 7));
}

json_t *store_session_get(struct store *st, const char *id, int *found)
{
    if (st->pg) return store_pg_session_get(st->pg, id, found);
    sqlite3_stmt *s = stmt(st, Q_SESSION_GET);
    json_t *session = NULL, *msgs;
    char when[32];
    int rc;

    *found = -1;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        *found = 0;
        goto out;
    }
    if (rc != SQLITE_ROW) goto fail;
    util_iso8601((uint64_t)sqlite3_column_int64(s, 0), when, sizeof when);
    session = json_pack("{s:s, s:s, s:o}", "session_id", id, "created_at", when,
                        "parent_name", sqlite3_column_type(s, 1) == SQLITE_NULL
                            ? json_null()
                            : json_string((const char *)sqlite3_column_text(s, 1)));
    sqlite3_reset(s);

    msgs = json_array();
    json_object_set_new(session, "messages", msgs);
    s = stmt(st, Q_MESSAGES_GET);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) json_array_append_new(msgs, message_row(s));
    if (rc != SQLITE_DONE) goto fail;
    *found = 1;
    goto out;
fail:
    log_sql_error(st, "session get");
    json_decref(session);
    session = NULL;
out:
    sqlite3_reset(s);
    return session;
}

/* A page of history is read with statements prepared per call: a page
 * load is rare next to the question path. */
static int page_anchor(struct store *st, const char *id, const char *before_id,
                       sqlite3_int64 *seq)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    *seq = INT64_MAX;
    if (!before_id) return 1;
    if (sqlite3_prepare_v2(st->db, "SELECT seq FROM messages WHERE id = ?1 AND session_id = ?2",
                           -1, &s, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(s, 1, before_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *seq = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
out:
    sqlite3_finalize(s);
    return rc;
}

json_t *store_session_page(struct store *st, const char *id, int limit, const char *before_id,
                           int *found)
{
    static const char sql[] =
        "SELECT id, role, content, citations, refusal, status, created_at, triage "
        "FROM messages WHERE session_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3";
    if (st->pg) return store_pg_session_page(st->pg, id, limit, before_id, found);
    sqlite3_stmt *s = stmt(st, Q_SESSION_GET), *q = NULL;
    json_t *session = NULL, *msgs;
    sqlite3_int64 anchor;
    char when[32];
    int rc, n = 0;

    *found = -1;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) *found = 0;
    if (rc != SQLITE_ROW) goto out;
    util_iso8601((uint64_t)sqlite3_column_int64(s, 0), when, sizeof when);
    session = json_pack("{s:s, s:s, s:o}", "session_id", id, "created_at", when,
                        "parent_name", sqlite3_column_type(s, 1) == SQLITE_NULL
                            ? json_null()
                            : json_string((const char *)sqlite3_column_text(s, 1)));
    sqlite3_reset(s);
    rc = page_anchor(st, id, before_id, &anchor);
    if (rc <= 0) {
        if (rc == 0) *found = 2;
        goto out;
    }
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, anchor);
    sqlite3_bind_int(q, 3, limit + 1);         /* one more says whether there is more */
    msgs = json_array();
    json_object_set_new(session, "messages", msgs);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && n++ < limit)
        json_array_insert_new(msgs, 0, message_row(q));   /* newest last */
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) goto out;
    json_object_set_new(session, "has_more", json_boolean(rc == SQLITE_ROW));
    *found = 1;
out:
    if (*found < 0) log_sql_error(st, "session page");
    if (*found != 1) {
        json_decref(session);
        session = NULL;
    }
    sqlite3_finalize(q);
    sqlite3_reset(s);
    return session;
}

long store_session_message_count(struct store *st, const char *id)
{
    if (st->pg) return store_pg_session_message_count(st->pg, id);
    sqlite3_stmt *s = stmt(st, Q_NEXT_SEQ);
    long n = -1;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) n = (long)sqlite3_column_int64(s, 0) - 1;
    else log_sql_error(st, "message count");
    sqlite3_reset(s);
    return n;
}

/* After a delete: secure_delete has zeroed the rows in the pages the
 * delete wrote, but the WAL still holds the older copies of those pages
 * with the text in them. A TRUNCATE checkpoint copies the zeroed pages into
 * the database file and cuts the WAL to nothing. The checkpointer thread is
 * woken to do it at once: on the loop it held every stream for the
 * checkpoint and its fsyncs (DELETE of a 2-message session took 24-127 ms
 * there, 1-20 ms with the thread, on a loaded 2-core VM: bench/history.mjs).
 * Without the thread it runs here. */
static void purge_wal(struct store *st)
{
    int rc;
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->mu);
        st->purge_due = st->ckpt_due = 1;
        pthread_cond_signal(&st->cv);
        pthread_mutex_unlock(&st->mu);
        return;
    }
    rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_MISUSE)   /* MISUSE: not a WAL database */
        log_sql_error(st, "checkpoint after delete");
}

int store_session_delete(struct store *st, const char *id)
{
    if (st->pg) return store_pg_session_delete(st->pg, id);
    sqlite3_stmt *s = stmt(st, Q_SESSION_DELETE);
    int rc;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        log_sql_error(st, "session delete");
        note_write(st, 0);
        return -1;
    }
    note_write(st, 1);
    if (sqlite3_changes(st->db) == 0) return 0;
    purge_wal(st);
    return 1;
}

static int insert_message(struct store *st, const char *id, const char *session_id,
                          sqlite3_int64 seq, const char *role, const char *content,
                          const char *status, uint64_t now_ms, int leased)
{
    sqlite3_stmt *s = stmt(st, Q_MSG_INSERT);
    int rc;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, session_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, seq);
    sqlite3_bind_text(s, 4, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, content, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)now_ms);
    if (leased && st->owner[0]) {
        sqlite3_bind_text(s, 8, st->owner, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 9, (sqlite3_int64)(now_ms + (uint64_t)st->lease_ms));
    }
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_turn_begin(struct store *st, const char *session_id,
                     const char *user_msg_id, const char *answer_msg_id,
                     const char *question, uint64_t now_ms)
{
    if (st->pg) return store_pg_turn_begin(st->pg, session_id, user_msg_id, answer_msg_id, question, now_ms);
    sqlite3_stmt *s;
    sqlite3_int64 seq = 1;
    int rc = -1;

    if (exec(st, "BEGIN IMMEDIATE", NULL, 0)) goto fail;
    s = stmt(st, Q_NEXT_SEQ);
    sqlite3_bind_text(s, 1, session_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (insert_message(st, user_msg_id, session_id, seq, "user", question, "complete", now_ms, 0) ||
        insert_message(st, answer_msg_id, session_id, seq + 1, "assistant", "", "pending", now_ms, 1))
        goto fail;
    if (exec(st, "COMMIT", NULL, 0)) goto fail;
    rc = 0;
    note_write(st, 1);
    goto out;
fail:
    log_sql_error(st, "turn begin");
    note_write(st, 0);
    exec(st, "ROLLBACK", NULL, 0);
out:
    return rc;
}

static void bind_json(sqlite3_stmt *s, int col, json_t *v)
{
    char *txt;
    if (!v || json_is_null(v)) {
        sqlite3_bind_null(s, col);
        return;
    }
    txt = jtext_dump(v, NULL);   /* an answer's event log is large: see jtext.h */
    sqlite3_bind_text(s, col, txt, -1, free);
}

int store_turn_finish(struct store *st, const char *answer_msg_id,
                      const struct store_turn_result *r, uint64_t now_ms)
{
    if (st->pg) return store_pg_turn_finish(st->pg, answer_msg_id, r, now_ms);
    sqlite3_stmt *s = stmt(st, Q_TURN_FINISH);
    int rc;
    sqlite3_bind_text(s, 1, answer_msg_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->content ? r->content : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->status, -1, SQLITE_STATIC);
    bind_json(s, 4, r->citations);
    bind_json(s, 5, r->refusal);
    bind_json(s, 6, r->events);
    sqlite3_bind_text(s, 7, r->engine, -1, SQLITE_STATIC);
    if (r->prompt_version) sqlite3_bind_text(s, 8, r->prompt_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, r->prompt_tokens);
    sqlite3_bind_int64(s, 10, r->completion_tokens);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)now_ms);
    bind_json(s, 12, r->triage);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        metrics_inc(METRICS_SAVE_FAILURES);
        log_sql_error(st, "turn finish");
        note_write(st, 0);
        return -1;
    }
    if (sqlite3_changes(st->db) == 0) return -1;   /* the row is gone */
    note_write(st, 1);
    return 0;
}

int store_batch_begin(struct store *st)
{
    if (st->pg) return store_pg_batch_begin(st->pg);
    char err[256];
    if (exec(st, "BEGIN IMMEDIATE", err, sizeof err)) {
        fprintf(stderr, "coachd: store: begin: %s\n", err);
        note_write(st, 0);
        return -1;
    }
    return 0;
}

int store_batch_commit(struct store *st)
{
    if (st->pg) return store_pg_batch_commit(st->pg);
    char err[256];
    if (exec(st, "COMMIT", err, sizeof err)) {
        fprintf(stderr, "coachd: store: commit: %s\n", err);
        metrics_inc(METRICS_SAVE_FAILURES);
        note_write(st, 0);
        exec(st, "ROLLBACK", NULL, 0);
        return -1;
    }
    note_write(st, 1);
    return 0;
}

int store_answer_events(struct store *st, const char *answer_msg_id,
                        char *session_out, size_t session_len,
                        char *status_out, size_t status_len, json_t **events)
{
    if (st->pg) return store_pg_answer_events(st->pg, answer_msg_id, session_out, session_len, status_out,
                                              status_len, events);
    sqlite3_stmt *s = stmt(st, Q_ANSWER_EVENTS);
    int rc;
    *events = NULL;
    sqlite3_bind_text(s, 1, answer_msg_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(session_out, session_len, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(status_out, status_len, "%s", (const char *)sqlite3_column_text(s, 1));
        *events = json_column(s, 2);
        if (!json_is_array(*events)) {
            json_decref(*events);
            *events = json_array();
        }
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    log_sql_error(st, "answer events");
    return -1;
}

json_t *store_history(struct store *st, const char *session_id,
                      const char *before_answer_id, int max_msgs)
{
    if (st->pg) return store_pg_history(st->pg, session_id, before_answer_id, max_msgs);
    sqlite3_stmt *s = stmt(st, Q_HISTORY);
    json_t *arr = json_array();
    sqlite3_bind_text(s, 1, session_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, before_answer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, max_msgs);
    while (sqlite3_step(s) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s, s:s}",
            "role", (const char *)sqlite3_column_text(s, 0),
            "content", (const char *)sqlite3_column_text(s, 1)));
    sqlite3_reset(s);
    return arr;
}

static long scalar_long(struct store *st, sqlite3_stmt *s)
{
    long v = 0;
    if (sqlite3_step(s) == SQLITE_ROW) v = (long)sqlite3_column_int64(s, 0);
    else log_sql_error(st, "token sum");
    sqlite3_reset(s);
    return v;
}

long store_tokens_session(struct store *st, const char *session_id)
{
    if (st->pg) return store_pg_tokens_session(st->pg, session_id);
    sqlite3_stmt *s = stmt(st, Q_TOKENS_SESSION);
    sqlite3_bind_text(s, 1, session_id, -1, SQLITE_STATIC);
    return scalar_long(st, s);
}

long store_tokens_since(struct store *st, uint64_t since_ms)
{
    if (st->pg) return store_pg_tokens_since(st->pg, since_ms);
    sqlite3_stmt *s = stmt(st, Q_TOKENS_SINCE);
    sqlite3_bind_int64(s, 1, (sqlite3_int64)since_ms);
    return scalar_long(st, s);
}

/* ---------- feedback ----------
 * Rare writes and reads (a click on an answer, a page load), so these
 * prepare their statements per call and need no slot in sql_text. */

int store_feedback_set(struct store *st, const char *answer_msg_id, int helpful,
                       const char *reason, uint64_t now_ms)
{
    if (st->pg) return store_pg_feedback_set(st->pg, answer_msg_id, helpful, reason, now_ms);
    static const char sql[] =
        "INSERT INTO feedback(message_id, helpful, reason, created_at) "
        "SELECT ?1, ?2, ?3, ?4 FROM messages WHERE id = ?1 AND role = 'assistant' "
        "ON CONFLICT(message_id) DO UPDATE SET helpful = excluded.helpful, "
        "reason = excluded.reason, created_at = excluded.created_at";
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(s, 1, answer_msg_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, helpful ? 1 : 0);
    if (reason && *reason) sqlite3_bind_text(s, 3, reason, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s, 3);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)now_ms);
    if (sqlite3_step(s) != SQLITE_DONE) goto out;
    rc = sqlite3_changes(st->db) > 0;
out:
    if (rc < 0) log_sql_error(st, "feedback set");
    sqlite3_finalize(s);
    return rc;
}

int store_feedback_attach(struct store *st, json_t *session)
{
    if (st->pg) return store_pg_feedback_attach(st->pg, session);
    static const char sql[] =
        "SELECT f.message_id, f.helpful, f.reason, f.created_at FROM feedback f "
        "JOIN messages m ON m.id = f.message_id WHERE m.session_id = ?1";
    json_t *msgs = json_object_get(session, "messages"), *m;
    const char *sid = json_string_value(json_object_get(session, "session_id"));
    sqlite3_stmt *s = NULL;
    size_t i;
    int rc = -1, step;

    if (!sid || !json_is_array(msgs)) return -1;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "assistant") == 0) json_object_set_new(m, "feedback", json_null());
    }
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) goto out;
    sqlite3_bind_text(s, 1, sid, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *mid = (const char *)sqlite3_column_text(s, 0);
        char when[32];
        util_iso8601((uint64_t)sqlite3_column_int64(s, 3), when, sizeof when);
        json_array_foreach(msgs, i, m) {
            const char *id = json_string_value(json_object_get(m, "id"));
            if (!id || !mid || strcmp(id, mid) != 0) continue;
            json_object_set_new(m, "feedback", json_pack("{s:b, s:o, s:s}",
                "helpful", sqlite3_column_int(s, 1),
                "reason", sqlite3_column_type(s, 2) == SQLITE_NULL
                    ? json_null() : json_string((const char *)sqlite3_column_text(s, 2)),
                "created_at", when));
            break;
        }
    }
    if (step == SQLITE_DONE) rc = 0;
out:
    if (rc < 0) log_sql_error(st, "feedback read");
    sqlite3_finalize(s);
    return rc;
}

/* ---------- event logs, leases, notifications (v4) ----------
 * SQLite is one instance's own file: leases are recorded but every pending
 * row at start-up is this file's crash (store_recover), and there is no one
 * to notify. */

void store_set_owner(struct store *st, const char *instance_id, int lease_ms)
{
    snprintf(st->owner, sizeof st->owner, "%s", instance_id);
    st->lease_ms = lease_ms;
    if (st->pg) store_pg_set_owner(st->pg, instance_id, lease_ms);
}

int store_is_shared(struct store *st)
{
    return st->pg != NULL;
}

int store_events_append(struct store *st, const struct store_event *ev, size_t n)
{
    int kept = 0;
    size_t rows = 0;
    if (st->pg) return store_pg_events_append(st->pg, ev, n);
    for (size_t i = 0; i < n; i++) rows += ev[i].data != NULL;
    if (rows == 0) return 0;
    if (exec(st, "BEGIN IMMEDIATE", NULL, 0)) {
        log_sql_error(st, "events begin");
        note_write(st, 0);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *s;
        if (!ev[i].data) continue;           /* a NOTIFY only: no one to tell here */
        s = stmt(st, Q_EVENT_INSERT);
        sqlite3_bind_text(s, 1, ev[i].message_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)ev[i].seq);
        sqlite3_bind_text(s, 3, ev[i].data, (int)ev[i].len, SQLITE_STATIC);
        /* a row whose answer was deleted meanwhile fails its foreign key
         * alone; the others are kept */
        kept += sqlite3_step(s) == SQLITE_DONE && sqlite3_changes(st->db) > 0;
        sqlite3_reset(s);
    }
    if (exec(st, "COMMIT", NULL, 0)) {
        log_sql_error(st, "events commit");
        note_write(st, 0);
        exec(st, "ROLLBACK", NULL, 0);
        return -1;
    }
    note_write(st, 1);
    return kept;
}

int store_events_since(struct store *st, const char *message_id, size_t from, json_t **events)
{
    sqlite3_stmt *s;
    size_t next = from + 1;
    int rc;
    if (st->pg) return store_pg_events_since(st->pg, message_id, from, events);
    s = stmt(st, Q_EVENTS_SINCE);
    *events = json_array();
    sqlite3_bind_text(s, 1, message_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)from);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && (size_t)sqlite3_column_int64(s, 0) == next++)
        json_array_append_new(*events, json_string((const char *)sqlite3_column_text(s, 1)));
    sqlite3_reset(s);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) return 0;
    log_sql_error(st, "events since");
    json_decref(*events);
    *events = NULL;
    return -1;
}

int store_lease_renew(struct store *st, uint64_t now_ms)
{
    return st->pg ? store_pg_lease_renew(st->pg, now_ms) : 0;
}

int store_lease_sweep(struct store *st, uint64_t now_ms)
{
    return st->pg ? store_pg_lease_sweep(st->pg, now_ms) : 0;
}

int store_notify(struct store *st, const char *channel, const char *payload)
{
    return st->pg ? store_pg_notify(st->pg, channel, payload) : 0;
}

int store_listen(struct store *st, struct event_base *base, store_notify_cb cb, void *arg)
{
    return st->pg ? store_pg_listen(st->pg, base, cb, arg) : 0;
}

/* ---------- off the loop (store.h) ---------- */

int store_async_start(struct store *st, struct event_base *base)
{
    return st->pg ? store_pg_async_start(st->pg, base) : 0;
}

void store_async_stop(struct store *st)
{
    if (st->pg) store_pg_async_stop(st->pg);
}

unsigned store_async_pending(struct store *st)
{
    return st->pg ? store_pg_async_pending(st->pg) : 0;
}

void store_events_append_async(struct store *st, const struct store_event *ev, size_t n,
                               store_append_cb cb, void *arg)
{
    int kept;
    if (st->pg && store_pg_async_running(st->pg)) {
        store_pg_events_append_async(st->pg, ev, n, cb, arg);
        return;
    }
    kept = store_events_append(st, ev, n);
    if (cb) cb(arg, kept);
}

void store_turns_finish_async(struct store *st, const struct store_save *s, size_t n,
                              uint64_t now_ms, store_save_cb cb, void *arg)
{
    const char **ids;
    int *rcs, batch;
    if (n == 0) return;
    if (st->pg && store_pg_async_running(st->pg)) {
        store_pg_turns_finish_async(st->pg, s, n, now_ms, cb, arg);
        return;
    }
    ids = xcalloc(n, sizeof *ids);
    rcs = xcalloc(n, sizeof *rcs);
    batch = n > 1 && store_batch_begin(st) == 0;
    for (size_t i = 0; i < n; i++) {
        ids[i] = s[i].answer_msg_id;
        rcs[i] = store_turn_finish(st, s[i].answer_msg_id, &s[i].r, now_ms) == 0 ? 0
                 : store_write_failing(st) ? -1 : 1;
    }
    if (batch && store_batch_commit(st) != 0)
        for (size_t i = 0; i < n; i++)
            if (rcs[i] == 0) rcs[i] = -1;
    if (cb) cb(arg, ids, rcs, n);
    free(ids);
    free(rcs);
}

int store_events_prune(struct store *st, uint64_t before_ms, int limit)
{
    sqlite3_stmt *s;
    int rc;
    if (st->pg) return store_pg_events_prune(st->pg, before_ms, limit);
    s = stmt(st, Q_EVENTS_PRUNE);
    sqlite3_bind_int64(s, 1, (sqlite3_int64)before_ms);
    sqlite3_bind_int(s, 2, limit);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        log_sql_error(st, "events prune");
        note_write(st, 0);
        return -1;
    }
    rc = sqlite3_changes(st->db);
    /* a DELETE of nothing may write nothing: only a real one says the
     * database takes writes again */
    if (rc > 0) note_write(st, 1);
    return rc;
}

void store_tick_async(struct store *st, uint64_t now_ms, store_tick_cb cb, void *arg)
{
    int fixed, pruned;
    if (st->pg && store_pg_async_running(st->pg)) {
        store_pg_tick_async(st->pg, now_ms, cb, arg);
        return;
    }
    store_lease_renew(st, now_ms);
    fixed = store_lease_sweep(st, now_ms);
    pruned = store_events_prune(st, now_ms - STORE_PRUNE_GRACE_MS, STORE_PRUNE_ROWS);
    if (cb) cb(arg, fixed, pruned);
}

/* ---------- store_call ---------- */

struct call_wrap {
    store_call_fn fn;
    store_call_done done;
    void *arg;
};

/* On a pool thread: a store whose every call goes to the view. */
static void call_wrap_run(struct store_pg *view, void *arg)
{
    struct call_wrap *w = arg;
    struct store sh;
    memset(&sh, 0, sizeof sh);
    sh.pg = view;
    w->fn(&sh, w->arg);
}

static void call_wrap_done(void *arg, int how)
{
    struct call_wrap *w = arg;
    w->done(w->arg, how);
    if (how != STORE_CALL_TIMEOUT) free(w);
}

void store_call(struct store *st, const char *key, store_call_fn fn, store_call_done done,
                void *arg)
{
    struct call_wrap *w;
    if (!st->pg) {
        fn(st, arg);
        done(arg, STORE_CALL_DONE);
        return;
    }
    w = xcalloc(1, sizeof *w);
    *w = (struct call_wrap){fn, done, arg};
    store_pg_call(st->pg, key, call_wrap_run, call_wrap_done, w);
}

void store_calls_stop(struct store *st)
{
    if (st && st->pg) store_pg_calls_stop(st->pg);
}
