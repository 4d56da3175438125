/* triage.c — safety classification latency benchmark.
 *
 * Runs every question of the shipped safety sets (tests/safety/ (every .tsv))
 * through safety_triage, several rounds, and reports p50 / p99 / max per
 * question; then questions of about 2,000 characters built by joining
 * labelled questions into one long story (a red flag somewhere inside).
 * The first round is reported apart: it fills the speller's cache. Each
 * set is reported twice: wall time, and the thread's CPU time (what the
 * classifier itself spent, without the time a loaded machine's other
 * processes took the core: compare both when the load is high).
 * With --dump it times nothing and prints every verdict instead, one line
 * per question (file, line, category, rule, protocol, notice, language),
 * so a change to the matcher can be checked to change no verdict
 * (bench/triage_compare.sh). --dump 2 prints the 500 joined stories'
 * verdicts after them (story number, then the same fields).
 * --dir reads the questions from another directory of .tsv files (for a
 * set of files without today's sealed sets: a directory of links).
 * usage: bench_triage [--rounds N] [--policy PATH] [--dump 1] [--dir DIR] */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safety.h"
#include "util.h"

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct qset { char **q; size_t n, cap; };

static void add(struct qset *s, const char *q)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->q = xrealloc(s->q, s->cap * sizeof *s->q);
    }
    s->q[s->n++] = xstrdup(q);
}

static void load_dir(struct qset *s, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024], line[8192];
    if (!d) return;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".tsv")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        while (fgets(line, sizeof line, f)) {
            char *tab = strchr(line, '\t');
            if (!tab) continue;
            tab[strcspn(tab, "\r\n")] = '\0';
            add(s, tab + 1);
        }
        fclose(f);
    }
    closedir(d);
}

static const char *nz(const char *s) { return s ? s : "-"; }

/* Every verdict of every shipped set, in file-name order. */
static int dump(const struct safety_policy *p, const char *dir)
{
    struct dirent **names;
    char path[1024], line[8192];
    int nf = scandir(dir, &names, NULL, alphasort);
    if (nf < 0) return 1;
    for (int k = 0; k < nf; k++) {
        const char *nm = names[k]->d_name;
        size_t l = strlen(nm);
        if (l > 4 && strcmp(nm + l - 4, ".tsv") == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, nm);
            FILE *f = fopen(path, "r");
            for (long ln = 1; f && fgets(line, sizeof line, f); ln++) {
                char *tab = strchr(line, '\t');
                struct safety_verdict v;
                if (!tab) continue;
                tab[strcspn(tab, "\r\n")] = '\0';
                safety_triage(p, tab + 1, strlen(tab + 1), &v);
                printf("%s:%ld %s %s %s %s %s %s\n", nm, ln, safety_category_name(v.category),
                       nz(v.rule_id), nz(v.protocol_id), nz(v.notice), nz(v.notice_id),
                       nz(v.language));
            }
            if (f) fclose(f);
        }
        free(names[k]);
    }
    free(names);
    return 0;
}

static void report(const char *what, uint64_t *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_u64);
    printf("%-34s n=%-6zu p50 %7.1f us  p99 %7.1f us  max %8.1f us\n", what, n,
           t[n / 2] / 1e3, t[n * 99 / 100] / 1e3, t[n - 1] / 1e3);
}

static void time_set(const struct safety_policy *p, const struct qset *s, int rounds,
                     const char *what)
{
    uint64_t *t = xmalloc(s->n * (size_t)rounds * sizeof *t);
    uint64_t *c = xmalloc(s->n * (size_t)rounds * sizeof *c);
    char cpu[128];
    size_t k = 0;
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < s->n; i++) {
            struct safety_verdict v;
            uint64_t a = now_ns(), ac = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            safety_triage(p, s->q[i], strlen(s->q[i]), &v);
            c[k] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - ac;
            t[k++] = now_ns() - a;
        }
    report(what, t, k);
    snprintf(cpu, sizeof cpu, "  (CPU time)");
    report(cpu, c, k);
    free(t);
    free(c);
}

int main(int argc, char **argv)
{
    const char *pol = "policy/safety.json", *dir = "tests/safety";
    int rounds = 5, want_dump = 0;
    struct safety_policy *p;
    struct qset qs = {0}, longq = {0};
    char err[512];
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--rounds") == 0) rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--policy") == 0) pol = argv[i + 1];
        else if (strcmp(argv[i], "--dump") == 0) want_dump = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    }
    uint64_t a = now_ns();
    if (safety_policy_load(pol, "US", &p, err, sizeof err)) {
        fprintf(stderr, "bench_triage: %s\n", err);
        return 1;
    }
    if (want_dump == 1) {
        int rc = dump(p, dir);
        safety_policy_free(p);
        return rc;
    }
    if (!want_dump) printf("policy load (with dictionaries): %.1f ms\n", (now_ns() - a) / 1e6);
    load_dir(&qs, dir);
    if (qs.n == 0) return 1;
    /* ~2,000-character stories: consecutive questions joined */
    for (size_t i = 0; i + 1 < qs.n && longq.n < 500; ) {
        char buf[2200];
        size_t o = 0;
        while (i < qs.n && o + strlen(qs.q[i]) + 2 < 2000) {
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s. ", qs.q[i]);
            i++;
        }
        if (o < 1500) { i++; continue; }
        add(&longq, buf);
    }
    if (want_dump) {
        int rc = dump(p, dir);
        for (size_t i = 0; i < longq.n; i++) {
            struct safety_verdict v;
            safety_triage(p, longq.q[i], strlen(longq.q[i]), &v);
            printf("story:%zu %s %s %s %s %s %s\n", i, safety_category_name(v.category),
                   nz(v.rule_id), nz(v.protocol_id), nz(v.notice), nz(v.notice_id),
                   nz(v.language));
        }
        safety_policy_free(p);
        return rc;
    }
    time_set(p, &qs, 1, "questions, first round (cold cache)");
    time_set(p, &qs, rounds, "questions, warm");
    time_set(p, &longq, 1, "~2,000-char stories, first round");
    time_set(p, &longq, rounds, "~2,000-char stories, warm");
    safety_policy_free(p);
    return 0;
}
