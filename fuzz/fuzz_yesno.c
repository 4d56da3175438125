/* fuzz_yesno.c — libFuzzer driver for the grounded engine's yes/no reader:
 * any bytes, split at the first NUL into a question and a passage sentence,
 * must give grounded_is_yes_no 0 or 1 and a verdict that is NULL or one of
 * the fixed strings, NULL whenever the question is not yes/no. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_grounded.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ok[] = {"", "No, it is best not to.", "Yes, usually.",
                                     "Usually, yes.", "Yes, it is best avoided.", "Usually not.",
                                     "It depends.", NULL};
    static int init;
    char sentence[2048];
    const char *q = (const char *)data;
    size_t qlen = 0;
    if (size > 4096) return 0;
    if (!init) { if (text_init()) abort(); init = 1; }
    while (qlen < size && data[qlen]) qlen++;
    size_t sl = qlen < size ? size - qlen - 1 : 0;
    if (sl >= sizeof sentence) sl = sizeof sentence - 1;
    memcpy(sentence, qlen < size ? q + qlen + 1 : "", sl);
    sentence[sl] = '\0';
    int yn = grounded_is_yes_no(q, qlen);
    if (yn != 0 && yn != 1) abort();
    const char *v = grounded_verdict(q, qlen, sentence);
    if (v && !yn) abort();
    if (v) {
        int found = 0;
        for (int i = 0; ok[i]; i++) if (strcmp(v, ok[i]) == 0) found = 1;
        if (!found) abort();
    }
    return 0;
}
