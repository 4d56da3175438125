/* test_store.c — the SQLite store on a real database file (WAL needs a
 * file, not :memory:): schema creation and migration guard, sessions and
 * their JSON shape, the two-row turn (question + pending answer), finishing
 * an answer, replay logs, crash recovery, cascading delete, prompt history
 * and token sums. Each test gets a fresh database in a mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Compiled as one unit, gcc inlines util_iso8601 into store.c's callers
 * (char when[32]) and its -Wformat-truncation cannot see that the year has
 * four digits; the separately compiled server does not warn. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "../../src/util.c"
#include "../../src/metrics.c"
#include "../../src/jtext.c"
#include "../../src/pgworker.c"
#include "../../src/store_pg.c"
#include "../../src/store.c"
#pragma GCC diagnostic pop

struct fixture {
    char dir[64];
    char path[128];
    struct store *st;
};

static void remove_db_files(const struct fixture *f)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof *f);
    char err[256] = "";
    snprintf(f->dir, sizeof f->dir, "/tmp/coachd-store-test-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/coach.db", f->dir);
    if (store_open(f->path, &f->st, err, sizeof err) != 0) {
        fprintf(stderr, "store_open: %s\n", err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    remove_db_files(f);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Runs one integer-valued SQL query on a separate connection. */
static long long query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -12345;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static const char *str_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* A finished answer with the given text and status. */
static void finish(struct store *st, const char *mid, const char *content, const char *status,
                   long ptok, long ctok, uint64_t now)
{
    json_t *events = json_pack("[s, s]", "{\"chunk\":\"x\"}", "{\"done\":true}");
    json_t *cit = json_pack("[{s:s}]", "id", "sleep-routine");
    struct store_turn_result r = {
        .content = content, .status = status, .citations = cit, .refusal = NULL,
        .events = events, .engine = "grounded", .prompt_version = NULL,
        .prompt_tokens = ptok, .completion_tokens = ctok,
    };
    assert_int_equal(store_turn_finish(st, mid, &r, now), 0);
    json_decref(events);
    json_decref(cit);
}

/* ---------- open and schema ---------- */

/* The schema version a new database gets: one per migration. */
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

static void test_open_creates_schema(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(query_int(f->path, "PRAGMA user_version"), SCHEMA_VERSION);
    assert_int_equal(query_int(f->path,
        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
        "('sessions','messages','feedback')"), 3);
    assert_int_equal(store_ping(f->st), 1);
}

static void test_wal_mode(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_reopen_idempotent(void **state)
{
    struct fixture *f = *state;
    struct store *again = NULL;
    char err[256] = "";
    assert_int_equal(store_session_create(f->st, "keepme", "Sam", 1000), 0);
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(store_open(f->path, &again, err, sizeof err), 0);
    assert_non_null(again);
    assert_int_equal(query_int(f->path, "PRAGMA user_version"), SCHEMA_VERSION);
    assert_int_equal(store_session_exists(again, "keepme"), 1);
    f->st = again;
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct store *st = (struct store *)0x1;
    char err[256] = "";
    store_close(f->st);
    f->st = NULL;
    char newer[64], vname[16];
    snprintf(newer, sizeof newer, "PRAGMA user_version = %d", SCHEMA_VERSION + 1);
    snprintf(vname, sizeof vname, "v%d", SCHEMA_VERSION + 1);
    exec_sql(f->path, newer);
    assert_int_equal(store_open(f->path, &st, err, sizeof err), -1);
    assert_null(st);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, vname));
    /* the database was left as it was */
    assert_int_equal(query_int(f->path, "PRAGMA user_version"), SCHEMA_VERSION + 1);
}

static void test_open_bad_path(void **state)
{
    (void)state;
    struct store *st = (struct store *)0x1;
    char err[256] = "";
    assert_int_equal(store_open("/nonexistent-dir-coachd/x/coach.db", &st, err, sizeof err), -1);
    assert_null(st);
    assert_true(strlen(err) > 0);
}

/* ---------- sessions ---------- */

