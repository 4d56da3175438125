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

struct metrics_route { const char *log, *label; };

static const struct metrics_route mroutes[] = {
    {"/healthz", "/healthz"},
    {"/readyz", "/readyz"},
    {"/metrics", "/metrics"},
    {"/api/coach/sessions", "/api/coach/sessions"},
    {"/api/coach/sessions/:id", "/api/coach/sessions/{id}"},
    {"/api/coach/sessions/:id/messages", "/api/coach/sessions/{id}/messages"},
    {"/api/coach/sessions/:id/events", "/api/coach/sessions/{id}/events"},
    {"/api/coach/stream/:session_id", "/api/coach/stream/{session_id}"},
    {"/api/coach/sessions/:id/messages/:mid/stream", "/api/coach/sessions/{id}/messages/{mid}/stream"},
    {"/api/coach/sessions/:id/messages/:mid/cancel", "/api/coach/sessions/{id}/messages/{mid}/cancel"},
    {"/api/coach/sessions/:id/messages/:mid/feedback",
     "/api/coach/sessions/{id}/messages/{mid}/feedback"},
    {"static", "static"},
    {NULL, "other"},
};
#define METRICS_NROUTES (sizeof mroutes / sizeof mroutes[0])
#define METRICS_MIN_CODE 100
#define METRICS_MAX_CODE 599
#define METRICS_NCODES (METRICS_MAX_CODE - METRICS_MIN_CODE + 2)   /* last: any other code */

static const char *const mcategories[] = {
    "emergency", "medical", "crisis", "unsafe", "out_of_scope", "language", "other",
};
static const char *const mlevels[] = {"urgent", "prepare", "net", "language", "other"};
static const char *const mkinds[] = {
    "connect", "network", "tls", "timeout_first", "timeout_stall", "timeout_total",
    "rate_limited", "http_4xx", "http_5xx", "cut", "upstream_error", "malformed",
    "too_large", "empty", "length", "start", "other",
};
static const char *const mengines[] = {"grounded", "openai", "other"};
static const char *const mdirections[] = {"prompt", "completion"};
static const char *const mhelpful[] = {"true", "false"};

#define METRICS_N(a) (sizeof (a) / sizeof (a)[0])

/* ---------- histograms ---------- */

static const double mttft_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
static const double mturn_le[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
static const double mfast_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025, 0.05, 0.1, 0.25, 1};
#define METRICS_MAX_BUCKETS 16

struct metrics_hist_data {
    uint64_t counts[METRICS_MAX_BUCKETS + 1];  /* counts[nle]: above the last bound */
    uint64_t count;
    double sum;
};

struct mhist_info { const char *name, *help; const double *le; size_t nle; };

static const struct mhist_info mhist_info[METRICS__NHISTS] = {
    [METRICS_TURN_SECONDS] = {"coachd_turn_seconds",
        "Time from a question being accepted to its answer ending (refusals included).",
        mturn_le, METRICS_N(mturn_le)},
    [METRICS_RETRIEVAL_SECONDS] = {"coachd_retrieval_seconds",
        "Time to search the knowledge base for one question.", mfast_le, METRICS_N(mfast_le)},
    [METRICS_DB_SECONDS] = {"coachd_db_seconds",
        "Time the event loop spends on the database writes of the question path (begin and save).",
        mfast_le, METRICS_N(mfast_le)},
};

/* ---------- state ---------- */

static struct {
    uint64_t http[METRICS_NROUTES][METRICS_NCODES];
    uint64_t refusals[METRICS_N(mcategories)];
    uint64_t triage[METRICS_N(mlevels)];
    uint64_t upstream[METRICS_N(mkinds)];
    uint64_t tokens[METRICS_N(mdirections)];
    uint64_t feedback[METRICS_N(mhelpful)];
    uint64_t counters[METRICS__NCOUNTERS];
    double gauges[METRICS__NGAUGES];
    struct metrics_hist_data ttft[METRICS_N(mengines)];
    struct metrics_hist_data hists[METRICS__NHISTS];
} mstate;

