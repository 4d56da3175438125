/* api.c — routes.
 *
 *   GET    /healthz, /readyz
 *   GET    /metrics                       (Prometheus text format; metrics.c)
 *   POST   /api/coach/sessions            (alias POST /api/coach/start)
 *   GET    /api/coach/sessions/{id}
 *   DELETE /api/coach/sessions/{id}
 *   POST   /api/coach/sessions/{id}/messages        -> 202 + stream_url
 *   GET    /api/coach/stream/{session_id}?question= (the seed's endpoint)
 *   GET    /api/coach/sessions/{id}/messages/{mid}/stream   (resume: Last-Event-ID)
 *   POST   /api/coach/sessions/{id}/messages/{mid}/cancel
 *   POST   /api/coach/sessions/{id}/messages/{mid}/feedback (helpful / not, reason)
 *   GET    /api/coach/sessions/{id}/events          (events.c: new questions)
 *   GET    /, /app.js, ...                          (the chat page)
 *
 * A message is reached only through its session: a message id under
 * another session's id is 404, as is any message of a deleted session.
 * Paths are split into at most seven segments; ids are checked with
 * util_id_valid before they reach the database. The access log gets the
 * route pattern, never the path or the query. */
#include "api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "events.h"
#include "http.h"
#include "kb.h"
#include "metrics.h"
#include "ratelimit.h"
#include "safety.h"
#include "sse.h"
#include "store.h"
#include "turn.h"
#include "util.h"

#define MAX_SEGS 7

struct route_in {
    struct evhttp_request *req;
    struct api_ctx *ctx;
    enum evhttp_cmd_type cmd;
    const char *query;
};

static int method_ok(struct route_in *r, int allowed, const char *allow, const char *route)
{
    if (r->cmd & allowed) return 1;
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
    http_reply_error(r->req, 405, "method_not_allowed", "That method is not allowed here.", route);
    return 0;
}

int api_check_question(const char *q, size_t len, const char **code, const char **message)
{
    size_t i = 0;
    if (!util_utf8_valid(q, len)) {
        *code = "invalid_utf8";
        *message = "The question is not valid UTF-8 text.";
        return 400;
    }
    while (i < len && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r')) i++;
    if (i == len) {
        *code = "empty_question";
        *message = "Please type a question.";
        return 400;
    }
    if (util_utf8_len(q, len) > API_MAX_QUESTION_CHARS) {
        *code = "question_too_long";
        *message = "Questions can be up to 2,000 characters.";
        return 413;
    }
    return 0;
}

int api_check_parent_name(const json_t *name, const char **out)
{
    const char *s;
    size_t len;
    *out = NULL;
    if (!name || json_is_null(name)) return 0;
    if (!json_is_string(name)) return 400;
    s = json_string_value(name);
    len = json_string_length(name);
    /* characters, as documented, not bytes; an escaped NUL would cut the
     * name short where it is stored */
    if (strlen(s) != len || util_utf8_len(s, len) > API_MAX_PARENT_NAME_CHARS) return 400;
    if (*s) *out = s;
    return 0;
}

/* evhttp_parse_query_str keeps a value only up to an encoded NUL, so each
 * "%00" is read as "%C0%80" (an overlong NUL, never valid UTF-8 and so
 * never in a valid value) and turned back into a NUL after decoding. */
char *api_query_param(const char *query, const char *name, size_t *len)
{
    struct evkeyvalq q = {0};          /* evhttp_parse_query_str inits it */
    struct strbuf raw = {0};
    const char *v, *p, *nul;
    char *out = NULL;
    size_t o = 0;

    if (!query) return NULL;
    for (p = query; (nul = strstr(p, "%00")); p = nul + 3) {
        strbuf_add(&raw, p, (size_t)(nul - p));
        strbuf_str(&raw, "%C0%80");
    }
    strbuf_str(&raw, p);
    if (evhttp_parse_query_str(raw.s, &q) == 0 && (v = evhttp_find_header(&q, name))) {
        out = xstrdup(v);
        for (size_t i = 0; out[i]; i++) {
            if ((unsigned char)out[i] == 0xC0 && (unsigned char)out[i + 1] == 0x80) {
                out[o++] = '\0';
                i++;
            } else {
                out[o++] = out[i];
            }
        }
        out[o] = '\0';
        *len = o;
    }
    evhttp_clear_headers(&q);
    free(raw.s);
    return out;
}

static const char *last_event_id(struct route_in *r, char **owned)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Last-Event-ID");
    size_t len;
    *owned = NULL;
    if (h && *h) return h;
    *owned = api_query_param(r->query, "last_event_id", &len);
    return *owned;
}

/* ---------- limits ---------- */

