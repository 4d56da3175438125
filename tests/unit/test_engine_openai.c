/* test_engine_openai.c — the openai engine (src/engine_openai.c) in one
 * process: its set-up helpers (base URL, prompt file, headers), then whole
 * answers on a real libevent loop with real
 * libcurl against an evhttp fake upstream in this process: a normal stream,
 * 500 retried once, 429 with Retry-After, a held dose sentence, an
 * out-of-range [n], a first-token timeout, a stall, a cut, cancel
 * mid-stream (the upstream sees its connection close), a refused
 * connection. Lite mode on a spent budget is the turn's now: test_budget.c
 * and tests/e2e/openai.test.mjs.
 *
 * The safety policy is a stub here and the request's callbacks record
 * what the engine reports, so the engine's calling contract is checked
 * directly: chunks only before done, done exactly once, nothing after
 * cancel. The pure policy is in test_relay.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../../src/util.c"
#include "../../src/metrics.c"
#include "../../src/jtext.c"
#include "../../src/upsse.c"
#include "../../src/filter.c"
#include "../../src/prompt.c"
#include "../../src/text.c"
#include "../../src/curlev.c"
#include "../../src/engine_openai.c"

/* ---------- the request's callbacks record everything ---------- */

struct turn {
    char text[65536];
    size_t len;
    int nchunks, done;
    enum engine_status status;
    char err[256];
    json_t *cit;
    long pt, ct;
    const char *pv;
    json_t *history;
    struct engine_request rq;          /* lives as long as the job */
};

static void rec_chunk(void *ctx, const char *text, size_t len)
{
    struct turn *t = ctx;
    assert_false(t->done);                         /* never after done */
    assert_true(t->len + len < sizeof t->text);
    memcpy(t->text + t->len, text, len);
    t->len += len;
    t->text[t->len] = '\0';
    t->nchunks++;
}

static void rec_done(void *ctx, enum engine_status status, const char *error_msg,
                     json_t *citations, const struct engine_usage *usage)
{
    struct turn *t = ctx;
    assert_false(t->done);                         /* exactly once */
    t->done = 1;
    t->status = status;
    snprintf(t->err, sizeof t->err, "%s", error_msg ? error_msg : "");
    t->cit = citations;
    if (usage) {
        t->pt = usage->prompt_tokens;
        t->ct = usage->completion_tokens;
        t->pv = usage->prompt_version;
    }
}

int safety_output_hold(const struct safety_policy *p, const char *s, size_t len)
{
    (void)p;
    return memmem(s, len, "ibuprofen", 9) != NULL;
}

int safety_output_number(const struct safety_policy *p, const char *w, size_t len, int partial)
{
    (void)p;
    (void)partial;
    for (size_t i = 0; i < len; i++)
        if (w[i] >= '0' && w[i] <= '9') return 1;
    return 0;
}

int safety_output_dose_unit(const struct safety_policy *p, const char *w, size_t len, int partial)
{
    (void)p;
    return len == 2 && strncasecmp(w, "ml", 2) == 0 && !partial;
}

size_t safety_output_not_dose_words(const struct safety_policy *p, const char *const **out,
                                    unsigned *window)
{
    (void)p;
    *out = NULL;
    *window = 0;
    return 0;
}

size_t safety_output_range_words(const struct safety_policy *p, const char *const **out)
{
    (void)p;
    *out = NULL;
    return 0;
}

size_t safety_output_continuations(const struct safety_policy *p, const char *const **out)
{
    static const char *const c[] = {"ibuprofen"};
    (void)p;
    *out = c;
    return 1;
}

const char *safety_output_referral(const struct safety_policy *p)
{
    (void)p;
    return "Please ask your pharmacist about doses.";
}

/* the output_filter lists as the filter had them built in before they
 * moved to policy/safety.json */
