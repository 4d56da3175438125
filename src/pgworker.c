/* pgworker.c — the PostgreSQL worker thread (see pgworker.h).
 *
 * Two lists under one mutex: the queue (loop -> worker, FIFO) and the
 * finished list (worker -> loop, FIFO). The worker sleeps on a condition
 * variable while the queue is empty; after each job it appends the job to
 * the finished list and adds 1 to an eventfd, whose read event on the base
 * takes the whole finished list and calls the done functions in order.
 * A job whose connection broke under it is run once more on a new one. */
#include "pgworker.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct pgw {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pgw_job *q_head, *q_tail;      /* under mu */
    struct pgw_job *d_head, *d_tail;      /* under mu */
    int stopping;                         /* under mu */
    int abandon;                          /* under mu: stop waited too long */
    int cur_fd;                           /* under mu: the connection's socket, or -1 */
    int efd;
    struct event *done_ev;
    pgw_open_fn open;
    void *open_arg;
    unsigned pending;                     /* loop thread only */
    atomic_int connected;
    /* the worker thread's own */
    PGconn *conn;
    uint64_t next_try_ms;
    unsigned backoff_ms;
};

/* The worker running on this thread (pgw_note_socket). */
static _Thread_local struct pgw *thread_pgw;

void pgw_note_socket(PGconn *c)
{
    struct pgw *w = thread_pgw;
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->cur_fd = c ? PQsocket(c) : -1;
    /* stop gave up already: cut it at once */
    if (w->abandon && w->cur_fd >= 0) shutdown(w->cur_fd, SHUT_RDWR);
    pthread_mutex_unlock(&w->mu);
}

/* The worker's connection, re-made at most once per backoff. */
static PGconn *worker_conn(struct pgw *w)
{
    uint64_t now = util_now_ms();
    int abandon;
    if (w->conn && PQstatus(w->conn) == CONNECTION_OK) return w->conn;
    pthread_mutex_lock(&w->mu);
    abandon = w->abandon;
    w->cur_fd = -1;
    pthread_mutex_unlock(&w->mu);
    if (w->conn) PQfinish(w->conn);
    w->conn = NULL;
    if (abandon || now < w->next_try_ms) return NULL;
    w->conn = w->open(w->open_arg);
    if (w->conn) {
        pthread_mutex_lock(&w->mu);
        w->cur_fd = PQsocket(w->conn);
        pthread_mutex_unlock(&w->mu);
        w->backoff_ms = PGW_BACKOFF_MIN_MS;
        w->next_try_ms = 0;
        atomic_store(&w->connected, 1);
        return w->conn;
    }
    w->next_try_ms = util_now_ms() + w->backoff_ms;
    w->backoff_ms = w->backoff_ms * 2 > PGW_BACKOFF_MAX_MS ? PGW_BACKOFF_MAX_MS : w->backoff_ms * 2;
    atomic_store(&w->connected, 0);
    return NULL;
}