int api_forwarded_client(const char *xff, char *out, size_t n)
{
    const char *start, *end;
    unsigned char bin[sizeof(struct in6_addr)];
    size_t len;
    if (!xff) return -1;
    start = strrchr(xff, ',');
    start = start ? start + 1 : xff;
    while (*start == ' ' || *start == '\t') start++;
    end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
    len = (size_t)(end - start);
    if (len == 0 || len >= n || len >= INET6_ADDRSTRLEN) return -1;
    memcpy(out, start, len);
    out[len] = '\0';
    if (inet_pton(AF_INET, out, bin) == 1 || inet_pton(AF_INET6, out, bin) == 1) return 0;
    out[0] = '\0';
    return -1;
}

/* The address the limits count by: the peer, or with --trust-proxy the one
 * the proxy put last in X-Forwarded-For. */
static void client_addr(struct route_in *r, char *out, size_t n)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
    char *peer = NULL;
    ev_uint16_t port = 0;
    if (r->ctx->limits.trust_proxy &&
        api_forwarded_client(evhttp_find_header(evhttp_request_get_input_headers(r->req),
                                                "X-Forwarded-For"), out, n) == 0)
        return;
    if (evcon) evhttp_connection_get_peer(evcon, &peer, &port);
    snprintf(out, n, "%s", peer ? peer : "-");
}

/* 429 with Retry-After (whole seconds). */
static void reply_limited(struct route_in *r, int retry_s, const char *code, const char *message,
                          const char *route)
{
    char v[16];
    snprintf(v, sizeof v, "%d", retry_s > 0 ? retry_s : 1);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", v);
    metrics_inc(METRICS_RATE_LIMITED);
    http_reply_error(r->req, 429, code, message, route);
}

/* Takes a token from key's bucket; 0 after replying 429 when there is none. */
static int within(struct route_in *r, struct ratelimit *rl, const char *key, const char *message,
                  const char *route)
{
    int wait;
    if (!rl || (wait = ratelimit_take(rl, key, util_now_ms())) == 0) return 1;
    reply_limited(r, wait, "rate_limited", message, route);
    return 0;
}

/* A new question in session sid: the session has room (count: the
 * messages it holds, or -1 when not counted), and neither the client nor
 * the session asked too many this minute. */
static int question_allowed(struct route_in *r, const char *sid, long count, const char *route)
{
    const struct api_limits *lim = &r->ctx->limits;
    char addr[64];
    if (lim->max_messages_per_session > 0 && count >= 0 &&
        count + 2 > lim->max_messages_per_session) {
        /* a full session does not empty: Retry-After only says "not soon" */
        reply_limited(r, 86400, "session_full",
                      "This conversation is full. Please start a new one.", route);
        return 0;
    }
    client_addr(r, addr, sizeof addr);
    /* both buckets are looked at before either is taken from, so a
     * refused question costs the client nothing */
    if (lim->questions_by_addr && lim->questions_by_session) {
        uint64_t now = util_now_ms();
        int wa = ratelimit_wait(lim->questions_by_addr, addr, now);
        int ws = ratelimit_wait(lim->questions_by_session, sid, now);
        if (wa || ws) {
            reply_limited(r, wa > ws ? wa : ws, "rate_limited",
                          wa ? "Too many questions in a minute. Please wait a moment."
                             : "Too many questions in a minute in this conversation. Please wait a moment.",
                          route);
            return 0;
        }
    }
    return within(r, lim->questions_by_addr, addr,
                  "Too many questions in a minute. Please wait a moment.", route) &&
           within(r, lim->questions_by_session, sid,
                  "Too many questions in a minute in this conversation. Please wait a moment.",
                  route);
}

/* ---------- waiting on the store ----------
 * Every route that reads or writes the database does it in store_call
 * (store.h): on PostgreSQL off the loop, answered from the done function
 * when the pool thread is back; on SQLite in the call. A call is a heap
 * record of what the route needs across the wait: the ids are copied (the
 * route's path buffer is gone by then), the query string is the
 * request's (it lives until the reply). next is the stage that runs when
 * the store is back. A store that does not answer in STORE_CALL_TIMEOUT_MS
 * gets the parent a JSON 503 then; the stage that follows later only
 * cleans up (and launches a question that did commit, so its pending row
 * is finished and saved rather than left to the lease). */

struct call {
    struct evhttp_request *req;
    struct api_ctx *ctx;
    enum evhttp_cmd_type cmd;
    const char *query;            /* the request's */
    const char *route;
    void (*next)(struct call *c);
    int late;                     /* the 503 went out: only clean up */
    char sid[80], mid[64], id[32];
    char *text;                   /* owned: parent name, question, reason */
    size_t text_len;
    char *before;                 /* owned: ?before= */
    int limit, helpful, rc, found;
    int stream;                   /* a question on the seed's route: stream the answer */
    long count;
    size_t from;
    json_t *json;                 /* owned: a session page */
    struct turn *turn;            /* prepared, not yet launched */
    struct turn_stored st;
    /* check_session's continuation; resume_start's when the answer is unknown */
    void (*after_session)(struct call *c);
};

static struct call *call_new(struct route_in *r, const char *route)
{
    struct call *c = xcalloc(1, sizeof *c);
    c->req = r->req;
    c->ctx = r->ctx;
    c->cmd = r->cmd;
    c->query = r->query;
    c->route = route;
    c->count = -1;
    return c;
}