const struct safety_filter_words *safety_output_filter_words(const struct safety_policy *p)
{
    static const char *const cues[] = {"give", "gives", "giving", "gave", "given", "take",
                                       "takes", "taking", "took", "taken", "administer",
                                       "dose", "doses", "dosage", "measure"};
    static const char *const near[] = {"use", "offer", "have", "has", "get", "try", "amount"};
    static const char *const before[] = {"a", "an", "every", "per"};
    static const char *const after[] = {"age", "aged", "by", "until", "at", "since", "from",
                                        "under", "over"};
    static const struct safety_filter_words w = {
        .amount_cues = cues, .namount_cues = sizeof cues / sizeof cues[0],
        .amount_cues_near = near, .namount_cues_near = sizeof near / sizeof near[0],
        .amount_cues_before = before, .namount_cues_before = sizeof before / sizeof before[0],
        .not_amount_after = after, .nnot_amount_after = sizeof after / sizeof after[0],
    };
    (void)p;
    return &w;
}

/* ---------- the fake upstream (evhttp on the same loop) ---------- */

static struct {
    struct event_base *base;
    struct evhttp *http;
    int port;
    int requests;
    char mode[32];
    char auth[128];
    json_t *last_body;
    int closed;                                    /* a streaming client left */
    struct evhttp_request *slow_req;
    struct event *slow_ev;
    int slow_sent;
    struct evhttp_request *open[8];                /* chunked replies not ended */
    int nopen;
} S;

static void sse_delta(struct evbuffer *b, const char *text)
{
    json_t *c = json_pack("{s:s, s:[{s:i, s:{s:s}, s:n}]}", "object", "chat.completion.chunk",
                          "choices", "index", 0, "delta", "content", text, "finish_reason");
    char *d = json_dumps(c, JSON_COMPACT);
    evbuffer_add_printf(b, "data: %s\n\n", d);
    free(d);
    json_decref(c);
}