static void test_session_create_exists_get(void **state)
{
    struct fixture *f = *state;
    json_t *s, *msgs;
    int found = 99;

    assert_int_equal(store_session_exists(f->st, "s1"), 0);
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1700000000123ULL), 0);
    assert_int_equal(store_session_exists(f->st, "s1"), 1);
    /* the same id twice is a constraint error */
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1), -1);

    s = store_session_get(f->st, "s1", &found);
    assert_int_equal(found, 1);
    assert_non_null(s);
    assert_string_equal(str_of(s, "session_id"), "s1");
    assert_string_equal(str_of(s, "created_at"), "2023-11-14T22:13:20.123Z");
    assert_true(json_is_null(json_object_get(s, "parent_name")));
    msgs = json_object_get(s, "messages");
    assert_true(json_is_array(msgs));
    assert_int_equal(json_array_size(msgs), 0);
    assert_int_equal(json_object_size(s), 4);
    json_decref(s);

    assert_int_equal(store_session_create(f->st, "s2", "Alex", 0), 0);
    s = store_session_get(f->st, "s2", &found);
    assert_int_equal(found, 1);
    assert_string_equal(str_of(s, "parent_name"), "Alex");
    assert_string_equal(str_of(s, "created_at"), "1970-01-01T00:00:00.000Z");
    json_decref(s);

    found = 99;
    s = store_session_get(f->st, "nope", &found);
    assert_null(s);
    assert_int_equal(found, 0);
}

/* ---------- turns ---------- */

static void test_turn_begin_rows(void **state)
{
    struct fixture *f = *state;
    json_t *s, *msgs, *u, *a;
    int found;

    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "How do I handle bedtime?", 2000), 0);
    s = store_session_get(f->st, "s1", &found);
    assert_int_equal(found, 1);
    msgs = json_object_get(s, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    u = json_array_get(msgs, 0);
    a = json_array_get(msgs, 1);
    assert_string_equal(str_of(u, "id"), "u1");
    assert_string_equal(str_of(u, "role"), "user");
    assert_string_equal(str_of(u, "content"), "How do I handle bedtime?");
    assert_string_equal(str_of(u, "status"), "complete");
    assert_string_equal(str_of(u, "created_at"), "1970-01-01T00:00:02.000Z");
    assert_true(json_is_array(json_object_get(u, "citations")));
    assert_int_equal(json_array_size(json_object_get(u, "citations")), 0);
    assert_true(json_is_null(json_object_get(u, "refusal")));

    assert_string_equal(str_of(a, "id"), "a1");
    assert_string_equal(str_of(a, "role"), "assistant");
    assert_string_equal(str_of(a, "content"), "");
    assert_string_equal(str_of(a, "status"), "streaming");   /* pending in the table */
    json_decref(s);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE status='pending'"), 1);

    /* a second turn follows the first, in order */
    assert_int_equal(store_turn_begin(f->st, "s1", "u2", "a2", "second", 3000), 0);
    s = store_session_get(f->st, "s1", &found);
    msgs = json_object_get(s, "messages");
    assert_int_equal(json_array_size(msgs), 4);
    assert_string_equal(str_of(json_array_get(msgs, 2), "id"), "u2");
    assert_string_equal(str_of(json_array_get(msgs, 3), "id"), "a2");
    json_decref(s);
    assert_int_equal(query_int(f->path, "SELECT seq FROM messages WHERE id='a2'"), 4);
}

static void test_turn_begin_errors_roll_back(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    /* unknown session: foreign key */
    assert_int_equal(store_turn_begin(f->st, "ghost", "u1", "a1", "q", 1), -1);
    /* the answer id collides: the question row must not stay behind */
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q", 1), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u9", "a1", "q", 1), -1);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE id='u9'"), 0);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 2);
    /* and the store still works after the rollback */
    assert_int_equal(store_turn_begin(f->st, "s1", "u2", "a2", "q2", 2), 0);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 4);
}

