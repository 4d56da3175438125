/* triage_features.c — prints the features tmodel.c scores, for fitting.
 *
 * Reads "label<TAB>question" lines on stdin and writes
 * "label<TAB>feature feature ..." lines on stdout, using the very function
 * the server scores with (tmodel_features), so the model fitted by
 * tests/eval/fit_triage.py sees exactly what coachd will see (the loop is
 * features_print.h's, shared with bench/topic_features.c). */
#include "tmodel.h"

#include "features_print.h"

static void triage_features(const void *ctx, const char *text, size_t len,
                            void (*emit)(const char *f, size_t n, void *arg), void *emit_arg)
{
    (void)ctx;
    tmodel_features(text, len, emit, emit_arg);
}

int main(void)
{
    features_print(triage_features, NULL);
    return 0;
}
