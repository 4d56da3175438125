/* http.c — evhttp set-up and the pieces every handler shares.
 *
 * Connection guard. evhttp 2.1 has no connection cap, no deadline for a
 * request head, and a lenient parser, so every accepted connection gets a
 * guard (struct conn) before evhttp reads a byte of it:
 *   - evhttp_set_bevcb creates each connection's bufferevent, so the guard
 *     is made, and the connection counted, at accept. evhttp's close
 *     callback (registered on the next loop turn, or at the first request)
 *     uncounts it and runs the hook SSE uses (http_on_close).
 *   - A callback on the bufferevent's input buffer sees bytes as they are
 *     read, before evhttp's read callback. It holds each request head back
 *     until the blank line that ends it, checks it (reqhead.c), and only
 *     then hands it to evhttp; body bytes pass as they come, counted
 *     against Content-Length, so the next head is found exactly where
 *     evhttp will look for it.
 *   - A head must be whole within HTTP_HEAD_TIMEOUT_S of the connection's
 *     start (or of its first byte, for later requests on a kept-alive
 *     connection), a body within HTTP_BODY_TIMEOUT_S of its head.
 *   - A refused connection (over the cap, too slow, a bad head) is answered
 *     through evhttp itself: the guard hands evhttp a stand-in request
 *     ("GET / HTTP/1.1" with Connection: close, or the missing body bytes)
 *     and marks it; dispatch() answers the marked request with the JSON
 *     error and evhttp closes the connection after writing it. So every
 *     error, even one evhttp would have sent as HTML, is ours.
 * accept() failures (out of descriptors) pause the listener for
 * HTTP_ACCEPT_PAUSE_MS and are logged at most once per
 * HTTP_ACCEPT_LOG_S; libevent's own warnings go through the same limiter.
 *
 * Static files are read once at start-up into memory (the page is a few
 * tens of KiB) and served with their type and the strict security headers. */
#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "metrics.h"
#include "reqhead.h"
#include "util.h"

#define MAX_STATIC 32
#define MAX_STATIC_SIZE (512 * 1024)

struct static_file { char *name; char *data; size_t len; const char *type; };

struct http_server {
    struct evhttp *http;
    struct event_base *base;
    struct evhttp_bound_socket *sock;
    struct event *accept_resume;       /* re-enables the listener after a pause */
    uint64_t accept_logged_ms;         /* last accept() failure line */
    unsigned long accept_failures;     /* since that line */
    int port;
    int max_connections;
    int quiet;
    struct static_file files[MAX_STATIC];
    size_t nfiles;
    http_handler handler;
    void *arg;
};

enum conn_state { CONN_HEAD, CONN_BODY, CONN_REFUSED };

struct conn {
    struct bufferevent *bev;           /* evhttp's; we hold a reference until registered */
    struct evhttp_connection *evcon;   /* known once registered */
    struct evbuffer_cb_entry *incb;
    struct event *timer;               /* head/body deadline */
    struct event *start;               /* the first loop turn after accept */
    http_close_fn fn;
    void *arg;
    enum conn_state state;
    int busy;                          /* inside our own input callback */
    int registered;                    /* evhttp's close callback is ours */
    int over_cap;
    int nodelay;
    char *head;                        /* the head being held back */
    size_t head_len, head_cap, head_scan;
    size_t body_left;
    unsigned long handed, dispatched, refuse_at;   /* request counts */
    int refuse_status;
    const char *refuse_code, *refuse_message;
};

static void *conns;           /* tsearch tree of struct conn by bev */
static size_t nconns;
static struct http_server *server;

static int cmp_conn(const void *a, const void *b)
{
    const struct conn *x = a, *y = b;
    return x->bev < y->bev ? -1 : x->bev > y->bev;
}

size_t http_connection_count(void) { return nconns; }

int http_default_max_connections(long nofile)
{
    long n = (nofile - HTTP_FD_RESERVE) / 2;
    if (nofile <= 0) return 1;
    return n < 1 ? 1 : n > 1000000 ? 1000000 : (int)n;
}