static void test_turn_finish(void **state)
{
    struct fixture *f = *state;
    json_t *s, *a, *cit, *refusal;
    int found;
    json_t *events = json_pack("[s, s]", "{\"type\":\"refusal\"}", "{\"done\":true}");
    json_t *ref = json_pack("{s:s, s:s}", "category", "emergency", "message", "Call 911.");
    json_t *cits = json_pack("[{s:s, s:s}]", "id", "p1", "source", "AAP");
    struct store_turn_result r = {
        .content = "Hello there.", .status = "complete", .citations = cits,
        .refusal = ref, .events = events, .engine = "openai", .prompt_version = "v3",
        .prompt_tokens = 11, .completion_tokens = 22,
    };

    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q", 2000), 0);
    assert_int_equal(store_turn_finish(f->st, "a1", &r, 5000), 0);

    s = store_session_get(f->st, "s1", &found);
    a = json_array_get(json_object_get(s, "messages"), 1);
    assert_string_equal(str_of(a, "content"), "Hello there.");
    assert_string_equal(str_of(a, "status"), "complete");
    cit = json_object_get(a, "citations");
    assert_int_equal(json_array_size(cit), 1);
    assert_string_equal(str_of(json_array_get(cit, 0), "id"), "p1");
    assert_string_equal(str_of(json_array_get(cit, 0), "source"), "AAP");
    refusal = json_object_get(a, "refusal");
    assert_true(json_is_object(refusal));
    assert_string_equal(str_of(refusal, "category"), "emergency");
    json_decref(s);

    assert_int_equal(query_int(f->path, "SELECT finished_at FROM messages WHERE id='a1'"), 5000);
    assert_int_equal(query_int(f->path, "SELECT prompt_tokens FROM messages WHERE id='a1'"), 11);
    assert_int_equal(query_int(f->path,
        "SELECT count(*) FROM messages WHERE id='a1' AND engine='openai' AND prompt_version='v3'"), 1);

    /* finishing the question row is not allowed (role = assistant only) */
    assert_int_equal(store_turn_finish(f->st, "u1", &r, 6000), -1);
    assert_int_equal(query_int(f->path, "SELECT finished_at IS NULL FROM messages WHERE id='u1'"), 1);
    /* unknown id: -1, nothing written */
    assert_int_equal(store_turn_finish(f->st, "nope", &r, 6000), -1);

    json_decref(events);
    json_decref(ref);
    json_decref(cits);
}

static void test_turn_finish_null_json(void **state)
{
    struct fixture *f = *state;
    json_t *s, *a;
    int found;
    struct store_turn_result r = {
        .content = NULL, .status = "incomplete", .engine = "grounded",
    };
    char sid[80], status[32];
    json_t *ev = NULL;

    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q", 2000), 0);
    assert_int_equal(store_turn_finish(f->st, "a1", &r, 3000), 0);
    s = store_session_get(f->st, "s1", &found);
    a = json_array_get(json_object_get(s, "messages"), 1);
    assert_string_equal(str_of(a, "content"), "");
    assert_string_equal(str_of(a, "status"), "incomplete");
    assert_int_equal(json_array_size(json_object_get(a, "citations")), 0);
    assert_true(json_is_null(json_object_get(a, "refusal")));
    json_decref(s);
    /* no event log stored: replay gets an empty array, not NULL */
    assert_int_equal(store_answer_events(f->st, "a1", sid, sizeof sid, status, sizeof status, &ev), 1);
    assert_true(json_is_array(ev));
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);
}

