/* http.c — evhttp set-up and the pieces every handler shares.
 *
 * Connection accounting: evhttp 2.1 has no connection cap and one close
 * callback per connection, so this module registers itself as that callback
 * the first time a connection makes a request, keeps the connection in a
 * tree, counts it, and offers a single hook (http_on_close) that SSE uses to
 * learn that a subscriber went away. Over the cap, requests get 503 and the
 * connection is closed.
 *
 * Static files are read once at start-up into memory (the page is a few
 * tens of KiB) and served with their type and the strict security headers. */
#include "http.h"

#include <dirent.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "metrics.h"
#include "util.h"

#define MAX_STATIC 32
#define MAX_STATIC_SIZE (512 * 1024)

struct static_file { char *name; char *data; size_t len; const char *type; };

struct http_server {
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    int port;
    int max_connections;
    int quiet;
    struct static_file files[MAX_STATIC];
    size_t nfiles;
    http_handler handler;
    void *arg;
};

struct conn {
    struct evhttp_connection *evcon;
    http_close_fn fn;
    void *arg;
};

static void *conns;           /* tsearch tree of struct conn by evcon */
static size_t nconns;
static struct http_server *server;

static int cmp_conn(const void *a, const void *b)
{
    const struct conn *x = a, *y = b;
    return x->evcon < y->evcon ? -1 : x->evcon > y->evcon;
}

size_t http_connection_count(void) { return nconns; }

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct conn *c = arg;
    http_close_fn fn = c->fn;
    void *fa = c->arg;
    tdelete(c, &conns, cmp_conn);
    nconns--;
    free(c);
    if (fn) fn(fa);
}

static struct conn *conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct conn key = {.evcon = evcon}, *c;
    void *found;
    if (!evcon) return NULL;
    found = tfind(&key, &conns, cmp_conn);
    if (found) return *(struct conn **)found;
    c = xcalloc(1, sizeof *c);
    c->evcon = evcon;
    /* Streams are many small writes; without TCP_NODELAY Nagle's algorithm
     * meets the client's delayed ACK and holds chunks back ~40 ms. */
    {
        int one = 1;
        evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
        if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    tsearch(c, &conns, cmp_conn);
    nconns++;
    evhttp_connection_set_closecb(evcon, conn_closed, c);
    return c;
}

void http_on_close(struct evhttp_request *req, http_close_fn fn, void *arg)
{
    struct conn *c = conn_of(req);
    if (!c) return;
    c->fn = fn;
    c->arg = arg;
}

/* ---------- replies ---------- */

static int log_quiet;

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

json_t *http_read_json(struct evhttp_request *req, const char *route)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    json_error_t jerr;
    json_t *v;
    char *body;

    if (len > HTTP_MAX_BODY) {
        http_reply_error(req, 413, "body_too_large", "The request body is larger than 16 KiB.", route);
        return NULL;
    }
    if (len == 0) return json_object();
    if (ct && !strstr(ct, "json")) {
        http_reply_error(req, 415, "unsupported_media_type",
                         "Send the body as application/json.", route);
        return NULL;
    }
    body = xmalloc(len);
    evbuffer_copyout(in, body, len);
    if (!util_utf8_valid(body, len)) {
        free(body);
        http_reply_error(req, 400, "invalid_utf8", "The body is not valid UTF-8.", route);
        return NULL;
    }
    v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        http_reply_error(req, 400, "invalid_json", "The body must be a JSON object.", route);
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

static void dispatch(struct evhttp_request *req, void *arg)
{
    struct http_server *s = arg;
    struct conn *c = conn_of(req);
    if (c && nconns > (size_t)s->max_connections) {
        metrics_inc(METRICS_CONNECTIONS_REJECTED);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        http_reply_error(req, 503, "overloaded", "The coach is busy. Please try again in a moment.",
                         "-");
        return;
    }
    s->handler(req, s->arg);
}

struct http_server *http_new(struct event_base *base, const struct http_options *o,
                             http_handler handler, void *arg, char *err, size_t errlen)
{
    struct http_server *s = xcalloc(1, sizeof *s);
    s->http = evhttp_new(base);
    s->max_connections = o->max_connections;
    s->handler = handler;
    s->arg = arg;
    log_quiet = o->quiet;
    /* libevent sets none of these by default. The body limit here is a
     * hard stop above ours (HTTP_MAX_BODY), so that a 16-64 KiB body still
     * gets our JSON 413 while anything larger is cut off by libevent. */
    evhttp_set_max_headers_size(s->http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(s->http, 4 * HTTP_MAX_BODY);
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
