/* test_metrics.c — the /metrics text: every family has HELP and TYPE,
 * counters count under their fixed labels and anything unknown falls into
 * "other" (so the output cannot grow with what clients send), histogram
 * buckets are cumulative with bounds inclusive, +Inf equals _count, label
 * values are escaped, and gauges print what was set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util.c"
#include "../../src/metrics.c"

static char *render(void)
{
    struct strbuf b = {0};
    metrics_render(&b);
    assert_non_null(b.s);
    return b.s;
}

/* Whether text holds exactly this line. */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) return 1;
    return 0;
}

static size_t count_lines_with(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

#define HTTP "coachd_http_requests_total{route=\""

static int setup(void **state)
{
    metrics_reset();
    return 0;
}

static void test_families_have_help_and_type(void **state)
{
    static const char *const fam[][2] = {
        {"coachd_http_requests_total", "counter"}, {"coachd_streams_active", "gauge"},
        {"coachd_turns_active", "gauge"}, {"coachd_connections", "gauge"},
        {"coachd_connections_rejected_total", "counter"}, {"coachd_rate_limited_total", "counter"},
        {"coachd_save_failures_total", "counter"}, {"coachd_ttft_seconds", "histogram"},
        {"coachd_turn_seconds", "histogram"}, {"coachd_retrieval_seconds", "histogram"},
        {"coachd_db_seconds", "histogram"}, {"coachd_refusals_total", "counter"},
        {"coachd_triage_notices_total", "counter"}, {"coachd_upstream_errors_total", "counter"},
        {"coachd_tokens_total", "counter"}, {"coachd_feedback_total", "counter"},
    };
    char *t = render(), line[160];
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
        snprintf(line, sizeof line, "# TYPE %s %s", fam[i][0], fam[i][1]);
        assert_true(has_line(t, line));
        snprintf(line, sizeof line, "# HELP %s ", fam[i][0]);
        assert_non_null(strstr(t, line));
    }
    /* exported at zero before anything happened */
    assert_true(has_line(t, "coachd_rate_limited_total 0"));
    assert_true(has_line(t, "coachd_refusals_total{category=\"medical\"} 0"));
    assert_true(t[strlen(t) - 1] == '\n');
    free(t);
}

static void test_http_routes_bounded(void **state)
{
    char *t;
    metrics_http_request("/api/coach/sessions/:id", 200);
    metrics_http_request("/api/coach/sessions/:id", 200);
    metrics_http_request("/api/coach/sessions/:id", 404);
    metrics_http_request("/api/coach/sessions/:id/messages/:mid/stream", 200);
    /* a real path, an id, garbage: one "other" series */
    metrics_http_request("/api/coach/sessions/ouQ62oWkyE7H5IbOMQvU0g", 404);
    metrics_http_request("-", 404);
    metrics_http_request(NULL, 400);
    metrics_http_request("x\"y", 404);
    metrics_http_request("/healthz", 42);       /* not an HTTP status */
    metrics_http_request("/healthz", 1000);
    t = render();
    assert_true(has_line(t, HTTP "/api/coach/sessions/{id}\",code=\"200\"} 2"));
    assert_true(has_line(t, HTTP "/api/coach/sessions/{id}\",code=\"404\"} 1"));
    assert_true(has_line(t, HTTP "/api/coach/sessions/{id}/messages/{mid}/stream\",code=\"200\"} 1"));
    assert_true(has_line(t, HTTP "other\",code=\"404\"} 3"));
    assert_true(has_line(t, HTTP "other\",code=\"400\"} 1"));
    assert_true(has_line(t, HTTP "/healthz\",code=\"other\"} 2"));
    assert_null(strstr(t, "ouQ62"));
    assert_null(strstr(t, ":id"));
    free(t);
}

