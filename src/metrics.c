/* metrics.c — the numbers behind GET /metrics, in Prometheus text format.
 *
 * Other modules call one function per event (a reply sent, a refusal, a
 * first token, a failed save...). Counters with labels are small arrays
 * indexed by a fixed table of label values; the last entry of every table
 * is "other", which takes anything unknown, so the number of series is
 * bounded whatever clients send. Histograms keep one count per fixed
 * bucket (not cumulative) plus the sum, and are made cumulative when
 * rendered. Gauges are set by the /metrics handler just before rendering
 * (connections, streams and running turns are counted by their owners).
 *
 * The format is the text exposition format 0.0.4: a HELP and a TYPE line
 * per family, then `name{label="value"} number` lines; histograms as
 * _bucket{le=...}, _sum and _count. Everything runs on the loop thread. */
#include "metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------- label tables ("other" last in each) ---------- */

struct route_label { const char *log, *label; };

static const struct route_label routes[] = {
    {"/healthz", "/healthz"},
    {"/readyz", "/readyz"},
    {"/metrics", "/metrics"},
    {"/api/coach/sessions", "/api/coach/sessions"},
    {"/api/coach/sessions/:id", "/api/coach/sessions/{id}"},
    {"/api/coach/sessions/:id/messages", "/api/coach/sessions/{id}/messages"},
    {"/api/coach/sessions/:id/events", "/api/coach/sessions/{id}/events"},
    {"/api/coach/stream/:session_id", "/api/coach/stream/{session_id}"},
    {"/api/coach/messages/:id/stream", "/api/coach/messages/{id}/stream"},
    {"/api/coach/messages/:id/cancel", "/api/coach/messages/{id}/cancel"},
    {"/api/coach/messages/:id/feedback", "/api/coach/messages/{id}/feedback"},
    {"static", "static"},
    {NULL, "other"},
};
#define NROUTES (sizeof routes / sizeof routes[0])
#define MIN_CODE 100
#define MAX_CODE 599
#define NCODES (MAX_CODE - MIN_CODE + 2)      /* the last slot: any other code */

static const char *const categories[] = {
    "emergency", "medical", "crisis", "unsafe", "out_of_scope", "language", "other",
};
static const char *const levels[] = {"urgent", "prepare", "net", "other"};
static const char *const kinds[] = {
    "connect", "network", "tls", "timeout_first", "timeout_stall", "timeout_total",
    "rate_limited", "http_4xx", "http_5xx", "cut", "upstream_error", "malformed",
    "too_large", "empty", "length", "start", "other",
};
static const char *const engines[] = {"grounded", "openai", "other"};
static const char *const directions[] = {"prompt", "completion"};
static const char *const helpful_values[] = {"true", "false"};

#define N(a) (sizeof (a) / sizeof (a)[0])

/* ---------- histograms ---------- */

static const double ttft_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double turn_le[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
static const double fast_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025, 0.05, 0.1, 0.25, 1};
#define MAX_BUCKETS 16

struct hist {
    uint64_t counts[MAX_BUCKETS + 1];  /* counts[nle]: above the last bound */
    uint64_t count;
    double sum;
};

struct hist_info { const char *name, *help; const double *le; size_t nle; };

static const struct hist_info hist_info[METRICS__NHISTS] = {
    [METRICS_TURN_SECONDS] = {"coachd_turn_seconds",
        "Time from a question being accepted to its answer ending (refusals included).",
        turn_le, N(turn_le)},
    [METRICS_RETRIEVAL_SECONDS] = {"coachd_retrieval_seconds",
        "Time to search the knowledge base for one question.", fast_le, N(fast_le)},
    [METRICS_DB_SECONDS] = {"coachd_db_seconds",
        "Time of the database writes on the question path (begin and save).",
        fast_le, N(fast_le)},
};

/* ---------- state ---------- */

static struct {
    uint64_t http[NROUTES][NCODES];
    uint64_t refusals[N(categories)];
    uint64_t triage[N(levels)];
    uint64_t upstream[N(kinds)];
    uint64_t tokens[N(directions)];
    uint64_t feedback[N(helpful_values)];
    uint64_t counters[METRICS__NCOUNTERS];
    double gauges[METRICS__NGAUGES];
    struct hist ttft[N(engines)];
    struct hist hists[METRICS__NHISTS];
} m;

