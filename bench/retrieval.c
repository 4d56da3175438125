/* retrieval.c — retrieval latency benchmark.
 *
 * Measures kb_search latency (p50/p99) for the labelled parent questions on
 * the shipped knowledge base, then on a synthetic knowledge base of 100,000
 * passages generated into a temporary directory from a fixed vocabulary
 * (deterministic: a fixed-seed xorshift generator), so the figure is
 * repeatable. The large knowledge base is measured twice: first as
 * loaded, then again once the passages the questions reach have their
 * coverage stems (built on first use). --slowest K prints the K questions with the greatest CPU
 * time on each knowledge base (to see what the p99 is made of).
 * --questions FILE (repeatable) reads the questions from FILE (a TSV whose
 * second column is the question) instead of tests/retrieval/; --rounds N
 * sets the rounds on the large knowledge base (2); --syndir DIR writes the
 * synthetic passages to DIR and keeps them, or reuses DIR when it already
 * holds them (to profile without generating them again). --dump times
 * nothing and prints, per knowledge base, every question's hits (id, score,
 * part) and no-match figures at full precision, so a change to the query
 * path can be checked to change no result, at 100,000 passages too.
 * usage: bench_retrieval [--synthetic N] [--kb DIR] [--slowest K]
 *                        [--questions FILE]... [--rounds N] [--syndir DIR] [--dump] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kb.h"
#include "util.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this thread: on a shared machine it leaves out the time the
 * thread waited for a core, which wall time does not. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct qset { char **q; size_t n; };

static void load_questions(struct qset *qs, const char *const *given, size_t ngiven)
{
    static const char *const defaults[] = {"tests/retrieval/questions-a.tsv",
                                           "tests/retrieval/questions-b.tsv",
                                           "tests/retrieval/questions-c.tsv"};
    const char *const *files = ngiven ? given : defaults;
    size_t nfiles = ngiven ? ngiven : 3;
    char line[8192];
    for (size_t i = 0; i < nfiles; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f) continue;
        while (fgets(line, sizeof line, f)) {
            char *tab = strchr(line, '\t');
            if (!tab) continue;
            line[strcspn(line, "\r\n")] = '\0';
            qs->q = xrealloc(qs->q, (qs->n + 1) * sizeof *qs->q);
            qs->q[qs->n++] = xstrdup(tab + 1);
        }
        fclose(f);
    }
}

static size_t slowest;
static int dump;

static void dump_results(const char *label, struct kb *kb, const struct qset *qs)
{
    struct kb_hit hits[5];
    struct kb_result r;
    for (size_t i = 0; i < qs->n; i++) {
        size_t n = kb_search_ex(kb, qs->q[i], strlen(qs->q[i]), -1, hits, 5, &r);
        printf("%s\t%zu\tnomatch %d empty %d parts %d age %d prob %.17g lex %.17g score %.17g "
               "about %.17g cover %.17g unit %.17g unk %.17g topic %.17g\t", label, i, r.nomatch,
               r.empty, r.parts, r.age, r.match_prob, r.match_prob_lex, r.score, r.about,
               r.cover, r.unit_sim, r.unknown_share, r.topic_p);
        for (size_t k = 0; k < n; k++)
            printf(" %s:%.17g:%d", hits[k].p->id, hits[k].score, hits[k].part);
        printf("\n");
    }
}

struct qtime { uint64_t ns; size_t q; };
static int cmp_qtime(const void *a, const void *b)
{
    const struct qtime *x = a, *y = b;
    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static void measure(const char *label, struct kb *kb, const struct qset *qs, int rounds)
{
    if (dump) {
        dump_results(label, kb, qs);
        return;
    }
    size_t n = qs->n * (size_t)rounds, k = 0;
    uint64_t *lat = xmalloc(n * sizeof *lat), *cpu = xmalloc(n * sizeof *cpu);
    struct qtime *per = xcalloc(qs->n, sizeof *per);
    struct kb_hit hits[5];
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < qs->n; i++) {
            uint64_t t0 = now_ns(), c0 = cpu_ns();
            kb_search(kb, qs->q[i], strlen(qs->q[i]), hits, 5, NULL);
            cpu[k] = cpu_ns() - c0;
            lat[k] = now_ns() - t0;
            if (cpu[k] > per[i].ns) per[i] = (struct qtime){cpu[k], i};
            k++;
        }
    qsort(lat, n, sizeof *lat, cmp_u64);
    qsort(cpu, n, sizeof *cpu, cmp_u64);
    printf("%-34s passages %7zu  queries %6zu  wall p50 %8.1f us  p99 %8.1f us  "
           "cpu p50 %8.1f us  p99 %8.1f us\n", label, kb_count(kb), n,
           (double)lat[n / 2] / 1000.0, (double)lat[n * 99 / 100] / 1000.0,
           (double)cpu[n / 2] / 1000.0, (double)cpu[n * 99 / 100] / 1000.0);
    if (slowest) {
        qsort(per, qs->n, sizeof *per, cmp_qtime);
        for (size_t i = 0; i < slowest && i < qs->n; i++)
            printf("  slowest %zu: cpu %8.1f us  %s\n", i + 1, (double)per[i].ns / 1000.0,
                   qs->q[per[i].q]);
    }
    free(per);
    free(lat);
    free(cpu);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Writes n synthetic passages into dir, in 100 subdirectories. Words come
 * from the real knowledge base's passages so queries hit real terms. */
