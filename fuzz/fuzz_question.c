/* fuzz_question.c — libFuzzer driver for question validation
 * (api_check_question in src/api.c): any bytes as a question. Checked: the
 * answer is 0, 400 or 413 with a code and message; an accepted question is
 * valid UTF-8 with no NUL, has a character that is not blank, and has
 * 1-2,000 characters (counted as code points, not bytes). */
#include "api.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *q = (const char *)data, *code = NULL, *msg = NULL;
    int st;
    if (size > 16384) return 0;
    st = api_check_question(q, size, &code, &msg);
    if (st == 0) {
        size_t chars = util_utf8_len(q, size), i = 0;
        if (!util_utf8_valid(q, size) || memchr(q, '\0', size)) abort();
        if (chars < 1 || chars > API_MAX_QUESTION_CHARS) abort();
        while (i < size && strchr(" \t\r\n", q[i]) && q[i]) i++;
        if (i == size) abort();
    } else if ((st != 400 && st != 413) || !code || !msg) {
        abort();
    }
    return 0;
}
