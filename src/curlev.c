/* curlev.c — libcurl's multi-socket API on a libevent loop, after curl's
 * docs/examples/hiperfifo.c: curl tells us which sockets to watch
 * (on_socket) and when to wake it (on_timer); libevent calls
 * curl_multi_socket_action back; finished transfers are collected with
 * curl_multi_info_read and reported to their owners once curl has
 * returned. */
#include "curlev.h"

#include <event2/event.h>
#include <stdlib.h>

#include "util.h"

/* A socket curl asked us to watch. */
struct sock {
    curl_socket_t fd;
    struct event *ev;
    struct curlev *c;
    struct sock *prev, *next;
};

struct curlev {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct sock *socks;
    int in_curl;                       /* depth of curl_multi_socket_action */
    void (*after)(void *);
    void *after_arg;
};

static void sock_free(struct curlev *c, struct sock *sk)
{
    if (sk->prev) sk->prev->next = sk->next;
    else c->socks = sk->next;
    if (sk->next) sk->next->prev = sk->prev;
    if (sk->ev) event_free(sk->ev);
    free(sk);
}

static void check_multi_info(struct curlev *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        char *priv = NULL;
        struct curlev_req *rq;
        if (msg->msg != CURLMSG_DONE) continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (!(rq = (struct curlev_req *)(void *)priv)) continue;
        rq->done(rq->arg, msg->easy_handle, msg->data.result);
    }
}

static void socket_action(struct curlev *c, curl_socket_t fd, int action)
{
    int running = 0;
    c->in_curl++;
    curl_multi_socket_action(c->multi, fd, action, &running);
    c->in_curl--;
    check_multi_info(c);
    if (c->after) c->after(c->after_arg);
}

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
    struct sock *sk = arg;              /* may be freed inside socket_action */
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    socket_action(sk->c, fd, action);
}

static void on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct curlev *c = userp;
    struct sock *sk = socketp;
    short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0);

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (sk) sock_free(c, sk);
        return 0;
    }
    if (!sk) {
        sk = xcalloc(1, sizeof *sk);
        sk->fd = s;
        sk->c = c;
        sk->next = c->socks;
        if (c->socks) c->socks->prev = sk;
        c->socks = sk;
        curl_multi_assign(c->multi, s, sk);
    }
    if (sk->ev) event_free(sk->ev);
    sk->ev = event_new(c->base, s, kind, on_sock_event, sk);
    event_add(sk->ev, NULL);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct curlev *c = userp;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    (void)multi;
    if (timeout_ms < 0) evtimer_del(c->timer);
    else evtimer_add(c->timer, &tv);
    return 0;
}

struct curlev *curlev_new(struct event_base *base, void (*after)(void *), void *after_arg)
{
    struct curlev *c = xcalloc(1, sizeof *c);
    c->base = base;
    c->after = after;
    c->after_arg = after_arg;
    if (!(c->multi = curl_multi_init())) {
        free(c);
        return NULL;
    }
    c->timer = evtimer_new(base, on_timer_event, c);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void curlev_free(struct curlev *c)
{
    if (!c) return;
    curl_multi_cleanup(c->multi);
    while (c->socks) sock_free(c, c->socks);
    if (c->timer) event_free(c->timer);
    free(c);
}

int curlev_add(struct curlev *c, CURL *easy, struct curlev_req *req)
{
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)(void *)req);
    return curl_multi_add_handle(c->multi, easy) == CURLM_OK ? 0 : -1;
}

void curlev_remove(struct curlev *c, CURL *easy)
{
    curl_multi_remove_handle(c->multi, easy);
}

int curlev_busy(const struct curlev *c)
{
    return c->in_curl > 0;
}
