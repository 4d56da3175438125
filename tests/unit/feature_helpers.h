/* feature_helpers.h — helpers the unit tests of the fitted readers share
 * (test_tmodel.c, test_topicnet.c): a bounded buffer that collects emitted
 * features as one space-separated string, and a temporary file holding a
 * model body. Include after cmocka.h and util.c (assert macros, xstrdup).
 * write_tmp's path is the caller's to unlink and free. */
#ifndef COACH_FEATURE_HELPERS_H
#define COACH_FEATURE_HELPERS_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buf { char s[4096]; size_t n; };

/* An emit callback: appends feature f[0..n) to the struct buf arg (a
 * feature that would not fit is dropped). */
static void collect(const char *f, size_t n, void *arg)
{
    struct buf *b = arg;
    if (b->n + n + 2 >= sizeof b->s) return;
    if (b->n) b->s[b->n++] = ' ';
    memcpy(b->s + b->n, f, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* A new file in /tmp holding body; its path (xstrdup'd). */
static char *write_tmp(const char *body)
{
    char *path = xstrdup("/tmp/coachd-unit-model-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    return path;
}

#endif