static void call_free(struct call *c)
{
    if (c->turn) turn_discard(c->turn);
    turn_stored_clear(&c->st);
    json_decref(c->json);
    free(c->text);
    free(c->before);
    free(c);
}

static struct route_in call_route(const struct call *c)
{
    return (struct route_in){.req = c->req, .ctx = c->ctx, .cmd = c->cmd, .query = c->query};
}

static void reply_unavailable(struct evhttp_request *req, const char *route)
{
    http_reply_error(req, 503, "storage_unavailable",
                     "The coach cannot reach its storage right now. Please try again later.", route);
}

static void call_back(void *arg, int how)
{
    struct call *c = arg;
    if (how == STORE_CALL_TIMEOUT) {
        reply_unavailable(c->req, c->route);
        c->late = 1;
        return;
    }
    c->next(c);                    /* frees c or makes the next call */
}

static void call_store(struct call *c, const char *key, store_call_fn fn, void (*next)(struct call *))
{
    c->next = next;
    store_call(c->ctx->store, key, fn, call_back, c);
}

/* 500, or 503 when the database is away (as check_session always did). */
static void reply_store_error(struct call *c, const char *message)
{
    if (store_write_failing(c->ctx->store)) reply_unavailable(c->req, c->route);
    else http_reply_error(c->req, 500, "storage_error", message, c->route);
}

/* ---------- health ---------- */

static void route_health(struct route_in *r, int ready)
{
    const char *route = ready ? "/readyz" : "/healthz";
    if (!method_ok(r, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "GET, HEAD", route)) return;
    if (!ready) {
        http_reply_json(r->req, 200, json_pack("{s:s}", "status", "ok"), route);
        return;
    }
    struct store_health sh;
    int db = store_ping(r->ctx->store);
    int kb = r->ctx->kb && kb_count(r->ctx->kb) > 0;
    int eng = r->ctx->engine->ready(r->ctx->engine);
    int ok;
    store_health(r->ctx->store, &sh);
    /* a database that answers but cannot keep what it is given is not ready */
    db = db && sh.writable && !sh.disk_full && sh.file_present;
    ok = db && kb && eng && !r->ctx->draining;
    /* the other languages' dictionaries: reported, not required (a question
     * in a language still loading waits for it, safety.h) */
    size_t dtotal = 0, dready = safety_policy_dicts(r->ctx->policy, &dtotal);
    http_reply_json(r->req, ok ? 200 : 503,
                    json_pack("{s:s, s:b, s:{s:b, s:b, s:b}, s:{s:b, s:I}, s:{s:s, s:b}, s:b, "
                              "s:{s:I, s:I, s:b}}",
                              "status", ok ? "ready" : "not_ready",
                              "database", db,
                              "storage", "writable", sh.writable, "disk_full", sh.disk_full,
                              "file_present", sh.file_present,
                              "knowledge_base", "loaded", kb, "passages",
                              (json_int_t)(r->ctx->kb ? kb_count(r->ctx->kb) : 0),
                              "engine", "name", r->ctx->engine->name, "ready", eng,
                              "draining", r->ctx->draining,
                              "dictionaries", "loaded", (json_int_t)dready,
                              "installed", (json_int_t)dtotal, "ready", dready == dtotal),
                    route);
}

/* Prometheus text format 0.0.4. The gauges are read from their owners
 * at scrape time; nothing in the output names a question or an id. */
static void route_metrics(struct route_in *r)
{
    const char *route = "/metrics";
    struct strbuf b = {0};
    struct evbuffer *buf;
    if (!method_ok(r, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "GET, HEAD", route)) return;
    metrics_set_gauge(METRICS_STREAMS_ACTIVE, (double)sse_count());
    metrics_set_gauge(METRICS_TURNS_ACTIVE, (double)turn_running_count());
    metrics_set_gauge(METRICS_CONNECTIONS, (double)http_connection_count());
    {
        size_t dtotal = 0, dready = safety_policy_dicts(r->ctx->policy, &dtotal);
        metrics_set_gauge(METRICS_DICTIONARIES_LOADED, (double)dready);
        metrics_set_gauge(METRICS_DICTIONARIES, (double)dtotal);
    }
    http_log(r->req, 200, route);     /* counted before rendering: this scrape is in it */
    metrics_render(&b);
    buf = evbuffer_new();
    evbuffer_add(buf, b.s, b.len);
    free(b.s);
    http_security_headers(r->req, 1);
    evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(r->req, 200, NULL, buf);
    evbuffer_free(buf);
}

/* ---------- sessions ---------- */

static void create_run(struct store *view, void *arg)
{
    struct call *c = arg;
    c->rc = store_session_create(view, c->id, c->text, util_wall_ms());
}

static void create_next(struct call *c)
{
    if (c->late) {
    } else if (c->rc) {
        http_reply_error(c->req, 500, "storage_error", "The session could not be saved.", c->route);
    } else {
        http_reply_json(c->req, 201, json_pack("{s:s}", "session_id", c->id), c->route);
    }
    call_free(c);
}

