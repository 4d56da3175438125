/* test_turn.c — turns end to end on a real libevent loop: event ids and
 * frames (pure), then whole turns with the real store (a temp file), the
 * shipped knowledge base (kb/), the shipped safety policy
 * (policy/safety.json) and the real grounded engine: chunks then done with
 * citations, the saved answer equal to what was streamed, backlog replay to
 * late subscribers, cancel, refusals, grace-period cancel, error paths with
 * a scripted engine. Run from the repository root.
 *
 * The loop is driven with EVLOOP_ONCE in bounded loops (never sleeps); a
 * test that waits for something that never comes fails instead of hanging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One unit: gcc inlines util_iso8601 into store.c and cannot see that the
 * year has four digits (-Wformat-truncation); the server's separate
 * objects do not warn. kb.c and safety.c each have a file-local
 * expand_phrase(), so kb.c's is renamed for this unit. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "../../src/util.c"
#include "../../src/metrics.c"
#include "../../src/jtext.c"
#include "../../src/pgworker.c"
#include "../../src/store_pg.c"
#include "../../src/store.c"
#define expand_phrase kb_expand_phrase_
#include "../../src/url.c"
#include "../../src/topicnet.c"
#include "../../src/kb.c"
#undef expand_phrase
#include "../../src/safety.c"
#include "../../src/tmodel.c"
#include "../../src/gloss.c"
#include "../../src/spell.c"
#include "../../src/text.c"
#include "../../src/engine_grounded.c"
#include "../../src/convo.c"
#include "../../src/budget.c"
#include "../../src/turn.c"
#include "../../src/dbfault.c"
#pragma GCC diagnostic pop

#include <event2/event.h>

#define LOOP_LIMIT 20000        /* EVLOOP_ONCE iterations before giving up */
#define LONG_MS 600000          /* grace/linger that never fire during a test */

/* ---------- fixture ---------- */

static struct {
    struct event_base *base;
    struct kb *kb;
    struct safety_policy *policy;
    struct store *store;
    struct engine *fast, *paced, *slow;   /* grounded at pace 0, 3 and 50 ms */
    char dir[64], path[128], fault[128];
} F;

static void use_env(struct engine *e, int grace_ms, int linger_ms)
{
    struct turn_env env_ = {
        .base = F.base, .store = F.store, .kb = F.kb, .policy = F.policy,
        .engine = e, .grace_ms = grace_ms, .linger_ms = linger_ms,
    };
    turn_setup(&env_);
}

static int group_setup(void **state)
{
    (void)state;
    const char *dirs[1] = {"kb"};
    struct kb_problems pr = {0};
    char err[512] = "";

    F.base = event_base_new();
    if (!F.base) return -1;
    if (kb_load(dirs, 1, &F.kb, &pr)) {
        for (size_t i = 0; i < pr.n; i++) fprintf(stderr, "%s\n", pr.items[i]);
        kb_problems_free(&pr);
        fprintf(stderr, "test_turn: run from the repository root (needs kb/)\n");
        return -1;
    }
    kb_problems_free(&pr);
    if (safety_policy_load("policy/safety.json", "US", &F.policy, err, sizeof err)) {
        fprintf(stderr, "policy: %s\n", err);
        return -1;
    }
    snprintf(F.dir, sizeof F.dir, "/tmp/coachd-turn-test-XXXXXX");
    if (!mkdtemp(F.dir)) return -1;
    snprintf(F.path, sizeof F.path, "%s/coach.db", F.dir);
    snprintf(F.fault, sizeof F.fault, "%s/fault", F.dir);
    if (dbfault_install(F.fault)) return -1;   /* writes fail while F.fault exists */
    if (store_open(F.path, &F.store, err, sizeof err)) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    F.fast = engine_grounded_new(F.base, F.kb, 0);
    F.paced = engine_grounded_new(F.base, F.kb, 3);
    F.slow = engine_grounded_new(F.base, F.kb, 50);
    use_env(F.fast, LONG_MS, LONG_MS);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    static const char *const suffix[] = {"", "-wal", "-shm"};
    turn_free_all();
    if (F.fast) F.fast->destroy(F.fast);
    if (F.paced) F.paced->destroy(F.paced);
    if (F.slow) F.slow->destroy(F.slow);
    store_close(F.store);
    safety_policy_free(F.policy);
    kb_free(F.kb);
    if (F.base) event_base_free(F.base);
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", F.path, suffix[i]);
        unlink(p);
    }
    rmdir(F.dir);
    return 0;
}

static void rec_free_all(void);

/* Every test starts with the default environment and leaves no turn. */
static int test_setup(void **state)
{
    (void)state;
    use_env(F.fast, LONG_MS, LONG_MS);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    turn_free_all();
    rec_free_all();
    return 0;
}

static void new_session(char *id, size_t n)
{
    assert_int_equal(util_random_id(id, n, 16), 0);
    assert_int_equal(store_session_create(F.store, id, NULL, util_wall_ms()), 0);
}

/* ---------- a recording listener ---------- */

struct rec {
    struct turn_listener l;
    char **frames;
    size_t n, cap;
    int ended;
    struct turn *turn;            /* for self-unsubscribe */
    size_t leave_after;           /* unsubscribe itself after this many frames (0: never) */
};

