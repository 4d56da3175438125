/* sse.c — one struct sub per streaming connection.
 *
 * A sub is a turn listener: frames from the turn go straight into the
 * connection. When nothing is waiting in the connection's output buffer a
 * frame is written to the socket at once, framed as an HTTP/1.1 chunk by
 * us (write-through, as h2o and nginx do): it leaves in the same loop
 * iteration that produced it, with no epoll_ctl round trip to arm and
 * disarm a write event. Only what the socket does not take goes into the
 * bufferevent, which libevent then writes when the client is ready, so
 * bytes stay in order. Before each write the pending output is checked;
 * above max_pending the sub is dropped: it leaves the turn and its
 * connection is freed from a zero-delay event (never inside the turn's
 * fan-out loop). The read timeout that evhttp puts on every connection
 * would cut a long stream, so it is cleared here; a write timeout stays. A
 * single timer pings quiet streams. */
#include "sse.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http.h"
#include "turn.h"
#include "util.h"

#define SSE_SNDBUF (16 * 1024)     /* the kernel doubles it for its bookkeeping */

struct sub {
    struct turn_listener l;
    struct evhttp_request *req;
    struct turn *turn;
    uint64_t last_write;
    size_t allowance;        /* backlog bytes: a resume may exceed the limit by these */
    int replaying;           /* writing the backlog: no limit check */
    int chunked;             /* the response is HTTP/1.1 chunked (evhttp decides) */
    struct event *drop_ev;
    struct sub *prev, *next;
};

static struct event_base *sse_base;
static uint64_t ping_ms = 15000;
static size_t max_pending = 256 * 1024;
static struct event *ping_ev;
static struct sub *subs;
static size_t nsubs;

size_t sse_count(void) { return nsubs; }

static void sub_unlink(struct sub *s)
{
    if (s->prev) s->prev->next = s->next;
    else subs = s->next;
    if (s->next) s->next->prev = s->prev;
    nsubs--;
}

static void sub_free(struct sub *s)
{
    sub_unlink(s);
    if (s->drop_ev) event_free(s->drop_ev);
    free(s);
}

/* The connection closed (client left, write error or drop). When the peer
 * went away mid-stream, libevent 2.1 detaches the unfinished request from
 * the connection (evhttp_connection_incoming_fail) and leaves it to us to
 * free; when the connection itself is being freed (shutdown, drop) the
 * request is still attached and libevent frees it. */
static void sub_closed(void *arg)
{
    struct sub *s = arg;
    if (s->req && !evhttp_request_get_connection(s->req)) evhttp_request_free(s->req);
    s->req = NULL;
    if (s->turn) turn_unsubscribe(s->turn, &s->l);
    sub_free(s);
}

static void drop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sub *s = arg;
    if (s->req) evhttp_connection_free(evhttp_request_get_connection(s->req));  /* -> sub_closed */
}

static void sub_drop(struct sub *s)
{
    if (s->turn) {
        turn_unsubscribe(s->turn, &s->l);
        s->turn = NULL;
    }
    if (!s->drop_ev) {
        s->drop_ev = event_new(sse_base, -1, 0, drop_cb, s);
        event_active(s->drop_ev, 0, 0);
    }
}

/* Writes one chunk straight to the socket when the output buffer is empty.
 * Returns 1 when it was handled (all written, or the rest queued in the
 * bufferevent), 0 to take the evhttp path. */
static int write_through(struct bufferevent *bev, const char *data, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    char head[24];
    int hl;
    struct iovec iov[3];
    size_t total, skip;
    ssize_t w;

    if (fd < 0 || evbuffer_get_length(out) != 0) return 0;
    hl = snprintf(head, sizeof head, "%zx\r\n", len);
    iov[0] = (struct iovec){head, (size_t)hl};
    iov[1] = (struct iovec){(void *)data, len};
    iov[2] = (struct iovec){"\r\n", 2};
    total = (size_t)hl + len + 2;
    /* sendmsg, not writev: MSG_NOSIGNAL keeps a closed peer from raising
     * SIGPIPE even where nobody ignored it (the unit tests) */
    do w = sendmsg(fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = 3}, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)total) return 1;
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return 0;   /* evhttp sees the error */
    /* the rest, in order, for libevent to write when the socket is ready */
    skip = w < 0 ? 0 : (size_t)w;
    for (int i = 0; i < 3; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        bufferevent_write(bev, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
        skip = 0;
    }
    return 1;
}