static void route_create_session(struct route_in *r)
{
    const char *route = "/api/coach/sessions";
    json_t *body, *name;
    const char *pname = NULL;
    struct call *c;

    if (!method_ok(r, EVHTTP_REQ_POST, "POST", route)) return;
    body = http_read_json(r->req, route);
    if (!body) return;
    name = json_object_get(body, "parent_name");
    if (api_check_parent_name(name, &pname)) {
        json_decref(body);
        http_reply_error(r->req, 400, "invalid_parent_name",
                         "parent_name must be a string of up to 100 characters.", route);
        return;
    }
    {
        char addr[64];
        client_addr(r, addr, sizeof addr);
        if (!within(r, r->ctx->limits.sessions_by_addr, addr,
                    "Too many new conversations from here. Please try again later.", route)) {
            json_decref(body);
            return;
        }
    }
    c = call_new(r, route);
    c->text = pname ? xstrdup(pname) : NULL;
    json_decref(body);
    if (util_random_id(c->id, sizeof c->id, 16)) {
        call_free(c);
        http_reply_error(r->req, 500, "storage_error", "The session could not be saved.", route);
        return;
    }
    call_store(c, c->id, create_run, create_next);
}

/* The session exists (and, for a question, how many messages it holds),
 * then c->after_session; else a 400, 404, 500 or 503 was sent. */
static void exists_run(struct store *view, void *arg)
{
    struct call *c = arg;
    c->found = store_session_exists(view, c->sid);
    if (c->found > 0 && c->ctx->limits.max_messages_per_session > 0)
        c->count = store_session_message_count(view, c->sid);
}

static void exists_next(struct call *c)
{
    if (c->late) {
        call_free(c);
    } else if (c->found < 0) {
        reply_store_error(c, "The session could not be read.");
        call_free(c);
    } else if (!c->found) {
        http_reply_error(c->req, 404, "session_not_found", "No session with that id.", c->route);
        call_free(c);
    } else {
        c->after_session(c);
    }
}

static void check_session(struct route_in *r, const char *id, const char *route,
                          void (*then)(struct call *c))
{
    struct call *c;
    if (!util_id_valid(id)) {
        http_reply_error(r->req, 400, "invalid_session_id", "That is not a valid session id.", route);
        return;
    }
    c = call_new(r, route);
    snprintf(c->sid, sizeof c->sid, "%s", id);
    c->after_session = then;
    call_store(c, c->sid, exists_run, exists_next);
}

/* ?limit=N (1..API_PAGE_MAX, default API_PAGE_DEFAULT) and ?before=MESSAGE_ID.
 * Returns 0, or -1 after a 400. *before is a new string or NULL. */
static int page_params(struct route_in *r, int *limit, char **before, const char *route)
{
    size_t len;
    char *v = api_query_param(r->query, "limit", &len), *end = NULL;
    long n = API_PAGE_DEFAULT;
    *before = NULL;
    if (v) {
        n = (len > 0 && len < 8 && v[0] >= '0' && v[0] <= '9') ? strtol(v, &end, 10) : -1;
        if (!end || *end || n < 1 || n > API_PAGE_MAX) {
            free(v);
            http_reply_error(r->req, 400, "invalid_limit", "limit must be a number from 1 to 200.", route);
            return -1;
        }
        free(v);
    }
    *limit = (int)n;
    *before = api_query_param(r->query, "before", &len);
    if (*before && (strlen(*before) != len || !util_id_valid(*before))) {
        free(*before);
        *before = NULL;
        http_reply_error(r->req, 400, "invalid_message_id", "before is not a valid message id.", route);
        return -1;
    }
    return 0;
}

static void delete_run(struct store *view, void *arg)
{
    struct call *c = arg;
    c->rc = store_session_delete(view, c->sid);
}

static void delete_next(struct call *c)
{
    if (c->rc > 0) {
        /* deleted, whether or not the parent heard in time */
        turn_drop_session(c->sid);     /* live answers stop and leave memory: 404 from now */
        events_deleted(c->sid);
        store_notify(c->ctx->store, "coachd_deleted", c->sid);   /* and on other instances */
    }
    if (c->late) {
    } else if (c->rc < 0) {
        http_reply_error(c->req, 500, "storage_error", "The session could not be deleted.", c->route);
    } else if (c->rc == 0) {
        http_reply_error(c->req, 404, "session_not_found", "No session with that id.", c->route);
    } else {
        http_reply_empty(c->req, 204, c->route);
    }
    call_free(c);
}

static void page_run(struct store *view, void *arg)
{
    struct call *c = arg;
    c->json = store_session_page(view, c->sid, c->limit, c->before, &c->found);
    if (c->found == 1 && store_feedback_attach(view, c->json)) c->found = -1;
}

