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
struct turn_replay;

/* ping_ms: a stream quiet this long gets a ': ping' comment.
 * max_pending: unsent bytes per stream before the client is dropped. */
void sse_init(struct event_base *base, int ping_ms, size_t max_pending);
void sse_shutdown(void);

/* Streams what turn_open found (r, emptied): a turn's backlog and live
 * frames, or a stored log, then ends. */
void sse_serve(struct evhttp_request *req, struct turn_replay *r, const char *route);

size_t sse_count(void);

#endif
