/* ratelimit.h — token buckets by key (a client address or a session id) in
 * a table of fixed size, for the limits of api.c (questions per minute,
 * sessions per hour).
 *
 * A bucket holds up to `per_period` tokens and refills at per_period per
 * period_s; each allowed request takes one. The table has a fixed number of
 * slots (memory does not grow with the number of clients): a key is looked
 * for in a short probe window, and when the window is full the bucket used
 * longest ago is reused (a bucket that has refilled is as good as none).
 * So a flood of distinct keys can make the table forget a limited key
 * early; it cannot grow memory. Loop thread only. The table owns copies of
 * the keys (up to RATELIMIT_KEY_MAX bytes are compared). */
#ifndef COACH_RATELIMIT_H
#define COACH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 64

struct ratelimit;

/* slots is rounded up to a power of two (at least 16). */
struct ratelimit *ratelimit_new(int per_period, int period_s, size_t slots);
void ratelimit_free(struct ratelimit *rl);

/* Takes one token from key's bucket at now_ms (a monotonic clock). Returns
 * 0 when allowed; else nothing is taken and the result is the whole
 * seconds (at least 1) until a token is back, for Retry-After. */
int ratelimit_take(struct ratelimit *rl, const char *key, uint64_t now_ms);

#endif
