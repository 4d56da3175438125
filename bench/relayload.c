/* relayload.c — load generator and fake upstream for the relay benchmark.
 *
 * One process, one libevent loop, two roles:
 *   - a fake OpenAI-compatible upstream (POST .../chat/completions, chunked
 *     HTTP/1.1 with keep-alive) that streams --chunks content deltas, one
 *     every --interval-ms after --first-ms, then a finish chunk, a usage
 *     chunk and [DONE]. Every delta is one word, as a model's tokens are,
 *     and carries the wall-clock time taken just before its send():
 *     " w<i>x<usec>", numbers written in letters (a-p for the hex digits
 *     0-f) so that, like most words, it holds no number a dose check would
 *     wait on; every SENTENCE_WORDS-th word ends with ". ". The first also
 *     carries the time the request was complete: "r<usec>".
 *   - N clients ("parents") that ask the relay under test for answers over
 *     SSE and read them with recvmsg() and SO_TIMESTAMPNS, so each chunk's
 *     arrival time is the kernel's, not this loop's. A chunk's relay time
 *     is arrival - stamp: what the relay in between added (plus two trips
 *     through loopback), however busy this process is.
 * Time added to the first token is (first chunk's arrival - request sent)
 * minus (first chunk's stamp - upstream request complete): everything but
 * the upstream's own delay.
 *
 * Protocol on stdin/stdout (driven by bench/relay.mjs):
 *   prints "upstream <port>" once listening; then reads one command a line
 *     run <coachd|peer> <relay port> <n> <steady|burst> <seconds>
 *   and prints one JSON line of results per command.
 * steady: n parents, each asking again as soon as its answer is done, so n
 *   streams are always open; their first questions are spread over one
 *   answer's length. Figures count chunks stamped, and questions sent, in
 *   a window of <seconds> that opens once every parent has had an answer;
 *   then no new question is asked and open answers are read to the end.
 * burst: n parents ask at the same instant, once each (a thundering herd).
 *
 * Plain C and libevent's event API; no coachd code. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UP_IN_MAX   (256 * 1024)
#define CL_BUF_MAX  (64 * 1024)

static struct event_base *base;
static int opt_chunks = 200, opt_interval_ms = 30, opt_first_ms = 100;

#define SENTENCE_WORDS 15
static double epoch;          /* stamps are microseconds since this */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* v in hex with the letters a-p for 0-f (at least one letter). */
static void letters(char *out, size_t cap, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do tmp[n++] = (char)('a' + (v & 15)); while ((v >>= 4) && n < sizeof tmp);
    for (size_t i = 0; i < n && i + 1 < cap; i++) out[i] = tmp[n - 1 - i];
    out[n < cap ? n : cap - 1] = '\0';
}

/* Reads letters a-p at s (before e); returns the first byte after them, or
 * NULL when there is none. */
static const char *unletters(const char *s, const char *e, unsigned long long *v)
{
    const char *q = s;
    *v = 0;
    while (q < e && *q >= 'a' && *q <= 'p') *v = (*v << 4) | (unsigned)(*q++ - 'a');
    return q > s ? q : NULL;
}

static unsigned long long stamp(double t) { return (unsigned long long)((t - epoch) * 1e6); }

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---------- growable sample arrays ---------- */

struct samples { double *v; size_t n, cap; };

static void sample_add(struct samples *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    s->v[s->n++] = x;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quant(const struct samples *s, double p)
{
    size_t i;
    if (!s->n) return NAN;
    i = (size_t)(p * (double)s->n);
    return s->v[i >= s->n ? s->n - 1 : i];
}

/* ---------- the fake upstream ---------- */

struct up {
    int fd;
    struct event *rev, *timer;
    char *in;
    size_t inlen;
    int streaming, next;
    double t_req;
};

static unsigned long up_write_errors;

static void up_free(struct up *u)
{
    event_free(u->rev);
    event_free(u->timer);
    close(u->fd);
    free(u->in);
    free(u);
}

/* Sends one HTTP chunk holding s; returns -1 when the peer is gone. */
static int up_send_chunk(struct up *u, const char *s, size_t len)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%zx\r\n%.*s\r\n", len, (int)len, s);
    ssize_t w;
    if (n < 0 || (size_t)n >= sizeof buf) return -1;
    w = send(u->fd, buf, (size_t)n, MSG_NOSIGNAL);
    if (w != n) {
        up_write_errors++;
        return -1;
    }
    return 0;
}

