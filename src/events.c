/* events.c — the session event stream (see events.h).
 *
 * A small list of subscribers, each an SSE response held open with
 * evhttp_send_reply_start. Announcements are a few dozen bytes and rare (one
 * per question), so a linear walk over the list is enough; nothing is kept
 * per session besides the subscriber itself. Ids in announcements are
 * server-made (util_id_valid), so they are written without JSON escaping,
 * and the data line can never carry anything a parent typed. The read
 * timeout evhttp sets on every connection would cut the stream, so it is
 * cleared; a write timeout stays, and a single timer pings quiet streams. */
#include "events.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"

struct evsub {
    struct evhttp_request *req;
    char sid[72];          /* ids are at most 64 characters */
    uint64_t last_write;
    struct event *drop_ev;
    struct evsub *prev, *next;
};

static struct event_base *ev_base;
static struct event *ev_ping_ev;
static uint64_t ev_ping_ms = 15000;
static struct evsub *ev_subs;
static size_t ev_nsubs;

size_t events_count(void) { return ev_nsubs; }

size_t events_message_json(const char *message_id, char *out, size_t n)
{
    int w;
    if (!util_id_valid(message_id)) return 0;
    w = snprintf(out, n, "{\"type\":\"message\",\"message_id\":\"%s\"}", message_id);
    return w > 0 && (size_t)w < n ? (size_t)w : 0;
}

static void evsub_free(struct evsub *s)
{
    if (s->prev) s->prev->next = s->next;
    else ev_subs = s->next;
    if (s->next) s->next->prev = s->prev;
    ev_nsubs--;
    if (s->drop_ev) event_free(s->drop_ev);
    free(s);
}

/* The connection closed. As in sse.c: a request detached from its
 * connection (the peer left mid-stream) is ours to free. */
static void evsub_closed(void *arg)
{
    struct evsub *s = arg;
    if (s->req && !evhttp_request_get_connection(s->req)) evhttp_request_free(s->req);
    s->req = NULL;
    evsub_free(s);
}

static void evsub_drop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct evsub *s = arg;
    (void)fd; (void)what;
    if (s->req) evhttp_connection_free(evhttp_request_get_connection(s->req));  /* -> evsub_closed */
}

static void evsub_write(struct evsub *s, const char *data, size_t len)
{
    struct evhttp_connection *evcon;
    struct evbuffer *buf;
    if (!s->req || s->drop_ev) return;
    evcon = evhttp_request_get_connection(s->req);
    if (evcon) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
        if (evbuffer_get_length(bufferevent_get_output(bev)) + len > EVENTS_MAX_PENDING) {
            s->drop_ev = event_new(ev_base, -1, 0, evsub_drop_cb, s);
            event_active(s->drop_ev, 0, 0);
            return;
        }
    }
    s->last_write = util_now_ms();
    buf = evbuffer_new();
    evbuffer_add(buf, data, len);
    evhttp_send_reply_chunk(s->req, buf);
    evbuffer_free(buf);
}

static void evsub_write_data(struct evsub *s, const char *json, size_t len)
{
    char frame[256];
    int w = snprintf(frame, sizeof frame, "data: %.*s\n\n", (int)len, json);
    if (w > 0 && (size_t)w < sizeof frame) evsub_write(s, frame, (size_t)w);
}

/* Ends the response normally; the connection may carry another request. */
static void evsub_end(struct evsub *s)
{
    if (s->req && !s->drop_ev) {
        http_stream_end(s->req);
        s->req = NULL;
        evsub_free(s);
    }
}

static void evsub_ping_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = util_now_ms();
    (void)fd; (void)what; (void)arg;
    for (struct evsub *s = ev_subs, *nx; s; s = nx) {
        nx = s->next;
        if (now - s->last_write >= ev_ping_ms) evsub_write(s, ": ping\n\n", 8);
    }
}

void events_init(struct event_base *base, int ping)
{
    int check = ping / 3 < 5000 ? ping / 3 : 5000;
    struct timeval tv;
    if (check < 1) check = 1;
    tv = (struct timeval){check / 1000, (check % 1000) * 1000};
    ev_base = base;
    ev_ping_ms = (uint64_t)ping;
    ev_ping_ev = event_new(base, -1, EV_PERSIST, evsub_ping_cb, NULL);
    event_add(ev_ping_ev, &tv);
}

void events_shutdown(void)
{
    if (ev_ping_ev) event_free(ev_ping_ev);
    ev_ping_ev = NULL;
}

void events_serve(struct evhttp_request *req, const char *session_id, const char *route)
{
    struct evsub *s = xcalloc(1, sizeof *s);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct timeval wtv = {30, 0};

    s->req = req;
    snprintf(s->sid, sizeof s->sid, "%s", session_id);
    s->next = ev_subs;
    if (ev_subs) ev_subs->prev = s;
    ev_subs = s;
    ev_nsubs++;

    http_security_headers(req, 1);
    evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    http_log(req, 200, route);
    evhttp_send_reply_start(req, 200, "OK");
    if (evcon) bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &wtv);
    http_on_close(req, evsub_closed, s);
    evsub_write(s, "retry: 2000\n\n", 13);
}

void events_message(const char *session_id, const char *message_id)
{
    char json[160];
    size_t len = events_message_json(message_id, json, sizeof json);
    if (!len) return;
    for (struct evsub *s = ev_subs, *nx; s; s = nx) {
        nx = s->next;
        if (strcmp(s->sid, session_id) == 0) evsub_write_data(s, json, len);
    }
}

void events_deleted(const char *session_id)
{
    static const char json[] = "{\"type\":\"deleted\"}";
    for (struct evsub *s = ev_subs, *nx; s; s = nx) {
        nx = s->next;
        if (strcmp(s->sid, session_id) != 0) continue;
        evsub_write_data(s, json, sizeof json - 1);
        evsub_end(s);
    }
}