static void rec_event(void *arg, const char *frame, size_t len)
{
    struct rec *r = arg;
    assert_int_equal(strlen(frame), len);
    assert_int_equal(r->ended, 0);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->frames = xrealloc(r->frames, r->cap * sizeof *r->frames);
    }
    r->frames[r->n++] = xstrndup(frame, len);
    if (r->leave_after && r->n == r->leave_after) turn_unsubscribe(r->turn, &r->l);
}

static void rec_end(void *arg)
{
    struct rec *r = arg;
    r->ended++;
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->frames[i]);
    free(r->frames);
    r->frames = NULL;
    r->n = r->cap = 0;
}

/* Recorders live in a static pool, not on a test's stack: when an
 * assertion fails mid-test, the turn may still hold the listener, and
 * teardown (turn_free_all) may still deliver to it. */
static struct rec pool[8];
static size_t npool;

static struct rec *rec_new(void)
{
    struct rec *r;
    assert_true(npool < sizeof pool / sizeof pool[0]);
    r = &pool[npool++];
    memset(r, 0, sizeof *r);
    r->l.on_event = rec_event;
    r->l.on_end = rec_end;
    r->l.arg = r;
    return r;
}

static void rec_free_all(void)
{
    for (size_t i = 0; i < npool; i++) rec_free(&pool[i]);
    npool = 0;
}

/* Parses frame i: checks "id: <mid>:<seq>\ndata: <json>\n\n" and returns
 * the data (new reference). */
static json_t *frame_data(const struct rec *r, size_t i, const char *mid, size_t seq)
{
    char head[128];
    const char *f = r->frames[i], *data, *end;
    json_error_t je;
    json_t *v;
    snprintf(head, sizeof head, "id: %s:%zu\ndata: ", mid, seq);
    if (strncmp(f, head, strlen(head)) != 0) fail_msg("frame %zu has a bad head: %.80s", i, f);
    data = f + strlen(head);
    end = strchr(data, '\n');
    assert_non_null(end);
    assert_string_equal(end, "\n\n");        /* one data line, then the blank line */
    v = json_loadb(data, (size_t)(end - data), 0, &je);
    if (!v) fail_msg("frame %zu: bad JSON: %s", i, je.text);
    return v;
}

static int is_chunk(json_t *d) { return json_is_string(json_object_get(d, "chunk")); }
static int is_done(json_t *d) { return json_is_true(json_object_get(d, "done")); }

/* Runs the loop until *flag is set (bounded). */
static void run_until(const int *flag)
{
    for (int i = 0; i < LOOP_LIMIT && !*flag; i++) event_base_loop(F.base, EVLOOP_ONCE);
    if (!*flag) fail_msg("the loop ran %d times without the expected event", LOOP_LIMIT);
}

static void run_until_frames(const struct rec *r, size_t n)
{
    for (int i = 0; i < LOOP_LIMIT && r->n < n && !r->ended; i++)
        event_base_loop(F.base, EVLOOP_ONCE);
    if (r->n < n) fail_msg("only %zu of %zu frames arrived", r->n, n);
}

/* Runs the loop for ms milliseconds of timer time (a one-shot timer). */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    *(int *)arg = 1;
}

static void run_for_ms(int ms)
{
    int fired = 0;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    struct event *ev = evtimer_new(F.base, on_timeout, &fired);
    evtimer_add(ev, &tv);
    run_until(&fired);
    event_free(ev);
}

/* The stored answer row (second message of the turn with answer id mid). */
static json_t *stored_answer(const char *sid, const char *mid)
{
    int found;
    json_t *s = store_session_get(F.store, sid, &found), *msgs, *m, *copy = NULL;
    assert_int_equal(found, 1);
    msgs = json_object_get(s, "messages");
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        m = json_array_get(msgs, i);
        if (strcmp(json_string_value(json_object_get(m, "id")), mid) == 0) copy = json_incref(m);
    }
    json_decref(s);
    assert_non_null(copy);
    return copy;
}

