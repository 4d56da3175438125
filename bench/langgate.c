/* langgate.c - the answer gate for other languages, line by line: a tool
 * for whoever tunes how a glossed question is read (safety.c,
 * read_glossed).
 *
 * Reads a labelled safety TSV (LABEL<TAB>QUESTION) on stdin and prints,
 * for each line the triage took for another language, one TSV line:
 * line number, label, verdict, notice, language, entries read, words, words covered,
 * the reading's own English verdict, the net on the reading (0 quiet,
 * 1 emergency, 2 crisis), the alarm words (0 none, 1 alarm, 2 crisis,
 * 3 hazard), 1 when a word names a topic, and the English reading itself. English lines
 * are skipped.
 *
 * Question readings are printed: this is a tool, not the product.
 * usage: bench_langgate [--policy PATH] < labelled.tsv */
#define SAFETY_GLOSS_DIAG 1
#include "../src/util.c"
#include "../src/url.c"
#include "../src/safety.c"
#include "../src/tmodel.c"
#include "../src/gloss.c"
#include "../src/spell.c"
#include "../src/text.c"

int main(int argc, char **argv)
{
    const char *pol = "policy/safety.json";
    struct safety_policy *p;
    char err[512], line[8192];
    static struct gloss_diag gd;
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--policy") == 0) pol = argv[i + 1];
    if (safety_policy_load(pol, "US", &p, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    gloss_diag = &gd;
    long no = 0;
    while (fgets(line, sizeof line, stdin)) {
        no++;
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        char *tab = strchr(line, '\t');
        if (!n || line[0] == '#' || !tab)
            continue;
        *tab = '\0';
        const char *q = tab + 1;
        struct safety_verdict v;
        memset(&gd, 0, sizeof gd);
        gd.ecat = -1;
        safety_triage(p, q, strlen(q), &v);
        if (!v.language)
            continue;
        printf("%ld\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%s\n", no, line,
               safety_category_name(v.category), v.notice ? v.notice : "-", v.language,
               gd.hits, gd.words, gd.covered,
               gd.seen ? safety_category_name((safety_category)gd.ecat) : "-", gd.net, gd.alarm, gd.topic,
               gd.seen ? gd.eng : "-");
    }
    safety_policy_free(p);
    return 0;
}