static int up_send_frame(struct up *u, const char *json)
{
    char buf[900];
    int n = snprintf(buf, sizeof buf, "data: %s\n\n", json);
    return up_send_chunk(u, buf, (size_t)n);
}

static void up_tick(evutil_socket_t fd, short what, void *arg)
{
    struct up *u = arg;
    char json[512];
    struct timeval tv = {opt_interval_ms / 1000, (opt_interval_ms % 1000) * 1000};
    (void)fd; (void)what;

    if (u->next < opt_chunks) {
        char text[96], li[24], lt[24], lr[24];
        double t = wall_now();
        const char *end = u->next % SENTENCE_WORDS == SENTENCE_WORDS - 1 ? ". " : "";
        letters(li, sizeof li, (unsigned long long)u->next);
        letters(lt, sizeof lt, stamp(t));
        if (u->next == 0) {
            letters(lr, sizeof lr, stamp(u->t_req));
            snprintf(text, sizeof text, "r%s w%sx%s%s", lr, li, lt, end);
        } else {
            snprintf(text, sizeof text, " w%sx%s%s", li, lt, end);
        }
        snprintf(json, sizeof json, "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                 "\"delta\":{\"content\":\"%s\"},\"finish_reason\":null}]}", text);
        if (up_send_frame(u, json)) goto gone;
        u->next++;
        evtimer_add(u->timer, &tv);
        return;
    }
    snprintf(json, sizeof json, "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
             "\"delta\":{},\"finish_reason\":\"stop\"}]}");
    if (up_send_frame(u, json)) goto gone;
    snprintf(json, sizeof json, "{\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":"
             "{\"prompt_tokens\":100,\"completion_tokens\":%d,\"total_tokens\":%d}}",
             opt_chunks, 100 + opt_chunks);
    if (up_send_frame(u, json)) goto gone;
    if (up_send_frame(u, "[DONE]")) goto gone;
    if (send(u->fd, "0\r\n\r\n", 5, MSG_NOSIGNAL) != 5) goto gone;
    u->streaming = 0;                        /* keep-alive: next request */
    u->inlen = 0;
    return;
gone:
    up_free(u);
}

/* A complete request is in u->in: headers plus Content-Length bytes. */
static int up_request_complete(struct up *u)
{
    char *end, *cl;
    size_t hlen, body = 0;
    u->in[u->inlen] = '\0';
    end = strstr(u->in, "\r\n\r\n");
    if (!end) return 0;
    hlen = (size_t)(end - u->in) + 4;
    for (cl = u->in; (cl = strcasestr(cl, "\r\ncontent-length:")) && cl < end; cl++) {
        body = strtoul(cl + 17, NULL, 10);
        break;
    }
    return u->inlen >= hlen + body;
}

static void up_read(evutil_socket_t fd, short what, void *arg)
{
    struct up *u = arg;
    (void)what;
    for (;;) {
        ssize_t r;
        if (u->inlen >= UP_IN_MAX - 1) goto gone;
        r = recv(fd, u->in + u->inlen, UP_IN_MAX - 1 - u->inlen, 0);
        if (r == 0) goto gone;
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            goto gone;
        }
        if (u->streaming) continue;          /* nothing is expected mid-answer */
        u->inlen += (size_t)r;
    }
    if (!u->streaming && u->inlen && up_request_complete(u)) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
        struct timeval tv = {opt_first_ms / 1000, (opt_first_ms % 1000) * 1000};
        u->t_req = wall_now();
        u->streaming = 1;
        u->next = 0;
        if (send(fd, head, sizeof head - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof head - 1)) goto gone;
        if (up_send_frame(u, "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                             "\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}")) goto gone;
        evtimer_add(u->timer, &tv);
    }
    return;
gone:
    up_free(u);
}