static void sse_answer(struct evbuffer *b, const char *const *pieces)
{
    evbuffer_add_printf(b, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n");
    for (; *pieces; pieces++) sse_delta(b, *pieces);
    evbuffer_add_printf(b, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    evbuffer_add_printf(b, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n");
    evbuffer_add_printf(b, "data: [DONE]\n\n");
}

static const char *const normal_pieces[] = {
    "I hear you, bedtime ", "can be hard. 1. Keep a calm routine [1]. ",
    "2. Dim the lights [2]. 3. Same wake time [1].", NULL};

static void reply_sse(struct evhttp_request *req, struct evbuffer *b)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/event-stream");
    evhttp_send_reply(req, 200, "OK", b);
}

static void slow_tick(evutil_socket_t fd, short what, void *arg)
{
    struct evbuffer *b = evbuffer_new();
    struct timeval tv = {0, 50 * 1000};
    (void)fd, (void)what, (void)arg;
    sse_delta(b, "More calm words. ");
    evhttp_send_reply_chunk(S.slow_req, b);
    evbuffer_free(b);
    if (++S.slow_sent < 200) evtimer_add(S.slow_ev, &tv);
}

static void slow_closed(struct evhttp_connection *c, void *arg)
{
    (void)c, (void)arg;
    S.closed = 1;
    S.slow_req = NULL;
    if (S.slow_ev) evtimer_del(S.slow_ev);
}

static void srv_cb(struct evhttp_request *req, void *arg)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req), *b = evbuffer_new();
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    size_t n = evbuffer_get_length(in);
    char *body = xmalloc(n + 1);
    (void)arg;

    S.requests++;
    evbuffer_remove(in, body, n);
    body[n] = '\0';
    json_decref(S.last_body);
    S.last_body = json_loads(body, 0, NULL);
    free(body);
    snprintf(S.auth, sizeof S.auth, "%s", auth ? auth : "");

    if (strcmp(S.mode, "500") == 0 || (strcmp(S.mode, "429once") == 0 && S.requests == 1)) {
        if (S.mode[0] == '4')
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "0");
        evbuffer_add_printf(b, "{\"error\":{\"message\":\"secret internals at http://x\"}}");
        evhttp_send_reply(req, S.mode[0] == '4' ? 429 : 500, "Err", b);
    } else if (strcmp(S.mode, "dose") == 0) {
        static const char *const p[] = {"Fevers pass [1]. Give 5 ml of ", "ibuprofen every 6 hours. ",
                                        "Offer fluids [2].", NULL};
        sse_answer(b, p);
        reply_sse(req, b);
    } else if (strcmp(S.mode, "cite9") == 0) {
        static const char *const p[] = {"Keep a calm routine [1]. A steady rhythm [9].", NULL};
        sse_answer(b, p);
        reply_sse(req, b);
    } else if (strcmp(S.mode, "hang") == 0) {
        /* headers, then nothing (a request left wholly unanswered is not
         * freed by libevent once its client leaves; the e2e tests cover it) */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/event-stream");
        evhttp_send_reply_start(req, 200, "OK");
        if (S.nopen < 8) S.open[S.nopen++] = req;
    } else if (strcmp(S.mode, "stall") == 0 || strcmp(S.mode, "slow") == 0 ||
               strcmp(S.mode, "cut") == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/event-stream");
        evhttp_send_reply_start(req, 200, "OK");
        if (strcmp(S.mode, "cut") != 0 && S.nopen < 8) S.open[S.nopen++] = req;
        sse_delta(b, "The first sentence. The sec");
        evhttp_send_reply_chunk(req, b);
        if (strcmp(S.mode, "slow") == 0) {
            struct timeval tv = {0, 50 * 1000};
            S.slow_req = req;
            evhttp_connection_set_closecb(evhttp_request_get_connection(req), slow_closed, NULL);
            evtimer_add(S.slow_ev, &tv);
        } else if (strcmp(S.mode, "cut") == 0) {
            /* end the chunked body without [DONE]: a clean close, no finish */
            evhttp_send_reply_end(req);
        }
    } else {
        sse_answer(b, normal_pieces);
        reply_sse(req, b);
    }
    evbuffer_free(b);
}

static void srv_start(const char *mode)
{
    struct evhttp_bound_socket *h;
    memset(&S, 0, sizeof S);
    snprintf(S.mode, sizeof S.mode, "%s", mode);
    S.base = event_base_new();
    S.http = evhttp_new(S.base);
    h = evhttp_bind_socket_with_handle(S.http, "127.0.0.1", 0);
    assert_non_null(h);
    {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sa, &sl);
        S.port = ntohs(sa.sin_port);
    }
    evhttp_set_gencb(S.http, srv_cb, NULL);
    S.slow_ev = evtimer_new(S.base, slow_tick, NULL);
}

static void srv_stop(void)
{
    /* A chunked reply whose client left is detached from its connection
     * and left to its owner: ending it frees it. Attached ones are freed
     * with their connection by evhttp_free. */
    for (int i = 0; i < S.nopen; i++)
        if (!evhttp_request_get_connection(S.open[i])) evhttp_send_reply_end(S.open[i]);
    evhttp_free(S.http);
    event_free(S.slow_ev);
    json_decref(S.last_body);
    event_base_free(S.base);
}

/* ---------- running the engine ---------- */

static const char *const steps_a[] = {"Start the routine at the same time."};
static const struct kb_passage pa = {.title = "Bedtime routines", .source = "American Academy of Pediatrics",
    .source_short = "AAP", .url = "https://example.org/a", .body = "A routine helps.",
    .steps = steps_a, .nsteps = 1};
static const struct kb_passage pb = {.title = "Wake times", .source = "NHS", .source_short = "NHS",
    .url = "https://example.org/b", .body = "Keep the same wake time."};
static const struct kb_hit hits[2] = {{&pa, 9.0, 0, 9.0}, {&pb, 5.0, 0, 5.0}};

