/* topic_features.c — prints the features the topic reader scores, for fitting.
 *
 * Reads "label<TAB>question" lines on stdin and writes
 * "label<TAB>feature feature ..." lines on stdout, using the very function
 * the server scores with (kb_topic_features: topicnet_features with the
 * knowledge base's synonyms and spellings added), so the model fitted by
 * tests/eval/fit_topicnet.py sees exactly what coachd will see (the loop
 * is features_print.h's, shared with bench/triage_features.c).
 *
 * Usage: bench_topic_features [--kb DIR]   (DIR defaults to kb; the
 * normalisation reads its synonyms and vocabulary). Exit 0, or 1 when the
 * knowledge base does not load. */
#include "kb.h"

#include <stdio.h>
#include <string.h>

#include "features_print.h"

static void topic_features(const void *ctx, const char *text, size_t len,
                           void (*emit)(const char *f, size_t n, void *arg), void *emit_arg)
{
    kb_topic_features(ctx, text, len, emit, emit_arg);
}

int main(int argc, char **argv)
{
    const char *dir = "kb";
    struct kb *kb = NULL;
    struct kb_problems pr = {0};
    int rc = 1;

    if (argc == 3 && strcmp(argv[1], "--kb") == 0) dir = argv[2];
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [--kb DIR]\n", argv[0]);
        return 1;
    }
    if (kb_load(&dir, 1, &kb, &pr) != 0) {
        for (size_t i = 0; i < pr.n; i++) fprintf(stderr, "%s\n", pr.items[i]);
        goto out;
    }
    features_print(topic_features, kb);
    rc = 0;
out:
    kb_free(kb);
    kb_problems_free(&pr);
    return rc;
}