static void page_next(struct call *c)
{
    if (c->late) {
    } else if (c->found < 0) {
        http_reply_error(c->req, 500, "storage_error", "The session could not be read.", c->route);
    } else if (!c->found) {
        http_reply_error(c->req, 404, "session_not_found", "No session with that id.", c->route);
    } else if (c->found == 2) {
        http_reply_error(c->req, 404, "message_not_found", "No message with that id in this session.",
                         c->route);
    } else {
        http_reply_json(c->req, 200, c->json, c->route);
        c->json = NULL;
    }
    call_free(c);
}

static void route_session(struct route_in *r, const char *id)
{
    const char *route = "/api/coach/sessions/:id";
    struct call *c;
    int limit;
    char *before = NULL;
    if (!method_ok(r, EVHTTP_REQ_GET | EVHTTP_REQ_DELETE, "GET, DELETE", route)) return;
    if (!util_id_valid(id)) {
        http_reply_error(r->req, 400, "invalid_session_id", "That is not a valid session id.", route);
        return;
    }
    if (r->cmd != EVHTTP_REQ_DELETE && page_params(r, &limit, &before, route)) return;
    c = call_new(r, route);
    snprintf(c->sid, sizeof c->sid, "%s", id);
    if (r->cmd == EVHTTP_REQ_DELETE) {
        call_store(c, c->sid, delete_run, delete_next);
        return;
    }
    c->limit = limit;
    c->before = before;
    call_store(c, c->sid, page_run, page_next);
}

/* ---------- questions and streams ---------- */

/* Resumes message c->mid from position c->from within session c->sid
 * (turn_open: from memory, or from the database off the loop). When the
 * message is unknown: on_unknown(c) when given (it takes c over), else a
 * 404. */
static void resume_answer(struct call *c, int rc, struct turn_replay *rp,
                          void (*on_unknown)(struct call *c))
{
    if (rc < 0 && on_unknown) {
        on_unknown(c);
        return;
    }
    if (rc < 0) http_reply_error(c->req, 404, "message_not_found", "No message with that id.", c->route);
    else if (rc == 0 || !evhttp_request_get_connection(c->req)) {   /* or gone while waiting */
        if (rc > 0) json_decref(rp->events);
        http_reply_empty(c->req, 204, c->route);
    }
    else sse_serve(c->req, rp, c->route);
    call_free(c);
}

/* 1 when the stored answer c asked for was read; otherwise c has been
 * answered (a store error) or dropped (it came back late) and freed. */
static int stored_read(struct call *c)
{
    if (c->late) {
        call_free(c);
        return 0;
    }
    if (c->st.found < 0) {
        reply_store_error(c, "The answer could not be read.");
        call_free(c);
        return 0;
    }
    return 1;
}

static void resume_run(struct store *view, void *arg)
{
    struct call *c = arg;
    turn_stored_read(view, c->mid, &c->st);
}

static void resume_next(struct call *c)
{
    struct turn_replay rp;
    int rc;
    if (!stored_read(c))
        return;
    rc = turn_open_stored(c->mid, c->from, c->sid, &c->st, &rp);
    resume_answer(c, rc, &rp, c->after_session);
}

static void resume_start(struct call *c, void (*on_unknown)(struct call *c))
{
    struct turn_replay rp;
    int rc = turn_open_mem(c->mid, c->from, c->sid, &rp);
    if (rc != TURN_ASK_STORE) {
        resume_answer(c, rc, &rp, on_unknown);
        return;
    }
    c->after_session = on_unknown;
    call_store(c, c->sid, resume_run, resume_next);
}

/* ---------- a question: checked, committed off the loop, launched ---------- */

static void begin_run(struct store *view, void *arg)
{
    struct call *c = arg;
    c->rc = turn_begin_store(view, c->turn);
}

static void begin_next(struct call *c)
{
    char url[256];
    struct turn *t = c->turn;
    if (c->rc == 0) {
        /* committed (even when the 503 went out first: the pending row is
         * then finished and saved by the turn, not left to the lease) */
        c->turn = NULL;
        turn_launch(t);
        events_message(c->sid, turn_message_id(t));   /* other tabs of the session */
        /* and its tabs on other instances (a shared store; ids only) */
        if (store_is_shared(c->ctx->store)) {
            char ids[160];
            snprintf(ids, sizeof ids, "%s,%s", c->sid, turn_message_id(t));
            store_notify(c->ctx->store, "coachd_session", ids);
        }
    }
    if (c->late) {
        call_free(c);
        return;
    }
    if (c->rc) {
        if (store_write_failing(c->ctx->store))   /* the database is away: try later */
            http_reply_error(c->req, 503, "storage_unavailable",
                             "The coach cannot save new questions right now. Please try again later.",
                             c->route);
        else http_reply_error(c->req, 500, "storage_error", "Your question could not be saved.", c->route);
        call_free(c);
        return;
    }
    if (c->stream) {                      /* the seed's stream: follow it at once */
        snprintf(c->mid, sizeof c->mid, "%s", turn_message_id(t));
        c->from = 0;
        resume_start(c, NULL);
        return;
    }
    snprintf(url, sizeof url, "/api/coach/sessions/%s/messages/%s/stream", c->sid,
             turn_message_id(t));
    http_reply_json(c->req, 202, json_pack("{s:s, s:s}", "message_id", turn_message_id(t),
                                           "stream_url", url), c->route);
    call_free(c);
}