static void test_answer_events(void **state)
{
    struct fixture *f = *state;
    char sid[80] = "", status[32] = "";
    json_t *ev = (json_t *)0x1;

    assert_int_equal(store_session_create(f->st, "sess-A", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "sess-A", "u1", "a1", "q", 2000), 0);

    /* while pending */
    assert_int_equal(store_answer_events(f->st, "a1", sid, sizeof sid, status, sizeof status, &ev), 1);
    assert_string_equal(sid, "sess-A");
    assert_string_equal(status, "pending");
    assert_true(json_is_array(ev));
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);

    finish(f->st, "a1", "x", "stopped", 0, 0, 3000);
    assert_int_equal(store_answer_events(f->st, "a1", sid, sizeof sid, status, sizeof status, &ev), 1);
    assert_string_equal(sid, "sess-A");
    assert_string_equal(status, "stopped");
    assert_int_equal(json_array_size(ev), 2);
    assert_string_equal(json_string_value(json_array_get(ev, 0)), "{\"chunk\":\"x\"}");
    assert_string_equal(json_string_value(json_array_get(ev, 1)), "{\"done\":true}");
    json_decref(ev);

    /* the question row is not an answer; unknown ids are not found */
    ev = (json_t *)0x1;
    assert_int_equal(store_answer_events(f->st, "u1", sid, sizeof sid, status, sizeof status, &ev), 0);
    assert_null(ev);
    assert_int_equal(store_answer_events(f->st, "zzz", sid, sizeof sid, status, sizeof status, &ev), 0);
    assert_null(ev);

    /* small output buffers truncate, never overflow */
    char small[4];
    assert_int_equal(store_answer_events(f->st, "a1", small, sizeof small, status, sizeof status, &ev), 1);
    assert_string_equal(small, "ses");
    json_decref(ev);
}

static void test_recover(void **state)
{
    struct fixture *f = *state;
    char sid[80], status[32];
    json_t *ev;

    assert_int_equal(store_recover(f->st), 0);
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q1", 2000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u2", "a2", "q2", 2100), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u3", "a3", "q3", 2200), 0);
    finish(f->st, "a2", "done", "complete", 0, 0, 3000);

    assert_int_equal(store_recover(f->st), 2);
    assert_int_equal(store_answer_events(f->st, "a1", sid, sizeof sid, status, sizeof status, &ev), 1);
    assert_string_equal(status, "incomplete");
    json_decref(ev);
    assert_int_equal(store_answer_events(f->st, "a2", sid, sizeof sid, status, sizeof status, &ev), 1);
    assert_string_equal(status, "complete");
    json_decref(ev);
    /* user rows are untouched, and a second run has nothing to fix */
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE role='user' AND status='complete'"), 3);
    assert_int_equal(store_recover(f->st), 0);
}

static void test_session_delete_cascades(void **state)
{
    struct fixture *f = *state;
    char sid[80], status[32];
    json_t *ev = NULL, *s;
    int found;

    assert_int_equal(store_session_create(f->st, "s1", "Pat", 1000), 0);
    assert_int_equal(store_session_create(f->st, "s2", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "secret question", 2000), 0);
    finish(f->st, "a1", "answer", "complete", 1, 2, 3000);
    assert_int_equal(store_turn_begin(f->st, "s2", "u2", "a2", "other", 2000), 0);

    assert_int_equal(store_session_delete(f->st, "s1"), 1);
    assert_int_equal(store_session_delete(f->st, "s1"), 0);
    assert_int_equal(store_session_delete(f->st, "never"), 0);
    assert_int_equal(store_session_exists(f->st, "s1"), 0);
    s = store_session_get(f->st, "s1", &found);
    assert_null(s);
    assert_int_equal(found, 0);
    assert_int_equal(store_answer_events(f->st, "a1", sid, sizeof sid, status, sizeof status, &ev), 0);
    assert_null(ev);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE session_id='s1'"), 0);
    /* finishing an answer of a deleted session writes nothing */
    {
        struct store_turn_result r = {.content = "late", .status = "complete", .engine = "grounded"};
        assert_int_equal(store_turn_finish(f->st, "a1", &r, 4000), -1);
    }
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE id='a1'"), 0);
    /* the other session is untouched */
    assert_int_equal(store_session_exists(f->st, "s2"), 1);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE session_id='s2'"), 2);
    assert_int_equal(store_tokens_session(f->st, "s1"), 0);
}

static void test_batch(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q1", 1), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u2", "a2", "q2", 2), 0);

    assert_int_equal(store_batch_begin(f->st), 0);
    finish(f->st, "a1", "one", "complete", 0, 0, 10);
    finish(f->st, "a2", "two", "stopped", 0, 0, 11);
    /* another connection does not see the batch before it commits */
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE status='pending'"), 2);
    assert_int_equal(store_batch_begin(f->st), -1);      /* no nesting */
    assert_int_equal(store_batch_commit(f->st), 0);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE status='pending'"), 0);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE id='a2' AND status='stopped' AND content='two'"), 1);
    /* commit with no open batch fails, and the store keeps working */
    assert_int_equal(store_batch_commit(f->st), -1);
    assert_int_equal(store_turn_begin(f->st, "s1", "u3", "a3", "q3", 3), 0);
}