static char *stored_engine(const char *mid)
{
    sqlite3_stmt *s;
    char *out = NULL;
    assert_int_equal(sqlite3_prepare_v2(F.store->db, "SELECT engine FROM messages WHERE id = ?1",
                                        -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, mid, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = xstrdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
}

/* ---------- event ids and frames ---------- */

static void test_event_id_round_trip(void **state)
{
    (void)state;
    char out[64], mid[32];
    size_t seq = 999;
    turn_format_event_id("abc", 12, out, sizeof out);
    assert_string_equal(out, "abc:12");
    assert_int_equal(turn_parse_event_id(out, mid, sizeof mid, &seq), 0);
    assert_string_equal(mid, "abc");
    assert_int_equal(seq, 12);

    turn_format_event_id("Xy-_09", 0, out, sizeof out);
    assert_int_equal(turn_parse_event_id(out, mid, sizeof mid, &seq), 0);
    assert_string_equal(mid, "Xy-_09");
    assert_int_equal(seq, 0);

    assert_int_equal(turn_parse_event_id("m:10000000", mid, sizeof mid, &seq), 0);
    assert_int_equal(seq, 10000000);

    /* a real 22-char id */
    char id[32];
    assert_int_equal(util_random_id(id, sizeof id, 16), 0);
    turn_format_event_id(id, 4711, out, sizeof out);
    assert_int_equal(turn_parse_event_id(out, mid, sizeof mid, &seq), 0);
    assert_string_equal(mid, id);
    assert_int_equal(seq, 4711);
}

static void test_event_id_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "abc", ":3", "abc:", "abc:x", "a.b:1", "abc:1x", "abc:12:", "a:b:1", "a/b:1",
        "abc:10000001", "abc:99999999999999999999999", "abc:-1", "", ":",
    };
    char mid[32];
    size_t seq;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seq = 777;
        if (turn_parse_event_id(bad[i], mid, sizeof mid, &seq) != -1)
            fail_msg("accepted event id '%s'", bad[i]);
        assert_int_equal(seq, 777);
    }
    assert_int_equal(turn_parse_event_id(NULL, mid, sizeof mid, &seq), -1);

    /* the message id must fit the buffer with its NUL */
    assert_int_equal(turn_parse_event_id("abcd:1", mid, 5, &seq), 0);
    assert_string_equal(mid, "abcd");
    assert_int_equal(turn_parse_event_id("abcde:1", mid, 5, &seq), -1);
    char longid[80];
    memset(longid, 'a', 70);
    strcpy(longid + 70, ":1");
    assert_int_equal(turn_parse_event_id(longid, mid, sizeof mid, &seq), -1);
}

static void test_frame_format(void **state)
{
    (void)state;
    size_t len = 0;
    char *f = turn_frame("m", 3, "{\"chunk\":\"Hi \"}", &len);
    assert_string_equal(f, "id: m:3\ndata: {\"chunk\":\"Hi \"}\n\n");
    assert_int_equal(len, strlen(f));
    free(f);
    f = turn_frame("abcDEF-_", 1234567, "{}", &len);
    assert_string_equal(f, "id: abcDEF-_:1234567\ndata: {}\n\n");
    assert_int_equal(len, strlen(f));
    free(f);
    f = turn_frame_n("m", 0, "{}xyz", 2, &len);
    assert_string_equal(f, "id: m:0\ndata: {}\n\n");
    assert_int_equal(len, strlen(f));
    free(f);
    f = turn_frame("m", (size_t)-1, "1", &len);
    assert_string_equal(f, "id: m:18446744073709551615\ndata: 1\n\n");
    free(f);
}

/* ---------- whole turns with the grounded engine ---------- */

static const char bedtime[] = "How do I handle bedtime with my 3 year old?";

static void test_turn_streams_and_saves(void **state)
{
    (void)state;
    char sid[32];
    struct rec *r;
    struct turn *t;
    char mid[32];
    json_t *done = NULL, *row, *events = NULL;
    char *text = NULL, *engine_name;
    size_t tlen = 0, nchunks = 0;
    char ssid[80], status[32];

    new_session(sid, sizeof sid);
    r = rec_new();
    t = turn_create(sid, bedtime, strlen(bedtime));
    assert_non_null(t);
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    assert_true(util_id_valid(mid));
    assert_string_equal(turn_session_id(t), sid);
    assert_string_equal(turn_question(t), bedtime);
    assert_ptr_equal(turn_find(mid), t);
    assert_int_equal(turn_is_finished(t), 0);
    assert_int_equal(turn_running_count(), 1);
    /* the question is committed before anything runs */
    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "streaming");
    json_decref(row);

    turn_subscribe(t, &r->l, 0);
    run_until(&r->ended);
    assert_int_equal(r->ended, 1);
    assert_int_equal(turn_is_finished(t), 1);
    assert_int_equal(turn_running_count(), 0);
    assert_true(r->n >= 3);
    assert_int_equal(turn_event_count(t), r->n);

    for (size_t i = 0; i < r->n; i++) {
        json_t *d = frame_data(r, i, mid, i + 1);
        if (i + 1 < r->n) {
            if (!is_chunk(d)) fail_msg("frame %zu is not a chunk", i);
            const char *c = json_string_value(json_object_get(d, "chunk"));
            size_t cl = strlen(c);
            assert_true(cl > 0);
            text = xrealloc(text, tlen + cl + 1);
            memcpy(text + tlen, c, cl + 1);
            tlen += cl;
            nchunks++;
        } else {
            assert_true(is_done(d));
            done = json_incref(d);
        }
        json_decref(d);
    }
    assert_true(nchunks >= 2);
    assert_string_equal(json_string_value(json_object_get(done, "message_id")), mid);
    assert_null(json_object_get(done, "stopped"));
    json_t *cits = json_object_get(done, "citations");
    assert_true(json_is_array(cits));
    assert_true(json_array_size(cits) >= 1);
    /* citations are numbered as the [n] markers in the text */
    for (size_t i = 0; i < json_array_size(cits); i++) {
        json_t *c = json_array_get(cits, i);
        char marker[32];
        assert_int_equal(json_integer_value(json_object_get(c, "id")), (json_int_t)(i + 1));
        assert_true(json_string_length(json_object_get(c, "title")) > 0);
        assert_true(json_string_length(json_object_get(c, "source")) > 0);
        assert_non_null(strstr(json_string_value(json_object_get(c, "url")), "http"));
        snprintf(marker, sizeof marker, "[%zu]", i + 1);
        assert_non_null(strstr(text, marker));
    }
    {
        char marker[32];
        snprintf(marker, sizeof marker, "[%zu]", json_array_size(cits) + 1);
        assert_null(strstr(text, marker));
    }

    /* the stream is exactly the composed answer, cut into word chunks */
    {
        struct kb_hit hits[TURN_HITS];
        int age;
        size_t nh = kb_search(F.kb, bedtime, strlen(bedtime), hits, TURN_HITS, &age);
        char *want = NULL;
        json_t *want_cit = NULL;
        assert_true(nh > 0);
        grounded_compose(F.kb, bedtime, strlen(bedtime), hits, nh, age, &want, &want_cit);
        assert_string_equal(text, want);
        assert_true(json_equal(cits, want_cit));
        free(want);
        json_decref(want_cit);
    }

    /* saved: the streamed text, complete, the same citations */
    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "content")), text);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "complete");
    assert_true(json_equal(json_object_get(row, "citations"), cits));
    assert_true(json_is_null(json_object_get(row, "refusal")));
    json_decref(row);
    engine_name = stored_engine(mid);
    assert_string_equal(engine_name, "grounded");
    free(engine_name);

    /* the stored event log replays exactly the data lines that were sent */
    assert_int_equal(store_answer_events(F.store, mid, ssid, sizeof ssid, status, sizeof status,
                                         &events), 1);
    assert_string_equal(ssid, sid);
    assert_string_equal(status, "complete");
    assert_int_equal(json_array_size(events), r->n);
    for (size_t i = 0; i < r->n; i++) {
        size_t len;
        char *f = turn_frame(mid, i + 1, json_string_value(json_array_get(events, i)), &len);
        assert_string_equal(f, r->frames[i]);
        free(f);
    }
    json_decref(events);
    json_decref(done);
    free(text);

    /* the finished turn lingers in memory */
    assert_ptr_equal(turn_find(mid), t);
}

