/* topic_features.c — prints the features topicnet.c scores, for fitting.
 *
 * Reads "label<TAB>question" lines on stdin and writes
 * "label<TAB>feature feature ..." lines on stdout, using the very function
 * the server scores with (topicnet_features), so the model fitted by
 * tests/eval/fit_topicnet.py sees exactly what coachd will see. */
#include "topicnet.h"

#include <stdio.h>
#include <string.h>

static void put(const char *f, size_t n, void *arg)
{
    int *first = arg;
    if (!*first) fputc(' ', stdout);
    fwrite(f, 1, n, stdout);
    *first = 0;
}

int main(void)
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
        topicnet_features(tab + 1, n - (size_t)(tab + 1 - line), put, &first);
        fputc('\n', stdout);
    }
    return 0;
}