static void test_cardinality_is_fixed(void **state)
{
    char *t, *u, name[64];
    size_t before, after;
    t = render();
    before = count_lines_with(t, "\n");
    free(t);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "/x/%d", i);
        metrics_http_request(name, 200 + i % 3);
        metrics_refusal(name);
        metrics_triage(name);
        metrics_upstream_error(name);
        metrics_ttft(name, 0.1);
    }
    u = render();
    after = count_lines_with(u, "\n");
    /* three http series (other x 200/201/202) and one ttft histogram */
    assert_int_equal(after, before + 3 + METRICS_N(mttft_le) + 3);
    assert_true(has_line(u, "coachd_refusals_total{category=\"other\"} 5000"));
    assert_true(has_line(u, "coachd_triage_notices_total{level=\"other\"} 5000"));
    assert_true(has_line(u, "coachd_upstream_errors_total{kind=\"other\"} 5000"));
    assert_true(has_line(u, "coachd_ttft_seconds_count{engine=\"other\"} 5000"));
    free(u);
}

static void test_labelled_counters(void **state)
{
    char *t;
    metrics_refusal("medical");
    metrics_refusal("medical");
    metrics_refusal("emergency");
    metrics_triage("urgent");
    metrics_triage("net");
    metrics_triage("prepare");
    metrics_triage("prepare");
    metrics_upstream_error("timeout_first");
    metrics_upstream_error("http_5xx");
    metrics_tokens(120, 30);
    metrics_tokens(-5, 10);                      /* negatives are not counted */
    metrics_feedback(1);
    metrics_feedback(0);
    metrics_feedback(0);
    metrics_inc(METRICS_SAVE_FAILURES);
    metrics_inc(METRICS_CONNECTIONS_REJECTED);
    metrics_inc(METRICS_CONNECTIONS_REJECTED);
    metrics_inc(METRICS__NCOUNTERS);             /* out of range: ignored */
    t = render();
    assert_true(has_line(t, "coachd_refusals_total{category=\"medical\"} 2"));
    assert_true(has_line(t, "coachd_refusals_total{category=\"emergency\"} 1"));
    assert_true(has_line(t, "coachd_refusals_total{category=\"crisis\"} 0"));
    assert_true(has_line(t, "coachd_triage_notices_total{level=\"urgent\"} 1"));
    assert_true(has_line(t, "coachd_triage_notices_total{level=\"prepare\"} 2"));
    assert_true(has_line(t, "coachd_triage_notices_total{level=\"net\"} 1"));
    assert_true(has_line(t, "coachd_upstream_errors_total{kind=\"timeout_first\"} 1"));
    assert_true(has_line(t, "coachd_upstream_errors_total{kind=\"http_5xx\"} 1"));
    assert_true(has_line(t, "coachd_tokens_total{direction=\"prompt\"} 120"));
    assert_true(has_line(t, "coachd_tokens_total{direction=\"completion\"} 40"));
    assert_true(has_line(t, "coachd_feedback_total{helpful=\"true\"} 1"));
    assert_true(has_line(t, "coachd_feedback_total{helpful=\"false\"} 2"));
    assert_true(has_line(t, "coachd_save_failures_total 1"));
    assert_true(has_line(t, "coachd_connections_rejected_total 2"));
    free(t);
}