static void test_late_subscriber_gets_backlog(void **state)
{
    (void)state;
    char sid[32];
    struct rec *a, *b, *c;
    struct turn *t;

    new_session(sid, sizeof sid);
    a = rec_new();
    b = rec_new();
    c = rec_new();
    t = turn_create(sid, bedtime, strlen(bedtime));
    assert_non_null(t);
    turn_subscribe(t, &a->l, 0);
    run_until(&a->ended);

    /* after the end: the whole backlog at once, then on_end, not kept */
    turn_subscribe(t, &b->l, 0);
    assert_int_equal(b->ended, 1);
    assert_int_equal(b->n, a->n);
    for (size_t i = 0; i < a->n; i++) assert_string_equal(b->frames[i], a->frames[i]);
    assert_null(b->l.next_);
    assert_null(t->listeners);

    /* from a position: the rest only (Last-Event-ID = mid:2 -> from 2) */
    turn_subscribe(t, &c->l, 2);
    assert_int_equal(c->ended, 1);
    assert_int_equal(c->n, a->n - 2);
    for (size_t i = 0; i < c->n; i++) assert_string_equal(c->frames[i], a->frames[i + 2]);

    /* from past the end: nothing but on_end */
    c = rec_new();
    turn_subscribe(t, &c->l, a->n + 5);
    assert_int_equal(c->n, 0);
    assert_int_equal(c->ended, 1);
}

static void test_mid_stream_subscriber(void **state)
{
    (void)state;
    char sid[32];
    struct rec *a, *b;
    struct turn *t;

    use_env(F.paced, LONG_MS, LONG_MS);
    new_session(sid, sizeof sid);
    a = rec_new();
    b = rec_new();
    t = turn_create(sid, bedtime, strlen(bedtime));
    turn_subscribe(t, &a->l, 0);
    run_until_frames(a, 3);
    assert_int_equal(a->ended, 0);
    /* joins while running: backlog, then live frames, in order, no gaps */
    turn_subscribe(t, &b->l, 0);
    assert_int_equal(b->n, a->n);
    run_until(&b->ended);
    assert_int_equal(a->ended, 1);
    assert_int_equal(b->n, a->n);
    for (size_t i = 0; i < a->n; i++) assert_string_equal(b->frames[i], a->frames[i]);
}

static void test_unsubscribe(void **state)
{
    (void)state;
    char sid[32];
    struct rec *a, *b, *self;
    struct turn *t;

    use_env(F.paced, LONG_MS, LONG_MS);
    new_session(sid, sizeof sid);
    a = rec_new();
    b = rec_new();
    self = rec_new();
    t = turn_create(sid, bedtime, strlen(bedtime));
    self->turn = t;
    self->leave_after = 2;               /* leaves from inside its own call */
    turn_subscribe(t, &a->l, 0);
    turn_subscribe(t, &b->l, 0);
    turn_subscribe(t, &self->l, 0);
    run_until_frames(a, 2);
    turn_unsubscribe(t, &b->l);
    size_t b_had = b->n;
    turn_unsubscribe(t, &b->l);          /* twice: a no-op */
    run_until(&a->ended);
    assert_int_equal(b->n, b_had);
    assert_int_equal(b->ended, 0);
    assert_int_equal(self->n, 2);
    assert_int_equal(self->ended, 0);
    assert_true(a->n > 3);
}