/* The WAL is checkpointed by the store's own thread, not inside a commit
 * on the caller's thread: past STORE_CKPT_PAGES the hook wakes it, and the
 * pages end up in the database file. */
static void test_background_checkpoint(void **state)
{
    struct fixture *f = *state;
    size_t big = 64 * 1024;
    char *text = xmalloc(big + 1), uid[16], aid[16];
    int waited = 0;

    memset(text, 'x', big);
    text[big] = '\0';
    assert_int_equal(store_checkpoints(f->st), 0);
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    /* 80 answers of 64 KiB: about 1,300 pages of WAL */
    for (int i = 0; i < 80; i++) {
        snprintf(uid, sizeof uid, "u%d", i);
        snprintf(aid, sizeof aid, "a%d", i);
        assert_int_equal(store_turn_begin(f->st, "s1", uid, aid, "q", (uint64_t)i), 0);
        finish(f->st, aid, text, "complete", 0, 0, (uint64_t)i);
    }
    while (store_checkpoints(f->st) == 0 && waited < 10000) {
        usleep(10000);
        waited += 10;
    }
    assert_true(store_checkpoints(f->st) > 0);
    /* the answers reached the database file itself (the store's connection
     * is still open, so nothing else checkpointed) */
    {
        FILE *db = fopen(f->path, "rb");
        long size;
        assert_non_null(db);
        fseek(db, 0, SEEK_END);
        size = ftell(db);
        fclose(db);
        assert_true(size >= 2L * 1024 * 1024);     /* a fresh file is a few KiB */
    }
    free(text);
}

/* ---------- history ---------- */

static void test_history(void **state)
{
    struct fixture *f = *state;
    json_t *h;
    char uid[16], aid[16], q[24], ans[24];

    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    /* turns 1..3 complete, turn 4 a refusal, turn 5 stopped with no text,
     * turn 6 the current one (pending) */
    for (int i = 1; i <= 3; i++) {
        snprintf(uid, sizeof uid, "u%d", i);
        snprintf(aid, sizeof aid, "a%d", i);
        snprintf(q, sizeof q, "q%d", i);
        snprintf(ans, sizeof ans, "ans%d", i);
        assert_int_equal(store_turn_begin(f->st, "s1", uid, aid, q, 1000 + (uint64_t)i), 0);
        finish(f->st, aid, ans, "complete", 0, 0, 2000 + (uint64_t)i);
    }
    assert_int_equal(store_turn_begin(f->st, "s1", "u4", "a4", "q4", 1004), 0);
    {
        json_t *ref = json_pack("{s:s}", "category", "self_harm");
        struct store_turn_result r = {.content = "refused", .status = "complete",
                                      .refusal = ref, .engine = "safety"};
        assert_int_equal(store_turn_finish(f->st, "a4", &r, 2004), 0);
        json_decref(ref);
    }
    assert_int_equal(store_turn_begin(f->st, "s1", "u5", "a5", "q5", 1005), 0);
    finish(f->st, "a5", "", "stopped", 0, 0, 2005);
    assert_int_equal(store_turn_begin(f->st, "s1", "u6", "a6", "current question", 1006), 0);

    h = store_history(f->st, "s1", "a6", 100);
    /* q1 ans1 q2 ans2 q3 ans3 q4 q5 (refusal a4 and empty a5 left out,
     * current question u6 and its pending answer excluded) */
    assert_int_equal(json_array_size(h), 8);
    assert_string_equal(str_of(json_array_get(h, 0), "role"), "user");
    assert_string_equal(str_of(json_array_get(h, 0), "content"), "q1");
    assert_string_equal(str_of(json_array_get(h, 1), "role"), "assistant");
    assert_string_equal(str_of(json_array_get(h, 1), "content"), "ans1");
    assert_string_equal(str_of(json_array_get(h, 5), "content"), "ans3");
    assert_string_equal(str_of(json_array_get(h, 6), "content"), "q4");
    assert_string_equal(str_of(json_array_get(h, 7), "content"), "q5");
    for (size_t i = 0; i < json_array_size(h); i++) {
        const char *c = str_of(json_array_get(h, i), "content");
        assert_string_not_equal(c, "current question");
        assert_string_not_equal(c, "refused");
    }
    json_decref(h);

    /* bounded by max: the most recent ones, still oldest first */
    h = store_history(f->st, "s1", "a6", 3);
    assert_int_equal(json_array_size(h), 3);
    assert_string_equal(str_of(json_array_get(h, 0), "content"), "ans3");
    assert_string_equal(str_of(json_array_get(h, 1), "content"), "q4");
    assert_string_equal(str_of(json_array_get(h, 2), "content"), "q5");
    json_decref(h);

    /* history before the first answer is empty */
    h = store_history(f->st, "s1", "a1", 10);
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
    /* history before a2 is exactly turn 1 */
    h = store_history(f->st, "s1", "a2", 10);
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(str_of(json_array_get(h, 0), "content"), "q1");
    assert_string_equal(str_of(json_array_get(h, 1), "content"), "ans1");
    json_decref(h);
    h = store_history(f->st, "s1", "a6", 0);
    assert_int_equal(json_array_size(h), 0);
    json_decref(h);
}

