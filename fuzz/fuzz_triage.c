/* fuzz_triage.c — libFuzzer driver for triage: any bytes as a question,
 * in both locales, must classify without a crash or a leak, give a valid
 * category, and build its refusal and notice JSON when it has them. The
 * shipped policy is loaded once (run from the repository root). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safety.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct safety_policy *pol[2];
    static int loaded;
    char err[256];
    if (!loaded) {
        const char *path = getenv("SAFETY_POLICY");
        if (!path) path = "policy/safety.json";
        if (safety_policy_load(path, "US", &pol[0], err, sizeof err) ||
            safety_policy_load(path, "UK", &pol[1], err, sizeof err))
            abort();
        loaded = 1;
    }
    if (size > 4096) return 0;
    for (int l = 0; l < 2; l++) {
        struct safety_verdict v;
        safety_triage(pol[l], (const char *)data, size, &v);
        if ((int)v.category < 0 || (int)v.category > SAFETY_LANGUAGE) abort();
        json_decref(safety_verdict_json(pol[l], &v));
        json_decref(safety_notice_json(pol[l], &v));
        (void)safety_output_hold(pol[l], (const char *)data, size);
    }
    return 0;
}