static void test_cancel_running_turn(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    json_t *last, *row;
    char *text = NULL;
    size_t tlen = 0;

    use_env(F.slow, LONG_MS, LONG_MS);
    new_session(sid, sizeof sid);
    r = rec_new();
    t = turn_create(sid, bedtime, strlen(bedtime));
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    turn_subscribe(t, &r->l, 0);
    run_until_frames(r, 2);
    assert_int_equal(r->ended, 0);

    turn_cancel(t);
    assert_int_equal(turn_running_count(), 0);
    /* done may be held until the answer is saved (same loop iteration) */
    run_until(&r->ended);
    assert_int_equal(r->ended, 1);
    assert_int_equal(turn_is_finished(t), 1);
    last = frame_data(r, r->n - 1, mid, r->n);
    assert_true(is_done(last));
    assert_true(json_is_true(json_object_get(last, "stopped")));
    assert_string_equal(json_string_value(json_object_get(last, "message_id")), mid);
    json_decref(last);
    for (size_t i = 0; i + 1 < r->n; i++) {
        json_t *d = frame_data(r, i, mid, i + 1);
        const char *c = json_string_value(json_object_get(d, "chunk"));
        assert_non_null(c);
        text = xrealloc(text, tlen + strlen(c) + 1);
        memcpy(text + tlen, c, strlen(c) + 1);
        tlen += strlen(c);
        json_decref(d);
    }

    size_t n = r->n;
    turn_cancel(t);                      /* idempotent */
    assert_int_equal(r->n, n);
    assert_int_equal(turn_event_count(t), n);
    /* the engine was stopped: three paces later nothing more came */
    run_for_ms(160);
    assert_int_equal(turn_event_count(t), n);

    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "stopped");
    assert_string_equal(json_string_value(json_object_get(row, "content")), text);
    json_decref(row);
    free(text);
}

static void test_cancel_before_start(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    json_t *row, *d;

    new_session(sid, sizeof sid);
    r = rec_new();
    t = turn_create(sid, bedtime, strlen(bedtime));
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    turn_subscribe(t, &r->l, 0);
    turn_cancel(t);                      /* the pipeline has not run yet */
    run_until(&r->ended);
    assert_int_equal(r->n, 1);
    d = frame_data(r, 0, mid, 1);
    assert_true(is_done(d));
    assert_true(json_is_true(json_object_get(d, "stopped")));
    json_decref(d);
    run_for_ms(20);                      /* the start event must do nothing now */
    assert_int_equal(turn_event_count(t), 1);
    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "stopped");
    assert_string_equal(json_string_value(json_object_get(row, "content")), "");
    json_decref(row);
}

static void test_refusal(void **state)
{
    (void)state;
    static const char q[] = "my baby is not breathing";
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    json_t *d, *row, *data;
    char *engine_name;

    new_session(sid, sizeof sid);
    r = rec_new();
    t = turn_create(sid, q, strlen(q));
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    turn_subscribe(t, &r->l, 0);
    run_until(&r->ended);

    assert_int_equal(r->n, 2);            /* refusal, done; no chunk */
    d = frame_data(r, 0, mid, 1);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "refusal");
    data = json_object_get(d, "data");
    assert_true(json_is_object(data));
    assert_non_null(json_string_value(json_object_get(data, "message")));
    assert_false(is_chunk(d));
    json_decref(d);
    d = frame_data(r, 1, mid, 2);
    assert_true(is_done(d));
    assert_int_equal(json_array_size(json_object_get(d, "citations")), 0);
    assert_null(json_object_get(d, "stopped"));
    json_decref(d);

    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "complete");
    assert_true(json_is_object(json_object_get(row, "refusal")));
    assert_true(strlen(json_string_value(json_object_get(row, "content"))) > 0);
    assert_non_null(strstr(json_string_value(json_object_get(row, "content")),
                           json_string_value(json_object_get(json_object_get(row, "refusal"),
                                                             "message"))));
    json_decref(row);
    engine_name = stored_engine(mid);
    assert_string_equal(engine_name, "safety");
    free(engine_name);
}

static void test_grace_cancels_unwatched_turn(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct turn *t;
    json_t *row;
    int finished = 0;

    use_env(F.slow, 30, LONG_MS);
    new_session(sid, sizeof sid);
    t = turn_create(sid, bedtime, strlen(bedtime));
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    for (int i = 0; i < LOOP_LIMIT && !(finished = turn_is_finished(t)); i++)
        event_base_loop(F.base, EVLOOP_ONCE);
    assert_int_equal(finished, 1);
    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "stopped");
    json_decref(row);
}

static void test_linger_frees_turn(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    int gone = 0;

    use_env(F.fast, LONG_MS, 10);
    new_session(sid, sizeof sid);
    r = rec_new();
    t = turn_create(sid, bedtime, strlen(bedtime));
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    turn_subscribe(t, &r->l, 0);
    run_until(&r->ended);
    assert_ptr_equal(turn_find(mid), t);
    for (int i = 0; i < LOOP_LIMIT && !(gone = turn_find(mid) == NULL); i++)
        event_base_loop(F.base, EVLOOP_ONCE);
    assert_int_equal(gone, 1);
}

