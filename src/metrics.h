/* metrics.h — process-wide counters, gauges and histograms for GET /metrics.
 *
 * Every label set is fixed at compile time: a value that is not in its
 * table (an unknown route, category, engine or error kind) is counted
 * under "other", so a client can never grow the output. Nothing here ever
 * holds question text or an id. All calls run on the event loop thread
 * (no locking). The module owns its state; metrics_render appends to a
 * caller-owned strbuf. */
#ifndef COACH_METRICS_H
#define COACH_METRICS_H

#include "util.h"

enum metrics_counter {
    METRICS_SAVE_FAILURES,
    METRICS_CONNECTIONS_REJECTED,
    METRICS_RATE_LIMITED,
    METRICS_ACCEPT_ERRORS,
    METRICS__NCOUNTERS
};

enum metrics_gauge {
    METRICS_STREAMS_ACTIVE,
    METRICS_TURNS_ACTIVE,
    METRICS_CONNECTIONS,
    METRICS_DICTIONARIES_LOADED,    /* other languages' dictionaries loaded */
    METRICS_DICTIONARIES,           /* ... installed */
    METRICS__NGAUGES
};

enum metrics_hist {
    METRICS_TURN_SECONDS,
    METRICS_RETRIEVAL_SECONDS,
    METRICS_DB_SECONDS,
    METRICS__NHISTS
};

/* Seconds on the monotonic clock (microsecond resolution), for durations. */
double metrics_now(void);

/* route: the access log's route pattern ("/api/coach/sessions/:id"); one
 * not in the table, or NULL, counts as "other". code: the HTTP status. */
void metrics_http_request(const char *route, int code);
void metrics_refusal(const char *category);
void metrics_triage(const char *level);               /* urgent, prepare, net */
void metrics_upstream_error(const char *kind);
void metrics_ttft(const char *engine, double seconds);
void metrics_tokens(long prompt, long completion);    /* negatives count as 0 */
void metrics_feedback(int helpful);
void metrics_inc(enum metrics_counter c);
void metrics_observe(enum metrics_hist h, double seconds);
void metrics_set_gauge(enum metrics_gauge g, double value);

/* Appends the Prometheus text exposition format (version 0.0.4). */
void metrics_render(struct strbuf *out);

/* Appends v as a label value with \, " and newline escaped. */
void metrics_escape_label(struct strbuf *out, const char *v);

/* Zeroes everything (tests). */
void metrics_reset(void);

#endif