static void sub_write(struct sub *s, const char *data, size_t len)
{
    struct evhttp_connection *evcon;
    struct bufferevent *bev;
    struct evbuffer *buf;
    if (!s->req || s->drop_ev) return;
    evcon = evhttp_request_get_connection(s->req);
    bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (s->replaying) {
        s->allowance += len;
    } else if (bev && evbuffer_get_length(bufferevent_get_output(bev)) + len >
                          max_pending + s->allowance) {
        sub_drop(s);
        return;
    }
    s->last_write = util_now_ms();
    if (bev && s->chunked && write_through(bev, data, len)) return;
    buf = evbuffer_new();
    evbuffer_add(buf, data, len);
    evhttp_send_reply_chunk(s->req, buf);
    evbuffer_free(buf);
}

static void on_event(void *arg, const char *frame, size_t len)
{
    sub_write(arg, frame, len);
}

/* The turn ended (or the stored log was replayed): finish the response.
 * The connection may be reused for another request, so the close hook and
 * the usual timeouts are restored. */
static void on_end(void *arg)
{
    struct sub *s = arg;
    s->turn = NULL;
    if (s->req && !s->drop_ev) {
        http_stream_end(s->req);
        s->req = NULL;
        sub_free(s);
    }
}

static void ping_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = util_now_ms();
    for (struct sub *s = subs, *nx; s; s = nx) {
        nx = s->next;
        if (now - s->last_write >= ping_ms) sub_write(s, ": ping\n\n", 8);
    }
}

void sse_init(struct event_base *base, int ping, size_t pending)
{
    max_pending = pending;
    /* one timer checks every stream a few times per ping period */
    int check = ping / 3 < 5000 ? ping / 3 : 5000;
    struct timeval tv = {check / 1000, (check % 1000) * 1000};
    sse_base = base;
    ping_ms = (uint64_t)ping;
    ping_ev = event_new(base, -1, EV_PERSIST, ping_cb, NULL);
    event_add(ping_ev, &tv);
}

void sse_shutdown(void)
{
    if (ping_ev) event_free(ping_ev);
    ping_ev = NULL;
}

static struct sub *sub_start(struct evhttp_request *req, const char *route)
{
    struct sub *s = xcalloc(1, sizeof *s);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct timeval wtv = {30, 0};

    s->req = req;
    s->l.on_event = on_event;
    s->l.on_end = on_end;
    s->l.arg = s;
    s->next = subs;
    if (subs) subs->prev = s;
    subs = s;
    nsubs++;

    http_security_headers(req, 1);
    evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    http_log(req, 200, route);
    evhttp_send_reply_start(req, 200, "OK");
    {
        const char *te = evhttp_find_header(h, "Transfer-Encoding");
        s->chunked = te && strcmp(te, "chunked") == 0;
    }
    if (evcon) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
        evutil_socket_t fd = bufferevent_getfd(bev);
        int sndbuf = SSE_SNDBUF;
        bufferevent_set_timeouts(bev, NULL, &wtv);
        /* Write-through fills the kernel's send buffer before anything is
         * held here, and Linux grows that buffer on its own (to megabytes
         * on loopback). A stream needs little: a fixed size keeps what a
         * client that stopped reading costs in the kernel bounded too. */
        if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    http_on_close(req, sub_closed, s);
    sub_write(s, "retry: 2000\n\n", 13);
    return s;
}

void sse_serve(struct evhttp_request *req, struct turn_replay *r, const char *route)
{
    struct sub *s = sub_start(req, route);
    s->turn = r->live;
    /* The backlog is written in one go (bounded by the turn's log); only
     * live events are held to the limit, plus the backlog's size. */
    s->replaying = 1;
    if (turn_replay_deliver(r, &s->l))    /* 0: ended, on_end freed s */
        s->replaying = 0;
}