static void *worker_main(void *arg)
{
    struct pgw *w = arg;
    thread_pgw = w;
    worker_conn(w);                               /* the first connection, at once */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct pgw_job *job;
        PGconn *conn;
        uint64_t one = 1;
        while (!w->q_head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->q_head) break;                    /* stopping, queue empty */
        job = w->q_head;
        w->q_head = job->next_;
        if (!w->q_head) w->q_tail = NULL;
        job->next_ = NULL;
        pthread_mutex_unlock(&w->mu);

        conn = worker_conn(w);
        job->run(job, conn);
        pthread_mutex_lock(&w->mu);           /* a connect job may have pointed it elsewhere */
        w->cur_fd = w->conn ? PQsocket(w->conn) : -1;
        pthread_mutex_unlock(&w->mu);
        if (conn && (PQstatus(conn) != CONNECTION_OK || job->conn_lost)) {
            /* the connection broke under the job (a server restart, a
             * terminated backend): drop it; then, unless the job must not
             * run twice, once, at once, on a new one; every such job is
             * safe to run again (inserts skip what is stored, updates set
             * the same values) */
            pthread_mutex_lock(&w->mu);
            w->cur_fd = -1;
            pthread_mutex_unlock(&w->mu);
            PQfinish(w->conn);
            w->conn = NULL;
            atomic_store(&w->connected, 0);
            w->next_try_ms = 0;
            if (!job->no_retry) {
                job->conn_lost = 0;
                conn = worker_conn(w);
                if (conn) job->run(job, conn);
            }
        }

        pthread_mutex_lock(&w->mu);
        if (w->d_tail) w->d_tail->next_ = job;
        else w->d_head = job;
        w->d_tail = job;
        if (write(w->efd, &one, sizeof one) < 0 && errno != EAGAIN)
            fprintf(stderr, "coachd: pgworker: eventfd write failed\n");
    }
    w->cur_fd = -1;
    pthread_mutex_unlock(&w->mu);
    if (w->conn) PQfinish(w->conn);
    w->conn = NULL;
    return NULL;
}

/* Calls the done functions of every finished job, in order. */
static void deliver(struct pgw *w)
{
    struct pgw_job *list;
    pthread_mutex_lock(&w->mu);
    list = w->d_head;
    w->d_head = w->d_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (list) {
        struct pgw_job *job = list;
        list = job->next_;
        job->next_ = NULL;
        w->pending--;
        job->done(job);
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct pgw *w = arg;
    uint64_t n;
    if (read(w->efd, &n, sizeof n) < 0 && errno != EAGAIN) return;
    deliver(w);
}

struct pgw *pgw_start(struct event_base *base, pgw_open_fn open, void *open_arg)
{
    struct pgw *w = xcalloc(1, sizeof *w);
    w->open = open;
    w->open_arg = open_arg;
    w->backoff_ms = PGW_BACKOFF_MIN_MS;
    w->cur_fd = -1;
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0) goto fail;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->done_ev = event_new(base, w->efd, EV_READ | EV_PERSIST, on_done, w);
    if (!w->done_ev || event_add(w->done_ev, NULL)) goto fail_sync;
    if (pthread_create(&w->thread, NULL, worker_main, w)) goto fail_sync;
    return w;
fail_sync:
    if (w->done_ev) event_free(w->done_ev);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    close(w->efd);
fail:
    free(w);
    return NULL;
}

void pgw_submit(struct pgw *w, struct pgw_job *job)
{
    job->next_ = NULL;
    w->pending++;
    pthread_mutex_lock(&w->mu);
    if (w->q_tail) w->q_tail->next_ = job;
    else w->q_head = job;
    w->q_tail = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

unsigned pgw_pending(const struct pgw *w)
{
    return w->pending;
}

int pgw_connected(const struct pgw *w)
{
    return atomic_load(&((struct pgw *)w)->connected);
}

void pgw_stop_soon(struct pgw *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void pgw_stop(struct pgw *w)
{
    struct timespec until;
    if (!w) return;
    pgw_stop_soon(w);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PGW_STOP_WAIT_MS / 1000;
    if (pthread_timedjoin_np(w->thread, NULL, &until) != 0) {
        /* a server that does not answer: cut the connection under the
         * job (it fails), make no new one; the rest fail at once */
        pthread_mutex_lock(&w->mu);
        w->abandon = 1;
        if (w->cur_fd >= 0) shutdown(w->cur_fd, SHUT_RDWR);
        pthread_mutex_unlock(&w->mu);
        fprintf(stderr, "coachd: pgworker: the database did not answer within %d s at "
                "shutdown; the writes left are dropped\n", PGW_STOP_WAIT_MS / 1000);
        pthread_join(w->thread, NULL);
    }
    deliver(w);
    event_free(w->done_ev);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    close(w->efd);
    free(w);
}