static size_t metrics_index_of(const char *const *table, size_t n, const char *v)
{
    for (size_t i = 0; v && i + 1 < n; i++)
        if (strcmp(table[i], v) == 0) return i;
    return n - 1;                      /* "other" */
}

static void metrics_hist_add(struct metrics_hist_data *h, const double *le, size_t nle, double v)
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
    size_t r = METRICS_NROUTES - 1;
    for (size_t i = 0; route && i + 1 < METRICS_NROUTES; i++)
        if (strcmp(mroutes[i].log, route) == 0) { r = i; break; }
    if (code < METRICS_MIN_CODE || code > METRICS_MAX_CODE) mstate.http[r][METRICS_NCODES - 1]++;
    else mstate.http[r][code - METRICS_MIN_CODE]++;
}

void metrics_refusal(const char *category)
{
    mstate.refusals[metrics_index_of(mcategories, METRICS_N(mcategories), category)]++;
}

void metrics_triage(const char *level)
{
    mstate.triage[metrics_index_of(mlevels, METRICS_N(mlevels), level)]++;
}

void metrics_upstream_error(const char *kind)
{
    mstate.upstream[metrics_index_of(mkinds, METRICS_N(mkinds), kind)]++;
}


void metrics_ttft(const char *engine, double seconds)
{
    size_t e = metrics_index_of(mengines, METRICS_N(mengines), engine);
    metrics_hist_add(&mstate.ttft[e], mttft_le, METRICS_N(mttft_le), seconds);
}

void metrics_tokens(long prompt, long completion)
{
    if (prompt > 0) mstate.tokens[0] += (uint64_t)prompt;
    if (completion > 0) mstate.tokens[1] += (uint64_t)completion;
}

void metrics_feedback(int helpful) { mstate.feedback[helpful ? 0 : 1]++; }

void metrics_inc(enum metrics_counter c)
{
    if ((unsigned)c < METRICS__NCOUNTERS) mstate.counters[c]++;
}

void metrics_observe(enum metrics_hist h, double seconds)
{
    if ((unsigned)h < METRICS__NHISTS)
        metrics_hist_add(&mstate.hists[h], mhist_info[h].le, mhist_info[h].nle, seconds);
}

void metrics_set_gauge(enum metrics_gauge g, double value)
{
    if ((unsigned)g < METRICS__NGAUGES) mstate.gauges[g] = value;
}

void metrics_reset(void) { memset(&mstate, 0, sizeof mstate); }

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

static void metrics_family(struct strbuf *out, const char *name, const char *type,
                           const char *help)
{
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} n, or name n without a label. */
static void metrics_sample(struct strbuf *out, const char *name, const char *label,
                           const char *value, uint64_t n)
{
    strbuf_str(out, name);
    if (label) {
        strbuf_printf(out, "{%s=\"", label);
        metrics_escape_label(out, value);
        strbuf_str(out, "\"}");
    }
    strbuf_printf(out, " %llu\n", (unsigned long long)n);
}

static void metrics_labelled(struct strbuf *out, const char *name, const char *help,
                             const char *label, const char *const *values,
                             const uint64_t *counts, size_t n)
{
    metrics_family(out, name, "counter", help);
    for (size_t i = 0; i < n; i++) metrics_sample(out, name, label, values[i], counts[i]);
}

/* One histogram's series; label/value may be NULL. */
static void metrics_hist_series(struct strbuf *out, const char *name, const char *label,
                                const char *value, const struct metrics_hist_data *h,
                                const double *le, size_t nle)
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

static void metrics_render_http(struct strbuf *out)
{
    const char *name = "coachd_http_requests_total";
    metrics_family(out, name, "counter", "HTTP responses by route pattern and status code.");
    for (size_t r = 0; r < METRICS_NROUTES; r++)
        for (size_t c = 0; c < METRICS_NCODES; c++) {
            if (!mstate.http[r][c]) continue;
            strbuf_printf(out, "%s{route=\"", name);
            metrics_escape_label(out, mroutes[r].label);
            if (c == METRICS_NCODES - 1) strbuf_str(out, "\",code=\"other\"}");
            else strbuf_printf(out, "\",code=\"%zu\"}", c + METRICS_MIN_CODE);
            strbuf_printf(out, " %llu\n", (unsigned long long)mstate.http[r][c]);
        }
}

