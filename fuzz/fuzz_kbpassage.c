/* fuzz_kbpassage.c — libFuzzer driver for the knowledge base's passage
 * parser (kb_parse_passage in src/kb.c): any bytes as a passage file.
 * Checked: it returns 0 or -1; on 0 the passage has every required field
 * (id, title, source, url, body, at least one step and one topic) and each
 * string is NUL-terminated UTF-8; on -1 at least one problem was reported
 * and the passage is empty. Leaks and memory errors are ASan's job. */
#include "kb.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *s)
{
    if (!s || !util_utf8_valid(s, strlen(s))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kb_passage p;
    struct kb_problems pr = {0};
    int rc = kb_parse_passage((const char *)data, size, "fuzz.md", NULL, &p, &pr);
    if (rc == 0) {
        if (pr.n || !p.nsteps || !p.ntopics) abort();
        check(p.id), check(p.title), check(p.source), check(p.url), check(p.body);
        for (size_t i = 0; i < p.nsteps; i++) check(p.steps[i]);
        for (size_t i = 0; i < p.nasks; i++) check(p.asks[i]);
        kb_passage_clear(&p);
    } else if (rc != -1 || pr.n == 0 || p.id || p.body) {
        abort();
    }
    kb_problems_free(&pr);
    return 0;
}
