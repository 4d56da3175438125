/* fuzz_eventid.c — libFuzzer driver for the SSE event id parser
 * (turn_parse_event_id in src/turn.c): any bytes as a Last-Event-ID.
 * Checked: on success the message id is a valid id (util_id_valid) that
 * fits, the position is at most 10,000,000, and formatting them again
 * (turn_format_event_id) gives the same text when the input had no
 * leading zeros. */
#include "turn.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[256], mid[64], again[128];
    size_t seq = 0;
    if (size >= sizeof in) return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    if (turn_parse_event_id(in, mid, sizeof mid, &seq) != 0) return 0;
    if (!util_id_valid(mid) || strlen(mid) >= sizeof mid || seq > 10000000) abort();
    turn_format_event_id(mid, seq, again, sizeof again);
    const char *colon = strrchr(in, ':');
    if (colon && !(colon[1] == '0' && colon[2]) && strlen(in) == size && strcmp(again, in) != 0)
        abort();
    return 0;
}
