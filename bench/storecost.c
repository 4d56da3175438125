/* storecost.c — what one store call costs the event loop, per backend.
 *
 *   bench_storecost DB [N]
 *
 * DB is a SQLite path or a PostgreSQL URL (as --db). Runs N turns (default
 * 2000) through store.h exactly as the server does — session create, turn
 * begin, turn finish with a 200-event log, one session read, answer events —
 * and prints p50/p99/max of each call in microseconds: the time the loop
 * thread is blocked by a synchronous call. Then the streaming path's
 * writes as the server makes them since they left the loop (store.h's
 * *_async calls, the store's worker thread started on a libevent base):
 * an event batch of 20 and a turn finish, each the time in the call (what
 * the loop pays) and until its callback ran (when done could be sent).
 * Then the request path as api.c makes it since it left the loop too
 * (store_call on the store's pool): a session create with the question's
 * commit, and a session read, each the call and until done ran.
 * On SQLite the async calls run inline, so the two are the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "store.h"
#include "util.h"

enum { C_SESSION, C_BEGIN, C_APPEND, C_FINISH, C_GET, C_EVENTS, C_APPEND_CALL, C_APPEND_BACK,
       C_FINISH_CALL, C_FINISH_BACK, C_REQ_CALL, C_REQ_BACK, C_READ_CALL, C_READ_BACK, C__N };
static const char *const names[C__N] = {
    "session create", "turn begin", "events append (20)", "turn finish (200 events)",
    "session get", "answer events",
    "async append (20): call", "async append (20): back", "async finish: call",
    "async finish: back", "call create+begin: call", "call create+begin: back",
    "call session get: call", "call session get: back"};

static int back;

/* a request's store work, as api.c makes it (store_call) */
struct req {
    const char *sid, *uid, *aid;
    int rc;
};

static void req_begin(struct store *view, void *arg)
{
    struct req *r = arg;
    r->rc = store_session_create(view, r->sid, NULL, util_wall_ms()) ||
            store_turn_begin(view, r->sid, r->uid, r->aid, "How do I get my 3 year old to sleep?",
                             util_wall_ms());
}

static void req_get(struct store *view, void *arg)
{
    struct req *r = arg;
    int found;
    json_t *got = store_session_get(view, r->sid, &found);
    json_decref(got);
    r->rc = found == 1 ? 0 : -1;
}

static void req_done(void *arg, int how)
{
    struct req *r = arg;
    if (how != STORE_CALL_TIMEOUT) back = how == STORE_CALL_DONE && r->rc == 0 ? 1 : -1;
}

static void on_append(void *arg, int kept) { back = kept >= 0 ? 1 : -1; }
static void on_save(void *arg, const char *const *ids, const int *rcs, size_t n)
{
    back = rcs[0] == 0 ? 1 : -1;
}

