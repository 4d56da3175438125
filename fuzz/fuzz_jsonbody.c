/* fuzz_jsonbody.c — libFuzzer driver for JSON request bodies: any bytes
 * as a POST body through http_parse_json_body (src/http.c), then the
 * checks every route runs on the object: parent_name, feedback, and the
 * question member with api_check_question (src/api.c). Checked: statuses
 * are the documented ones with a code and message; an accepted body is an
 * object; an accepted parent_name has at most 100 characters and no NUL;
 * an accepted feedback reason has at most 500 characters. */
#include "api.h"
#include "http.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *code = NULL, *msg = NULL, *name, *reason;
    json_t *body = NULL, *q;
    int st, helpful;
    if (size > 40000) return 0;
    st = http_parse_json_body((const char *)data, size, &body, &code, &msg);
    if (st) {
        if ((st != 400 && st != 413) || !code || !msg || body) abort();
        return 0;
    }
    if (!json_is_object(body)) abort();
    if (api_check_parent_name(json_object_get(body, "parent_name"), &name) == 0 && name) {
        if (util_utf8_len(name, strlen(name)) > API_MAX_PARENT_NAME_CHARS || !*name) abort();
    }
    code = msg = NULL;
    st = api_check_feedback(body, &helpful, &reason, &code, &msg);
    if (st == 0) {
        if (reason && util_utf8_len(reason, strlen(reason)) > API_MAX_REASON_CHARS) abort();
    } else if (st != 400 || !code || !msg) {
        abort();
    }
    q = json_object_get(body, "question");
    if (json_is_string(q)) {
        code = msg = NULL;
        st = api_check_question(json_string_value(q), json_string_length(q), &code, &msg);
        if (st && (!code || !msg)) abort();
    }
    json_decref(body);
    return 0;
}
