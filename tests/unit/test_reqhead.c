/* test_reqhead.c — the strict request-head check as a table: what is
 * accepted (with its Content-Length), and each refusal with its status and
 * code: smuggling framings (two Content-Lengths, Transfer-Encoding with or
 * without one, a space before the colon), folded lines, bad names and
 * values, methods, versions, targets, Expect, a body on HEAD, and a head
 * that is not terminated. Also reqhead_end fed a byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../src/util.c"
#include "../../src/reqhead.c"

struct row { const char *head; int status; const char *code; size_t cl; };

static const struct row rows[] = {
    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, NULL, 0},
    {"GET /healthz HTTP/1.0\n\n", 0, NULL, 0},
    {"POST /api/coach/sessions HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n", 0, NULL, 17},
    {"POST / HTTP/1.1\r\nContent-Length:\t 0 \r\n\r\n", 0, NULL, 0},
    {"GET / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n", 0, NULL, 0},
    {"GET /a?b=%00&c=d HTTP/1.1\r\nX-Empty:\r\n\r\n", 0, NULL, 0},
    {"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 400, "duplicate_content_length", 0},
    {"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", 400, "duplicate_content_length", 0},
    {"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n", 400, "invalid_content_length", 0},
    {"POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n", 400, "invalid_content_length", 0},
    {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, "invalid_content_length", 0},
    {"POST / HTTP/1.1\r\nContent-Length: 40000\r\n\r\n", 413, "body_too_large", 0},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, "conflicting_framing", 0},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "length_required", 0},
    {"GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", 400, "invalid_header_name", 0},
    {"GET / HTTP/1.1\r\nBad[Name]: x\r\n\r\n", 400, "invalid_header_name", 0},
    {"GET / HTTP/1.1\r\n: x\r\n\r\n", 400, "invalid_header", 0},
    {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "invalid_header", 0},
    {"GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", 400, "obsolete_line_folding", 0},
    {"GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n", 400, "obsolete_line_folding", 0},
    {"GET / HTTP/1.1\r\nX-A: b\x01\r\n\r\n", 400, "invalid_header_value", 0},
    {"GET / HTTP/1.1\r\nX-A: b\rc\r\n\r\n", 400, "invalid_header", 0},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate_host", 0},
    {"GET / HTTP/1.1\r\nExpect: something\r\n\r\n", 417, "expectation_failed", 0},
    {"HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400, "unexpected_body", 0},
    {"BREW / HTTP/1.1\r\n\r\n", 501, "method_not_implemented", 0},
    {"get / HTTP/1.1\r\n\r\n", 501, "method_not_implemented", 0},
    {"G(T / HTTP/1.1\r\n\r\n", 400, "invalid_request_line", 0},
    {"GET  / HTTP/1.1\r\n\r\n", 400, "invalid_request_line", 0},
    {"GET /a b HTTP/1.1\r\n\r\n", 400, "invalid_request_line", 0},
    {"GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported", 0},
    {"GET / HTTP/1.1 \r\n\r\n", 400, "invalid_request_line", 0},
    {"GET /\r\n\r\n", 400, "invalid_request_line", 0},
    {"GET http://x/ HTTP/1.1\r\n\r\n", 400, "invalid_target", 0},
    {"GET /a\x7f HTTP/1.1\r\n\r\n", 400, "invalid_target", 0},
    {"\r\n\r\n", 400, "invalid_request_line", 0},
    /* found by fuzz_reqhead: not ended by a blank line */
    {"GET / HTTP/1.1\r\nHost: 1\r\n\r", 400, "invalid_header", 0},
    {"GET / HTTP/1.1\r\nHost: 1\r\n", 400, "invalid_header", 0},
};

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct reqhead h;
        int st = reqhead_check(rows[i].head, strlen(rows[i].head), 32768, &h);
        if (st != rows[i].status) fail_msg("row %zu (%s): status %d, want %d", i, rows[i].head, st, rows[i].status);
        if (rows[i].code && strcmp(h.code, rows[i].code))
            fail_msg("row %zu (%s): code %s, want %s", i, rows[i].head, h.code, rows[i].code);
        if (!rows[i].code) assert_int_equal(h.content_length, rows[i].cl);
        if (st) assert_non_null(h.message);
    }
}

static void test_end_incremental(void **state)
{
    static const char *const heads[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY", "GET / HTTP/1.1\n\nX", "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n\rnope", "no end\r\n",
    };
    static const size_t want[] = {27, 16, 18, 0, 0};
    for (size_t i = 0; i < 5; i++) {
        size_t scan = 0, end = 0, n, len = strlen(heads[i]);
        for (n = 1; n <= len && !end; n++) end = reqhead_end(heads[i], n, &scan);
        assert_int_equal(end, want[i]);
        scan = 0;
        assert_int_equal(reqhead_end(heads[i], len, &scan), want[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_end_incremental),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