static void conn_free(struct conn *c)
{
    tdelete(c, &conns, cmp_conn);
    nconns--;
    if (c->incb) evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->incb);
    event_free(c->timer);
    event_free(c->start);
    free(c->head);
    free(c);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    http_close_fn fn = c->fn;
    void *fa = c->arg;
    conn_free(c);
    if (fn) fn(fa);
}

static void conn_register(struct conn *c, struct evhttp_connection *evcon)
{
    if (c->registered) return;
    c->registered = 1;
    c->evcon = evcon;
    evhttp_connection_set_closecb(evcon, conn_closed, c);
    bufferevent_decref(c->bev);
}

/* ---------- the guard ---------- */

static void conn_arm(struct conn *c, int seconds)
{
    struct timeval tv = {seconds, 0};
    event_add(c->timer, &tv);
}

/* Hands evhttp a stand-in for the refused request and marks it, so that
 * dispatch() answers it with status and closes. */
static void refuse(struct conn *c, struct evbuffer *to, int status, const char *code,
                   const char *message)
{
    static const char standin[] = "GET / HTTP/1.1\r\nConnection: close\r\n\r\n";
    if (c->state == CONN_REFUSED) return;
    if (c->state == CONN_BODY) {
        /* evhttp has the head and waits for the rest of the body: give
         * it filler so that the marked request is this one */
        char zero[1024] = {0};
        while (c->body_left) {
            size_t n = c->body_left < sizeof zero ? c->body_left : sizeof zero;
            evbuffer_add(to, zero, n);
            c->body_left -= n;
        }
        c->refuse_at = c->handed;
    } else {
        evbuffer_add(to, standin, sizeof standin - 1);
        c->refuse_at = ++c->handed;
    }
    c->state = CONN_REFUSED;
    c->refuse_status = status;
    c->refuse_code = code;
    c->refuse_message = message;
    free(c->head);
    c->head = NULL;
    c->head_len = c->head_cap = 0;
    event_del(c->timer);
}

static void head_done(struct conn *c, struct evbuffer *to)
{
    struct reqhead h;
    if (reqhead_check(c->head, c->head_len, HTTP_MAX_BODY, &h)) {
        refuse(c, to, h.status, h.code, h.message);
        return;
    }
    evbuffer_add(to, c->head, c->head_len);
    c->handed++;
    free(c->head);
    c->head = NULL;
    c->head_len = c->head_cap = c->head_scan = 0;
    event_del(c->timer);
    if (h.content_length) {
        c->state = CONN_BODY;
        c->body_left = h.content_length;
        conn_arm(c, HTTP_BODY_TIMEOUT_S);
    }
}

/* Takes bytes of a head from `from`, leaving what follows its end. */
static void head_feed(struct conn *c, struct evbuffer *from, struct evbuffer *to)
{
    size_t avail = evbuffer_get_length(from), room, n, end;
    if (c->head_len == 0) {
        /* RFC 9112 2.2: empty lines before a request line are ignored */
        unsigned char ch;
        while (avail && evbuffer_copyout(from, &ch, 1) == 1 && (ch == '\r' || ch == '\n')) {
            evbuffer_drain(from, 1);
            avail--;
        }
        if (!avail) return;
        if (c->handed && !evtimer_pending(c->timer, NULL)) conn_arm(c, HTTP_HEAD_TIMEOUT_S);
    }
    room = HTTP_MAX_HEADERS - c->head_len;
    n = avail < room ? avail : room;
    if (c->head_len + n + 1 > c->head_cap) {
        c->head_cap = c->head_len + n + 1 > 2 * c->head_cap ? c->head_len + n + 1 : 2 * c->head_cap;
        c->head = xrealloc(c->head, c->head_cap);
    }
    evbuffer_copyout(from, c->head + c->head_len, n);
    end = reqhead_end(c->head, c->head_len + n, &c->head_scan);
    if (end) {
        evbuffer_drain(from, end - c->head_len);
        c->head_len = end;
        head_done(c, to);
        return;
    }
    evbuffer_drain(from, n);
    c->head_len += n;
    if (c->head_len >= HTTP_MAX_HEADERS)
        refuse(c, to, 431, "headers_too_large", "The request headers are too large.");
}

static void refuse_over_cap(struct conn *c, struct evbuffer *to);

/* Runs the new bytes in `fresh` through the guard, appending what evhttp
 * may see to `to`. */
