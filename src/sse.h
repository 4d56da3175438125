/* sse.h — Server-Sent Events responses: a connection subscribed to a turn,
 * or replaying a finished answer's stored log.
 *
 * Each stream starts with headers (text/event-stream, no-store,
 * X-Accel-Buffering: no) and a `retry:` line, gets a `: ping` comment after
 * 15 s of quiet, and keeps at most max_pending bytes unsent (256 KiB): a client
 * that cannot keep up is disconnected (it can resume with Last-Event-ID)
 * so memory stays flat. The request is owned by libevent; this module only
 * holds it until the stream ends or the connection closes. */
#ifndef COACH_SSE_H
#define COACH_SSE_H

#include <jansson.h>
#include <stddef.h>

struct event_base;
struct evhttp_request;
struct turn;

/* ping_ms: a stream quiet this long gets a ': ping' comment.
 * max_pending: unsent bytes per stream before the client is dropped. */
void sse_init(struct event_base *base, int ping_ms, size_t max_pending);
void sse_shutdown(void);

/* Streams turn t from log position `from` (0 = from the start). */
void sse_serve_turn(struct evhttp_request *req, struct turn *t, size_t from, const char *route);

/* Streams a stored log (array of event data strings) of message_id from
 * position `from`, then ends. `events` is borrowed. */
void sse_serve_log(struct evhttp_request *req, const char *message_id, json_t *events,
                   size_t from, const char *route);

size_t sse_count(void);

#endif
