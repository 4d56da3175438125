/* api.h — the REST and streaming routes of coachd.
 *
 * api_handle is the evhttp callback for every request; it matches the path,
 * checks the method (405 with Allow otherwise), validates input and answers
 * with JSON, an SSE stream, or a static file. */
#ifndef COACH_API_H
#define COACH_API_H

#include <jansson.h>
#include <stddef.h>

struct evhttp_request;
struct http_server;
struct store;
struct kb;
struct engine;
struct safety_policy;
struct ratelimit;

/* The limits (config.h); the buckets belong to main, which frees them. */
struct api_limits {
    struct ratelimit *questions_by_addr;   /* --max-questions-per-minute */
    struct ratelimit *questions_by_session;
    struct ratelimit *sessions_by_addr;    /* --max-sessions-per-hour */
    int max_messages_per_session;          /* 0: none */
    int trust_proxy;                       /* client address from X-Forwarded-For */
};

struct api_ctx {
    struct http_server *http;
    struct store *store;
    struct kb *kb;
    struct engine *engine;
    const struct safety_policy *policy;
    int draining;                 /* shutting down: no new turns */
    struct api_limits limits;     /* NULL buckets: no limit */
};

void api_handle(struct evhttp_request *req, void *arg);

#define API_MAX_QUESTION_CHARS 2000

/* Validates a question: returns 0, or an HTTP status (400/413) with the
 * error code and message to send. Pure. */
int api_check_question(const char *q, size_t len, const char **code, const char **message);

#define API_MAX_PARENT_NAME_CHARS 100

/* Validates the optional "parent_name" member (NULL when absent): null, or
 * a string of up to API_MAX_PARENT_NAME_CHARS characters with no NUL.
 * Returns 0 with *out (borrowed; NULL for absent, null or empty), or 400.
 * Pure. */
int api_check_parent_name(const json_t *name, const char **out);

#define API_MAX_REASON_CHARS 500

/* Validates a feedback body {"helpful": bool, "reason"?: string}: returns 0
 * with *helpful and *reason (borrowed from body; NULL when absent or null),
 * or 400 with the error code and message. Pure. */
int api_check_feedback(const json_t *body, int *helpful, const char **reason,
                       const char **code, const char **message);

/* The client address a proxy put last in X-Forwarded-For ("a, b, c" ->
 * "c"), written to out when it is an IPv4 or IPv6 address. Returns 0, or
 * -1 (nothing usable: the peer's address is used). Pure. */
int api_forwarded_client(const char *xff, char *out, size_t n);

#define API_PAGE_DEFAULT 50
#define API_PAGE_MAX 200

/* ---- parsing a request line (pure, table-tested and fuzzed) ---- */

enum api_route_kind {
    API_NOT_FOUND, API_HEALTH, API_READY, API_SESSIONS, API_SESSION, API_MESSAGES,
    API_SEED_STREAM, API_MESSAGE_STREAM, API_CANCEL, API_STATIC,
    API_METRICS, API_SESSION_EVENTS, API_FEEDBACK
};

#define API_MAX_PATH 512

struct api_route {
    enum api_route_kind kind;
    const char *id;                 /* the path's id segment (into buf), or NULL;
                                       the session's for a message route */
    const char *mid;                /* message routes: the message id, else NULL */
    const char *file;               /* API_STATIC: the one segment, "" for / */
    char buf[API_MAX_PATH];
};

/* Matches a URL path ("/api/coach/sessions/abc/messages") to a route: at
 * most seven '/'-separated segments, empty ones ignored. A message's routes
 * name its session: /api/coach/sessions/{id}/messages/{mid}/stream, /cancel
 * and /feedback (API_MESSAGE_STREAM, API_CANCEL, API_FEEDBACK). Returns 0, or -1
 * when the path is API_MAX_PATH bytes or longer (414). The route's strings
 * point into r->buf. */
int api_parse_route(const char *path, struct api_route *r);

/* The URL-decoded value of query parameter name ('+' is a blank), read with
 * evhttp_parse_query_str: a new string (caller frees) and its length, or
 * NULL when absent. An encoded NUL ("%00") is kept in the value (*len
 * counts it), so validation can refuse it. */
char *api_query_param(const char *query, const char *name, size_t *len);

#endif
