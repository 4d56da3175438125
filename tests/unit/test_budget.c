/* test_budget.c — token budgets (src/budget.c) against a stub store: a
 * spent session budget, a spent daily budget, and usage counted at once
 * although the store's daily sum is re-read only every 5 s. These are the
 * budget assertions the openai engine's lite-mode test made before lite
 * mode moved into the turn's pipeline (issue 13); the lite answer itself is
 * tested end to end (tests/e2e/openai.test.mjs, "budget"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/util.c"
#include "../../src/budget.c"

static long stub_session_tokens, stub_daily_tokens;
static int daily_reads;

long store_tokens_session(struct store *st, const char *session_id)
{
    (void)st;
    assert_string_equal(session_id, "s1");
    return stub_session_tokens;
}

long store_tokens_since(struct store *st, uint64_t since_ms)
{
    (void)st;
    assert_int_equal(since_ms % 86400000u, 0);      /* midnight UTC */
    daily_reads++;
    return stub_daily_tokens;
}

static struct store *dummy(void)
{
    static int d;
    return (struct store *)(void *)&d;
}

static void test_budget_spent(void **state)
{
    struct budget *b = budget_new(dummy(), 1000, 0);
    (void)state;
    stub_session_tokens = 1000;            /* == budget: spent */
    assert_int_equal(budget_spent(b, "s1"), 1);
    stub_session_tokens = 999;
    assert_int_equal(budget_spent(b, "s1"), 0);
    budget_free(b);

    b = budget_new(dummy(), 0, 50);        /* unlimited; the daily one is spent */
    stub_session_tokens = 5000;
    stub_daily_tokens = 50;
    assert_int_equal(budget_spent(b, "s1"), 1);
    budget_free(b);

    /* under budget; an answer's usage (11 + 7) counts at once although the
     * store's sum is only re-read every 5 s */
    b = budget_new(dummy(), 0, 50);
    stub_daily_tokens = 49;
    daily_reads = 0;
    assert_int_equal(budget_spent(b, "s1"), 0);
    budget_add(b, 11 + 7);
    assert_int_equal(budget_spent(b, "s1"), 1);  /* 49 + 18 >= 50 */
    assert_int_equal(daily_reads, 1);
    budget_free(b);

    assert_int_equal(budget_spent(NULL, "s1"), 0);   /* no budget: no limits */
    budget_add(NULL, 5);
    stub_session_tokens = stub_daily_tokens = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_budget_spent)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