/* Checks question q (len bytes, copied) for session c->sid and commits
 * it; answers in begin_next. stream: the seed's route (the answer
 * streams in the reply) rather than a 202. Frees c after any reply. */
static void start_turn(struct call *c, const char *q, size_t len, int stream)
{
    struct route_in r = call_route(c);
    const char *code, *msg;
    int status = api_check_question(q, len, &code, &msg);
    if (status) {
        http_reply_error(c->req, status, code, msg, c->route);
        goto out;
    }
    if (c->ctx->draining) {
        http_reply_error(c->req, 503, "shutting_down", "The coach is restarting. Please try again shortly.",
                         c->route);
        goto out;
    }
    {
        struct store_health sh;
        store_health(c->ctx->store, &sh);
        if (sh.disk_full || !sh.file_present) {   /* it could not be kept */
            http_reply_error(c->req, 503, "storage_unavailable",
                             "The coach cannot save new questions right now. Please try again later.",
                             c->route);
            goto out;
        }
    }
    if (!question_allowed(&r, c->sid, c->count, c->route)) goto out;
    c->turn = turn_prepare(c->sid, q, len);
    if (!c->turn) {
        http_reply_error(c->req, 500, "storage_error", "Your question could not be saved.", c->route);
        goto out;
    }
    c->stream = stream;
    {
        /* what the commit costs the loop (on PostgreSQL the hand-over; on
         * SQLite the commit itself, made in the call) */
        double t0 = metrics_now();
        call_store(c, c->sid, begin_run, begin_next);   /* c may be gone */
        metrics_observe(METRICS_DB_SECONDS, metrics_now() - t0);
    }
    return;
out:
    call_free(c);
}

static void post_after_session(struct call *c)
{
    json_t *body = http_read_json(c->req, c->route), *q;
    if (!body) {
        call_free(c);
        return;
    }
    q = json_object_get(body, "question");
    if (!json_is_string(q)) {
        json_decref(body);
        http_reply_error(c->req, 400, "invalid_question", "The body needs a \"question\" string.",
                         c->route);
        call_free(c);
        return;
    }
    start_turn(c, json_string_value(q), json_string_length(q), 0);
    json_decref(body);
}

static void route_post_message(struct route_in *r, const char *sid)
{
    const char *route = "/api/coach/sessions/:id/messages";
    if (!method_ok(r, EVHTTP_REQ_POST, "POST", route)) return;
    check_session(r, sid, route, post_after_session);
}

/* The seed's question (when the Last-Event-ID named no answer). */
static void seed_question(struct call *c)
{
    size_t qlen = 0;
    char *q = api_query_param(c->query, "question", &qlen);
    if (!q) {
        http_reply_error(c->req, 400, "empty_question", "Please type a question.", c->route);
        call_free(c);
        return;
    }
    start_turn(c, q, qlen, 1);
    free(q);
}

static void seed_after_session(struct call *c)
{
    struct route_in r = call_route(c);
    char *owned;
    const char *leid = last_event_id(&r, &owned);
    size_t seq;
    /* An EventSource reconnect carries Last-Event-ID: resume that turn
     * instead of asking the question again. */
    if (leid && turn_parse_event_id(leid, c->mid, sizeof c->mid, &seq) == 0) {
        free(owned);
        c->from = seq;
        resume_start(c, seed_question);
        return;
    }
    free(owned);
    seed_question(c);
}

static void route_seed_stream(struct route_in *r, const char *sid)
{
    const char *route = "/api/coach/stream/:session_id";
    if (!method_ok(r, EVHTTP_REQ_GET, "GET", route)) return;
    check_session(r, sid, route, seed_after_session);
}

/* Both ids of a message route are well-formed, else a 400 was sent. */
static int check_ids(struct route_in *r, const char *sid, const char *mid, const char *route)
{
    if (!util_id_valid(sid)) {
        http_reply_error(r->req, 400, "invalid_session_id", "That is not a valid session id.", route);
        return 0;
    }
    if (!util_id_valid(mid)) {
        http_reply_error(r->req, 400, "invalid_message_id", "That is not a valid message id.", route);
        return 0;
    }
    return 1;
}

static void route_message_stream(struct route_in *r, const char *sid, const char *mid)
{
    const char *route = "/api/coach/sessions/:id/messages/:mid/stream";
    char *owned, lmid[64];
    const char *leid;
    size_t from = 0;
    struct call *c;

    if (!method_ok(r, EVHTTP_REQ_GET, "GET", route)) return;
    if (!check_ids(r, sid, mid, route)) return;
    leid = last_event_id(r, &owned);
    if (leid) {
        if (turn_parse_event_id(leid, lmid, sizeof lmid, &from) || strcmp(lmid, mid) != 0) {
            free(owned);
            http_reply_error(r->req, 400, "invalid_last_event_id",
                             "Last-Event-ID does not belong to this message.", route);
            return;
        }
    }
    free(owned);
    c = call_new(r, route);
    snprintf(c->sid, sizeof c->sid, "%s", sid);
    snprintf(c->mid, sizeof c->mid, "%s", mid);
    c->from = from;
    resume_start(c, NULL);
}