static void synthesize(const struct kb *real, const char *dir, size_t n)
{
    char path[1024];
    const char *words[4096];
    size_t nw = 0;
    for (size_t i = 0; i < kb_count(real) && nw < 4096; i++) {
        const struct kb_passage *p = kb_get(real, i);
        for (size_t s = 0; s < p->nsteps && nw < 4096; s++) words[nw++] = p->steps[s];
    }
    mkdir(dir, 0700);
    for (size_t i = 0; i < n; i++) {
        FILE *f;
        if (i % 1000 == 0) {
            snprintf(path, sizeof path, "%s/d%zu", dir, i / 1000);
            mkdir(path, 0700);
        }
        snprintf(path, sizeof path, "%s/d%zu/p%zu.md", dir, i / 1000, i);
        f = fopen(path, "w");
        const struct kb_passage *src = kb_get(real, next() % kb_count(real));
        fprintf(f, "---\nid: synthetic-%zu\ntitle: %s (variant %zu)\nsource: Synthetic\n"
                   "source_short: SYN\nurl: https://example.org/p/%zu\ntopics: [%s]\n"
                   "ages: 0m-18y\nreviewed: 2026-11-20\n---\n",
                i, src->title, i, i, src->topics[0]);
        fprintf(f, "%s %s\n\nSteps:\n", words[next() % nw], words[next() % nw]);
        for (int s = 0; s < 3; s++) fprintf(f, "- %s\n", words[next() % nw]);
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    const char *dirs[2] = {"kb", NULL};
    const char *qfiles[16], *syndir = NULL;
    size_t synthetic = 100000, nqfiles = 0;
    int rounds = 2, keep = 0;
    struct stat st;
    struct kb *kb = NULL, *big = NULL;
    struct qset qs = {0};
    char tmp[] = "/tmp/coachd-bench-kb-XXXXXX";
    uint64_t t0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--synthetic") && i + 1 < argc) synthetic = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--kb") && i + 1 < argc) dirs[0] = argv[++i];
        else if (!strcmp(argv[i], "--slowest") && i + 1 < argc) slowest = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--questions") && i + 1 < argc && nqfiles < 16) qfiles[nqfiles++] = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--syndir") && i + 1 < argc) syndir = argv[++i];
        else if (!strcmp(argv[i], "--dump")) dump = 1;
    }
    if (rounds < 1) rounds = 1;
    load_questions(&qs, qfiles, nqfiles);
    if (!qs.n || kb_load(dirs, 1, &kb, NULL)) {
        fprintf(stderr, "bench_retrieval: run from the repository root (needs kb/ and tests/retrieval/)\n");
        return 1;
    }
    measure("shipped knowledge base", kb, &qs, 20);
    if (synthetic) {
        if (syndir) {
            keep = 1;
            dirs[1] = syndir;
        } else {
            if (!mkdtemp(tmp)) return 1;
            dirs[1] = tmp;
        }
        if (!syndir || stat(syndir, &st) != 0) {
            t0 = now_ns();
            synthesize(kb, dirs[1], synthetic);
            printf("generated %zu synthetic passages in %.1f s\n", synthetic,
                   (double)(now_ns() - t0) / 1e9);
        } else {
            printf("reusing the synthetic passages in %s\n", syndir);
        }
        t0 = now_ns();
        if (kb_load(dirs, 2, &big, NULL)) {
            fprintf(stderr, "bench_retrieval: synthetic knowledge base did not load\n");
            return 1;
        }
        printf("loaded and indexed in %.1f s\n", (double)(now_ns() - t0) / 1e9);
        measure("shipped + synthetic", big, &qs, rounds);
        /* the same again: every passage the questions reach now has its
         * coverage stems built (kb.c builds them on first use), so this is
         * the steady state of a long-running server */
        measure("shipped + synthetic, again", big, &qs, rounds);
        if (!keep) {
            char cmd[128];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
            if (system(cmd)) { /* best effort */ }
        }
    }
    kb_free(kb);
    kb_free(big);
    for (size_t i = 0; i < qs.n; i++) free(qs.q[i]);
    free(qs.q);
    return 0;
}
