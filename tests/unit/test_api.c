/* test_api.c — the pure parts of the routes: question validation (empty,
 * whitespace, length counted in characters not bytes, invalid UTF-8 and
 * embedded NUL), query-string parameter lookup and decoding, feedback
 * bodies, and the session event stream's announcement line.
 *
 * api.c is compiled here with the real modules it calls (http, sse, turn,
 * store, kb, safety), so the test links exactly as the server does; only
 * the pure functions are exercised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One unit: gcc inlines util_iso8601 into store.c and cannot see that the
 * year has four digits (-Wformat-truncation); the server's separate
 * objects do not warn. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "../../src/util.c"
#include "../../src/metrics.c"
#include "../../src/jtext.c"
#include "../../src/pgworker.c"
#include "../../src/store_pg.c"
#include "../../src/store.c"
#include "../../src/ratelimit.c"
/* kb.c and safety.c each have a static expand_phrase(); rename one. */
#define expand_phrase kb_expand_phrase_
#include "../../src/url.c"
#include "../../src/topicnet.c"
#include "../../src/kb.c"
#undef expand_phrase
#include "../../src/safety.c"
#include "../../src/tmodel.c"
#include "../../src/gloss.c"
#include "../../src/spell.c"
#include "../../src/text.c"
#include "../../src/convo.c"
#include "../../src/budget.c"
#include "../../src/turn.c"
#include "../../src/reqhead.c"
#include "../../src/http.c"
#include "../../src/sse.c"
#include "../../src/events.c"
#include "../../src/api.c"
#pragma GCC diagnostic pop

/* ---------- api_check_question ---------- */

static int check(const char *q, size_t len, const char **code)
{
    const char *msg = NULL;
    int status;
    *code = NULL;
    status = api_check_question(q, len, code, &msg);
    if (status) {
        assert_non_null(*code);
        assert_non_null(msg);
        assert_true(strlen(msg) > 0);
    }
    return status;
}

static char *repeat(const char *unit, size_t times, size_t *len)
{
    size_t ul = strlen(unit);
    char *s = xmalloc(ul * times + 1);
    for (size_t i = 0; i < times; i++) memcpy(s + i * ul, unit, ul);
    s[ul * times] = '\0';
    *len = ul * times;
    return s;
}

static void test_question_ok(void **state)
{
    (void)state;
    const char *code;
    assert_int_equal(check("How do I handle bedtime?", 24, &code), 0);
    assert_null(code);
    assert_int_equal(check("a", 1, &code), 0);
    assert_int_equal(check("  a  ", 5, &code), 0);
    assert_int_equal(check("caf\xC3\xA9?", 6, &code), 0);
}

static void test_question_empty(void **state)
{
    (void)state;
    const char *code;
    assert_int_equal(check("", 0, &code), 400);
    assert_string_equal(code, "empty_question");
    assert_int_equal(check(" ", 1, &code), 400);
    assert_string_equal(code, "empty_question");
    assert_int_equal(check(" \t\r\n \n", 6, &code), 400);
    assert_string_equal(code, "empty_question");
    /* len is what counts, not the C string */
    assert_int_equal(check("   question", 3, &code), 400);
    assert_string_equal(code, "empty_question");
}

static void test_question_length_ascii(void **state)
{
    (void)state;
    const char *code;
    size_t len;
    char *s = repeat("a", 2001, &len);
    assert_int_equal(check(s, 2000, &code), 0);
    assert_int_equal(check(s, 2001, &code), 413);
    assert_string_equal(code, "question_too_long");
    free(s);
}