static void conn_feed(struct conn *c, struct evbuffer *fresh, struct evbuffer *to)
{
    while (evbuffer_get_length(fresh)) {
        size_t len = evbuffer_get_length(fresh);
        switch (c->state) {
        case CONN_REFUSED:
            evbuffer_drain(fresh, len);
            break;
        case CONN_BODY: {
            size_t n = len < c->body_left ? len : c->body_left;
            evbuffer_remove_buffer(fresh, to, n);
            c->body_left -= n;
            if (!c->body_left) {
                c->state = CONN_HEAD;
                event_del(c->timer);
            }
            break;
        }
        case CONN_HEAD:
            if (c->over_cap) refuse_over_cap(c, to);
            else head_feed(c, fresh, to);
            break;
        }
    }
}

/* The input buffer's callback: runs right after the socket read adds
 * bytes, before evhttp's read callback looks at them. The new bytes are
 * taken out and only what the guard passes is put back. */
static void conn_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *fresh;
    size_t old;
    if (c->busy || info->n_added == 0) return;
    c->busy = 1;
    old = evbuffer_get_length(in) - info->n_added;
    fresh = evbuffer_new();
    evbuffer_add_buffer(fresh, in);
    evbuffer_remove_buffer(fresh, in, old);
    conn_feed(c, fresh, in);
    evbuffer_free(fresh);
    c->busy = 0;
}

/* Puts a stand-in into the input outside a read (timer): the input's end
 * is frozen between reads, and evhttp's read callback must be woken. */
static void refuse_now(struct conn *c, int status, const char *code, const char *message)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    c->busy = 1;
    evbuffer_unfreeze(in, 0);
    refuse(c, in, status, code, message);
    evbuffer_freeze(in, 0);
    c->busy = 0;
    bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void refuse_over_cap(struct conn *c, struct evbuffer *to)
{
    metrics_inc(METRICS_CONNECTIONS_REJECTED);
    if (to) refuse(c, to, 503, "overloaded", "The coach is busy. Please try again in a moment.");
    else refuse_now(c, 503, "overloaded", "The coach is busy. Please try again in a moment.");
}

/* The first loop turn after accept: register evhttp's close callback (or
 * find that evhttp already dropped the connection: it clears the
 * callbacks when it frees one) and turn away a connection over the cap
 * that has sent nothing yet. */
static void conn_start(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (!c->registered) {
        void *cbarg = NULL;
        bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
        if (!cbarg) {
            struct bufferevent *bev = c->bev;
            conn_free(c);
            bufferevent_decref(bev);
            return;
        }
        conn_register(c, cbarg);
    }
    if (c->over_cap && c->state != CONN_REFUSED) refuse_over_cap(c, NULL);
}

static void conn_timer(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->state == CONN_BODY)
        refuse_now(c, 408, "body_timeout", "The request body did not arrive in time.");
    else
        refuse_now(c, 408, "header_timeout", "The request headers did not arrive in time.");
}

/* evhttp's bufferevent factory, called at accept (before the descriptor
 * is set on it). */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
    struct http_server *s = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    struct conn *c;
    struct timeval now = {0, 0};
    if (!bev) return NULL;
    c = xcalloc(1, sizeof *c);
    c->bev = bev;
    c->timer = evtimer_new(base, conn_timer, c);
    c->start = evtimer_new(base, conn_start, c);
    c->incb = evbuffer_add_cb(bufferevent_get_input(bev), conn_input, c);
    tsearch(c, &conns, cmp_conn);
    nconns++;
    c->over_cap = nconns > (size_t)s->max_connections;
    bufferevent_incref(bev);           /* until registered: see conn_start */
    event_add(c->start, &now);
    conn_arm(c, HTTP_HEAD_TIMEOUT_S);
    return bev;
}

static struct conn *conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct conn key, *c;
    void *found;
    if (!evcon) return NULL;
    key.bev = evhttp_connection_get_bufferevent(evcon);
    found = tfind(&key, &conns, cmp_conn);
    if (!found) return NULL;
    c = *(struct conn **)found;
    conn_register(c, evcon);
    if (!c->nodelay) {
        /* Streams are many small writes; without TCP_NODELAY Nagle's
         * algorithm meets the client's delayed ACK and holds chunks back
         * ~40 ms. */
        int one = 1;
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->nodelay = 1;
    }
    return c;
}

