/* reqhead.h — the strict check of an HTTP/1.x request head (request line
 * and header fields), run on the raw bytes before libevent's evhttp parses
 * them (http.c holds each head back until it is whole and checked).
 *
 * evhttp 2.1 is lenient where leniency lets a request be read two ways
 * (request smuggling behind a proxy): the first of two Content-Length
 * headers wins, "Transfer-Encoding : chunked" is an ordinary header, folded
 * lines are joined. This parser refuses all of those, so that what reaches
 * evhttp has exactly one reading, and it checks everything evhttp would
 * otherwise answer with its own HTML error page (method, version, target,
 * Expect), so that every error is coachd's JSON.
 *
 * Pure (no I/O, no state; one short-lived copy of the target); fuzzed by
 * fuzz/fuzz_reqhead.c. */
#ifndef COACH_REQHEAD_H
#define COACH_REQHEAD_H

#include <stddef.h>

struct reqhead {
    size_t content_length;       /* 0 when absent */
    int status;                  /* 0 = acceptable, else the HTTP status to answer */
    const char *code;            /* error code for the JSON body (static) */
    const char *message;         /* message for the JSON body (static) */
};

/* Checks the head p[0..len), which must end with its blank line ("\r\n\r\n"
 * or "\n\n"; bare LF line ends are accepted as RFC 9112 allows). max_body
 * is the largest Content-Length accepted. Returns 0 and fills h on an
 * acceptable head; otherwise returns the status (400, 411, 413, 417, 501,
 * 505) with h->code and h->message set. */
int reqhead_check(const char *p, size_t len, size_t max_body, struct reqhead *h);

/* Returns the offset just past the blank line ending the head that starts
 * at p, or 0 when p[0..len) has no complete head yet. *scan (start at 0)
 * remembers how far a previous call looked so that a head arriving one byte
 * at a time is scanned once. */
size_t reqhead_end(const char *p, size_t len, size_t *scan);

#endif