static void test_question_length_counts_characters(void **state)
{
    (void)state;
    const char *code;
    size_t len;
    /* 2000 two-byte characters are 4000 bytes, and fine */
    char *s = repeat("\xC3\xA9", 2001, &len);
    assert_int_equal(check(s, 4000, &code), 0);
    assert_int_equal(check(s, 4002, &code), 413);
    assert_string_equal(code, "question_too_long");
    free(s);
    /* 2000 four-byte emoji: 8000 bytes, fine */
    s = repeat("\xF0\x9F\x98\x80", 2001, &len);
    assert_int_equal(check(s, 8000, &code), 0);
    assert_int_equal(check(s, 8004, &code), 413);
    free(s);
    /* 1999 ASCII + one 3-byte character = 2000 characters */
    s = repeat("b", 2002, &len);
    memcpy(s + 1999, "\xE2\x82\xAC", 3);
    assert_int_equal(check(s, 2002, &code), 0);
    free(s);
}

static void test_question_invalid_utf8(void **state)
{
    (void)state;
    const char *code;
    static const struct { const char *s; size_t len; } bad[] = {
        {"abc\xFF", 4}, {"\xC0\x80", 2}, {"caf\xC3", 4}, {"\xED\xA0\x80", 3},
        {"a\0b", 3}, {"\0", 1}, {"   \0", 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(check(bad[i].s, bad[i].len, &code), 400);
        assert_string_equal(code, "invalid_utf8");
    }
    /* an invalid over-long question is reported as invalid first */
    {
        size_t len;
        char *s = repeat("a", 3000, &len);
        s[2999] = (char)0xFF;
        assert_int_equal(check(s, len, &code), 400);
        assert_string_equal(code, "invalid_utf8");
        free(s);
    }
}

/* ---------- query_param ---------- */

/* query_param with a poisoned len, so a test sees whether it was set. */
static char *qp(const char *query, const char *name, size_t *len)
{
    *len = 12345;
    return api_query_param(query, name, len);
}

static void test_query_param_basic(void **state)
{
    (void)state;
    size_t len;
    char *v;

    v = qp("question=hello", "question", &len);
    assert_non_null(v);
    assert_string_equal(v, "hello");
    assert_int_equal(len, 5);
    free(v);

    v = qp("a=1&question=two&b=3", "question", &len);
    assert_string_equal(v, "two");
    assert_int_equal(len, 3);
    free(v);

    v = qp("a=1&b=2&question=last", "question", &len);
    assert_string_equal(v, "last");
    free(v);
}

static void test_query_param_decoding(void **state)
{
    (void)state;
    size_t len;
    char *v;

    v = qp("question=how+do+I%3F", "question", &len);
    assert_string_equal(v, "how do I?");
    assert_int_equal(len, 9);
    free(v);

    v = qp("question=caf%C3%A9%20au%20lait", "question", &len);
    assert_string_equal(v, "caf\xC3\xA9 au lait");
    assert_int_equal(len, 13);
    free(v);

    v = qp("question=a%26b%3Dc", "question", &len);
    assert_string_equal(v, "a&b=c");
    free(v);

    v = qp("question=%2B1", "question", &len);
    assert_string_equal(v, "+1");
    free(v);

    /* %00 decodes to a real NUL, counted in len so validation sees it */
    v = qp("question=a%00b", "question", &len);
    assert_non_null(v);
    assert_int_equal(len, 3);
    assert_int_equal(v[0], 'a');
    assert_int_equal(v[1], '\0');
    assert_int_equal(v[2], 'b');
    {
        const char *code;
        assert_int_equal(check(v, len, &code), 400);
        assert_string_equal(code, "invalid_utf8");
    }
    free(v);
}

static void test_query_param_missing(void **state)
{
    (void)state;
    size_t len;
    assert_null(qp(NULL, "question", &len));
    assert_null(qp("", "question", &len));
    assert_null(qp("a=1&b=2", "question", &len));
    assert_null(qp("question", "question", &len));        /* no '=' */
    assert_null(qp("questions=x", "question", &len));
    assert_null(qp("q=x", "question", &len));
    assert_null(qp("&&&", "question", &len));
}

static void test_query_param_first_occurrence(void **state)
{
    (void)state;
    size_t len;
    char *v = qp("question=first&question=second", "question", &len);
    assert_string_equal(v, "first");
    free(v);
}

static void test_query_param_prefix_not_confused(void **state)
{
    (void)state;
    size_t len;
    char *v = qp("xquestion=a&question=b", "question", &len);
    assert_string_equal(v, "b");
    free(v);
    v = qp("question_id=a&question=b", "question", &len);
    assert_string_equal(v, "b");
    free(v);
    /* the name appearing inside another parameter's value is not a match */
    v = qp("x=question%3Dno&question=yes", "question", &len);
    assert_string_equal(v, "yes");
    free(v);
    v = qp("last_event_id=abc%3A12", "last_event_id", &len);
    assert_string_equal(v, "abc:12");
    free(v);
}


/* ---------- api_check_feedback ---------- */

static int fb(const char *text, int *helpful, const char **reason)
{
    json_t *body = json_loads(text, 0, NULL);
    const char *code = NULL, *msg = NULL;
    int status;
    assert_non_null(body);
    *helpful = -1;
    status = api_check_feedback(body, helpful, reason, &code, &msg);
    if (status) {
        assert_string_equal(code, "invalid_feedback");
        assert_true(strlen(msg) > 0);
    }
    json_decref(body);     /* *reason is not looked at after this */
    return status;
}

static void test_feedback_body(void **state)
{
    (void)state;
    int h;
    const char *why;
    assert_int_equal(fb("{\"helpful\":true}", &h, &why), 0);
    assert_int_equal(h, 1);
    assert_null(why);
    assert_int_equal(fb("{\"helpful\":false,\"reason\":null}", &h, &why), 0);
    assert_int_equal(h, 0);
    assert_null(why);
    assert_int_equal(fb("{\"helpful\":false,\"reason\":\"vague\"}", &h, &why), 0);
    assert_non_null(why);
    /* wrong types and missing fields */
    assert_int_equal(fb("{}", &h, &why), 400);
    assert_int_equal(fb("{\"helpful\":1}", &h, &why), 400);
    assert_int_equal(fb("{\"helpful\":\"yes\"}", &h, &why), 400);
    assert_int_equal(fb("{\"helpful\":true,\"reason\":5}", &h, &why), 400);
}

static void test_feedback_reason_length(void **state)
{
    (void)state;
    int h;
    const char *why, *code, *msg;
    char *txt = xmalloc(4000);
    json_t *body;
    for (int n = 500; n <= 501; n++) {
        size_t len = (size_t)sprintf(txt, "{\"helpful\":false,\"reason\":\"");
        for (int i = 0; i < n; i++) len += (size_t)sprintf(txt + len, "\xC3\xA9");
        sprintf(txt + len, "\"}");
        body = json_loads(txt, 0, NULL);
        assert_non_null(body);
        assert_int_equal(api_check_feedback(body, &h, &why, &code, &msg), n == 500 ? 0 : 400);
        json_decref(body);
    }
    free(txt);
}

/* ---------- events_message_json ---------- */

static void test_events_message_json(void **state)
{
    (void)state;
    char out[160];
    size_t n = events_message_json("abc_DEF-123", out, sizeof out);
    assert_string_equal(out, "{\"type\":\"message\",\"message_id\":\"abc_DEF-123\"}");
    assert_int_equal(n, strlen(out));
    /* anything that is not an id is refused, so nothing needs escaping */
    assert_int_equal(events_message_json("a\"b", out, sizeof out), 0);
    assert_int_equal(events_message_json("", out, sizeof out), 0);
    assert_int_equal(events_message_json("a/b", out, sizeof out), 0);
    /* too small a buffer */
    assert_int_equal(events_message_json("abc", out, 20), 0);
}

/* ---------- the client address behind a proxy ---------- */

static void test_forwarded_client(void **state)
{
    static const struct { const char *xff, *want; } cases[] = {
        {"203.0.113.7", "203.0.113.7"},
        {"198.51.100.1, 203.0.113.7", "203.0.113.7"},        /* the proxy's entry is last */
        {"spoofed, 10.0.0.1 ,  192.0.2.5  ", "192.0.2.5"},
        {"2001:db8::1", "2001:db8::1"},
        {"a, ::ffff:192.0.2.1", "::ffff:192.0.2.1"},
        {"", NULL}, {" , ", NULL}, {"198.51.100.1,", NULL},
        {"not-an-address", NULL}, {"203.0.113.7:8080", NULL}, {"[2001:db8::1]", NULL},
        {"999.1.1.1", NULL}, {"1.2.3.4 5.6.7.8", NULL},
        {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb", NULL},
    };
    char out[64];
    (void)state;
    assert_int_equal(api_forwarded_client(NULL, out, sizeof out), -1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = api_forwarded_client(cases[i].xff, out, sizeof out);
        if (!cases[i].want) {
            if (rc != -1) fail_msg("%s: accepted as %s", cases[i].xff, out);
            continue;
        }
        if (rc != 0) fail_msg("%s: refused", cases[i].xff);
        assert_string_equal(out, cases[i].want);
    }
    assert_int_equal(api_forwarded_client("203.0.113.7", out, 8), -1);   /* does not fit */
}

/* ---------- routes ---------- */

static void test_parse_route(void **state)
{
    static const struct { const char *path; enum api_route_kind kind; const char *id; } cases[] = {
        {"/healthz", API_HEALTH, NULL}, {"/readyz", API_READY, NULL},
        {"//healthz/", API_HEALTH, NULL},
        {"/api/coach/sessions", API_SESSIONS, NULL}, {"/api/coach/start", API_SESSIONS, NULL},
        {"/api/coach/sessions/abc", API_SESSION, "abc"},
        {"/api/coach/sessions/abc/messages", API_MESSAGES, "abc"},
        {"/api/coach/stream/s1", API_SEED_STREAM, "s1"},
        {"/api/coach/sessions/s1/messages/m1/stream", API_MESSAGE_STREAM, "s1"},
        {"/api/coach/sessions/s1/messages/m1/cancel", API_CANCEL, "s1"},
        {"/api/coach/sessions/s1/messages/m1/other", API_NOT_FOUND, NULL},
        {"/api/coach/sessions/s1/other/m1/stream", API_NOT_FOUND, NULL},
        {"/api/coach/other/s1/messages/m1/stream", API_NOT_FOUND, NULL},
        /* a message id alone reaches nothing (issue 16) */
        {"/api/coach/messages/m1/stream", API_NOT_FOUND, NULL},
        {"/api/coach/messages/m1/cancel", API_NOT_FOUND, NULL},
        {"/api/coach/messages/m2/feedback", API_NOT_FOUND, NULL},
        {"/metrics", API_METRICS, NULL},
        {"/api/coach/sessions/s2/events", API_SESSION_EVENTS, "s2"},
        {"/api/coach/sessions/s2/messages/m2/feedback", API_FEEDBACK, "s2"},
        {"/api/other/sessions", API_NOT_FOUND, NULL}, {"/api", API_NOT_FOUND, NULL},
        {"/a/b/c/d/e/f/g/h", API_NOT_FOUND, NULL},           /* eight segments */
        {"/api/coach/sessions/s/messages/m/stream/x", API_NOT_FOUND, NULL},
        {"/", API_STATIC, NULL}, {"/app.js", API_STATIC, NULL}, {"/x/y", API_NOT_FOUND, NULL},
    };
    struct api_route r;
    char big[600];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(api_parse_route(cases[i].path, &r), 0);
        if (r.kind != cases[i].kind) fail_msg("%s: kind %d", cases[i].path, (int)r.kind);
        if (cases[i].id) assert_string_equal(r.id, cases[i].id);
        else if (r.kind != API_STATIC) assert_null(r.id);
        /* a message route's message id is the sixth segment */
        if (r.kind == API_MESSAGE_STREAM || r.kind == API_CANCEL || r.kind == API_FEEDBACK)
            assert_string_equal(r.mid, strstr(cases[i].path, "/m2/") ? "m2" : "m1");
        else assert_null(r.mid);
    }
    assert_int_equal(api_parse_route("/app.js", &r), 0);
    assert_string_equal(r.file, "app.js");
    assert_int_equal(api_parse_route("/", &r), 0);
    assert_string_equal(r.file, "");
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    assert_int_equal(api_parse_route(big, &r), -1);     /* 414 */
}

/* parent_name is limited in characters (was: bytes), and an escaped NUL
 * is refused rather than cut short in the database. */
static void test_parent_name_characters(void **state)
{
    const char *out;
    struct strbuf b = {0};
    json_t *v;
    for (int i = 0; i < 100; i++) strbuf_str(&b, "\xc3\xa9");     /* 100 x e-acute: 200 bytes */
    v = json_string(b.s);
    assert_int_equal(api_check_parent_name(v, &out), 0);
    assert_string_equal(out, b.s);
    json_decref(v);
    strbuf_str(&b, "e");
    v = json_string(b.s);
    assert_int_equal(api_check_parent_name(v, &out), 400);
    json_decref(v);
    free(b.s);
    v = json_stringn("a\0b", 3);
    assert_int_equal(api_check_parent_name(v, &out), 400);
    json_decref(v);
    v = json_integer(4);
    assert_int_equal(api_check_parent_name(v, &out), 400);
    json_decref(v);
    assert_int_equal(api_check_parent_name(NULL, &out), 0);
    assert_null(out);
    v = json_string("");
    assert_int_equal(api_check_parent_name(v, &out), 0);
    assert_null(out);
    json_decref(v);
}

/* A 2,000-character question of \u escapes (surrogate pairs: 12 bytes a
 * character) fits the body limit and is accepted as 2,000 characters. */
static void test_escaped_question_fits(void **state)
{
    struct strbuf b = {0};
    json_t *body = NULL, *q;
    const char *code, *msg;
    strbuf_str(&b, "{\"question\":\"");
    for (int i = 0; i < API_MAX_QUESTION_CHARS; i++) strbuf_str(&b, "\\ud83d\\ude34");
    strbuf_str(&b, "\"}");
    assert_true(b.len > 16 * 1024);
    assert_int_equal(http_parse_json_body(b.s, b.len, &body, &code, &msg), 0);
    q = json_object_get(body, "question");
    assert_int_equal(api_check_question(json_string_value(q), json_string_length(q), &code, &msg), 0);
    json_decref(body);
    assert_int_equal(http_parse_json_body(b.s, HTTP_MAX_BODY + 1, &body, &code, &msg), 413);
    assert_string_equal(code, "body_too_large");
    free(b.s);
}

static void test_default_max_connections(void **state)
{
    assert_int_equal(http_default_max_connections(64), 16);
    assert_int_equal(http_default_max_connections(1024), 496);
    assert_int_equal(http_default_max_connections(256), 112);
    assert_int_equal(http_default_max_connections(32), 1);
    assert_int_equal(http_default_max_connections(0), 1);
    assert_int_equal(http_default_max_connections(1L << 30), 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarded_client),
        cmocka_unit_test(test_parse_route),
        cmocka_unit_test(test_question_ok),
        cmocka_unit_test(test_question_empty),
        cmocka_unit_test(test_question_length_ascii),
        cmocka_unit_test(test_question_length_counts_characters),
        cmocka_unit_test(test_question_invalid_utf8),
        cmocka_unit_test(test_query_param_basic),
        cmocka_unit_test(test_query_param_decoding),
        cmocka_unit_test(test_query_param_missing),
        cmocka_unit_test(test_query_param_first_occurrence),
        cmocka_unit_test(test_query_param_prefix_not_confused),
        cmocka_unit_test(test_feedback_body),
        cmocka_unit_test(test_feedback_reason_length),
        cmocka_unit_test(test_events_message_json),
        cmocka_unit_test(test_parent_name_characters),
        cmocka_unit_test(test_escaped_question_fits),
        cmocka_unit_test(test_default_max_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