static void cancel_answer(struct call *c, int rc, const char *status)
{
    if (rc != 0) http_reply_error(c->req, 404, "message_not_found", "No message with that id.", c->route);
    else http_reply_json(c->req, 200, json_pack("{s:s, s:s}", "message_id", c->mid, "status", status),
                         c->route);
    call_free(c);
}

static void cancel_next(struct call *c)
{
    char status[32];
    int rc;
    if (!stored_read(c))
        return;
    rc = turn_stop_stored(c->mid, c->sid, &c->st, status, sizeof status);
    cancel_answer(c, rc, status);
}

static void route_cancel(struct route_in *r, const char *sid, const char *mid)
{
    const char *route = "/api/coach/sessions/:id/messages/:mid/cancel";
    char status[32];
    struct call *c;
    int rc;

    if (!method_ok(r, EVHTTP_REQ_POST, "POST", route)) return;
    if (!check_ids(r, sid, mid, route)) return;
    c = call_new(r, route);
    snprintf(c->sid, sizeof c->sid, "%s", sid);
    snprintf(c->mid, sizeof c->mid, "%s", mid);
    rc = turn_stop_mem(mid, sid, status, sizeof status);
    if (rc != TURN_ASK_STORE) {
        cancel_answer(c, rc, status);
        return;
    }
    call_store(c, c->sid, resume_run, cancel_next);   /* the same read as a resume */
}

/* ---------- session events and feedback ---------- */

static void events_after_session(struct call *c)
{
    if (!evhttp_request_get_connection(c->req))   /* gone while waiting: freed by the reply */
        http_reply_empty(c->req, 204, c->route);
    else events_serve(c->req, c->sid, c->route);
    call_free(c);
}

static void route_session_events(struct route_in *r, const char *sid)
{
    const char *route = "/api/coach/sessions/:id/events";
    if (!method_ok(r, EVHTTP_REQ_GET, "GET", route)) return;
    check_session(r, sid, route, events_after_session);
}

/* Checks a feedback body: {"helpful": bool, "reason": optional string of
 * up to API_MAX_REASON_CHARS}. Returns 0 with *helpful and *reason
 * (borrowed from body, NULL when absent), or 400 with code and message. */
int api_check_feedback(const json_t *body, int *helpful, const char **reason,
                       const char **code, const char **message)
{
    json_t *h = json_object_get(body, "helpful"), *why = json_object_get(body, "reason");
    *code = "invalid_feedback";
    if (!json_is_boolean(h)) {
        *message = "The body needs \"helpful\": true or false.";
        return 400;
    }
    *helpful = json_is_true(h);
    *reason = NULL;
    if (why && !json_is_null(why)) {
        if (!json_is_string(why) ||
            util_utf8_len(json_string_value(why), json_string_length(why)) > API_MAX_REASON_CHARS) {
            *message = "reason must be a string of up to 500 characters.";
            return 400;
        }
        *reason = json_string_value(why);
    }
    return 0;
}

/* Off the loop: is mid an answer of session sid (else rc 0)? then the
 * feedback is saved (rc 1), or -1 on an error. */
static void feedback_run(struct store *view, void *arg)
{
    struct call *c = arg;
    char owner[80], status[32];
    json_t *events = NULL;
    int rc = store_answer_events(view, c->mid, owner, sizeof owner, status, sizeof status, &events);
    json_decref(events);
    rc = rc < 0 ? -1 : rc > 0 && strcmp(owner, c->sid) == 0;
    if (rc > 0) rc = store_feedback_set(view, c->mid, c->helpful, c->text, util_wall_ms());
    c->rc = rc;
}

static void feedback_next(struct call *c)
{
    if (c->late) {
    } else if (c->rc < 0) {
        http_reply_error(c->req, 500, "storage_error", "The feedback could not be saved.", c->route);
    } else if (c->rc == 0) {
        http_reply_error(c->req, 404, "message_not_found", "No answer with that id.", c->route);
    } else {
        http_reply_json(c->req, 200, json_pack("{s:s, s:b, s:s?}", "message_id", c->mid,
                                               "helpful", c->helpful, "reason",
                                               c->text && *c->text ? c->text : NULL), c->route);
    }
    if (c->rc > 0) metrics_feedback(c->helpful);
    call_free(c);
}

