/* fuzz_gloss.c — libFuzzer driver for the triage glossary (src/gloss.c):
 * the first half of the input as policy/glossary.tsv, the second half as
 * a question. Checked: the parser returns a glossary or NULL with a
 * message; a parsed glossary reads the question and a few fixed ones to a
 * NUL-ended text within the buffer, with no more matched entries than
 * words, at every output size from 0 to 64 bytes and at 4 KiB. */
#include "gloss.h"
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct gloss *g, const char *lang, const char *q, size_t len)
{
    struct text_word w[128];
    struct gloss_word gw[128];
    char out[4096];
    size_t n = text_words(q, len, w, 128);
    if (n > 128)
        n = 128;
    for (size_t i = 0; i < n; i++) {
        gw[i].s = w[i].norm;
        gw[i].n = w[i].nlen;
        gw[i].brk = (w[i].flags & TEXT_CLAUSE_END) != 0;
    }
    for (size_t cap = 0; cap <= 64; cap++) {
        memset(out, 'x', sizeof out);
        size_t h = gloss_translate(g, lang, gw, n, out, cap);
        if (h > n) abort();
        if (cap && (memchr(out, '\0', cap) == NULL)) abort();
        if (!cap && h) abort();
    }
    size_t h = gloss_translate(g, lang, gw, n, out, sizeof out);
    if (h > n || !memchr(out, '\0', sizeof out)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const questions[] = {
        "mi bebé no respira", "mój synek ma 3 tygodnie i gorączkę 39", "", "a a a a a a a a",
    };
    char err[256];
    size_t half = size / 2;
    struct gloss *g = gloss_parse((const char *)data, half, err, sizeof err);
    if (!g) {
        if (!memchr(err, '\0', sizeof err) || err[0] == '\0') abort();
        return 0;
    }
    if (gloss_nentries(g) == 0 && gloss_nlangs(g) != 0) abort();
    for (size_t i = 0; i < gloss_nlangs(g); i++)
        if (!gloss_lang(g, i)) abort();
    const char *lang = gloss_nlangs(g) ? gloss_lang(g, 0) : NULL;
    for (size_t i = 0; i < sizeof questions / sizeof questions[0]; i++)
        check(g, lang, questions[i], strlen(questions[i]));
    check(g, lang, (const char *)data + half, size - half);
    gloss_free(g);
    return 0;
}
