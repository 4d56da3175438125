/* test_jtext.c — jtext_dump() writes what json_dumps writes.
 *
 * For every value here the text must parse back (with jansson) to a value
 * equal to the original, and, where no control character or fractional
 * number is involved, be byte for byte json_dumps(JSON_COMPACT). The
 * values cJSON cannot carry exactly must come back through jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../src/jtext.c"

static void round_trips(json_t *v, int same_bytes)
{
    size_t len = 0;
    char *got = jtext_dump(v, &len);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *back;

    assert_non_null(got);
    assert_int_equal(len, strlen(got));
    back = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!back || !json_equal(back, v)) fail_msg("not the same value: %s (want %s)", got, want);
    if (same_bytes && strcmp(got, want) != 0) fail_msg("bytes differ: %s vs %s", got, want);
    json_decref(back);
    free(got);
    free(want);
    json_decref(v);
}

static void test_same_text_as_jansson(void **state)
{
    (void)state;
    round_trips(json_pack("{s:s, s:b, s:{s:b}, s:i, s:[{s:s, s:s}, {s:s, s:s}]}",
                          "model", "gpt-4o-mini", "stream", 1, "stream_options", "include_usage", 1,
                          "max_tokens", 700, "messages",
                          "role", "system", "content", "Be calm.\n\n[1] \"Sleep\" (source: AAP)\n- dim lights",
                          "role", "user", "content", "caf\xC3\xA9 \xF0\x9F\x98\xB4 \xE2\x80\xA8 </script> \\ /"), 1);
    round_trips(json_pack("[s, s, s]", "{\"chunk\":\"Hi \"}", "{\"done\":true}", ""), 1);
    round_trips(json_pack("{}"), 1);
    round_trips(json_pack("[]"), 1);
    round_trips(json_pack("[n, b, b, i, i]", 0, 1, -5, 2147483647), 1);
    round_trips(json_string("x"), 1);
    round_trips(json_integer(4102444800000LL), 1);        /* a time in ms: above INT_MAX */
    round_trips(json_pack("{s:s, s:s}", "z", "last", "a", "first"), 1);   /* key order kept */
}

static void test_same_value(void **state)
{
    (void)state;
    round_trips(json_pack("{s:s}", "c", "tab\there \x01\x1f del\x7f"), 0);   /* \u001f vs \u001F */
}

/* Reals keep their exact value, written as short as that allows, and stay
 * reals: 1.0 is not written as 1. */
static void test_reals(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:f, s:f, s:f, s:f}", "t", 0.3, "u", 1.0, "v", 1e-7, "w", 0.1 + 0.2);
    char *got = jtext_dump(v, NULL);
    json_t *back = json_loads(got, 0, NULL);
    const char *k;
    json_t *x;

    assert_non_null(back);
    json_object_foreach(v, k, x)
        assert_true(json_real_value(json_object_get(back, k)) == json_real_value(x));
    assert_string_equal(got, "{\"t\":0.3,\"u\":1.0,\"v\":1e-07,\"w\":0.30000000000000004}");
    json_decref(back);
    json_decref(v);
    free(got);
}

static void test_falls_back_to_jansson(void **state)
{
    (void)state;
    json_t *deep = json_array(), *a = deep;
    round_trips(json_integer(9007199254740993LL), 1);      /* 2^53 + 1 */
    round_trips(json_pack("[I]", (json_int_t)-9007199254740993LL), 1);
    round_trips(json_stringn_nocheck("a\0b", 3), 1);
    for (int i = 0; i < 100; i++) {
        json_t *next = json_array();
        json_array_append_new(a, next);
        a = next;
    }
    round_trips(deep, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_text_as_jansson),
        cmocka_unit_test(test_same_value),
        cmocka_unit_test(test_reals),
        cmocka_unit_test(test_falls_back_to_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