static void up_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what; (void)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL), one = 1;
        struct up *u;
        if (fd < 0) return;
        set_nonblock(fd);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        u = calloc(1, sizeof *u);
        u->in = malloc(UP_IN_MAX);
        if (!u || !u->in) abort();
        u->fd = fd;
        u->rev = event_new(base, fd, EV_READ | EV_PERSIST, up_read, u);
        u->timer = evtimer_new(base, up_tick, u);
        event_add(u->rev, NULL);
    }
}

/* ---------- the parents ---------- */

enum { TARGET_COACHD, TARGET_PEER };
enum { PH_IDLE, PH_SESSION, PH_STREAM };

struct parent {
    int fd, phase;
    struct event *ev, *start;
    char sid[64];
    /* response parsing */
    char *buf;                  /* raw bytes until the headers end, then SSE text */
    size_t len;
    int headers_done, chunked;
    size_t chunk_left;          /* bytes left in the current HTTP chunk */
    int chunk_state;            /* 0 size line, 1 data, 2 CRLF after data */
    char sizeline[20];
    size_t sizelen;
    /* this answer */
    double t_sent;
    int chunks, done, first;
};

struct run {
    int target, port, n, steady;
    double seconds;
    double t0, win_from, win_to;  /* window on the wall clock */
    int stopping;                 /* no new questions */
    int sessions_only;            /* burst: creating sessions first */
    int remaining;                /* burst: requests still to end */
    int open;                     /* parents with a request in flight */
    int ready;                    /* parents that have had a first answer */
    unsigned long asked, answered, complete, errors, short_answers;
    struct samples lat, ttft;
    struct parent *p;
};

static struct run R;
static const char *question = "How%20do%20I%20handle%20bedtime%3F";

static void ask(struct parent *p);

static void parent_close(struct parent *p)
{
    if (p->ev) event_free(p->ev);
    p->ev = NULL;
    if (p->fd >= 0) close(p->fd);
    p->fd = -1;
    p->len = 0;
    p->headers_done = p->chunked = 0;
    p->chunk_state = 0;
    p->sizelen = 0;
}

static void maybe_finish(void)
{
    if (R.stopping && R.open == 0) event_base_loopbreak(base);
}

/* The request ended (done, error or close): count it, ask again. */
static void answer_end(struct parent *p, int ok)
{
    int was = p->phase;
    parent_close(p);
    p->phase = PH_IDLE;
    R.open--;
    if (was == PH_SESSION) {
        /* a refused session (HTTP 429 from --max-sessions-per-hour) would
         * be asked for again at once, for ever: the run is void */
        if (!ok || !p->sid[0]) {
            fprintf(stderr, "relayload: coachd refused a session (%.*s)\n",
                    p->buf ? (int)strcspn(p->buf, "\r\n") : 0, p->buf ? p->buf : "");
            exit(1);
        }
        if (R.sessions_only) {
            if (--R.remaining == 0) event_base_loopbreak(base);
            return;
        }
        if (!R.stopping) ask(p);
        else maybe_finish();
        return;
    }
    if (p->t_sent >= R.win_from && p->t_sent < R.win_to) {
        R.answered++;
        if (p->done && p->chunks == opt_chunks) R.complete++;
        else if (p->done) R.short_answers++;
        else R.errors++;
    }
    if (!p->first) {
        p->first = 1;
        R.ready++;
    }
    if (!R.steady) {
        if (--R.remaining == 0) event_base_loopbreak(base);
    } else if (!R.stopping) ask(p);
    else maybe_finish();
}

/* One complete SSE event (text, len) arrived at time `at`. */
static void on_event(struct parent *p, const char *s, size_t len, double at)
{
    const char *e = s + len, *c;
    if (memmem(s, len, "\"done\":true", 11)) p->done = 1;
    c = memmem(s, len, "\"chunk\":", 8);
    if (!c) return;
    for (const char *q = c + 8; q < e; q++) {
        unsigned long long v, w;
        const char *end;
        /* r<t_req> w<0>x<t_sent>: the first word */
        if (*q == 'r' && q[-1] == '"' && (end = unletters(q + 1, e, &v)) && end + 1 < e &&
            end[0] == ' ' && end[1] == 'w' && (end = unletters(end + 2, e, &w)) && *end == 'x' &&
            unletters(end + 1, e, &w) && p->t_sent >= R.win_from && p->t_sent < R.win_to)
            sample_add(&R.ttft, ((at - p->t_sent) - (double)(w - v) / 1e6) * 1e3);
        /* w<i>x<t_sent>: every word */
        if (*q == 'w' && (q[-1] == ' ' || q[-1] == '"') && (end = unletters(q + 1, e, &v)) &&
            *end == 'x' && (end = unletters(end + 1, e, &w))) {
            double ts = epoch + (double)w / 1e6;
            p->chunks++;
            if (ts >= R.win_from && ts < R.win_to) sample_add(&R.lat, (at - ts) * 1e3);
            q = end - 1;
        }
    }
}

