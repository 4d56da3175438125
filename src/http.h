/* http.h — the HTTP server around libevent's evhttp: listening, limits,
 * connection accounting, access log, security headers, JSON replies and the
 * static chat page. Routing lives in api.c.
 *
 * libevent 2.1 sets no limits by default; http_new sets them all: header
 * size, body size, read/write timeouts, and a cap on concurrent connections
 * answered with 503. */
#ifndef COACH_HTTP_H
#define COACH_HTTP_H

#include <jansson.h>
#include <stddef.h>

struct event_base;
struct evhttp_request;
struct http_server;

/* JSON bodies we accept: a 2,000-character question written entirely
 * with \u escapes of surrogate pairs is 24,000 bytes. */
#define HTTP_MAX_BODY (32 * 1024)
/* A request head (request line and headers): the seed endpoint takes the
 * question in the query, 2,000 characters percent-encoded as 4-byte UTF-8
 * are 24,000 bytes. */
#define HTTP_MAX_HEADERS (32 * 1024)
#define HTTP_LISTEN_BACKLOG 4096       /* connections waiting to be accepted */
#define HTTP_HEAD_TIMEOUT_S 10         /* a request head must be whole within this */
#define HTTP_BODY_TIMEOUT_S 10         /* and its body within this after the head */
#define HTTP_ACCEPT_PAUSE_MS 100       /* listener pause after an accept() failure */
#define HTTP_ACCEPT_LOG_S 10           /* at most one accept() failure line per this */
/* Descriptors kept back from the connection cap: stdio, the listener, the
 * event loop's own (epoll, signal pipe), SQLite's database, WAL, shared
 * memory and journal files, curl's resolver and a margin. Of the rest, half
 * are for client connections and half for one upstream socket each (the
 * openai engine), or for refusing extra clients with a 503. */
#define HTTP_FD_RESERVE 32

struct http_options {
    const char *bind;
    int port;                          /* 0 = any free port */
    int max_connections;               /* 0 = http_default_max_connections */
    const char *web_dir;
    int quiet;                         /* no access log */
};

typedef void (*http_handler)(struct evhttp_request *req, void *arg);

/* Creates the server and binds. Returns NULL with a message in err. */
struct http_server *http_new(struct event_base *base, const struct http_options *o,
                             http_handler handler, void *arg, char *err, size_t errlen);
int http_port(const struct http_server *s);
/* The connection cap in force (configured, or derived from RLIMIT_NOFILE). */
int http_max_connections(const struct http_server *s);
/* Stops accepting new connections (graceful shutdown). */
void http_stop_accepting(struct http_server *s);
void http_free(struct http_server *s);
/* Connections open now (counted from accept to close). */
size_t http_connection_count(void);
/* The connection cap for a descriptor limit of nofile:
 * (nofile - HTTP_FD_RESERVE) / 2, at least 1. Pure. */
int http_default_max_connections(long nofile);

/* Replies. Every reply carries the security headers; API replies also
 * Cache-Control: no-store. `route` is the route pattern for the access log
 * (never the raw path: ids and queries stay out of logs). body is stolen. */
void http_reply_json(struct evhttp_request *req, int code, json_t *body, const char *route);
void http_reply_error(struct evhttp_request *req, int code, const char *err_code,
                      const char *message, const char *route);
void http_reply_empty(struct evhttp_request *req, int code, const char *route);
/* Serves a file of the web directory; returns 0, or -1 when there is none. */
int http_serve_static(struct http_server *s, struct evhttp_request *req, const char *path);
/* Adds the security headers (also used for SSE). */
void http_security_headers(struct evhttp_request *req, int api);
/* Writes one access-log line. */
void http_log(struct evhttp_request *req, int code, const char *route);

/* A hook called when the request's connection closes (at most one per
 * connection; pass fn NULL to clear). Used by SSE subscribers. */
typedef void (*http_close_fn)(void *arg);
void http_on_close(struct evhttp_request *req, http_close_fn fn, void *arg);

/* Ends a streamed (chunked) response so the connection can carry another
 * request: drops the close hook, restores the usual 15 s timeouts (a
 * stream clears the read timeout) and sends the last chunk. req is
 * libevent's again afterwards. */
void http_stream_end(struct evhttp_request *req);

/* Reads a JSON object body (<= HTTP_MAX_BODY). Returns the object (new
 * reference), or NULL after replying with the right 4xx. An empty body
 * gives an empty object. */
json_t *http_read_json(struct evhttp_request *req, const char *route);
/* The pure part of http_read_json: body[0..len) to a JSON object (UTF-8,
 * no duplicate keys, at most HTTP_MAX_BODY). Returns 0 with *out (new
 * reference; an empty body is {}), or 400/413 with code and message. */
int http_parse_json_body(const char *body, size_t len, json_t **out, const char **code,
                         const char **message);

#endif
