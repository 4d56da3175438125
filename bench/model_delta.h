/* model_delta.h — the model-sized delta splitter shared by the relay
 * figure (tests/unit/test_relay.c) and its CPU benchmark
 * (bench/relayfilter.c), so both cut answers the same way: a word with the
 * blank before it, up to 3 digits, or one other byte (a UTF-8 character
 * whole). Header only; borrows s, allocates nothing. */
#ifndef COACH_MODEL_DELTA_H
#define COACH_MODEL_DELTA_H

#include <ctype.h>
#include <stddef.h>

/* The length of the delta starting at s[at] (at < len). */
static inline size_t model_delta(const char *s, size_t len, size_t at)
{
    size_t i = at;
    if (s[i] == ' ' && i + 1 < len && s[i + 1] != ' ') i++;
    if (isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80) {
        while (i < len && (isalpha((unsigned char)s[i]) || s[i] == '\'' ||
                           (unsigned char)s[i] >= 0x80))
            i++;
    } else if (isdigit((unsigned char)s[i])) {
        for (size_t d = 0; i < len && d < 3 && isdigit((unsigned char)s[i]); d++) i++;
    } else {
        i++;
    }
    return i - at;
}

#endif