/* Appends body bytes to the SSE buffer and handles whole events. */
static void on_body(struct parent *p, const char *d, size_t n, double at)
{
    char *nl;
    if (p->phase == PH_SESSION) {          /* JSON; read to the end */
        if (p->len + n >= CL_BUF_MAX) return;
        memcpy(p->buf + p->len, d, n);
        p->len += n;
        p->buf[p->len] = '\0';
        return;
    }
    if (p->len + n >= CL_BUF_MAX) {        /* an event this large is not ours */
        p->len = 0;
        return;
    }
    memcpy(p->buf + p->len, d, n);
    p->len += n;
    p->buf[p->len] = '\0';
    while ((nl = memmem(p->buf, p->len, "\n\n", 2))) {
        size_t ev = (size_t)(nl - p->buf) + 2;
        on_event(p, p->buf, ev, at);
        memmove(p->buf, p->buf + ev, p->len - ev + 1);
        p->len -= ev;
    }
}

/* Decodes HTTP/1.1 chunked framing. Returns 1 at the last chunk. */
static int on_chunked(struct parent *p, const char *d, size_t n, double at)
{
    size_t i = 0;
    while (i < n) {
        if (p->chunk_state == 0) {
            char ch = d[i++];
            if (ch == '\n') {
                p->sizeline[p->sizelen] = '\0';
                p->chunk_left = strtoul(p->sizeline, NULL, 16);
                p->sizelen = 0;
                if (p->chunk_left == 0) return 1;
                p->chunk_state = 1;
            } else if (ch != '\r' && p->sizelen < sizeof p->sizeline - 1) {
                p->sizeline[p->sizelen++] = ch;
            }
        } else if (p->chunk_state == 1) {
            size_t take = n - i < p->chunk_left ? n - i : p->chunk_left;
            on_body(p, d + i, take, at);
            i += take;
            p->chunk_left -= take;
            if (!p->chunk_left) p->chunk_state = 2;
        } else {
            if (d[i++] == '\n') p->chunk_state = 0;
        }
    }
    return 0;
}

/* The response body ended (EOF or last chunk). */
static void body_end(struct parent *p)
{
    if (p->phase == PH_SESSION) {
        char *s = p->len ? strstr(p->buf, "\"session_id\":\"") : NULL;
        if (s) sscanf(s + 14, "%63[^\"]", p->sid);
        answer_end(p, 1);
        return;
    }
    answer_end(p, p->done);
}

/* Feeds n body bytes; returns 1 when the body ended. */
static int feed(struct parent *p, const char *d, size_t n, double at)
{
    if (p->chunked) return on_chunked(p, d, n, at);
    on_body(p, d, n, at);
    return 0;
}

