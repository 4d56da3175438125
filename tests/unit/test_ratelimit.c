/* test_ratelimit.c — token buckets: the limit per period, refill over
 * time, Retry-After in whole seconds, keys kept apart, and a table that
 * stays its size under a flood of keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "../../src/util.c"
#include "../../src/ratelimit.c"

static void test_limit_and_refill(void **state)
{
    struct ratelimit *rl = ratelimit_new(20, 60, 64);
    (void)state;
    for (int i = 0; i < 20; i++) assert_int_equal(ratelimit_take(rl, "1.2.3.4", 1000), 0);
    /* the 21st in the same minute: one token comes back every 3 s */
    assert_int_equal(ratelimit_take(rl, "1.2.3.4", 1000), 3);
    assert_int_equal(ratelimit_take(rl, "1.2.3.4", 2500), 2);
    assert_int_equal(ratelimit_take(rl, "1.2.3.4", 4000), 0);
    assert_int_equal(ratelimit_take(rl, "1.2.3.4", 4000), 3);
    /* another key has its own bucket */
    assert_int_equal(ratelimit_take(rl, "5.6.7.8", 4000), 0);
    /* a minute later the bucket is full again, but not fuller */
    for (int i = 0; i < 20; i++) assert_int_equal(ratelimit_take(rl, "1.2.3.4", 200000), 0);
    assert_true(ratelimit_take(rl, "1.2.3.4", 200000) > 0);
    ratelimit_free(rl);
}

static void test_per_hour(void **state)
{
    struct ratelimit *rl = ratelimit_new(2, 3600, 16);
    (void)state;
    assert_int_equal(ratelimit_take(rl, "a", 0), 0);
    assert_int_equal(ratelimit_take(rl, "a", 0), 0);
    assert_int_equal(ratelimit_take(rl, "a", 0), 1800);
    ratelimit_free(rl);
}

static void test_flood_of_keys(void **state)
{
    struct ratelimit *rl = ratelimit_new(1, 60, 16);
    char key[32];
    (void)state;
    assert_int_equal(ratelimit_take(rl, "victim", 0), 0);
    assert_true(ratelimit_take(rl, "victim", 0) > 0);
    /* 10,000 other keys go through a 16-slot table without growing it */
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(ratelimit_take(rl, key, 1), 0);
    }
    /* long keys are cut, empty ones share one bucket */
    assert_int_equal(ratelimit_take(rl, "", 2), 0);
    assert_true(ratelimit_take(rl, "", 2) > 0);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_refill),
        cmocka_unit_test(test_per_hour),
        cmocka_unit_test(test_flood_of_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
