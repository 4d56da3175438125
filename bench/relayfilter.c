/* relayfilter.c — the output filter's CPU per model delta on the answer
 * corpora of tests/filter/ (docs/openai.md, "The relay figure").
 *
 * Each answer (one a line, "\n" standing for a newline, # lines skipped) is
 * fed to a filter with the shipped policy in model-sized deltas (a word with
 * the blank before it, up to 3 digits, or one other character, as
 * tests/unit/test_relay.c cuts them), --passes times over; the figure is the
 * process CPU time over the deltas fed. Run from the repository root:
 *   build/release/bench_relayfilter [--passes 20] tests/filter/answers*.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter.h"
#include "model_delta.h"
#include "safety.h"

static void sink(void *ctx, const char *s, size_t n)
{
    (void)s;
    *(size_t *)ctx += n;
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char err[512], line[8192];
    struct safety_policy *p = NULL;
    int passes = 20, a = 1;
    if (argc > 2 && strcmp(argv[1], "--passes") == 0) passes = atoi(argv[2]), a = 3;
    if (safety_policy_load("policy/safety.json", "US", &p, err, sizeof err) != 0) {
        fprintf(stderr, "policy: %s\n", err);
        return 1;
    }
    for (; a < argc; a++) {
        FILE *fp = fopen(argv[a], "r");
        size_t deltas = 0, shown = 0;
        double t0;
        if (!fp) {
            perror(argv[a]);
            return 1;
        }
        t0 = cpu_s();
        for (int pass = 0; pass < passes; pass++) {
            rewind(fp);
            while (fgets(line, sizeof line, fp)) {
                size_t len = strcspn(line, "\n"), un = 0, at = 0;
                struct filter *f;
                if (line[0] == '#' || len == 0) continue;
                for (size_t i = 0; i < len; i++) {
                    if (line[i] == '\\' && i + 1 < len && line[i + 1] == 'n') line[un++] = '\n', i++;
                    else line[un++] = line[i];
                }
                len = un;
                line[len++] = '\n';
                f = filter_new(p, 2, sink, &shown);
                while (at < len) {
                    size_t n = model_delta(line, len, at);
                    filter_feed(f, line + at, n);
                    at += n;
                    deltas++;
                }
                filter_finish(f);
                filter_free(f);
            }
        }
        printf("%s: %zu deltas, %.1f us CPU per delta\n", argv[a], deltas,
               (cpu_s() - t0) * 1e6 / (double)deltas);
        fclose(fp);
    }
    safety_policy_free(p);
    return 0;
}
