/* events.h — the session event stream: one SSE connection per open tab of a
 * conversation, told when a question is asked in that session (from any
 * tab or device) and when the session is deleted.
 *
 *   GET /api/coach/sessions/{id}/events
 *
 * Frames carry no id and nothing is replayed: a tab that (re)connects reads
 * the session with GET /api/coach/sessions/{id} and then follows the
 * announcements. Each announcement names a message; the tab streams that
 * message from /api/coach/messages/{id}/stream as usual. Frames:
 *
 *   data: {"type":"message","message_id":"..."}   a question was asked
 *   data: {"type":"deleted"}                      the session is gone (then the
 *                                                 stream ends)
 *
 * The stream starts with `retry: 2000` and gets `: ping` after ping_ms of
 * quiet. A client that stops reading is dropped once EVENTS_MAX_PENDING
 * bytes wait for it. The request is owned by libevent; this module holds it
 * only until the stream ends or the connection closes. Loop thread only. */
#ifndef COACH_EVENTS_H
#define COACH_EVENTS_H

#include <stddef.h>

struct event_base;
struct evhttp_request;

#define EVENTS_MAX_PENDING (64 * 1024)

void events_init(struct event_base *base, int ping_ms);
void events_shutdown(void);

/* Starts the stream for an existing, validated session id (the caller has
 * checked it exists). route is the pattern for the access log. */
void events_serve(struct evhttp_request *req, const char *session_id, const char *route);

/* Announces a new answer message of a session to its streams. */
void events_message(const char *session_id, const char *message_id);

/* Tells a session's streams that it was deleted, and ends them. */
void events_deleted(const char *session_id);

/* Open event streams (for tests and shutdown). */
size_t events_count(void);

/* The data line of an announcement ("{\"type\":\"message\",...}") written
 * to out (n bytes); returns its length, or 0 when it does not fit. Pure. */
size_t events_message_json(const char *message_id, char *out, size_t n);

#endif
