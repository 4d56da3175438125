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

struct api_ctx {
    struct http_server *http;
    struct store *store;
    struct kb *kb;
    struct engine *engine;
    const struct safety_policy *policy;
    int draining;                 /* shutting down: no new turns */
};

void api_handle(struct evhttp_request *req, void *arg);

#define API_MAX_QUESTION_CHARS 2000

/* Validates a question: returns 0, or an HTTP status (400/413) with the
 * error code and message to send. Pure. */
int api_check_question(const char *q, size_t len, const char **code, const char **message);

#define API_MAX_REASON_CHARS 500

/* Validates a feedback body {"helpful": bool, "reason"?: string}: returns 0
 * with *helpful and *reason (borrowed from body; NULL when absent or null),
 * or 400 with the error code and message. Pure. */
int api_check_feedback(const json_t *body, int *helpful, const char **reason,
                       const char **code, const char **message);

#endif
