/* jtext.h — compact JSON text of a jansson value, written by cJSON.
 *
 * coachd builds and reads JSON with jansson everywhere. Its writer spends
 * about 70 instructions per byte on string escaping (a call per code point),
 * and two texts are large and written on the event loop: an upstream
 * request body (10-15 KB) and an answer's saved event log. jtext_dump()
 * copies the value into a cJSON tree and prints that: copy and print
 * together take about a third of the instructions (826,000 -> 277,000 for
 * a 13.6 KB request; docs/openai.md, "What was changed on the way"). The text means the same as json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY): same key order, same escapes, except that control
 * characters come out as \u001f rather than \u001F. */
#ifndef COACH_JTEXT_H
#define COACH_JTEXT_H

#include <jansson.h>
#include <stddef.h>

/* Returns the compact text of v (any JSON value), NUL-terminated, with its
 * length in *len when len is not NULL; the caller frees it with free().
 * Never NULL for a value that json_dumps could write: when cJSON cannot
 * carry the value exactly (an integer beyond 2^53, a string with a NUL,
 * nesting past 64 levels), jansson writes it instead. */
char *jtext_dump(const json_t *v, size_t *len);

#endif