static struct config test_config(char *url, size_t n, int port)
{
    struct config c;
    memset(&c, 0, sizeof c);
    snprintf(url, n, "http://127.0.0.1:%d/v1/", port);
    c.openai_base_url = url;
    c.openai_api_key = "sk-unit-secret";
    c.model = "fake-model";
    c.prompt_path = "prompts/system.md";
    c.max_tokens = 100;
    c.temperature = 0.3;
    c.connect_timeout_s = 2;
    c.first_token_timeout_s = 1;
    c.stall_timeout_s = 1;
    c.total_timeout_s = 10;
    c.session_token_budget = 1000;
    c.daily_token_budget = 0;
    return c;
}

static struct engine *new_engine(const struct config *c)
{
    char err[256] = "";
    struct engine *e = engine_openai_new(S.base, c, NULL, err, sizeof err);
    if (!e) fail_msg("engine: %s", err);
    return e;
}

struct waiter { struct turn *t; int *flag; uint64_t until; };

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct waiter *w = arg;
    (void)fd, (void)what;
    if ((w->t && w->t->done) || (w->flag && *w->flag) || util_now_ms() >= w->until)
        event_base_loopbreak(S.base);
}

/* Runs the loop until the turn is done / *flag is set / ms passed. */
static void run_until(struct turn *t, int *flag, int ms)
{
    struct waiter w = {t, flag, util_now_ms() + (uint64_t)ms};
    struct timeval tv = {0, 5 * 1000};
    struct event *ev = event_new(S.base, -1, EV_PERSIST, poll_cb, &w);
    event_add(ev, &tv);
    event_base_dispatch(S.base);
    event_free(ev);
}

static struct turn *ask(struct engine *e, void **job, json_t *history)
{
    struct turn *t = calloc(1, sizeof *t);
    t->history = history;
    t->rq = (struct engine_request){
        .question = "How do I handle bedtime?", .question_len = 24, .hits = hits,
        .nhits = 2, .age_months = -1, .history = history,
        .on_chunk = rec_chunk, .on_done = rec_done, .ctx = t};
    assert_int_equal(e->start(e, &t->rq, job), 0);
    assert_int_equal(t->nchunks, 0);               /* nothing from inside start() */
    assert_false(t->done);
    return t;
}

static void turn_free_stub(struct turn *t)
{
    json_decref(t->cit);
    json_decref(t->history);
    free(t);
}

static int cited_ids(const struct turn *t)      /* ids as a bit set */
{
    int bits = 0;
    size_t i;
    json_t *c;
    json_array_foreach(t->cit, i, c) bits |= 1 << json_integer_value(json_object_get(c, "id"));
    return bits;
}

/* ---------- set-up helpers ---------- */

static void test_make_url(void **state)
{
    static const struct { const char *base, *want; } ok[] = {
        {"https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"},
        {"http://127.0.0.1:11434/v1/", "http://127.0.0.1:11434/v1/chat/completions"},
        {"http://localhost:8080/v1//", "http://localhost:8080/v1/chat/completions"},
        {"HTTP://host", "HTTP://host/chat/completions"},
    };
    static const char *const bad[] = {"", "api.openai.com/v1", "ftp://host/v1", "http://", "file:///etc/passwd",
                                      "https://user:hunter2@:99/"};
    char err[128], *url;
    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(make_url(ok[i].base, &url, err, sizeof err), 0);
        assert_string_equal(url, ok[i].want);
        free(url);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        url = NULL;
        if (make_url(bad[i], &url, err, sizeof err) == 0) fail_msg("accepted '%s'", bad[i]);
        assert_null(url);
        assert_null(strstr(err, "hunter2"));          /* never echoes the URL */
        assert_non_null(strstr(err, "OPENAI_BASE_URL"));
    }
}

