/* budget.c — token budgets. The session's tokens are summed by the store
 * per question; today's sum scans today's answers, so it is read at most
 * every BUDGET_DAILY_CACHE_MS and the answers that ended since are added
 * to it as they end (budget_add). */
#include "budget.h"

#include <stdlib.h>

#include "store.h"
#include "util.h"

#define BUDGET_DAILY_CACHE_MS 5000u       /* re-read today's token sum this often */

struct budget {
    struct store *store;
    long session_budget, daily_budget;
    long daily_tokens;                    /* cached sum for today, plus ours since */
    uint64_t daily_at_ms, daily_midnight;
};

struct budget *budget_new(struct store *store, long session_tokens, long daily_tokens)
{
    struct budget *b = xcalloc(1, sizeof *b);
    b->store = store;
    b->session_budget = session_tokens;
    b->daily_budget = daily_tokens;
    return b;
}

void budget_free(struct budget *b)
{
    free(b);
}

static long daily_tokens(struct budget *b)
{
    uint64_t now = util_now_ms(), midnight = util_utc_midnight_ms(util_wall_ms());
    if (b->daily_at_ms == 0 || midnight != b->daily_midnight ||
        now - b->daily_at_ms >= BUDGET_DAILY_CACHE_MS) {
        b->daily_tokens = store_tokens_since(b->store, midnight);
        b->daily_at_ms = now;
        b->daily_midnight = midnight;
    }
    return b->daily_tokens;
}

int budget_spent(struct budget *b, const char *session_id)
{
    if (!b || !b->store) return 0;
    if (b->session_budget > 0 &&
        store_tokens_session(b->store, session_id) >= b->session_budget)
        return 1;
    return b->daily_budget > 0 && daily_tokens(b) >= b->daily_budget;
}

int budget_daily_due(const struct budget *b)
{
    uint64_t now = util_now_ms(), midnight = util_utc_midnight_ms(util_wall_ms());
    return b && (b->daily_at_ms == 0 || midnight != b->daily_midnight ||
                 now - b->daily_at_ms >= BUDGET_DAILY_CACHE_MS);
}

int budget_spent_known(struct budget *b, long session_tokens, long daily_read)
{
    if (!b) return 0;
    if (daily_read >= 0) {
        b->daily_tokens = daily_read;
        b->daily_at_ms = util_now_ms();
        b->daily_midnight = util_utc_midnight_ms(util_wall_ms());
    }
    if (b->session_budget > 0 && session_tokens >= b->session_budget) return 1;
    return b->daily_budget > 0 && b->daily_tokens >= b->daily_budget;
}

void budget_add(struct budget *b, long tokens)
{
    if (b) b->daily_tokens += tokens;
}
