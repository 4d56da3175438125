/* fuzz_reqhead.c — libFuzzer driver for the strict request-head check
 * (src/reqhead.c): any bytes as what a client sent before evhttp sees it.
 * Checked: reqhead_end finds the same end whether the bytes arrive at once
 * or one at a time, and the end is just past a blank line; reqhead_check
 * on the head answers only with the documented statuses, sets a code and a
 * message on refusal, and on acceptance gives a Content-Length within the
 * limit that appears in the head as digits. */
#include "reqhead.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t scan = 0, scan1 = 0, end, end1 = 0;
    struct reqhead h;
    int st;
    if (size > 65536) return 0;
    end = reqhead_end(p, size, &scan);
    for (size_t n = 1; n <= size && !end1; n++) end1 = reqhead_end(p, n, &scan1);
    if (end != end1) abort();
    if (end) {
        if (end > size || p[end - 1] != '\n' || (p[end - 2] != '\n' && p[end - 2] != '\r')) abort();
    }
    st = reqhead_check(p, end ? end : size, 32768, &h);
    switch (st) {
    case 0:
        if (!end) abort();               /* an unterminated head is never acceptable */
        if (h.content_length > 32768) abort();
        if (h.content_length) {
            char digits[32];
            snprintf(digits, sizeof digits, "%zu", h.content_length);
            if (!memmem(p, end, digits, strlen(digits))) abort();
        }
        break;
    case 400: case 411: case 413: case 417: case 501: case 505:
        if (h.status != st || !h.code || !h.message) abort();
        break;
    default:
        abort();
    }
    return 0;
}