static void test_prompt_file(void **state)
{
    struct oa oa;
    char err[256];
    FILE *f;
    (void)state;
    memset(&oa, 0, sizeof oa);
    assert_int_equal(load_prompt(&oa, "prompts/system.md", err, sizeof err), 0);
    assert_string_equal(oa.version, "coach-2026-11-23");
    assert_null(strstr(oa.prompt_body, "version:"));
    assert_non_null(strstr(oa.prompt_body, "parenting coach"));
    assert_non_null(strstr(oa.prompt_body, "[1]"));
    assert_non_null(strstr(oa.prompt_body, "dose"));
    assert_non_null(strstr(oa.prompt_body, "diagnose"));
    assert_non_null(strstr(oa.prompt_body, "No HTML"));
    free(oa.prompt);

    memset(&oa, 0, sizeof oa);
    assert_int_equal(load_prompt(&oa, "/nonexistent/prompt.md", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/prompt.md"));
    free(oa.prompt);

    f = fopen("build/test_engine_openai_bad_prompt.md", "wb");
    assert_non_null(f);
    fputs("version: x\n\xC3\x28 bad utf-8", f);
    fclose(f);
    memset(&oa, 0, sizeof oa);
    assert_int_equal(load_prompt(&oa, "build/test_engine_openai_bad_prompt.md", err, sizeof err), -1);
    free(oa.prompt);
    remove("build/test_engine_openai_bad_prompt.md");
}

static void test_headers(void **state)
{
    struct oa oa;
    int auth = 0, expect = 0;
    (void)state;
    memset(&oa, 0, sizeof oa);
    assert_int_equal(make_headers(&oa, "sk-abc"), 0);
    for (struct curl_slist *h = oa.headers; h; h = h->next) {
        auth += strcmp(h->data, "Authorization: Bearer sk-abc") == 0;
        expect += strcmp(h->data, "Expect:") == 0;
    }
    assert_int_equal(auth, 1);
    assert_int_equal(expect, 1);
    curl_slist_free_all(oa.headers);
    memset(&oa, 0, sizeof oa);
    assert_int_equal(make_headers(&oa, NULL), 0);
    for (struct curl_slist *h = oa.headers; h; h = h->next)
        assert_null(strstr(h->data, "Authorization"));
    curl_slist_free_all(oa.headers);
}

static void test_fail_messages_are_kind(void **state)
{
    (void)state;
    for (int f = F_CONNECT; f <= F_EMPTY; f++) {
        const char *m = fail_message((enum oa_fail)f);
        assert_non_null(strstr(m, "Please try again"));
        assert_null(strstr(m, "http"));
        assert_null(strstr(m, "curl"));
        assert_null(strstr(m, "upstream"));
    }
}

/* ---------- whole answers ---------- */

static void test_normal_answer(void **state)
{
    char url[64];
    void *job;
    struct config c;
    struct engine *e;
    struct turn *t;
    json_t *hist = json_array(), *msgs;
    (void)state;
    srv_start("normal");
    c = test_config(url, sizeof url, S.port);
    e = new_engine(&c);
    assert_int_equal(e->ready(e), 1);
    assert_string_equal(e->name, "openai");
    json_array_append_new(hist, json_pack("{s:s,s:s}", "role", "user", "content", "earlier question"));
    json_array_append_new(hist, json_pack("{s:s,s:s}", "role", "assistant", "content", "earlier answer [2]."));
    t = ask(e, &job, hist);
    run_until(t, NULL, 5000);
    assert_true(t->done);
    assert_int_equal(t->status, ENGINE_COMPLETE);
    assert_string_equal(t->text, "I hear you, bedtime can be hard. 1. Keep a calm routine [1]. "
                                 "2. Dim the lights [2]. 3. Same wake time [1].");
    assert_true(t->nchunks >= 2);
    assert_int_equal(cited_ids(t), (1 << 1) | (1 << 2));
    assert_string_equal(json_string_value(json_object_get(json_array_get(t->cit, 0), "source")), "AAP");
    assert_int_equal(t->pt, 11);
    assert_int_equal(t->ct, 7);
    assert_string_equal(t->pv, "coach-2026-11-23");
    /* what the upstream got */
    assert_int_equal(S.requests, 1);
    assert_string_equal(S.auth, "Bearer sk-unit-secret");
    assert_true(json_is_true(json_object_get(S.last_body, "stream")));
    assert_true(json_is_true(json_object_get(json_object_get(S.last_body, "stream_options"), "include_usage")));
    assert_string_equal(json_string_value(json_object_get(S.last_body, "model")), "fake-model");
    msgs = json_object_get(S.last_body, "messages");
    assert_int_equal(json_array_size(msgs), 4);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(msgs, 0), "content")), "parenting coach"));
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(msgs, 0), "content")), "[2] Wake times"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 2), "content")), "earlier answer.");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 3), "content")), "How do I handle bedtime?");
    turn_free_stub(t);
    e->destroy(e);
    srv_stop();
}

