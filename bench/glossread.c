/* glossread.c — the triage glossary as the product reads it: a tool for
 * whoever edits policy/glossary.tsv.
 *
 * Reads "lang<TAB>question" lines on stdin (a line without a tab: the
 * language triage finds) and prints each question's verdict and its English
 * reading, tokenised exactly as safety.c tokenises a question before the
 * glossary sees it (lowercased, accents folded, the policy's maps applied:
 * Polish "w" is "with" by then). TOKS=1 also prints the tokens.
 *
 * With --overlap N it reads no questions: it checks every entry from the
 * N-th on (0-based, in file order) against every entry before it, and
 * prints each pair where the newer entry would change what the older one
 * reads: it starts at the same word and is longer ("shadows"), or it ends
 * on the first words of the older one ("eats its start": "no quiere" eats
 * "quiere morir" in "no quiere morir"). A new ordinary entry must not do
 * either to a red flag unless it keeps the red flag's meaning.
 *
 * Question text is printed: this is a tool, not the product.
 * usage: bench_glossread [--policy PATH] [--overlap N] < questions.tsv */
#include "../src/util.c"
#include "../src/url.c"
#include "../src/safety.c"
#include "../src/tmodel.c"
#include "../src/gloss.c"
#include "../src/spell.c"
#include "../src/text.c"

/* Some word matches both a and b. */
static int gword_compat(const struct gword *a, const struct gword *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    if (memcmp(a->s, b->s, n) != 0)
        return 0;
    if (a->n == b->n)
        return 1;
    return a->n < b->n ? a->prefix : b->prefix;
}

static void print_entry(const struct gloss *g, const struct gentry *e)
{
    printf("%s \"", g->langs[e->lang]);
    for (size_t i = 0; i < e->nw; i++)
        printf("%s%s%s", i ? " " : "", e->w[i].s, e->w[i].prefix ? "*" : "");
    printf("\"=%s", e->eng);
}

static void report(const struct gloss *g, const struct gentry *e, const char *what,
                   const struct gentry *o)
{
    print_entry(g, e);
    printf("  %s  ", what);
    print_entry(g, o);
    printf("\n");
}

/* The overlap check; returns the number of pairs printed. */
static size_t overlap(const struct gloss *g, size_t from)
{
    size_t found = 0;
    for (size_t i = from; i < g->n; i++) {
        const struct gentry *e = &g->e[i];
        for (size_t k = 0; k < from && k < g->n; k++) {
            const struct gentry *o = &g->e[k];
            for (size_t j = 0; j < e->nw; j++) {
                size_t m = e->nw - j < o->nw ? e->nw - j : o->nw, t = 0;
                if (j == 0 && e->nw <= o->nw)
                    continue;           /* not longer: the older one still wins */
                while (t < m && gword_compat(&e->w[j + t], &o->w[t]))
                    t++;
                if (t == m) {
                    report(g, e, j ? "eats the start of" : "shadows", o);
                    found++;
                }
            }
        }
    }
    return found;
}

int main(int argc, char **argv)
{
    const char *pol = "policy/safety.json";
    long from = -1;
    struct safety_policy *p;
    char err[512], line[8192], eng[4096];
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--policy") == 0) pol = argv[i + 1];
        else if (strcmp(argv[i], "--overlap") == 0) from = atol(argv[i + 1]);
    }
    if (safety_policy_load(pol, "US", &p, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (!p->gloss) {
        fprintf(stderr, "%s: no glossary beside it\n", pol);
        safety_policy_free(p);
        return 1;
    }
    if (from >= 0) {
        size_t n = overlap(p->gloss, (size_t)from);
        fprintf(stderr, "%zu overlaps\n", n);
        safety_policy_free(p);
        return 0;
    }
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (!n || line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        const char *lang = NULL, *q = line;
        if (tab) {
            *tab = '\0';
            lang = line;
            q = tab + 1;
        }
        struct safety_verdict v;
        struct toks t = {0};
        safety_triage(p, q, strlen(q), &v);
        norm_tokens_opt(p, q, strlen(q), &t, 0, NULL);
        struct gloss_word *w = xmalloc((t.n ? t.n : 1) * sizeof *w);
        for (size_t i = 0; i < t.n; i++) {
            w[i].s = t.v[i].s;
            w[i].n = t.v[i].n;
            w[i].brk = (t.v[i].flags & TOK_BRK) != 0;
        }
        if (getenv("UNREAD")) {      /* words no entry reads on their own */
            char one[256];
            printf("   unread:");
            for (size_t i = 0; i < t.n; i++) {
                struct gloss_cover c1;
                gloss_read(p->gloss, lang ? lang : v.language, &w[i], 1, one, sizeof one, &c1);
                if (!c1.words)
                    printf(" %.*s", (int)t.v[i].n, t.v[i].s);
            }
            printf("\n");
        }
        if (getenv("TOKS")) {
            printf("   toks:");
            for (size_t i = 0; i < t.n; i++)
                printf(" %.*s%s", (int)t.v[i].n, t.v[i].s, w[i].brk ? "|" : "");
            printf("\n");
        }
        size_t hits = gloss_translate(p->gloss, lang ? lang : v.language, w, t.n, eng, sizeof eng);
        free(w);
        toks_free(&t);
        printf("%s [%s/%s %s] %zu | %s\n   -> %s\n", lang ? lang : "-",
               safety_category_name(v.category), v.language ? v.language : "-",
               v.rule_id ? v.rule_id : "-", hits, q, eng);
    }
    safety_policy_free(p);
    return 0;
}