void http_on_close(struct evhttp_request *req, http_close_fn fn, void *arg)
{
    struct conn *c = conn_of(req);
    if (!c) return;
    c->fn = fn;
    c->arg = arg;
}

/* After evhttp_free: a connection accepted on the last loop turn is not
 * registered yet and still holds its bufferevent. */
static struct conn **rest;
static size_t nrest;

static void collect(const void *node, VISIT v, int depth)
{
    if (v == postorder || v == leaf) rest[nrest++] = *(struct conn *const *)node;
}

static void conn_free_rest(void)
{
    rest = xcalloc(nconns + 1, sizeof *rest);
    nrest = 0;
    twalk(conns, collect);
    for (size_t i = 0; i < nrest; i++) {
        struct conn *c = rest[i];
        struct bufferevent *bev = c->bev;
        int registered = c->registered;
        if (registered) c->incb = NULL;       /* its bufferevent is gone */
        conn_free(c);
        if (!registered) bufferevent_decref(bev);
    }
    free(rest);
    rest = NULL;
}

/* ---------- accept() failures and libevent's log ---------- */

static int log_quiet;

/* At most one line per HTTP_ACCEPT_LOG_S, however often libevent warns
 * (an accept() loop out of descriptors would otherwise write hundreds of
 * MB); none under --quiet. */
static void libevent_log(int severity, const char *msg)
{
    static uint64_t last;
    static unsigned long dropped;
    uint64_t now = util_now_ms();
    if (log_quiet || severity < EVENT_LOG_WARN) return;
    if (last && now - last < HTTP_ACCEPT_LOG_S * 1000u) {
        dropped++;
        return;
    }
    if (dropped) fprintf(stderr, "coachd: libevent: %s (%lu similar lines dropped)\n", msg, dropped);
    else fprintf(stderr, "coachd: libevent: %s\n", msg);
    last = now;
    dropped = 0;
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *s = arg;
    if (s->sock) evconnlistener_enable(evhttp_bound_socket_get_listener(s->sock));
}

/* The listener's argument is evhttp's, so the server comes from `server`. */
static void accept_error(struct evconnlistener *l, void *arg)
{
    struct http_server *s = server;
    int err = EVUTIL_SOCKET_ERROR();
    uint64_t now = util_now_ms();
    struct timeval pause = {0, HTTP_ACCEPT_PAUSE_MS * 1000};
    s->accept_failures++;
    metrics_inc(METRICS_ACCEPT_ERRORS);
    evconnlistener_disable(l);
    event_add(s->accept_resume, &pause);
    if (s->quiet) return;
    if (s->accept_logged_ms && now - s->accept_logged_ms < HTTP_ACCEPT_LOG_S * 1000u) return;
    fprintf(stderr, "coachd: accept() failed %lu time%s: %s; pausing new connections for %d ms "
            "(connections open: %zu)\n", s->accept_failures, s->accept_failures == 1 ? "" : "s",
            evutil_socket_error_to_string(err), HTTP_ACCEPT_PAUSE_MS, nconns);
    s->accept_logged_ms = now;
    s->accept_failures = 0;
}

/* ---------- replies ---------- */

void http_log(struct evhttp_request *req, int code, const char *route)
{
    static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE",
                                          "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *m = "OTHER";
    char when[32];
    for (unsigned i = 0; i < 9; i++) if ((unsigned)cmd == (1u << i)) m = methods[i];
    metrics_http_request(route, code);
    if (log_quiet) return;
    util_iso8601(util_wall_ms(), when, sizeof when);
    fprintf(stderr, "%s %s %s %d\n", when, m, route ? route : "-", code);
}

void http_security_headers(struct evhttp_request *req, int api)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; script-src 'self'; style-src 'self'; "
                      "img-src 'self'; connect-src 'self'; font-src 'self'; "
                      "manifest-src 'self'; base-uri 'none'; form-action 'none'; "
                      "frame-ancestors 'none'");
    evhttp_add_header(h, "Cache-Control", api ? "no-store" : "no-cache");
}

