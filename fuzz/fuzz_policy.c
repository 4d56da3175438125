/* fuzz_policy.c — libFuzzer driver for the safety policy loader and, on
 * a policy it accepts, the normaliser and classifier (src/safety.c): any
 * bytes as policy/safety.json, loaded for both locales from a memfd.
 * Checked: the loader returns 0 with a policy or -1 with a message and no
 * policy; an accepted policy classifies a few fixed questions to a valid
 * category and builds their refusal and notice JSON. Start it from the
 * shipped policy (fuzz/corpus/policy/) with -max_len=262144. */
#include "safety.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    static const char *const questions[] = {
        "my toddler won't sleep", "he swallowed a battery and is not breathing",
        "how much ibuprofen for a 2 year old", "I want to hurt myself",
        "Mi hijo no duerme", "WHAT IS A GOOD BEDTIME ROUTINE?!", "",
    };
    static const char *const locales[] = {"US", "UK"};
    if (fd < 0) {
        fd = memfd_create("policy", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    for (size_t l = 0; l < 2; l++) {
        struct safety_policy *p = NULL;
        char err[512];
        if (safety_policy_load(path, locales[l], &p, err, sizeof err)) {
            if (p || !err[0]) abort();
            continue;
        }
        if (!p) abort();
        for (size_t i = 0; i < sizeof questions / sizeof questions[0]; i++) {
            struct safety_verdict v;
            safety_triage(p, questions[i], strlen(questions[i]), &v);
            if ((int)v.category < 0 || (int)v.category > SAFETY_LANGUAGE) abort();
            json_decref(safety_verdict_json(p, &v));
            json_decref(safety_notice_json(p, &v));
        }
        safety_policy_free(p);
    }
    return 0;
}