static void test_history_other_session(void **state)
{
    struct fixture *f = *state;
    json_t *h;
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    assert_int_equal(store_session_create(f->st, "s2", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "s1 question", 1), 0);
    finish(f->st, "a1", "s1 answer", "complete", 0, 0, 2);
    assert_int_equal(store_turn_begin(f->st, "s2", "u2", "a2", "s2 question", 3), 0);
    finish(f->st, "a2", "s2 answer", "complete", 0, 0, 4);
    assert_int_equal(store_turn_begin(f->st, "s2", "u3", "a3", "s2 next", 5), 0);
    h = store_history(f->st, "s2", "a3", 10);
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(str_of(json_array_get(h, 0), "content"), "s2 question");
    assert_string_equal(str_of(json_array_get(h, 1), "content"), "s2 answer");
    json_decref(h);
}

/* ---------- tokens ---------- */

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1000), 0);
    assert_int_equal(store_session_create(f->st, "s2", NULL, 1000), 0);
    assert_int_equal(store_tokens_session(f->st, "s1"), 0);
    assert_int_equal(store_tokens_since(f->st, 0), 0);

    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q", 1), 0);
    finish(f->st, "a1", "x", "complete", 100, 20, 10000);
    assert_int_equal(store_turn_begin(f->st, "s1", "u2", "a2", "q", 2), 0);
    finish(f->st, "a2", "x", "complete", 3, 4, 20000);
    assert_int_equal(store_turn_begin(f->st, "s2", "u3", "a3", "q", 3), 0);
    finish(f->st, "a3", "x", "complete", 1000, 1, 30000);
    assert_int_equal(store_turn_begin(f->st, "s2", "u4", "a4", "q", 4), 0);   /* pending */

    assert_int_equal(store_tokens_session(f->st, "s1"), 127);
    assert_int_equal(store_tokens_session(f->st, "s2"), 1001);
    assert_int_equal(store_tokens_session(f->st, "none"), 0);
    assert_int_equal(store_tokens_since(f->st, 0), 1128);
    assert_int_equal(store_tokens_since(f->st, 20000), 1008);   /* inclusive */
    assert_int_equal(store_tokens_since(f->st, 20001), 1001);
    assert_int_equal(store_tokens_since(f->st, 30001), 0);
}


/* ---------- feedback ---------- */

static json_t *feedback_of(struct store *st, const char *sid, const char *mid)
{
    int found;
    json_t *s = store_session_get(st, sid, &found), *m, *fb = NULL;
    size_t i;
    assert_int_equal(found, 1);
    assert_int_equal(store_feedback_attach(st, s), 0);
    json_array_foreach(json_object_get(s, "messages"), i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (strcmp(role, "user") == 0) assert_null(json_object_get(m, "feedback"));
        else assert_non_null(json_object_get(m, "feedback"));   /* null or an object */
        if (strcmp(json_string_value(json_object_get(m, "id")), mid) == 0)
            fb = json_incref(json_object_get(m, "feedback"));
    }
    json_decref(s);
    return fb;
}