static void parent_read(evutil_socket_t fd, short what, void *arg)
{
    struct parent *p = arg;
    char data[16384];
    (void)what;
    for (;;) {
        char ctrl[CMSG_SPACE(sizeof(struct timespec))];
        struct iovec iov = {data, sizeof data};
        struct msghdr mh = {0};
        struct cmsghdr *cm;
        ssize_t r;
        double at = 0;
        size_t n;

        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctrl;
        mh.msg_controllen = sizeof ctrl;
        r = recvmsg(fd, &mh, 0);
        if (r == 0) {
            body_end(p);
            return;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            answer_end(p, 0);
            return;
        }
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                at = (double)ts.tv_sec + ts.tv_nsec / 1e9;
            }
        if (at == 0) at = wall_now();
        n = (size_t)r;
        if (!p->headers_done) {               /* headers first, then the body */
            char *end, tmp[16384];
            size_t rest;
            if (p->len + n >= CL_BUF_MAX) { answer_end(p, 0); return; }
            memcpy(p->buf + p->len, data, n);
            p->len += n;
            p->buf[p->len] = '\0';
            end = strstr(p->buf, "\r\n\r\n");
            if (!end) continue;
            if (strncmp(p->buf, "HTTP/1.1 2", 10) != 0) { answer_end(p, 0); return; }
            *end = '\0';
            p->chunked = strcasestr(p->buf, "transfer-encoding: chunked") != NULL;
            p->headers_done = 1;
            rest = p->len - (size_t)(end + 4 - p->buf);
            if (rest > sizeof tmp) { answer_end(p, 0); return; }
            memcpy(tmp, end + 4, rest);
            p->len = 0;
            if (feed(p, tmp, rest, at)) { body_end(p); return; }
        } else if (feed(p, data, n, at)) {
            body_end(p);
            return;
        }
        if (p->phase == PH_STREAM && p->done) {
            answer_end(p, 1);
            return;
        }
    }
}

/* Opens a connection and sends req; the reply goes to parent_read. */
static void send_request(struct parent *p, const char *req, size_t len)
{
    struct sockaddr_in sa = {0};
    int one = 1;
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->fd < 0) { R.open++; answer_end(p, 0); return; }
    setsockopt(p->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)R.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    R.open++;
    /* blocking connect and send on loopback: both are immediate */
    if (connect(p->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(p->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
        answer_end(p, 0);
        return;
    }
    set_nonblock(p->fd);
    p->ev = event_new(base, p->fd, EV_READ | EV_PERSIST, parent_read, p);
    event_add(p->ev, NULL);
}

static void ask(struct parent *p)
{
    char req[512];
    int n;
    if (R.stopping) { maybe_finish(); return; }
    if (R.target == TARGET_COACHD && !p->sid[0]) {
        static const char post[] = "POST /api/coach/sessions HTTP/1.1\r\nHost: bench\r\n"
                                   "Content-Type: application/json\r\nContent-Length: 2\r\n"
                                   "Connection: close\r\n\r\n{}";
        p->phase = PH_SESSION;
        send_request(p, post, sizeof post - 1);
        return;
    }
    if (R.target == TARGET_COACHD)
        n = snprintf(req, sizeof req, "GET /api/coach/stream/%s?question=%s HTTP/1.1\r\nHost: bench\r\n"
                     "Accept: text/event-stream\r\nConnection: close\r\n\r\n", p->sid, question);
    else
        n = snprintf(req, sizeof req, "GET /stream?question=%s HTTP/1.1\r\nHost: bench\r\n"
                     "Accept: text/event-stream\r\nConnection: close\r\n\r\n", question);
    p->phase = PH_STREAM;
    p->chunks = p->done = 0;
    p->t_sent = wall_now();
    if (p->t_sent >= R.win_from && p->t_sent < R.win_to) R.asked++;
    send_request(p, req, (size_t)n);
}

static void start_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    ask(arg);
}

/* Steady mode: opens the window once every parent has had an answer, and
 * closes it after R.seconds. */
static void window_cb(evutil_socket_t fd, short what, void *arg)
{
    struct event *self = arg;
    struct timeval tv = {0, 50000};
    double now = wall_now();
    (void)fd; (void)what;
    if (R.win_from > now) {                       /* not open yet */
        if (R.ready >= R.n) {
            R.win_from = now;
            R.win_to = now + R.seconds;
        }
    } else if (now >= R.win_to) {
        R.stopping = 1;
        maybe_finish();
        return;
    }
    evtimer_add(self, &tv);
}

static void print_q(double v, const char *sep)
{
    if (isnan(v)) printf("null%s", sep);      /* no samples: JSON has no NaN */
    else printf("%.3f%s", v, sep);
}