/* Runs the base until the callback ran; 0, or -1 when the write failed. */
static int wait_back(struct event_base *base)
{
    while (!back) event_base_loop(base, EVLOOP_ONCE);
    return back > 0 ? 0 : -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
    struct store *st = NULL;
    char err[256];
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    uint64_t *t[C__N];
    json_t *events = json_array();

    if (argc < 2 || n <= 0) {
        fprintf(stderr, "usage: bench_storecost DB [N]\n");
        return 2;
    }
    if (store_open(argv[1], &st, err, sizeof err)) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    for (int i = 0; i < 200; i++)
        json_array_append_new(events, json_string("{\"chunk\":\"bedtime routines help \"}"));
    for (int c = 0; c < C__N; c++) t[c] = xcalloc((size_t)n, sizeof **t);
    for (int i = 0; i < n; i++) {
        char sid[40], uid[40], aid[40], s2[80], status[32];
        struct store_turn_result r = {.content = "A calm, predictable bedtime routine helps.",
                                      .status = "complete", .events = events, .engine = "grounded"};
        json_t *got, *ev = NULL;
        int found;
        uint64_t t0;
        util_random_id(sid, sizeof sid, 16);
        util_random_id(uid, sizeof uid, 16);
        util_random_id(aid, sizeof aid, 16);
        t0 = now_us();
        if (store_session_create(st, sid, NULL, util_wall_ms())) return 1;
        t[C_SESSION][i] = now_us() - t0;
        t0 = now_us();
        if (store_turn_begin(st, sid, uid, aid, "How do I get my 3 year old to sleep?", util_wall_ms())) return 1;
        t[C_BEGIN][i] = now_us() - t0;
        {
            struct store_event ev20[20];
            for (int k = 0; k < 20; k++)
                ev20[k] = (struct store_event){aid, (size_t)k + 1, "{\"chunk\":\"bedtime \"}", 19};
            t0 = now_us();
            if (store_events_append(st, ev20, 20) < 0) return 1;
            t[C_APPEND][i] = now_us() - t0;
        }
        t0 = now_us();
        if (store_turn_finish(st, aid, &r, util_wall_ms())) return 1;
        t[C_FINISH][i] = now_us() - t0;
        t0 = now_us();
        got = store_session_get(st, sid, &found);
        t[C_GET][i] = now_us() - t0;
        json_decref(got);
        t0 = now_us();
        store_answer_events(st, aid, s2, sizeof s2, status, sizeof status, &ev);
        t[C_EVENTS][i] = now_us() - t0;
        json_decref(ev);
    }
    {
        struct event_base *base = event_base_new();
        if (!base || store_async_start(st, base)) return 1;
        for (int i = 0; i < n; i++) {
            char sid[40], uid[40], aid[40];
            struct store_turn_result r = {.content = "A calm, predictable bedtime routine helps.",
                                          .status = "complete", .events = events,
                                          .engine = "grounded"};
            struct store_save sv;
            struct store_event ev20[20];
            uint64_t t0;
            util_random_id(sid, sizeof sid, 16);
            util_random_id(uid, sizeof uid, 16);
            util_random_id(aid, sizeof aid, 16);
            struct req rq = {sid, uid, aid, 0};
            back = 0;
            t0 = now_us();
            store_call(st, sid, req_begin, req_done, &rq);
            t[C_REQ_CALL][i] = now_us() - t0;
            if (wait_back(base)) return 1;
            t[C_REQ_BACK][i] = now_us() - t0;
            for (int k = 0; k < 20; k++)
                ev20[k] = (struct store_event){aid, (size_t)k + 1, "{\"chunk\":\"bedtime \"}", 19};
            back = 0;
            t0 = now_us();
            store_events_append_async(st, ev20, 20, on_append, NULL);
            t[C_APPEND_CALL][i] = now_us() - t0;
            if (wait_back(base)) return 1;
            t[C_APPEND_BACK][i] = now_us() - t0;
            sv = (struct store_save){aid, r};
            back = 0;
            t0 = now_us();
            store_turns_finish_async(st, &sv, 1, util_wall_ms(), on_save, NULL);
            t[C_FINISH_CALL][i] = now_us() - t0;
            if (wait_back(base)) return 1;
            t[C_FINISH_BACK][i] = now_us() - t0;
            back = 0;
            t0 = now_us();
            store_call(st, sid, req_get, req_done, &rq);
            t[C_READ_CALL][i] = now_us() - t0;
            if (wait_back(base)) return 1;
            t[C_READ_BACK][i] = now_us() - t0;
        }
        store_async_stop(st);
        event_base_free(base);
    }
    printf("%-26s %8s %8s %8s   (%d calls each, microseconds)\n", "call", "p50", "p99", "max", n);
    for (int c = 0; c < C__N; c++) {
        qsort(t[c], (size_t)n, sizeof **t, cmp_u64);
        printf("%-26s %8llu %8llu %8llu\n", names[c], (unsigned long long)t[c][n / 2],
               (unsigned long long)t[c][(size_t)n * 99 / 100], (unsigned long long)t[c][n - 1]);
        free(t[c]);
    }
    json_decref(events);
    store_close(st);
    return 0;
}
