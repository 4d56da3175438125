/* pgworker.h — one thread that talks to PostgreSQL so the loop does not.
 *
 * The PostgreSQL store (store_pg.c) hands its writes (event batches,
 * end-of-turn saves, lease renewals, NOTIFYs) and every (re)connect to this
 * worker as jobs; the worker runs them in order, one at a time, on a
 * connection of its own, and hands each finished job back to the loop
 * thread, where its done function runs. The loop thread never waits on the
 * server: submitting is a mutex-guarded list push, and completions arrive
 * through an eventfd read on the libevent base.
 *
 * Why one thread and not libpq's non-blocking API on the base: the store's
 * writes must stay in order (events before the save that ends their turn),
 * a single connection gives that for free, and a blocking PQconnectdb on
 * the worker needs no connect state machine on the loop; see
 * docs/benchmarks.md for what a commit costs the loop either way.
 *
 * The worker's connection is made by the opener it is given (connect and
 * prepare, blocking, on the worker thread) and re-made with exponential
 * backoff (PGW_BACKOFF_MIN_MS doubling to PGW_BACKOFF_MAX_MS) when it is
 * lost: while it is down, jobs run with conn NULL and must fail fast.
 *
 * Ownership: a submitted job belongs to the worker until its done function
 * is called (on the loop thread, exactly once), which then owns it again. */
#ifndef COACH_PGWORKER_H
#define COACH_PGWORKER_H

#include <libpq-fe.h>

struct event_base;
struct pgw;

#define PGW_BACKOFF_MIN_MS 100
#define PGW_BACKOFF_MAX_MS 5000
/* pgw_stop waits this long for the queue to drain; then the connection is
 * cut under the running job and what is left fails at once. */
#define PGW_STOP_WAIT_MS 5000

struct pgw_job {
    /* on the worker thread; conn is the worker's connection, or NULL while
     * it is down (the job should record a failure) */
    void (*run)(struct pgw_job *job, PGconn *conn);
    /* on the loop thread, after run */
    void (*done)(struct pgw_job *job);
    /* set by run when the server said the connection is going away (an
     * error of SQLSTATE class 08 or 57P, or none at all): the worker then
     * drops the connection and runs the job once more on a new one */
    int conn_lost;
    /* set by the submitter: never run twice (a request-path call, whose
     * results are not overwritten by a second run); it just fails */
    int no_retry;
    struct pgw_job *next_;        /* the worker's */
};

/* Opens a ready connection (connected, statements prepared) or NULL; runs
 * on the worker thread. It calls pgw_note_socket once connected, before
 * it waits on the server again (preparing), so that pgw_stop can cut a
 * connection a hung server never finishes setting up. */
typedef PGconn *(*pgw_open_fn)(void *arg);
/* On a worker thread (else nothing): c's socket is the one to cut (NULL:
 * none; call it before PQfinish of a connection that failed to open). */
void pgw_note_socket(PGconn *c);

/* Starts the thread. Returns NULL when the eventfd or thread cannot be
 * made. The first connection is made on the thread, at once. */
struct pgw *pgw_start(struct event_base *base, pgw_open_fn open, void *open_arg);
/* Queues a job (loop thread). */
void pgw_submit(struct pgw *w, struct pgw_job *job);
/* Jobs submitted and not yet handed back. */
unsigned pgw_pending(const struct pgw *w);
/* 1 while the worker's own connection is up (as last seen by it). */
int pgw_connected(const struct pgw *w);
/* Runs every queued job (for up to PGW_STOP_WAIT_MS; a server that does
 * not answer by then has its connection cut, and the jobs left fail),
 * calls the done functions of all of them (on the calling thread, the
 * loop's), closes the connection and joins the thread. */
void pgw_stop(struct pgw *w);
/* Tells the worker to stop once its queue is empty, without waiting (so
 * that several workers drain at once before their pgw_stop). */
void pgw_stop_soon(struct pgw *w);

#endif