static void print_samples(const char *name, struct samples *s)
{
    qsort(s->v, s->n, sizeof *s->v, cmp_d);
    printf("\"%s\":{\"n\":%zu,\"p50\":", name, s->n);
    print_q(quant(s, 0.5), ",\"p90\":");
    print_q(quant(s, 0.9), ",\"p99\":");
    print_q(quant(s, 0.99), ",\"p999\":");
    print_q(quant(s, 0.999), ",\"max\":");
    print_q(s->n ? s->v[s->n - 1] : NAN, "}");
}

static void run(const char *target, int port, int n, const char *mode, double seconds)
{
    double answer_s = (opt_first_ms + opt_chunks * opt_interval_ms) / 1e3;
    struct event *win = NULL;

    free(R.lat.v);
    free(R.ttft.v);
    memset(&R, 0, sizeof R);
    R.target = strcmp(target, "peer") == 0 ? TARGET_PEER : TARGET_COACHD;
    R.port = port;
    R.n = n;
    R.steady = strcmp(mode, "steady") == 0;
    R.seconds = seconds;
    R.p = calloc((size_t)n, sizeof *R.p);
    for (int i = 0; i < n; i++) {
        R.p[i].fd = -1;
        R.p[i].buf = malloc(CL_BUF_MAX);
        R.p[i].start = evtimer_new(base, start_cb, &R.p[i]);
    }
    R.t0 = wall_now();
    if (R.steady) {
        /* first questions spread over one answer's length */
        R.win_from = R.win_to = INFINITY;
        win = event_new(base, -1, 0, window_cb, event_self_cbarg());
        window_cb(-1, 0, win);
        for (int i = 0; i < n; i++) {
            double at = answer_s * i / n;
            struct timeval tv = {(time_t)at, (suseconds_t)((at - (double)(time_t)at) * 1e6)};
            evtimer_add(R.p[i].start, &tv);
        }
        event_base_dispatch(base);
    } else {
        R.win_from = 0;
        R.win_to = INFINITY;
        if (R.target == TARGET_COACHD) {      /* sessions first, not timed */
            R.sessions_only = 1;
            R.remaining = n;
            for (int i = 0; i < n; i++) ask(&R.p[i]);
            event_base_dispatch(base);
            R.sessions_only = 0;
        }
        R.remaining = n;
        R.t0 = wall_now();
        for (int i = 0; i < n; i++) ask(&R.p[i]);
        event_base_dispatch(base);
    }
    printf("{\"target\":\"%s\",\"mode\":\"%s\",\"n\":%d,\"window_s\":%.2f,\"asked\":%lu,\"answered\":%lu,"
           "\"complete\":%lu,\"short\":%lu,\"errors\":%lu,\"upstream_write_errors\":%lu,",
           target, mode, n, R.steady ? R.win_to - R.win_from : wall_now() - R.t0, R.asked, R.answered,
           R.complete, R.short_answers, R.errors, up_write_errors);
    print_samples("chunk_ms", &R.lat);
    putchar(',');
    print_samples("ttft_added_ms", &R.ttft);
    printf("}\n");
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        parent_close(&R.p[i]);
        event_free(R.p[i].start);
        free(R.p[i].buf);
    }
    free(R.p);
    if (win) event_free(win);
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    struct rlimit rl;
    struct event *lev;
    char line[256];
    int lfd, one = 1;

    epoch = floor(wall_now());
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--chunks") == 0) opt_chunks = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--interval-ms") == 0) opt_interval_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--first-ms") == 0) opt_first_ms = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: relayload [--chunks N] [--interval-ms N] [--first-ms N]\n");
            return 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    base = event_base_new();
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("relayload: listen");
        return 1;
    }
    set_nonblock(lfd);
    lev = event_new(base, lfd, EV_READ | EV_PERSIST, up_accept, NULL);
    event_add(lev, NULL);
    printf("upstream %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        char target[16], mode[16];
        int port, n;
        double secs;
        if (sscanf(line, "run %15s %d %d %15s %lf", target, &port, &n, mode, &secs) != 5) {
            if (strncmp(line, "quit", 4) == 0) break;
            printf("{\"error\":\"bad command\"}\n");
            fflush(stdout);
            continue;
        }
        run(target, port, n, mode, secs);
    }
    event_free(lev);
    close(lfd);
    event_base_free(base);
    return 0;
}