static void route_feedback(struct route_in *r, const char *sid, const char *mid)
{
    const char *route = "/api/coach/sessions/:id/messages/:mid/feedback";
    const char *code, *msg, *reason;
    json_t *body;
    int helpful, status;
    struct call *c;

    if (!method_ok(r, EVHTTP_REQ_POST, "POST", route)) return;
    if (!check_ids(r, sid, mid, route)) return;
    body = http_read_json(r->req, route);
    if (!body) return;
    status = api_check_feedback(body, &helpful, &reason, &code, &msg);
    if (status) {
        json_decref(body);
        http_reply_error(r->req, status, code, msg, route);
        return;
    }
    c = call_new(r, route);
    snprintf(c->sid, sizeof c->sid, "%s", sid);
    snprintf(c->mid, sizeof c->mid, "%s", mid);
    c->helpful = helpful;
    c->text = reason ? xstrdup(reason) : NULL;
    json_decref(body);
    call_store(c, c->sid, feedback_run, feedback_next);
}

/* ---------- dispatch ---------- */

static int split_path(char *path, char **seg, int max)
{
    int n = 0;
    for (char *save = NULL, *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == max) return -1;
        seg[n++] = s;
    }
    return n;
}

static int seg_is(char *const *seg, int n, int i, const char *s)
{
    return i < n && strcmp(seg[i], s) == 0;
}

int api_parse_route(const char *path, struct api_route *r)
{
    char *seg[MAX_SEGS];
    int n;

    r->kind = API_NOT_FOUND;
    r->id = r->mid = r->file = NULL;
    if (strlen(path) >= sizeof r->buf) return -1;
    snprintf(r->buf, sizeof r->buf, "%s", path);
    n = split_path(r->buf, seg, MAX_SEGS);
    if (n < 0) return 0;
    if (n == 1 && seg_is(seg, n, 0, "healthz")) r->kind = API_HEALTH;
    else if (n == 1 && seg_is(seg, n, 0, "readyz")) r->kind = API_READY;
    else if (n == 1 && seg_is(seg, n, 0, "metrics")) r->kind = API_METRICS;
    else if (seg_is(seg, n, 0, "api")) {
        if (!seg_is(seg, n, 1, "coach")) return 0;
        if (n == 3 && (seg_is(seg, n, 2, "sessions") || seg_is(seg, n, 2, "start")))
            r->kind = API_SESSIONS;
        else if (n == 4 && seg_is(seg, n, 2, "sessions")) r->kind = API_SESSION;
        else if (n == 5 && seg_is(seg, n, 2, "sessions") && seg_is(seg, n, 4, "messages"))
            r->kind = API_MESSAGES;
        else if (n == 4 && seg_is(seg, n, 2, "stream")) r->kind = API_SEED_STREAM;
        else if (n == 5 && seg_is(seg, n, 2, "sessions") && seg_is(seg, n, 4, "events"))
            r->kind = API_SESSION_EVENTS;
        else if (n == 7 && seg_is(seg, n, 2, "sessions") && seg_is(seg, n, 4, "messages")) {
            if (seg_is(seg, n, 6, "stream")) r->kind = API_MESSAGE_STREAM;
            else if (seg_is(seg, n, 6, "cancel")) r->kind = API_CANCEL;
            else if (seg_is(seg, n, 6, "feedback")) r->kind = API_FEEDBACK;
            if (r->kind != API_NOT_FOUND) r->mid = seg[5];
        }
        if (r->kind != API_NOT_FOUND && r->kind != API_SESSIONS) r->id = seg[3];
    } else if (n <= 1) {
        r->kind = API_STATIC;
        r->file = n ? seg[0] : "";
    }
    return 0;
}

void api_handle(struct evhttp_request *req, void *arg)
{
    struct route_in r = {.req = req, .ctx = arg, .cmd = evhttp_request_get_command(req)};
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *rawpath = uri ? evhttp_uri_get_path(uri) : NULL;
    struct api_route rt;

    if (!rawpath || api_parse_route(rawpath, &rt) != 0) {
        http_reply_error(req, rawpath ? 414 : 400, "bad_path", "That address is not valid.", "-");
        return;
    }
    r.query = evhttp_uri_get_query(uri);
    switch (rt.kind) {
    case API_HEALTH: route_health(&r, 0); return;
    case API_READY: route_health(&r, 1); return;
    case API_SESSIONS: route_create_session(&r); return;
    case API_SESSION: route_session(&r, rt.id); return;
    case API_MESSAGES: route_post_message(&r, rt.id); return;
    case API_SEED_STREAM: route_seed_stream(&r, rt.id); return;
    case API_MESSAGE_STREAM: route_message_stream(&r, rt.id, rt.mid); return;
    case API_CANCEL: route_cancel(&r, rt.id, rt.mid); return;
    case API_METRICS: route_metrics(&r); return;
    case API_SESSION_EVENTS: route_session_events(&r, rt.id); return;
    case API_FEEDBACK: route_feedback(&r, rt.id, rt.mid); return;
    case API_STATIC:
        if ((r.cmd == EVHTTP_REQ_GET || r.cmd == EVHTTP_REQ_HEAD) &&
            http_serve_static(r.ctx->http, req, rt.file) == 0)
            return;
        break;
    case API_NOT_FOUND:
        break;
    }
    http_reply_error(req, 404, "not_found", "There is nothing at that address.", "-");
}
