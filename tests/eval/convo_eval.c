/* convo_eval.c — scores conversations: each turn planned in its
 * conversation the way the server plans it.
 *
 * A TSV line is one turn:
 *   conversation TAB turn TAB expected TAB message
 * Turns of one conversation are read in file order; each is planned with
 * convo_plan given the conversation's earlier messages, oldest first (the
 * newest CONVO_PREV_MAX, as turn.c's earlier_questions hands them over),
 * and an answer is composed by the grounded engine (grounded_compose with
 * the message as typed and the plan's hits and age, as engine_grounded's
 * start does). expected is one of:
 *   topic-id[,topic-id...]  right when the plan is an answer and the FIRST
 *                           cited passage has one of those topics
 *   smalltalk               right when the plan is small talk
 *   clarify                 right when the plan is a clarifying question
 *   nomatch                 right when the plan is the honest no-match
 * Prints per kind and overall (turns right, and conversations with every
 * turn right):
 *   convo: topic X% (a/b) smalltalk ... clarify ... nomatch ... all Y% (c/d)
 * and the misses with -v (each with the turns before it). Exit status 1
 * when --floor F (overall share of turns right, 0..1) is not met, or a
 * label names no topic.
 *
 * usage: convo_eval [--kb DIR]... [--policy PATH] [-v] [--floor F] FILE.tsv...
 * With no file (make test): tests/answers/conv-*.tsv with the floor below. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convo.h"
#include "engine_grounded.h"
#include "kb.h"
#include "safety.h"
#include "util.h"

#define MAXT 8000

/* The regression floor for make test: just under the figure measured on
 * tests/answers/conv-*.tsv (docs/knowledge-base.md): 0.82 -> 0.84 in round
 * 4 (85.9% of 355 turns); 0.87 in session 9 (87.9%, 312 of 355); 0.88 in
 * session 11 (convo37: 91.3%, 348 of 381 with conv-dev-2026-12-03-s11);
 * 0.91 in session 12 (convo39: 92.1%, 406 of 441 with
 * conv-dev-2026-12-03-cv39). */
#define DEFAULT_FLOOR 0.91

enum { K_TOPIC, K_SMALLTALK, K_CLARIFY, K_NOMATCH, K_N };
static const char *const kind_names[K_N] = {"topic", "smalltalk", "clarify", "nomatch"};

struct turn_item {
    char *conv, *label, *q;
    int kind;
    const char *file;
    size_t line;
};

static struct turn_item items[MAXT];
static size_t nitems;

static int label_kind(const struct kb *kb, const char *label, const char *file, size_t line,
                      int *bad)
{
    char *copy, *save = NULL;
    int ok = 1;
    if (strcmp(label, "smalltalk") == 0) return K_SMALLTALK;
    if (strcmp(label, "clarify") == 0) return K_CLARIFY;
    if (strcmp(label, "nomatch") == 0) return K_NOMATCH;
    copy = xstrdup(label);
    for (char *id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save))
        if (!kb_topic_label(kb, id)) ok = 0;
    free(copy);
    if (ok) return K_TOPIC;
    fprintf(stderr, "%s:%zu: '%s' names no topic\n", file, line, label);
    *bad = 1;
    return -1;
}

static void load_file(const struct kb *kb, const char *path, int *bad)
{
    FILE *f = fopen(path, "r");
    char line[8192];
    size_t lineno = 0;
    if (!f) {
        perror(path);
        *bad = 1;
        return;
    }
    while (fgets(line, sizeof line, f) && nitems < MAXT) {
        char *col[4];
        size_t nc = 0;
        char *s = line;
        int kind;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!*line || *line == '#') continue;
        while (nc < 4) {
            col[nc++] = s;
            if (nc == 4) break;
            s = strchr(s, '\t');
            if (!s) break;
            *s++ = '\0';
        }
        if (nc < 4 || !*col[3]) {
            fprintf(stderr, "%s:%zu: expected conversation<TAB>turn<TAB>expected<TAB>message\n",
                    path, lineno);
            *bad = 1;
            continue;
        }
        kind = label_kind(kb, col[2], path, lineno, bad);
        if (kind < 0) continue;
        items[nitems++] = (struct turn_item){xstrdup(col[0]), xstrdup(col[2]), xstrdup(col[3]),
                                             kind, path, lineno};
    }
    fclose(f);
}