static void test_feedback(void **state)
{
    struct fixture *f = *state;
    json_t *fb;
    assert_int_equal(store_session_create(f->st, "fbs", NULL, 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "fbs", "fbu1", "fba1", "Bedtime?", 1001), 0);
    finish(f->st, "fba1", "Keep a routine.", "complete", 0, 0, 1002);

    fb = feedback_of(f->st, "fbs", "fba1");
    assert_true(json_is_null(fb));
    json_decref(fb);

    assert_int_equal(store_feedback_set(f->st, "fba1", 0, "Too vague", 2000), 1);
    fb = feedback_of(f->st, "fbs", "fba1");
    assert_true(json_is_false(json_object_get(fb, "helpful")));
    assert_string_equal(json_string_value(json_object_get(fb, "reason")), "Too vague");
    assert_non_null(json_string_value(json_object_get(fb, "created_at")));
    json_decref(fb);

    /* changed: one row, the newest wins; an empty reason is null */
    assert_int_equal(store_feedback_set(f->st, "fba1", 1, "", 3000), 1);
    fb = feedback_of(f->st, "fbs", "fba1");
    assert_true(json_is_true(json_object_get(fb, "helpful")));
    assert_true(json_is_null(json_object_get(fb, "reason")));
    json_decref(fb);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM feedback"), 1);

    /* only assistant messages take feedback */
    assert_int_equal(store_feedback_set(f->st, "fbu1", 1, NULL, 3000), 0);
    assert_int_equal(store_feedback_set(f->st, "nosuch", 1, NULL, 3000), 0);

    /* deleting the session deletes its feedback */
    assert_int_equal(store_session_delete(f->st, "fbs"), 1);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM feedback"), 0);
}

/* ---------- event logs (v4) ---------- */

/* Events stored as they are shown survive a crash: recovery turns them
 * into the answer's words and replay log. */