static void metrics_gauge_line(struct strbuf *out, const char *name, const char *help, double v)
{
    metrics_family(out, name, "gauge", help);
    strbuf_printf(out, "%s %.17g\n", name, v);
}

static void metrics_counter_line(struct strbuf *out, const char *name, const char *help, uint64_t v)
{
    metrics_family(out, name, "counter", help);
    metrics_sample(out, name, NULL, NULL, v);
}

void metrics_render(struct strbuf *out)
{
    const struct metrics_hist_data *ttft = mstate.ttft;
    metrics_render_http(out);
    metrics_gauge_line(out, "coachd_streams_active", "Answer streams (SSE) open now.",
                       mstate.gauges[METRICS_STREAMS_ACTIVE]);
    metrics_gauge_line(out, "coachd_turns_active", "Answers being produced now.",
                       mstate.gauges[METRICS_TURNS_ACTIVE]);
    metrics_gauge_line(out, "coachd_connections", "HTTP connections open now.",
                       mstate.gauges[METRICS_CONNECTIONS]);
    metrics_gauge_line(out, "coachd_dictionaries_loaded",
                       "Other languages' spelling dictionaries loaded (of coachd_dictionaries).",
                       mstate.gauges[METRICS_DICTIONARIES_LOADED]);
    metrics_gauge_line(out, "coachd_dictionaries",
                       "Other languages' spelling dictionaries installed.",
                       mstate.gauges[METRICS_DICTIONARIES]);
    metrics_counter_line(out, "coachd_connections_rejected_total",
                         "Connections turned away with 503 because the connection cap was reached.",
                         mstate.counters[METRICS_CONNECTIONS_REJECTED]);
    metrics_counter_line(out, "coachd_accept_errors_total",
                         "accept() failures (out of descriptors); each pauses the listener briefly.",
                         mstate.counters[METRICS_ACCEPT_ERRORS]);
    metrics_counter_line(out, "coachd_rate_limited_total",
                         "Requests refused with 429 by a rate limit.",
                         mstate.counters[METRICS_RATE_LIMITED]);
    metrics_counter_line(out, "coachd_save_failures_total",
                         "Failed answer saves: an UPDATE of an answer or a batch COMMIT.",
                         mstate.counters[METRICS_SAVE_FAILURES]);
    metrics_family(out, "coachd_ttft_seconds", "histogram",
                   "Time from a question being accepted to the first answer text, by engine.");
    for (size_t i = 0; i < METRICS_N(mengines); i++)
        if (ttft[i].count)
            metrics_hist_series(out, "coachd_ttft_seconds", "engine", mengines[i], &ttft[i],
                                mttft_le, METRICS_N(mttft_le));
    for (size_t h = 0; h < METRICS__NHISTS; h++) {
        const struct mhist_info *hi = &mhist_info[h];
        metrics_family(out, hi->name, "histogram", hi->help);
        metrics_hist_series(out, hi->name, NULL, NULL, &mstate.hists[h], hi->le, hi->nle);
    }
    metrics_labelled(out, "coachd_refusals_total",
                     "Questions refused by the safety layer, by category.", "category",
                     mcategories, mstate.refusals, METRICS_N(mcategories));
    metrics_labelled(out, "coachd_triage_notices_total",
                     "Triage notices (urgent, prepare, net) sent before an answer or refusal.",
                     "level", mlevels, mstate.triage, METRICS_N(mlevels));
    metrics_labelled(out, "coachd_upstream_errors_total",
                     "Answers the openai engine could not finish, by the final reason.", "kind",
                     mkinds, mstate.upstream, METRICS_N(mkinds));
    metrics_labelled(out, "coachd_tokens_total",
                     "Model tokens, as counted or estimated by the engine.", "direction",
                     mdirections, mstate.tokens, METRICS_N(mdirections));
    metrics_labelled(out, "coachd_feedback_total", "Feedback on answers, by whether it helped.",
                     "helpful", mhelpful, mstate.feedback, METRICS_N(mhelpful));
}