static size_t index_of(const char *const *table, size_t n, const char *v)
{
    for (size_t i = 0; v && i + 1 < n; i++)
        if (strcmp(table[i], v) == 0) return i;
    return n - 1;                      /* "other" */
}

static void hist_add(struct hist *h, const double *le, size_t nle, double v)
{
    size_t i = 0;
    if (!(v >= 0)) v = 0;              /* negative or NaN: a clock oddity */
    while (i < nle && v > le[i]) i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

double metrics_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_http_request(const char *route, int code)
{
    size_t r = NROUTES - 1;
    for (size_t i = 0; route && i + 1 < NROUTES; i++)
        if (strcmp(routes[i].log, route) == 0) { r = i; break; }
    if (code < MIN_CODE || code > MAX_CODE) m.http[r][NCODES - 1]++;
    else m.http[r][code - MIN_CODE]++;
}

void metrics_refusal(const char *category) { m.refusals[index_of(categories, N(categories), category)]++; }
void metrics_triage(const char *level) { m.triage[index_of(levels, N(levels), level)]++; }
void metrics_upstream_error(const char *kind) { m.upstream[index_of(kinds, N(kinds), kind)]++; }

void metrics_ttft(const char *engine, double seconds)
{
    hist_add(&m.ttft[index_of(engines, N(engines), engine)], ttft_le, N(ttft_le), seconds);
}

void metrics_tokens(long prompt, long completion)
{
    if (prompt > 0) m.tokens[0] += (uint64_t)prompt;
    if (completion > 0) m.tokens[1] += (uint64_t)completion;
}

void metrics_feedback(int helpful) { m.feedback[helpful ? 0 : 1]++; }

void metrics_inc(enum metrics_counter c)
{
    if ((unsigned)c < METRICS__NCOUNTERS) m.counters[c]++;
}

void metrics_observe(enum metrics_hist h, double seconds)
{
    if ((unsigned)h < METRICS__NHISTS)
        hist_add(&m.hists[h], hist_info[h].le, hist_info[h].nle, seconds);
}

void metrics_set_gauge(enum metrics_gauge g, double value)
{
    if ((unsigned)g < METRICS__NGAUGES) m.gauges[g] = value;
}

void metrics_reset(void) { memset(&m, 0, sizeof m); }

/* ---------- rendering ---------- */

void metrics_escape_label(struct strbuf *out, const char *v)
{
    for (const char *p = v; p && *p; p++) {
        if (*p == '\\') strbuf_add(out, "\\\\", 2);
        else if (*p == '"') strbuf_add(out, "\\\"", 2);
        else if (*p == '\n') strbuf_add(out, "\\n", 2);
        else strbuf_add(out, p, 1);
    }
}

static void family(struct strbuf *out, const char *name, const char *type, const char *help)
{
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} n, or name n without a label. */
static void sample(struct strbuf *out, const char *name, const char *label, const char *value,
                   uint64_t n)
{
    strbuf_str(out, name);
    if (label) {
        strbuf_printf(out, "{%s=\"", label);
        metrics_escape_label(out, value);
        strbuf_str(out, "\"}");
    }
    strbuf_printf(out, " %llu\n", (unsigned long long)n);
}

static void labelled(struct strbuf *out, const char *name, const char *help, const char *label,
                     const char *const *values, const uint64_t *counts, size_t n)
{
    family(out, name, "counter", help);
    for (size_t i = 0; i < n; i++) sample(out, name, label, values[i], counts[i]);
}

/* One histogram's series; label/value may be NULL. */
static void hist_series(struct strbuf *out, const char *name, const char *label,
                        const char *value, const struct hist *h, const double *le, size_t nle)
{
    uint64_t cum = 0;
    struct strbuf lv = {0};
    if (label) {
        strbuf_printf(&lv, "%s=\"", label);
        metrics_escape_label(&lv, value);
        strbuf_str(&lv, "\",");
    }
    for (size_t i = 0; i <= nle; i++) {
        cum += h->counts[i];
        if (i < nle) strbuf_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, lv.s ? lv.s : "",
                                   le[i], (unsigned long long)cum);
        else strbuf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, lv.s ? lv.s : "",
                           (unsigned long long)cum);
    }
    if (lv.len) lv.s[--lv.len] = '\0';           /* drop the trailing comma */
    strbuf_printf(out, "%s_sum%s%s%s %.9g\n", name, lv.len ? "{" : "", lv.len ? lv.s : "",
                  lv.len ? "}" : "", h->sum);
    strbuf_printf(out, "%s_count%s%s%s %llu\n", name, lv.len ? "{" : "", lv.len ? lv.s : "",
                  lv.len ? "}" : "", (unsigned long long)h->count);
    free(lv.s);
}