/* The common shape of a fault test: the fake in `mode`, one question on a
 * default engine, run to its end (5 s at most); then the test checks r.t
 * and calls run_end(). */
struct run {
    char url[64];
    struct config c;
    struct engine *e;
    struct turn *t;
    void *job;
};

static void run_mode(struct run *r, const char *mode)
{
    srv_start(mode);
    r->c = test_config(r->url, sizeof r->url, S.port);
    r->e = new_engine(&r->c);
    r->t = ask(r->e, &r->job, NULL);
    run_until(r->t, NULL, 5000);
}

static void run_end(struct run *r)
{
    turn_free_stub(r->t);
    r->e->destroy(r->e);
    srv_stop();
}

static void test_500_is_retried_once(void **state)
{
    struct run r;
    uint64_t t0 = util_now_ms();
    (void)state;
    run_mode(&r, "500");
    assert_true(r.t->done);
    assert_int_equal(r.t->status, ENGINE_INCOMPLETE);
    assert_int_equal(S.requests, 2);
    assert_true(util_now_ms() - t0 >= 1000);       /* 1 s backoff */
    assert_int_equal(r.t->len, 0);                 /* the error body is never relayed */
    assert_null(r.t->cit);
    assert_null(strstr(r.t->err, "internals"));
    assert_null(strstr(r.t->err, "500"));
    run_end(&r);
}

static void test_429_then_success(void **state)
{
    struct run r;
    (void)state;
    run_mode(&r, "429once");
    assert_int_equal(r.t->status, ENGINE_COMPLETE);
    assert_int_equal(S.requests, 2);
    assert_non_null(strstr(r.t->text, "Keep a calm routine [1]."));
    run_end(&r);
}

static void test_dose_is_held(void **state)
{
    struct run r;
    (void)state;
    run_mode(&r, "dose");
    assert_int_equal(r.t->status, ENGINE_COMPLETE);
    /* "Give" was shown before the number came; the rest is replaced */
    assert_string_equal(r.t->text, "Fevers pass [1]. Give \xE2\x80\xA6 Please ask your pharmacist "
                                   "about doses. Offer fluids [2].");
    run_end(&r);
}

static void test_out_of_range_citation(void **state)
{
    struct run r;
    (void)state;
    run_mode(&r, "cite9");
    assert_int_equal(r.t->status, ENGINE_COMPLETE);
    assert_string_equal(r.t->text, "Keep a calm routine [1]. A steady rhythm.");
    assert_int_equal(cited_ids(r.t), 1 << 1);
    run_end(&r);
}

