/* features_print.h — the loop the feature printers for fitting share
 * (bench/triage_features.c for tests/eval/fit_triage.py,
 * bench/topic_features.c for tests/eval/fit_topicnet.py): reads
 * "label<TAB>question" lines on stdin (lines without a TAB skipped, a
 * line of up to 64 KiB) and writes "label<TAB>feature feature ..." lines
 * on stdout, the features from the caller's extractor, which must be the
 * very function the server scores with. Header only; single-threaded (one
 * static line buffer); allocates nothing. */
#ifndef COACH_FEATURES_PRINT_H
#define COACH_FEATURES_PRINT_H

#include <stdio.h>
#include <string.h>

/* An extractor: emit(f, n, emit_arg) for each feature of text[0..len);
 * ctx is the caller's (a knowledge base, or NULL). */
typedef void (*features_fn)(const void *ctx, const char *text, size_t len,
                            void (*emit)(const char *f, size_t n, void *arg), void *emit_arg);

static void features_put(const char *f, size_t n, void *arg)
{
    int *first = arg;
    if (!*first) fputc(' ', stdout);
    fwrite(f, 1, n, stdout);
    *first = 0;
}

/* Every stdin line through fn, printed as above. */
static void features_print(features_fn fn, const void *ctx)
{
    static char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        char *tab = strchr(line, '\t');
        int first = 1;
        if (n && line[n - 1] == '\n') line[--n] = '\0';
        if (!tab) continue;
        fwrite(line, 1, (size_t)(tab - line), stdout);
        fputc('\t', stdout);
        fn(ctx, tab + 1, n - (size_t)(tab + 1 - line), features_put, &first);
        fputc('\n', stdout);
    }
}

#endif