static int has_any_topic(const struct kb_passage *p, const char *label)
{
    char *copy = xstrdup(label), *save = NULL;
    int found = 0;
    for (char *id = strtok_r(copy, ",", &save); id && !found; id = strtok_r(NULL, ",", &save))
        for (size_t i = 0; i < p->ntopics; i++)
            if (strcmp(p->topics[i], id) == 0) found = 1;
    free(copy);
    return found;
}

/* The passage cited [1] in the composed answer (NULL when none). */
static const struct kb_passage *first_cited(const struct kb *kb, const struct convo_plan *pl,
                                            const char *q)
{
    char *text = NULL;
    json_t *cit = NULL;
    const struct kb_passage *p = NULL;
    const char *title;
    grounded_compose(kb, q, strlen(q), pl->hits, pl->nhits, pl->age, &text, &cit);
    title = json_string_value(json_object_get(json_array_get(cit, 0), "title"));
    for (size_t i = 0; title && i < pl->nhits && !p; i++)
        if (strcmp(pl->hits[i].p->title, title) == 0) p = pl->hits[i].p;
    free(text);
    json_decref(cit);
    return p;
}

static const char *plan_name(const struct convo_plan *pl)
{
    switch (pl->kind) {
    case CONVO_ANSWER: return "answer";
    case CONVO_REFUSE: return "refusal";
    case CONVO_SMALLTALK: return "smalltalk";
    case CONVO_CLARIFY: return "clarify";
    case CONVO_NOMATCH: return "nomatch";
    }
    return "?";
}

struct tally { size_t n[K_N], right[K_N], conv_n, conv_right, refused; };

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

/* Scores items[from..to), one conversation. */
static void score_conv(struct kb *kb, const struct safety_policy *pol, size_t from, size_t to,
                       struct tally *t, int verbose)
{
    const char *prev[CONVO_PREV_MAX];
    size_t nprev = 0;
    int all_ok = 1;
    for (size_t i = from; i < to; i++) {
        const struct turn_item *it = &items[i];
        struct convo_plan *pl = xmalloc(sizeof *pl);
        const struct kb_passage *p = NULL;
        int ok;
        convo_plan(kb, pol, it->q, strlen(it->q), prev, nprev, pl);
        if (pl->kind == CONVO_REFUSE) t->refused++;
        switch (it->kind) {
        case K_TOPIC:
            p = pl->kind == CONVO_ANSWER ? first_cited(kb, pl, it->q) : NULL;
            ok = p && has_any_topic(p, it->label);
            break;
        case K_SMALLTALK: ok = pl->kind == CONVO_SMALLTALK; break;
        case K_CLARIFY: ok = pl->kind == CONVO_CLARIFY; break;
        default: ok = pl->kind == CONVO_NOMATCH; break;
        }
        t->n[it->kind]++;
        t->right[it->kind] += ok;
        if (!ok) all_ok = 0;
        if (!ok && verbose) {
            printf("  miss %s:%zu conv %s want %s got %s", it->file, it->line, it->conv,
                   it->label, p ? p->id : plan_name(pl));
            if (pl->kind == CONVO_REFUSE)
                printf(":%s(%s)", safety_category_name(pl->category), pl->rule ? pl->rule : "");
            if (pl->kind == CONVO_ANSWER && !p) printf(" (no citation)");
            if (pl->kind == CONVO_ANSWER && p) {
                printf(" [");
                for (size_t k = 0; k < p->ntopics; k++) printf("%s%s", k ? "," : "", p->topics[k]);
                printf("]");
            }
            printf(" age %d%s\n", pl->age, pl->followup ? " followup" : "");
            for (size_t k = 0; k < nprev; k++) printf("      | %s\n", prev[k]);
            printf("      > %s\n", it->q);
        }
        free(pl);
        if (nprev == CONVO_PREV_MAX) {         /* keep the newest, as turn.c does */
            memmove(prev, prev + 1, (CONVO_PREV_MAX - 1) * sizeof *prev);
            nprev--;
        }
        prev[nprev++] = it->q;
    }
    t->conv_n++;
    t->conv_right += all_ok;
}

