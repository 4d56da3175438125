/* fuzz_api.c — libFuzzer driver for the request-line parsers of src/api.c:
 * the route (api_parse_route) and the query parameters (api_query_param,
 * on evhttp_parse_query_str). Input: a path, then optionally '?' and a
 * query. Checked: a route id, when set, is one non-empty segment of the
 * path; a parameter value's length matches its bytes (an encoded NUL kept)
 * and the lengths never exceed the query's. */
#include "api.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"question", "last_event_id", ""};
    char in[1024], *q;
    struct api_route r;
    if (size >= sizeof in) return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    q = strchr(in, '?');
    if (q) *q++ = '\0';
    if (api_parse_route(in, &r) == 0 && r.id) {
        if (!*r.id || strchr(r.id, '/') || !strstr(in, r.id)) abort();
    }
    if (api_parse_route(in, &r) == 0 && r.mid) {      /* a message route: both ids */
        if (!r.id || !*r.mid || strchr(r.mid, '/') || !strstr(in, r.mid)) abort();
    }
    {
        char addr[64];                                /* X-Forwarded-For */
        if (api_forwarded_client(in, addr, sizeof addr) == 0 && (!*addr || !strstr(in, addr)))
            abort();
    }
    for (size_t i = 0; q && i < sizeof names / sizeof names[0]; i++) {
        size_t len = 0;
        char *v = api_query_param(q, names[i], &len);
        if (v && (len > strlen(q) || strlen(v) > len)) abort();
        free(v);
    }
    return 0;
}