static void test_timeouts_and_cut(void **state)
{
    static const struct { const char *mode; const char *msg; int partial; } cases[] = {
        {"hang", "took too long", 0},              /* first-token timeout (1 s) */
        {"stall", "took too long", 1},             /* stall timeout (1 s) */
        {"cut", "interrupted", 1},                 /* ends without finish/[DONE] */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[64];
        void *job;
        struct config c;
        struct engine *e;
        struct turn *t;
        uint64_t t0 = util_now_ms();
        srv_start(cases[i].mode);
        c = test_config(url, sizeof url, S.port);
        e = new_engine(&c);
        t = ask(e, &job, NULL);
        run_until(t, NULL, 5000);
        assert_true(t->done);
        assert_int_equal(t->status, ENGINE_INCOMPLETE);
        if (!strstr(t->err, cases[i].msg)) fail_msg("%s: '%s'", cases[i].mode, t->err);
        assert_int_equal(S.requests, 1);                   /* never retried */
        if (cases[i].partial) {
            /* the complete sentence and the checked tail are kept */
            assert_string_equal(t->text, "The first sentence. The sec");
            assert_null(t->cit);                   /* it cited nothing */
        } else {
            assert_int_equal(t->len, 0);
            assert_true(util_now_ms() - t0 >= 1000);
        }
        turn_free_stub(t);
        e->destroy(e);
        srv_stop();
    }
}

static void test_cancel_mid_stream(void **state)
{
    char url[64];
    void *job;
    struct config c;
    struct engine *e;
    struct turn *t;
    int never = 0;
    (void)state;
    srv_start("slow");
    c = test_config(url, sizeof url, S.port);
    e = new_engine(&c);
    t = ask(e, &job, NULL);
    while (t->nchunks < 2 && !t->done) run_until(t, &never, 20);
    assert_false(t->done);
    e->cancel(e, job);                     /* at once: the connection closes */
    run_until(NULL, &S.closed, 2000);
    assert_true(S.closed);
    assert_false(t->done);                 /* nothing after cancel */
    run_until(NULL, &never, 200);
    assert_false(t->done);
    turn_free_stub(t);
    e->destroy(e);
    srv_stop();
}

static void test_connection_refused(void **state)
{
    char url[64];
    void *job;
    struct config c;
    struct engine *e;
    struct turn *t;
    uint64_t t0;
    int dead_port;
    (void)state;
    srv_start("normal");
    dead_port = S.port;
    evhttp_free(S.http);                   /* nothing listens there now */
    S.http = evhttp_new(S.base);
    c = test_config(url, sizeof url, dead_port);
    e = new_engine(&c);
    t0 = util_now_ms();
    t = ask(e, &job, NULL);
    run_until(t, NULL, 5000);
    assert_int_equal(t->status, ENGINE_INCOMPLETE);
    assert_non_null(strstr(t->err, "could not reach"));
    assert_true(util_now_ms() - t0 >= 1000);        /* retried once after 1 s */
    turn_free_stub(t);
    e->destroy(e);
    srv_stop();
}

static void test_bad_config_fails_start_up(void **state)
{
    char url[64], err[256];
    struct config c;
    (void)state;
    srv_start("normal");
    c = test_config(url, sizeof url, S.port);
    c.openai_base_url = "not a url";
    assert_null(engine_openai_new(S.base, &c, NULL, err, sizeof err));
    assert_non_null(strstr(err, "OPENAI_BASE_URL"));
    c = test_config(url, sizeof url, S.port);
    c.prompt_path = "/nonexistent.md";
    assert_null(engine_openai_new(S.base, &c, NULL, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent.md"));
    srv_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_url),
        cmocka_unit_test(test_prompt_file),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_fail_messages_are_kind),
        cmocka_unit_test(test_normal_answer),
        cmocka_unit_test(test_500_is_retried_once),
        cmocka_unit_test(test_429_then_success),
        cmocka_unit_test(test_dose_is_held),
        cmocka_unit_test(test_out_of_range_citation),
        cmocka_unit_test(test_timeouts_and_cut),
        cmocka_unit_test(test_cancel_mid_stream),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_bad_config_fails_start_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