static void test_cancel_session(void **state)
{
    (void)state;
    char s1[32], s2[32];
    struct turn *a, *b, *c;

    use_env(F.slow, LONG_MS, LONG_MS);
    new_session(s1, sizeof s1);
    new_session(s2, sizeof s2);
    a = turn_create(s1, bedtime, strlen(bedtime));
    b = turn_create(s1, "how many naps?", strlen("how many naps?"));
    c = turn_create(s2, bedtime, strlen(bedtime));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(turn_running_count(), 3);
    turn_cancel_session(s1);
    assert_int_equal(turn_running_count(), 1);
    for (int i = 0; i < LOOP_LIMIT && !(turn_is_finished(a) && turn_is_finished(b)); i++)
        event_base_loop(F.base, EVLOOP_ONCE);
    assert_int_equal(turn_is_finished(a), 1);
    assert_int_equal(turn_is_finished(b), 1);
    assert_int_equal(turn_is_finished(c), 0);
    assert_int_equal(turn_running_count(), 1);
    {
        char sid[80], status[32];
        json_t *ev;
        assert_int_equal(store_answer_events(F.store, turn_message_id(a), sid, sizeof sid,
                                             status, sizeof status, &ev), 1);
        assert_string_equal(status, "stopped");
        json_decref(ev);
        /* b ended in the same iteration: saved in the same batch */
        assert_int_equal(store_answer_events(F.store, turn_message_id(b), sid, sizeof sid,
                                             status, sizeof status, &ev), 1);
        assert_string_equal(status, "stopped");
        json_decref(ev);
        assert_int_equal(store_answer_events(F.store, turn_message_id(c), sid, sizeof sid,
                                             status, sizeof status, &ev), 1);
        assert_string_equal(status, "pending");
        json_decref(ev);
    }
    turn_cancel_all();
    assert_int_equal(turn_running_count(), 0);
}

/* A deleted session's turns leave memory at once: the listener ends
 * without done, the running engine job is gone, nothing is saved. */
static void test_drop_session(void **state)
{
    (void)state;
    char s1[32], s2[32], mid[32];
    struct rec *r = rec_new();
    struct turn *a, *c;

    use_env(F.slow, LONG_MS, LONG_MS);
    new_session(s1, sizeof s1);
    new_session(s2, sizeof s2);
    a = turn_create(s1, bedtime, strlen(bedtime));
    c = turn_create(s2, bedtime, strlen(bedtime));
    assert_non_null(a);
    assert_non_null(c);
    snprintf(mid, sizeof mid, "%s", turn_message_id(a));
    r->turn = a;
    assert_int_equal(turn_subscribe(a, &r->l, 0), 1);
    run_until_frames(r, 2);
    turn_drop_session(s1);
    assert_int_equal(r->ended, 1);
    for (size_t i = 0; i < r->n; i++) assert_null(strstr(r->frames[i], "\"done\""));
    assert_null(turn_find(mid));
    assert_ptr_equal(turn_find(turn_message_id(c)), c);
    assert_int_equal(turn_running_count(), 1);
    run_for_ms(120);                       /* the dropped job's timers are gone */
    assert_int_equal(r->ended, 1);
    turn_cancel_all();
}

static size_t count_save_notices(const struct rec *r)
{
    static const char head[] = "data: {\"type\":\"error\",\"code\":\"save_failed\"";
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) n += strncmp(r->frames[i], head, sizeof head - 1) == 0;
    return n;
}

/* A save that fails (SQLITE_FULL from the fault VFS): no done, one notice
 * without an id, the words kept; the retry saves it and done follows. */
static void test_save_failure_retried(void **state)
{
    (void)state;
    char sid[32];
    struct rec *r = rec_new(), *late = rec_new();
    struct turn *t;
    json_t *m;
    FILE *f;

    new_session(sid, sizeof sid);
    t = turn_create(sid, bedtime, strlen(bedtime));
    assert_non_null(t);
    assert_int_equal(turn_subscribe(t, &r->l, 0), 1);
    f = fopen(F.fault, "w");               /* from here writes fail */
    assert_non_null(f);
    fclose(f);
    for (int i = 0; i < LOOP_LIMIT && count_save_notices(r) == 0; i++)
        event_base_loop(F.base, EVLOOP_ONCE);
    assert_int_equal(count_save_notices(r), 1);
    assert_int_equal(r->ended, 0);
    assert_int_equal(turn_is_finished(t), 0);
    assert_int_equal(store_write_failing(F.store), 1);
    for (size_t i = 0; i < r->n; i++) assert_null(strstr(r->frames[i], "\"done\""));
    run_for_ms(700);                       /* retries at 250 and 500 ms fail */
    assert_int_equal(count_save_notices(r), 1);
    /* a reader that comes now gets the words and the notice */
    late->turn = t;
    assert_int_equal(turn_subscribe(t, &late->l, 0), 1);
    assert_int_equal(count_save_notices(late), 1);
    assert_int_equal(late->n, r->n);
    assert_int_equal(unlink(F.fault), 0);
    run_until(&r->ended);
    run_until(&late->ended);
    assert_int_equal(turn_is_finished(t), 1);
    assert_int_equal(store_write_failing(F.store), 0);
    assert_non_null(strstr(r->frames[r->n - 1], "\"done\":true"));
    m = stored_answer(sid, turn_message_id(t));
    assert_string_equal(json_string_value(json_object_get(m, "status")), "complete");
    json_decref(m);
}

