/* retrieval_eval.c — measures retrieval on the labelled parent questions.
 *
 * Reads every .tsv file in tests/retrieval (lines: expected-id[,id...] TAB
 * question), searches the knowledge base for each question and counts a hit
 * when any expected passage is in the top 3 of the ranking (the no-match
 * rule switched off: this floor guards ranking; the figure with the rule
 * is printed too, and answers_eval scores the rule itself). Prints the hit rate overall and
 * per file, lists the misses, and exits non-zero below the floor (90%), so
 * `make test` keeps the figure from sliding back.
 *
 * usage: retrieval_eval [--kb DIR]... [--dir tests/retrieval] [--floor 0.95] [-v] */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb.h"
#include "util.h"

#define TOPK 3

struct tally { size_t n, hit, hit_rule; };
static struct kb_thresholds shipped;     /* the no-match rule as configured */
static const struct kb_thresholds open_th = {0, 0, 0, 0, 0, 1e9, 0, 0, 0};

static int expected_in(const char *ids, const struct kb_hit *hits, size_t nh)
{
    char *copy = xstrdup(ids), *save = NULL;
    int found = 0;
    for (char *id = strtok_r(copy, ",", &save); id && !found; id = strtok_r(NULL, ",", &save))
        for (size_t i = 0; i < nh && i < TOPK; i++)
            if (strcmp(hits[i].p->id, id) == 0) found = 1;
    free(copy);
    return found;
}

static int check_ids(const struct kb *kb, const char *ids, const char *file, size_t line)
{
    char *copy = xstrdup(ids), *save = NULL;
    int ok = 1;
    for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save))
        if (!kb_find(kb, id)) {
            fprintf(stderr, "%s:%zu: unknown passage id '%s'\n", file, line, id);
            ok = 0;
        }
    free(copy);
    return ok;
}

/* 1 when a label's first id names a topic (a line for answers_eval). */
static int topic_label_line(const struct kb *kb, const char *ids)
{
    char first[128];
    size_t l = strcspn(ids, ",");
    if (l >= sizeof first) return 0;
    memcpy(first, ids, l);
    first[l] = '\0';
    return kb_topic_label(kb, first) != NULL;
}

static int run_file(struct kb *kb, const char *path, struct tally *t, int verbose, int *bad)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    size_t lineno = 0;
    if (!f) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *tab, *q;
        struct kb_hit hits[TOPK];
        size_t nh;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line || *line == '#') continue;
        tab = strchr(line, '\t');
        if (!tab) {
            fprintf(stderr, "%s:%zu: expected ids<TAB>question\n", path, lineno);
            *bad = 1;
            continue;
        }
        *tab = '\0';
        q = tab + 1;
        /* no-match and topic-labelled lines are answers_eval's */
        if (strcmp(line, "nomatch") == 0 || topic_label_line(kb, line)) continue;
        if (!check_ids(kb, line, path, lineno)) *bad = 1;
        /* with the no-match rule, for the record */
        nh = kb_search(kb, q, strlen(q), hits, TOPK, NULL);
        if (expected_in(line, hits, nh)) t->hit_rule++;
        /* the floor is on ranking: every question gets its candidates */
        kb_set_thresholds(kb, &open_th);
        nh = kb_search(kb, q, strlen(q), hits, TOPK, NULL);
        kb_set_thresholds(kb, &shipped);
        t->n++;
        if (expected_in(line, hits, nh)) {
            t->hit++;
        } else if (verbose) {
            printf("  miss %s:%zu want %s got", path, lineno, line);
            for (size_t i = 0; i < nh; i++) printf(" %s(%.1f)", hits[i].p->id, hits[i].score);
            printf("\n      %s\n", q);
        }
    }
    fclose(f);
    return 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *kbdirs[8] = {"kb"}, *dir = "tests/retrieval";
    size_t nkb = 0;
    double floor = 0.95;            /* 0.90 -> 0.94 in round 4 (96.6%), 0.95 in round 6 (96.3%) */
    int verbose = 1, bad = 0, rc = 1;
    struct kb *kb = NULL;
    struct kb_problems pr = {0};
    struct tally total = {0};
    char *files[64];
    size_t nf = 0;
    DIR *d;
    struct dirent *e;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kb") && i + 1 < argc && nkb < 8) kbdirs[nkb++] = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--floor") && i + 1 < argc) floor = atof(argv[++i]);
        else if (!strcmp(argv[i], "-q")) verbose = 0;
    }
    if (kb_load(kbdirs, nkb ? nkb : 1, &kb, &pr)) {
        for (size_t i = 0; i < pr.n; i++) fprintf(stderr, "%s\n", pr.items[i]);
        kb_problems_free(&pr);
        return 1;
    }
    kb_get_thresholds(kb, &shipped);
    d = opendir(dir);
    if (!d) {
        perror(dir);
        goto out;
    }
    while ((e = readdir(d)) && nf < 64) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".tsv") == 0) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            files[nf++] = xstrdup(path);
        }
    }
    closedir(d);
    qsort(files, nf, sizeof files[0], cmpstr);
    printf("retrieval: %zu passages, %zu topics\n", kb_count(kb), kb_topic_count(kb));
    for (size_t i = 0; i < nf; i++) {
        struct tally t = {0};
        run_file(kb, files[i], &t, verbose, &bad);
        printf("retrieval: %s: hit@3 %.1f%% (%zu/%zu); with the no-match rule %.1f%%\n",
               files[i], t.n ? 100.0 * (double)t.hit / (double)t.n : 0.0, t.hit, t.n,
               t.n ? 100.0 * (double)t.hit_rule / (double)t.n : 0.0);
        total.hit_rule += t.hit_rule;
        total.n += t.n;
        total.hit += t.hit;
        free(files[i]);
    }
    double rate = total.n ? (double)total.hit / (double)total.n : 0;
    printf("retrieval: with the no-match rule: hit@3 %.1f%% (questions the rule turns away count"
           " as misses; answers_eval reports the no-match side)\n",
           total.n ? 100.0 * (double)total.hit_rule / (double)total.n : 0.0);
    printf("retrieval: hit@3 %.1f%% on %zu labelled questions (floor %.0f%%)\n", 100.0 * rate,
           total.n, 100.0 * floor);
    if (total.n < 300) printf("retrieval: FLOOR NOT MET: fewer than 300 labelled questions\n");
    else if (bad) printf("retrieval: FLOOR NOT MET: the labelled set names unknown passages\n");
    else if (rate < floor) printf("retrieval: FLOOR NOT MET\n");
    else {
        printf("retrieval: FLOOR MET\n");
        rc = 0;
    }
out:
    kb_free(kb);
    return rc;
}