static void test_events_and_recover(void **state)
{
    struct fixture *f = *state;
    const char *d[] = {"{\"chunk\":\"Keep \"}", "{\"chunk\":\"bedtime \"}",
                       "{\"type\":\"triage\"}", "{\"chunk\":\"calm.\"}"};
    struct store_event ev[4];
    json_t *got = NULL;
    char sid[64], status[32];
    int found;

    assert_int_equal(store_session_create(f->st, "s1", NULL, 1), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q", 1), 0);
    for (int i = 0; i < 4; i++) ev[i] = (struct store_event){"a1", (size_t)i + 1, d[i], strlen(d[i])};
    assert_int_equal(store_events_append(f->st, ev, 2), 2);
    /* again: already stored rows are skipped; an unknown answer's dropped */
    assert_int_equal(store_events_append(f->st, ev, 2), 0);
    {
        struct store_event ghost = {"zz", 1, d[0], strlen(d[0])};
        assert_int_equal(store_events_append(f->st, &ghost, 1), 0);
    }
    assert_int_equal(store_events_append(f->st, ev + 2, 2), 2);
    assert_int_equal(store_events_since(f->st, "a1", 1, &got), 0);
    assert_int_equal(json_array_size(got), 3);
    assert_string_equal(json_string_value(json_array_get(got, 0)), d[1]);
    json_decref(got);
    assert_int_equal(store_events_since(f->st, "a1", 4, &got), 0);
    assert_int_equal(json_array_size(got), 0);
    json_decref(got);

    assert_int_equal(store_recover(f->st), 1);
    got = NULL;
    assert_int_equal(store_answer_events(f->st, "a1", sid, sizeof sid, status, sizeof status,
                                         &got), 1);
    assert_string_equal(status, "incomplete");
    assert_int_equal(json_array_size(got), 4);
    assert_string_equal(json_string_value(json_array_get(got, 3)), d[3]);
    json_decref(got);
    {
        json_t *s = store_session_get(f->st, "s1", &found);
        assert_string_equal(str_of(json_array_get(json_object_get(s, "messages"), 1), "content"),
                            "Keep bedtime calm.");
        json_decref(s);
    }
    /* deleting the session takes its events */
    assert_int_equal(store_session_delete(f->st, "s1"), 1);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM events"), 0);
}

/* Pruning and the inline off-the-loop calls (SQLite): a finished
 * answer's stored events go once before_ms passed its finish (its row
 * keeps the whole log), a pending one's never, at most limit rows a call;
 * the async save calls back before it returns. */
static int saved_calls, saved_rc[2];

static void on_saved(void *arg, const char *const *ids, const int *rcs, size_t n)
{
    saved_calls++;
    for (size_t i = 0; i < n && i < 2; i++) saved_rc[i] = rcs[i];
}

static void test_prune_and_inline_async(void **state)
{
    struct fixture *f = *state;
    const char *d = "{\"chunk\":\"w\"}";
    struct store_event ev[3] = {{"a1", 1, d, strlen(d)}, {"a1", 2, d, strlen(d)},
                                {"a2", 1, d, strlen(d)}};
    json_t *log = json_pack("[s, s]", d, d), *got = NULL;
    struct store_save sv[2] = {
        {"a1", {.content = "ww", .status = "complete", .events = log, .engine = "g"}},
        {"nope", {.content = "x", .status = "complete", .events = log, .engine = "g"}},
    };
    char sid[64], status[32];

    assert_int_equal(store_async_start(f->st, NULL), 0);        /* SQLite: nothing */
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u1", "a1", "q", 1000), 0);
    assert_int_equal(store_turn_begin(f->st, "s1", "u2", "a2", "q", 1000), 0);
    assert_int_equal(store_events_append(f->st, ev, 3), 3);
    store_turns_finish_async(f->st, sv, 2, 5000, on_saved, NULL);
    assert_int_equal(saved_calls, 1);                           /* in the call */
    assert_int_equal(saved_rc[0], 0);
    assert_int_equal(saved_rc[1], 1);                           /* no such row */
    assert_int_equal(store_events_prune(f->st, 5000, 100), 0);
    assert_int_equal(store_events_prune(f->st, 5001, 1), 1);
    assert_int_equal(store_events_prune(f->st, 5001, 100), 1);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM events WHERE message_id = 'a1'"), 0);
    assert_int_equal(query_int(f->path, "SELECT count(*) FROM events WHERE message_id = 'a2'"), 1);
    assert_int_equal(store_answer_events(f->st, "a1", sid, sizeof sid, status, sizeof status,
                                         &got), 1);
    assert_int_equal(json_array_size(got), 2);
    json_decref(got);
    json_decref(log);
    assert_int_equal(store_async_pending(f->st), 0);
    store_async_stop(f->st);
}

/* store_call on SQLite: fn runs on the store itself, in the call, and
 * done follows with STORE_CALL_DONE before store_call returns. */
struct call_seen {
    struct store *st, *view;
    int exists, how, done;
};

static void seen_fn(struct store *view, void *arg)
{
    struct call_seen *c = arg;
    c->view = view;
    c->exists = store_session_exists(view, "s1");
}

static void seen_done(void *arg, int how)
{
    struct call_seen *c = arg;
    c->how = how;
    c->done++;
}

static void test_call_inline(void **state)
{
    struct fixture *f = *state;
    struct call_seen c = {.how = -1};
    assert_int_equal(store_session_create(f->st, "s1", NULL, 1), 0);
    store_call(f->st, "s1", seen_fn, seen_done, &c);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.how, STORE_CALL_DONE);
    assert_ptr_equal(c.view, f->st);
    assert_int_equal(c.exists, 1);
    store_calls_stop(f->st);                    /* nothing to stop */
    store_call(f->st, NULL, seen_fn, seen_done, &c);
    assert_int_equal(c.done, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test(test_open_bad_path),
        cmocka_unit_test_setup_teardown(test_session_create_exists_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turn_begin_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turn_begin_errors_roll_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turn_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turn_finish_null_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_other_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feedback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_and_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_and_inline_async, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