static void test_history_excludes_current(void **state)
{
    (void)state;
    char sid[32];
    struct rec *r;
    struct turn *t1, *t2;
    json_t *h, *row;
    char mid1[32];

    new_session(sid, sizeof sid);
    r = rec_new();
    t1 = turn_create(sid, bedtime, strlen(bedtime));
    snprintf(mid1, sizeof mid1, "%s", turn_message_id(t1));
    turn_subscribe(t1, &r->l, 0);
    run_until(&r->ended);
    t2 = turn_create(sid, "and naps?", 9);
    h = turn_history(t2, 10);
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "content")), bedtime);
    row = stored_answer(sid, mid1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "content")),
                        json_string_value(json_object_get(row, "content")));
    json_decref(row);
    json_decref(h);
}

static void test_create_errors(void **state)
{
    (void)state;
    char longsid[100];
    /* unknown session: the question cannot be committed */
    assert_null(turn_create("no-such-session", bedtime, strlen(bedtime)));
    memset(longsid, 'a', 80);
    longsid[80] = '\0';
    assert_null(turn_create(longsid, bedtime, strlen(bedtime)));
    assert_int_equal(turn_running_count(), 0);
    assert_null(turn_find("no-such-message"));
    assert_null(turn_find(NULL));
}

/* ---------- a scripted engine for the error paths ---------- */

static struct {
    struct turn *turn;
    int started, cancelled, fail_start;
    int job;
} S;

static int script_start(struct engine *e, const struct engine_request *rq, void **job)
{
    (void)e;
    if (S.fail_start) return -1;
    S.turn = rq->ctx;
    S.started++;
    *job = &S.job;
    return 0;
}

static void script_cancel(struct engine *e, void *job)
{
    (void)e;
    assert_ptr_equal(job, &S.job);
    S.cancelled++;
}

static int script_ready(struct engine *e) { (void)e; return 1; }

static struct engine script = {
    .name = "script", .start = script_start, .cancel = script_cancel, .ready = script_ready,
};

static struct turn *scripted_turn(char *sid, size_t sidlen, struct rec *r)
{
    struct turn *t;
    memset(&S, 0, sizeof S);
    use_env(&script, LONG_MS, LONG_MS);
    new_session(sid, sidlen);
    t = turn_create(sid, bedtime, strlen(bedtime));
    assert_non_null(t);
    turn_subscribe(t, &r->l, 0);
    return t;
}

static void test_engine_start_failure(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    json_t *d, *row;

    r = rec_new();
    t = scripted_turn(sid, sizeof sid, r);
    S.fail_start = 1;
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    run_until(&r->ended);
    assert_int_equal(r->n, 2);
    d = frame_data(r, 0, mid, 1);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "error");
    assert_non_null(json_string_value(json_object_get(d, "message")));
    json_decref(d);
    d = frame_data(r, 1, mid, 2);
    assert_true(is_done(d));
    json_decref(d);
    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "incomplete");
    json_decref(row);
}

static void test_engine_incomplete_and_usage(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    json_t *d, *row;
    struct turn_usage u = {.prompt_tokens = 120, .completion_tokens = 30,
                           .prompt_version = "p7", .engine = "grounded-lite"};
    char *engine_name;

    r = rec_new();
    t = scripted_turn(sid, sizeof sid, r);
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    for (int i = 0; i < LOOP_LIMIT && !S.started; i++) event_base_loop(F.base, EVLOOP_ONCE);
    assert_int_equal(S.started, 1);
    assert_ptr_equal(S.turn, t);
    turn_emit_chunk(t, "Part ", 5);
    turn_emit_chunk(t, "", 0);           /* empty: no event */
    turn_emit_chunk(t, "one.", 4);
    assert_int_equal(r->n, 2);
    turn_engine_done(t, TURN_INCOMPLETE, "The coach lost its connection.", NULL, &u);
    run_until(&r->ended);
    assert_int_equal(r->n, 4);            /* chunk, chunk, error, done */
    d = frame_data(r, 2, mid, 3);
    assert_string_equal(json_string_value(json_object_get(d, "message")),
                        "The coach lost its connection.");
    json_decref(d);
    /* chunks after the end are ignored */
    turn_emit_chunk(t, "late", 4);
    turn_engine_done(t, TURN_COMPLETE, NULL, json_array(), NULL);
    assert_int_equal(turn_event_count(t), 4);
    assert_int_equal(S.cancelled, 0);

    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "incomplete");
    assert_string_equal(json_string_value(json_object_get(row, "content")), "Part one.");
    json_decref(row);
    assert_int_equal(store_tokens_session(F.store, sid), 150);
    engine_name = stored_engine(mid);
    assert_string_equal(engine_name, "grounded-lite");
    free(engine_name);
}