static void test_histogram_buckets(void **state)
{
    char *t;
    metrics_observe(METRICS_RETRIEVAL_SECONDS, 0.0001);   /* on a bound: counted in it */
    metrics_observe(METRICS_RETRIEVAL_SECONDS, 0.0002);
    metrics_observe(METRICS_RETRIEVAL_SECONDS, 0.003);
    metrics_observe(METRICS_RETRIEVAL_SECONDS, 7);        /* above the last bound */
    metrics_observe(METRICS_RETRIEVAL_SECONDS, -1);       /* clock oddity: as 0 */
    metrics_observe(METRICS__NHISTS, 1);                  /* ignored */
    metrics_ttft("grounded", 0.02);
    metrics_ttft("grounded", 0.3);
    t = render();
    assert_true(has_line(t, "coachd_retrieval_seconds_bucket{le=\"0.0001\"} 2"));
    assert_true(has_line(t, "coachd_retrieval_seconds_bucket{le=\"0.00025\"} 3"));
    assert_true(has_line(t, "coachd_retrieval_seconds_bucket{le=\"0.0025\"} 3"));
    assert_true(has_line(t, "coachd_retrieval_seconds_bucket{le=\"0.005\"} 4"));
    assert_true(has_line(t, "coachd_retrieval_seconds_bucket{le=\"1\"} 4"));
    assert_true(has_line(t, "coachd_retrieval_seconds_bucket{le=\"+Inf\"} 5"));
    assert_true(has_line(t, "coachd_retrieval_seconds_count 5"));
    assert_true(has_line(t, "coachd_retrieval_seconds_sum 7.0033"));
    assert_true(has_line(t, "coachd_ttft_seconds_bucket{engine=\"grounded\",le=\"0.01\"} 0"));
    assert_true(has_line(t, "coachd_ttft_seconds_bucket{engine=\"grounded\",le=\"0.025\"} 1"));
    assert_true(has_line(t, "coachd_ttft_seconds_bucket{engine=\"grounded\",le=\"0.5\"} 2"));
    assert_true(has_line(t, "coachd_ttft_seconds_bucket{engine=\"grounded\",le=\"+Inf\"} 2"));
    assert_true(has_line(t, "coachd_ttft_seconds_count{engine=\"grounded\"} 2"));
    assert_true(has_line(t, "coachd_ttft_seconds_sum{engine=\"grounded\"} 0.32"));
    /* an engine nothing was observed for has no series */
    assert_null(strstr(t, "engine=\"openai\""));
    /* an empty histogram still has all its series at zero */
    assert_true(has_line(t, "coachd_turn_seconds_bucket{le=\"+Inf\"} 0"));
    assert_true(has_line(t, "coachd_turn_seconds_count 0"));
    free(t);
}

static void test_gauges(void **state)
{
    char *t;
    metrics_set_gauge(METRICS_STREAMS_ACTIVE, 3);
    metrics_set_gauge(METRICS_TURNS_ACTIVE, 2);
    metrics_set_gauge(METRICS_CONNECTIONS, 17);
    metrics_set_gauge(METRICS__NGAUGES, 9);               /* ignored */
    t = render();
    assert_true(has_line(t, "coachd_streams_active 3"));
    assert_true(has_line(t, "coachd_turns_active 2"));
    assert_true(has_line(t, "coachd_connections 17"));
    free(t);
}

static void test_escape_label(void **state)
{
    static const char *const cases[][2] = {
        {"plain", "plain"},
        {"a\"b", "a\\\"b"},
        {"back\\slash", "back\\\\slash"},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"", ""},
        {"caf\xC3\xA9", "caf\xC3\xA9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct strbuf b = {0};
        strbuf_add(&b, "", 0);
        metrics_escape_label(&b, cases[i][0]);
        assert_string_equal(b.s, cases[i][1]);
        free(b.s);
    }
}

static void test_reset(void **state)
{
    char *t;
    metrics_refusal("crisis");
    metrics_reset();
    t = render();
    assert_true(has_line(t, "coachd_refusals_total{category=\"crisis\"} 0"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_families_have_help_and_type, setup),
        cmocka_unit_test_setup(test_http_routes_bounded, setup),
        cmocka_unit_test_setup(test_cardinality_is_fixed, setup),
        cmocka_unit_test_setup(test_labelled_counters, setup),
        cmocka_unit_test_setup(test_histogram_buckets, setup),
        cmocka_unit_test_setup(test_gauges, setup),
        cmocka_unit_test_setup(test_escape_label, setup),
        cmocka_unit_test_setup(test_reset, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