static void print_tally(const char *what, const struct tally *t)
{
    size_t n = 0, r = 0;
    printf("convo: %s:", what);
    for (int k = 0; k < K_N; k++) {
        if (!t->n[k]) continue;
        printf(" %s %.1f%% (%zu/%zu)", kind_names[k], pct(t->right[k], t->n[k]), t->right[k],
               t->n[k]);
        n += t->n[k];
        r += t->right[k];
    }
    printf(" | turns %.1f%% (%zu/%zu) conversations %.1f%% (%zu/%zu) [refused %zu]\n",
           pct(r, n), r, n, pct(t->conv_right, t->conv_n), t->conv_right, t->conv_n, t->refused);
}

static void add_tally(struct tally *a, const struct tally *b)
{
    for (int k = 0; k < K_N; k++) {
        a->n[k] += b->n[k];
        a->right[k] += b->right[k];
    }
    a->conv_n += b->conv_n;
    a->conv_right += b->conv_right;
    a->refused += b->refused;
}

int main(int argc, char **argv)
{
    const char *kbdirs[8] = {"kb"}, *policy_path = "policy/safety.json";
    const char *files[256];
    size_t nkb = 0, nf = 0;
    double floor = -1;
    int verbose = 0, bad = 0, rc = 0;
    struct kb *kb = NULL;
    struct kb_problems pr = {0};
    struct safety_policy *pol = NULL;
    char err[512] = "";
    glob_t gl = {0};
    struct tally all = {0};

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kb") && i + 1 < argc && nkb < 8) kbdirs[nkb++] = argv[++i];
        else if (!strcmp(argv[i], "--policy") && i + 1 < argc) policy_path = argv[++i];
        else if (!strcmp(argv[i], "--floor") && i + 1 < argc) floor = atof(argv[++i]);
        else if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (nf < 256) files[nf++] = argv[i];
    }
    if (nf == 0) {
        if (glob("tests/answers/conv-*.tsv", 0, NULL, &gl) == 0)
            for (size_t i = 0; i < gl.gl_pathc && nf < 256; i++) files[nf++] = gl.gl_pathv[i];
        if (floor < 0) floor = DEFAULT_FLOOR;
    }
    if (nf == 0) {
        fprintf(stderr, "usage: convo_eval [--kb DIR]... [--policy PATH] [-v] [--floor F] "
                        "FILE.tsv...\n");
        return 2;
    }
    if (kb_load(kbdirs, nkb ? nkb : 1, &kb, &pr)) {
        for (size_t i = 0; i < pr.n; i++) fprintf(stderr, "%s\n", pr.items[i]);
        kb_problems_free(&pr);
        globfree(&gl);
        return 1;
    }
    if (safety_policy_load(policy_path, "US", &pol, err, sizeof err)) {
        fprintf(stderr, "convo_eval: %s: %s\n", policy_path, err);
        kb_free(kb);
        globfree(&gl);
        return 1;
    }
    for (size_t i = 0; i < nf; i++) load_file(kb, files[i], &bad);
    printf("convo: %zu passages, %zu topics, %zu turns\n", kb_count(kb), kb_topic_count(kb),
           nitems);
    for (size_t f = 0; f < nf; f++) {
        struct tally t = {0};
        size_t i = 0;
        while (i < nitems) {
            size_t j = i + 1;
            if (items[i].file != files[f]) {
                i++;
                continue;
            }
            while (j < nitems && items[j].file == files[f] &&
                   strcmp(items[j].conv, items[i].conv) == 0)
                j++;
            score_conv(kb, pol, i, j, &t, verbose);
            i = j;
        }
        print_tally(files[f], &t);
        add_tally(&all, &t);
    }
    print_tally("all", &all);
    {
        size_t n = 0, r = 0;
        for (int k = 0; k < K_N; k++) {
            n += all.n[k];
            r += all.right[k];
        }
        if (floor >= 0 && n && pct(r, n) < 100 * floor) {
            printf("convo: FLOOR NOT MET: turns right under %.0f%%\n", 100 * floor);
            rc = 1;
        }
    }
    if (bad) {
        printf("convo: FLOOR NOT MET: a line is malformed or names no topic\n");
        rc = 1;
    }
    if (!rc && floor >= 0) printf("convo: FLOOR MET\n");
    for (size_t i = 0; i < nitems; i++) {
        free(items[i].conv);
        free(items[i].label);
        free(items[i].q);
    }
    safety_policy_free(pol);
    kb_free(kb);
    globfree(&gl);
    return rc;
}