static void test_engine_cancelled_on_turn_cancel(void **state)
{
    (void)state;
    char sid[32];
    struct rec *r;
    struct turn *t;

    r = rec_new();
    t = scripted_turn(sid, sizeof sid, r);
    for (int i = 0; i < LOOP_LIMIT && !S.started; i++) event_base_loop(F.base, EVLOOP_ONCE);
    assert_int_equal(S.started, 1);
    turn_cancel(t);
    assert_int_equal(S.cancelled, 1);
    turn_free_all();                     /* must not cancel the job twice */
    assert_int_equal(S.cancelled, 1);
}

static void test_answer_overflow(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    json_t *d, *row;
    char block[1024];
    size_t sent = 0;

    r = rec_new();
    t = scripted_turn(sid, sizeof sid, r);
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    for (int i = 0; i < LOOP_LIMIT && !S.started; i++) event_base_loop(F.base, EVLOOP_ONCE);
    memset(block, 'w', sizeof block);
    while (sent < TURN_MAX_ANSWER) {
        turn_emit_chunk(t, block, sizeof block);
        sent += sizeof block;
    }
    size_t frames_at_cap = r->n;
    turn_emit_chunk(t, block, 1);        /* one byte over: dropped */
    turn_emit_chunk(t, block, sizeof block);
    assert_int_equal(r->n, frames_at_cap);
    turn_engine_done(t, TURN_COMPLETE, NULL, NULL, NULL);
    run_until(&r->ended);
    d = frame_data(r, r->n - 2, mid, r->n - 1);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "error");
    json_decref(d);
    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "status")), "incomplete");
    assert_int_equal(strlen(json_string_value(json_object_get(row, "content"))), TURN_MAX_ANSWER);
    json_decref(row);
}

/* A chunk that is not valid UTF-8 is dropped, not saved, and does not
 * crash the frame builder (json_pack refuses such strings). */
static void test_invalid_utf8_chunk_dropped(void **state)
{
    (void)state;
    char sid[32], mid[32];
    struct rec *r;
    struct turn *t;
    json_t *row;

    r = rec_new();
    t = scripted_turn(sid, sizeof sid, r);
    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    for (int i = 0; i < LOOP_LIMIT && !S.started; i++) event_base_loop(F.base, EVLOOP_ONCE);
    size_t before = r->n;
    turn_emit_chunk(t, "ok ", 3);
    turn_emit_chunk(t, "\xC3\x28 bad", 6);
    turn_emit_chunk(t, "fine", 4);
    assert_int_equal(r->n, before + 2);
    turn_engine_done(t, TURN_COMPLETE, NULL, NULL, NULL);
    run_until(&r->ended);
    row = stored_answer(sid, mid);
    assert_string_equal(json_string_value(json_object_get(row, "content")), "ok fine");
    json_decref(row);
}

/* A chunk's frame is the compact JSON of {"chunk": text}, byte for byte
 * what jansson's object dump gives, for text that needs escaping (the
 * emit path encodes only the string, not an object). */
static void test_chunk_frame_escaping(void **state)
{
    (void)state;
    static const char *texts[] = {
        "plain words ", "\"quoted\" and \\back\\slash", "line\none\r\ttab",
        "\x01\x1f control", "</script><b>", "caf\xC3\xA9 \xF0\x9F\x98\xB4 \xE2\x80\xA8", "/slash/",
    };
    char sid[32], mid[32];
    struct rec *r = rec_new();
    struct turn *t = scripted_turn(sid, sizeof sid, r);
    size_t before;

    snprintf(mid, sizeof mid, "%s", turn_message_id(t));
    for (int i = 0; i < LOOP_LIMIT && !S.started; i++) event_base_loop(F.base, EVLOOP_ONCE);
    before = r->n;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        json_t *o = json_pack("{s:s}", "chunk", texts[i]);
        char *want = json_dumps(o, JSON_COMPACT), id[64];
        size_t flen;
        char *frame;
        turn_format_event_id(mid, before + i + 1, id, sizeof id);
        frame = turn_frame(mid, before + i + 1, want, &flen);
        turn_emit_chunk(t, texts[i], strlen(texts[i]));
        assert_int_equal(r->n, before + i + 1);
        assert_string_equal(r->frames[before + i], frame);
        free(frame);
        free(want);
        json_decref(o);
    }
    turn_engine_done(t, TURN_COMPLETE, NULL, NULL, NULL);
    run_until(&r->ended);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)
    const struct CMUnitTest tests[] = {
        T(test_event_id_round_trip),
        T(test_event_id_rejects),
        T(test_frame_format),
        T(test_turn_streams_and_saves),
        T(test_late_subscriber_gets_backlog),
        T(test_mid_stream_subscriber),
        T(test_unsubscribe),
        T(test_cancel_running_turn),
        T(test_cancel_before_start),
        T(test_refusal),
        T(test_grace_cancels_unwatched_turn),
        T(test_linger_frees_turn),
        T(test_cancel_session),
        T(test_drop_session),
        T(test_save_failure_retried),
        T(test_history_excludes_current),
        T(test_create_errors),
        T(test_engine_start_failure),
        T(test_engine_incomplete_and_usage),
        T(test_engine_cancelled_on_turn_cancel),
        T(test_answer_overflow),
        T(test_invalid_utf8_chunk_dropped),
        T(test_chunk_frame_escaping),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
