/* ratelimit.c — fixed-size token-bucket table; see ratelimit.h.
 *
 * Open addressing on an FNV-1a hash with a probe window of RL_PROBE slots.
 * A slot is free when it was never used or its bucket has refilled (then
 * forgetting it changes nothing); otherwise, with the window full, the
 * slot touched longest ago is taken over. */
#include "ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RL_PROBE 8

struct slot {
    char key[RATELIMIT_KEY_MAX + 1];    /* "" when never used */
    double tokens;                      /* at last_ms */
    uint64_t last_ms;
};

struct ratelimit {
    double cap, per_ms;                 /* bucket size, refill per ms */
    size_t mask;
    struct slot *slots;
};

struct ratelimit *ratelimit_new(int per_period, int period_s, size_t slots)
{
    struct ratelimit *rl = xcalloc(1, sizeof *rl);
    size_t n = 16;
    while (n < slots) n <<= 1;
    rl->cap = per_period > 0 ? per_period : 1;
    rl->per_ms = rl->cap / ((period_s > 0 ? period_s : 1) * 1000.0);
    rl->mask = n - 1;
    rl->slots = xcalloc(n, sizeof *rl->slots);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl) return;
    free(rl->slots);
    free(rl);
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The bucket's tokens at now (refilled, at most cap). */
static double level(const struct ratelimit *rl, const struct slot *s, uint64_t now)
{
    double t = s->tokens + (double)(now > s->last_ms ? now - s->last_ms : 0) * rl->per_ms;
    return t < rl->cap ? t : rl->cap;
}

static struct slot *find(struct ratelimit *rl, const char *key, size_t kl, uint64_t now)
{
    uint64_t h = fnv1a(key, kl);
    struct slot *reuse = NULL, *oldest = NULL;
    for (size_t i = 0; i < RL_PROBE; i++) {
        struct slot *s = &rl->slots[(h + i) & rl->mask];
        if (s->key[0] && strncmp(s->key, key, kl) == 0 && s->key[kl] == '\0') return s;
        if (!reuse && (!s->key[0] || level(rl, s, now) >= rl->cap)) reuse = s;
        if (!oldest || s->last_ms < oldest->last_ms) oldest = s;
    }
    reuse = reuse ? reuse : oldest;
    memcpy(reuse->key, key, kl);
    reuse->key[kl] = '\0';
    reuse->tokens = rl->cap;
    reuse->last_ms = now;
    return reuse;
}

int ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_ms)
{
    size_t kl = strlen(key);
    struct slot *s;
    double t, secs;
    if (kl == 0) key = "-", kl = 1;
    if (kl > RATELIMIT_KEY_MAX) kl = RATELIMIT_KEY_MAX;
    s = find(rl, key, kl, now_ms);
    t = level(rl, s, now_ms);
    s->last_ms = now_ms;
    if (t >= 1.0) {
        s->tokens = t - 1.0;
        return 0;
    }
    s->tokens = t;
    secs = ceil((1.0 - t) / rl->per_ms / 1000.0 - 1e-9);  /* until a token is back */
    return secs >= 1.0 ? (int)secs : 1;
}