static void render_http(struct strbuf *out)
{
    const char *name = "coachd_http_requests_total";
    family(out, name, "counter", "HTTP responses by route pattern and status code.");
    for (size_t r = 0; r < NROUTES; r++)
        for (size_t c = 0; c < NCODES; c++) {
            if (!m.http[r][c]) continue;
            strbuf_printf(out, "%s{route=\"", name);
            metrics_escape_label(out, routes[r].label);
            if (c == NCODES - 1) strbuf_str(out, "\",code=\"other\"}");
            else strbuf_printf(out, "\",code=\"%zu\"}", c + MIN_CODE);
            strbuf_printf(out, " %llu\n", (unsigned long long)m.http[r][c]);
        }
}

static void gauge(struct strbuf *out, const char *name, const char *help, double v)
{
    family(out, name, "gauge", help);
    strbuf_printf(out, "%s %.17g\n", name, v);
}

static void counter(struct strbuf *out, const char *name, const char *help, uint64_t v)
{
    family(out, name, "counter", help);
    sample(out, name, NULL, NULL, v);
}

void metrics_render(struct strbuf *out)
{
    render_http(out);
    gauge(out, "coachd_streams_active", "Answer streams (SSE) open now.",
          m.gauges[METRICS_STREAMS_ACTIVE]);
    gauge(out, "coachd_turns_active", "Answers being produced now.",
          m.gauges[METRICS_TURNS_ACTIVE]);
    gauge(out, "coachd_connections", "HTTP connections open now.", m.gauges[METRICS_CONNECTIONS]);
    counter(out, "coachd_connections_rejected_total",
            "Connections turned away with 503 because the connection cap was reached.",
            m.counters[METRICS_CONNECTIONS_REJECTED]);
    counter(out, "coachd_rate_limited_total", "Requests refused with 429 by a rate limit.",
            m.counters[METRICS_RATE_LIMITED]);
    counter(out, "coachd_save_failures_total", "Failed answer saves: an UPDATE of an answer or a batch COMMIT.",
            m.counters[METRICS_SAVE_FAILURES]);
    family(out, "coachd_ttft_seconds", "histogram",
           "Time from a question being accepted to the first answer text, by engine.");
    for (size_t i = 0; i < N(engines); i++)
        if (m.ttft[i].count)
            hist_series(out, "coachd_ttft_seconds", "engine", engines[i], &m.ttft[i], ttft_le,
                        N(ttft_le));
    for (size_t h = 0; h < METRICS__NHISTS; h++) {
        family(out, hist_info[h].name, "histogram", hist_info[h].help);
        hist_series(out, hist_info[h].name, NULL, NULL, &m.hists[h], hist_info[h].le,
                    hist_info[h].nle);
    }
    labelled(out, "coachd_refusals_total", "Questions refused by the safety layer, by category.",
             "category", categories, m.refusals, N(categories));
    labelled(out, "coachd_triage_notices_total",
             "Triage notices (urgent, prepare, net) sent before an answer or refusal.",
             "level", levels, m.triage, N(levels));
    labelled(out, "coachd_upstream_errors_total",
             "Answers the openai engine could not finish, by the final reason.", "kind", kinds,
             m.upstream, N(kinds));
    labelled(out, "coachd_tokens_total", "Model tokens, as counted or estimated by the engine.",
             "direction", directions, m.tokens, N(directions));
    labelled(out, "coachd_feedback_total", "Feedback on answers, by whether it helped.",
             "helpful", helpful_values, m.feedback, N(helpful_values));
}
