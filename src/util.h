/* util.h — small shared helpers: allocation, ids, UTF-8, time.
 *
 * Out-of-memory policy (decided once, here): every allocation in coachd goes
 * through xmalloc/xcalloc/xrealloc/xstrdup, which abort() with a message when
 * the allocator fails. A server that cannot allocate a few hundred bytes
 * cannot make progress safely; Redis makes the same choice (zmalloc_oom). */
#ifndef COACH_UTIL_H
#define COACH_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Writes a URL-safe random identifier of `bytes` random bytes (from the
 * kernel's getrandom), encoded base64url without padding, into out (which
 * must hold 4*bytes/3+2 chars). Returns 0, or -1 if randomness failed. */
int util_random_id(char *out, size_t outlen, size_t bytes);

/* FNV-1a of s[0..n): the one string hash the hash tables share. Pure. */
uint32_t util_hash(const char *s, size_t n);

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates, no
 * code points above U+10FFFF, no NUL bytes), else 0. */
int util_utf8_valid(const char *s, size_t len);

/* Number of code points in well-formed UTF-8. */
size_t util_utf8_len(const char *s, size_t len);

/* A growable string. s is NUL-terminated once anything was added and is
 * owned by the struct: free(b.s) when done. Start from {0}. */
struct strbuf {
    char *s;
    size_t len, cap;
};
void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_str(struct strbuf *b, const char *s);          /* NULL adds nothing */
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Milliseconds on the monotonic clock / since the Unix epoch. */
uint64_t util_now_ms(void);
uint64_t util_wall_ms(void);
/* The start of the UTC day containing wall_ms (ms since the epoch). Pure. */
uint64_t util_utc_midnight_ms(uint64_t wall_ms);

/* ISO-8601 UTC timestamp with milliseconds ("2026-11-23T10:00:00.123Z")
 * for a wall-clock time in ms. out must hold 25 bytes. */
void util_iso8601(uint64_t wall_ms, char *out, size_t outlen);

/* 1 when id is a plausible identifier we issued: 1..64 chars of
 * [A-Za-z0-9_-]. Used to reject junk before touching the database. */
int util_id_valid(const char *id);

/* A bounded best-k list: entries ordered by score, higher first, and an
 * equal score by id, lower first. util_topk_push offers one (score, id):
 * kept when fewer than k are held or it ranks above the last, which then
 * falls off. top (caller-owned, room for k) and *n start empty (0); never
 * more than k are held. Pure. Returns 1 when the entry was kept. */
struct util_scored {
    double score;
    int64_t id;
};
int util_topk_push(struct util_scored *top, size_t *n, size_t k, double score, int64_t id);

#endif