void http_reply_json(struct evhttp_request *req, int code, json_t *body, const char *route)
{
    struct evbuffer *buf = evbuffer_new();
    char *txt = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    evbuffer_add(buf, txt, strlen(txt));
    evbuffer_add(buf, "\n", 1);
    free(txt);
    http_security_headers(req, 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json; charset=utf-8");
    http_log(req, code, route);
    evhttp_send_reply(req, code, NULL, buf);
    evbuffer_free(buf);
}

void http_reply_error(struct evhttp_request *req, int code, const char *err_code,
                      const char *message, const char *route)
{
    http_reply_json(req, code, json_pack("{s:{s:s, s:s}}", "error", "code", err_code,
                                         "message", message), route);
}

void http_reply_empty(struct evhttp_request *req, int code, const char *route)
{
    http_security_headers(req, 1);
    http_log(req, code, route);
    evhttp_send_reply(req, code, NULL, NULL);
}

int http_parse_json_body(const char *body, size_t len, json_t **out, const char **code,
                         const char **message)
{
    json_error_t jerr;
    json_t *v;
    *out = NULL;
    if (len > HTTP_MAX_BODY) {
        *code = "body_too_large";
        *message = "The request body is larger than 32 KiB.";
        return 413;
    }
    if (len == 0) {
        *out = json_object();
        return 0;
    }
    if (!util_utf8_valid(body, len)) {
        *code = "invalid_utf8";
        *message = "The body is not valid UTF-8.";
        return 400;
    }
    v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        *code = "invalid_json";
        *message = "The body must be a JSON object.";
        return 400;
    }
    *out = v;
    return 0;
}

json_t *http_read_json(struct evhttp_request *req, const char *route)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *code = NULL, *message = NULL;
    json_t *v = NULL;
    int status;
    /* the Content-Type was checked in dispatch() */
    if (len > HTTP_MAX_BODY) {
        status = http_parse_json_body(NULL, len, &v, &code, &message);
    } else {
        char *body = xmalloc(len + 1);
        evbuffer_copyout(in, body, len);
        status = http_parse_json_body(body, len, &v, &code, &message);
        free(body);
    }
    if (status) {
        http_reply_error(req, status, code, message, route);
        return NULL;
    }
    return v;
}

/* ---------- static files ---------- */

static const char *mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return "application/octet-stream";
    if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg")) return "image/svg+xml";
    if (!strcmp(dot, ".png")) return "image/png";
    if (!strcmp(dot, ".ico")) return "image/x-icon";
    if (!strcmp(dot, ".json") || !strcmp(dot, ".webmanifest")) return "application/json";
    if (!strcmp(dot, ".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

static void load_static(struct http_server *s, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        fprintf(stderr, "coachd: warning: web directory %s not found; the page will 404\n", dir);
        return;
    }
    while ((e = readdir(d)) && s->nfiles < MAX_STATIC) {
        char path[4096];
        struct stat sb;
        FILE *f;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > MAX_STATIC_SIZE) continue;
        f = fopen(path, "rb");
        if (!f) continue;
        struct static_file *sf = &s->files[s->nfiles];
        sf->data = xmalloc((size_t)sb.st_size + 1);
        sf->len = fread(sf->data, 1, (size_t)sb.st_size, f);
        fclose(f);
        sf->name = xstrdup(e->d_name);
        sf->type = mime_of(e->d_name);
        s->nfiles++;
    }
    closedir(d);
}

int http_serve_static(struct http_server *s, struct evhttp_request *req, const char *path)
{
    const char *name = path[0] == '/' ? path + 1 : path;
    if (!*name) name = "index.html";
    for (size_t i = 0; i < s->nfiles; i++) {
        struct static_file *sf = &s->files[i];
        if (strcmp(sf->name, name) != 0) continue;
        struct evbuffer *buf = evbuffer_new();
        evbuffer_add_reference(buf, sf->data, sf->len, NULL, NULL);
        http_security_headers(req, 0);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", sf->type);
        http_log(req, 200, "static");
        evhttp_send_reply(req, 200, "OK", buf);
        evbuffer_free(buf);
        return 0;
    }
    return -1;
}

/* ---------- server ---------- */

/* A POST, PUT or PATCH with a body, or with any Content-Type, must be
 * JSON: a cross-site form can send only form and text/plain types. */
