/* fuzz_tmodel.c — libFuzzer driver for the triage net's loader and scorer
 * (src/tmodel.c): any bytes as triage-model.tsv, loaded from a memfd.
 * Checked: the loader returns a model or NULL with a message; a loaded
 * model scores a few fixed questions and the input itself (as a question)
 * to probabilities in [0, 1], and tmodel_flags agrees with them. */
#include "tmodel.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct tmodel *m, const char *text, size_t len)
{
    double p[TMODEL_NCLASS], q[TMODEL_NCLASS];
    int f[TMODEL_NCLASS];
    tmodel_score(m, text, len, p);
    tmodel_flags(m, text, len, q, f);
    for (int c = 0; c < TMODEL_NCLASS; c++) {
        if (!(p[c] >= 0.0 && p[c] <= 1.0)) abort();
        if (q[c] != p[c]) abort();
        if (f[c] && p[c] < tmodel_threshold(m, c)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    static const char *const questions[] = {
        "my baby is not breathing and his lips are blue", "how do I get my toddler to nap",
        "i want to kill myself, the kids would be better off without me", "", "aaaaa aaaaa aaaaa",
    };
    if (fd < 0) {
        fd = memfd_create("tmodel", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    char err[256] = "";
    struct tmodel *m = tmodel_load(path, err, sizeof err);
    if (!m) {
        if (!err[0]) abort();
        return 0;
    }
    for (size_t i = 0; i < sizeof questions / sizeof questions[0]; i++)
        check(m, questions[i], strlen(questions[i]));
    check(m, (const char *)data, size);
    tmodel_free(m);
    return 0;
}
