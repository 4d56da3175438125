/* curlev.h — libcurl's multi-socket API on a libevent loop (see curlev.c),
 * as in curl's docs/examples/hiperfifo.c. One curlev drives any number of
 * easy handles on one event_base; no threads, no blocking calls.
 *
 * A handle is added with curlev_add(c, easy, req): req->done(req->arg,
 * easy, result) runs once when its transfer ends, from the loop, after curl
 * has returned (so done may remove, reuse or free the handle). req is the
 * caller's (embed it in the job) and must live while the handle is added;
 * it is the handle's CURLOPT_PRIVATE. after(after_arg)
 * runs after every round of curl's work, for callers that defer frees while
 * curl is busy (curlev_busy). Ownership: the easy handles stay the
 * caller's; curlev_free removes none of them (remove them first). */
#ifndef COACH_CURLEV_H
#define COACH_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

typedef void (*curlev_done_fn)(void *arg, CURL *easy, CURLcode result);

struct curlev_req {
    curlev_done_fn done;
    void *arg;
};

/* NULL when libcurl could not make a multi handle. after may be NULL. */
struct curlev *curlev_new(struct event_base *base, void (*after)(void *), void *after_arg);
void curlev_free(struct curlev *c);

/* Starts easy's transfer; 0 or -1. */
int curlev_add(struct curlev *c, CURL *easy, struct curlev_req *req);
/* Stops it (closing its connection when unfinished); done is not called. */
void curlev_remove(struct curlev *c, CURL *easy);

/* 1 while curl is inside curl_multi_socket_action (its callbacks run). */
int curlev_busy(const struct curlev *c);

#endif