static int json_type_ok(struct evhttp_request *req)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t n = strlen("application/json");
    if (!(evhttp_request_get_command(req) & (EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH)))
        return 1;
    if (!ct) return evbuffer_get_length(evhttp_request_get_input_buffer(req)) == 0;
    while (*ct == ' ' || *ct == '\t') ct++;
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    struct http_server *s = arg;
    struct conn *c = conn_of(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (c && ++c->dispatched >= c->refuse_at && c->state == CONN_REFUSED) {
        evhttp_add_header(out, "Connection", "close");
        if (c->refuse_status == 503) evhttp_add_header(out, "Retry-After", "1");
        http_reply_error(req, c->refuse_status, c->refuse_code, c->refuse_message, "-");
        return;
    }
    if (!json_type_ok(req)) {
        http_reply_error(req, 415, "unsupported_media_type", "Send the body as application/json.",
                         "-");
        return;
    }
    s->handler(req, s->arg);
}

struct http_server *http_new(struct event_base *base, const struct http_options *o,
                             http_handler handler, void *arg, char *err, size_t errlen)
{
    struct http_server *s = xcalloc(1, sizeof *s);
    struct rlimit rl;
    long nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                      ? (long)rl.rlim_cur : 1000000;
    int fit = http_default_max_connections(nofile);
    s->http = evhttp_new(base);
    s->base = base;
    s->max_connections = o->max_connections ? o->max_connections : fit;
    if (s->max_connections > fit)
        fprintf(stderr, "coachd: warning: --max-connections %d needs more descriptors than the "
                "limit of %ld leaves (%d); past that, accept() fails and new connections "
                "wait\n", s->max_connections, nofile, fit);
    s->handler = handler;
    s->arg = arg;
    s->quiet = o->quiet;
    log_quiet = o->quiet;
    event_set_log_callback(libevent_log);
    /* libevent sets none of these by default. The guard (reqhead.c) checks
     * heads and body lengths against HTTP_MAX_HEADERS and HTTP_MAX_BODY
     * first and answers in JSON; evhttp's own limits are a backstop above
     * them that no checked request reaches. */
    evhttp_set_max_headers_size(s->http, 2 * HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(s->http, 2 * HTTP_MAX_BODY);
    evhttp_set_bevcb(s->http, conn_new, s);
    evhttp_set_timeout(s->http, 15);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(s->http, "application/json; charset=utf-8");
    evhttp_set_gencb(s->http, dispatch, s);
    s->sock = evhttp_bind_socket_with_handle(s->http, o->bind, (ev_uint16_t)o->port);
    if (!s->sock) {
        snprintf(err, errlen, "cannot listen on %s:%d (in use, or not an address here)",
                 o->bind, o->port);
        evhttp_free(s->http);
        free(s);
        return NULL;
    }
    s->accept_resume = evtimer_new(base, accept_resume, s);
    evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(s->sock), accept_error);
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        evutil_socket_t fd = evhttp_bound_socket_get_fd(s->sock);
        /* libevent listens with a backlog of 128: when more parents than
         * that connect at once, the kernel drops their SYNs and they retry
         * a second later. Calling listen() again raises it (capped by
         * net.core.somaxconn). */
        listen(fd, HTTP_LISTEN_BACKLOG);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            else if (ss.ss_family == AF_INET6) s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    load_static(s, o->web_dir);
    server = s;
    return s;
}

int http_port(const struct http_server *s) { return s->port; }
int http_max_connections(const struct http_server *s) { return s->max_connections; }

void http_stop_accepting(struct http_server *s)
{
    if (s->sock) {
        evhttp_del_accept_socket(s->http, s->sock);
        s->sock = NULL;
    }
}

void http_free(struct http_server *s)
{
    if (!s) return;
    evhttp_free(s->http);      /* closes connections; their close hooks run */
    conn_free_rest();
    event_free(s->accept_resume);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].name);
        free(s->files[i].data);
    }
    free(s);
    server = NULL;
}

void http_stream_end(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct timeval tv = {15, 0};
    http_on_close(req, NULL, NULL);
    if (evcon) bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), &tv, &tv);
    evhttp_send_reply_end(req);
}
