/* jtext.c — compact JSON text of a jansson value, written by cJSON.
 *
 * A recursive copy of the jansson tree into a cJSON tree, then
 * cJSON_PrintUnformatted. Objects are walked in jansson's order (insertion
 * order since jansson 2.8), so keys come out as json_dumps writes them.
 * Anything cJSON cannot hold exactly makes the copy fail, and the caller
 * gets jansson's own text instead: correctness first, speed where it is
 * free. See jtext.h. */
#include "jtext.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define JTEXT_MAX_DEPTH 64
#define JTEXT_MAX_EXACT_INT 9007199254740992LL     /* 2^53 */

/* A real as the shortest text that reads back as exactly the same double
 * (cJSON's own number printing settles for 15 digits when they read back
 * "close enough"). Written raw; the C locale's '.' is coachd's. */
static cJSON *real(double d)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) break;
    }
    if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");          /* stays a real */
    return cJSON_CreateRaw(buf);
}

static cJSON *copy(const json_t *v, int depth)
{
    cJSON *out = NULL, *item;
    const char *key;
    json_t *sub;
    size_t i;

    if (depth > JTEXT_MAX_DEPTH) return NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        out = cJSON_CreateObject();
        json_object_foreach((json_t *)v, key, sub) {
            if (!out || !(item = copy(sub, depth + 1))) goto fail;
            cJSON_AddItemToObject(out, key, item);
        }
        return out;
    case JSON_ARRAY:
        out = cJSON_CreateArray();
        json_array_foreach(v, i, sub) {
            if (!out || !(item = copy(sub, depth + 1))) goto fail;
            cJSON_AddItemToArray(out, item);
        }
        return out;
    case JSON_STRING:
        if (memchr(json_string_value(v), '\0', json_string_length(v))) return NULL;
        return cJSON_CreateString(json_string_value(v));
    case JSON_INTEGER: {
        json_int_t n = json_integer_value(v);
        if (n > JTEXT_MAX_EXACT_INT || n < -JTEXT_MAX_EXACT_INT) return NULL;
        return cJSON_CreateNumber((double)n);
    }
    case JSON_REAL:
        return real(json_real_value(v));
    case JSON_TRUE:
        return cJSON_CreateTrue();
    case JSON_FALSE:
        return cJSON_CreateFalse();
    case JSON_NULL:
        return cJSON_CreateNull();
    }
fail:
    cJSON_Delete(out);
    return NULL;
}

char *jtext_dump(const json_t *v, size_t *len)
{
    cJSON *c = v ? copy(v, 0) : NULL;
    char *txt = c ? cJSON_PrintUnformatted(c) : NULL;

    cJSON_Delete(c);
    if (!txt && v) txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (txt && len) *len = strlen(txt);
    return txt;
}
