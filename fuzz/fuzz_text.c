/* fuzz_text.c — libFuzzer driver for the text reader: any bytes split into
 * words must give slices inside the input, in order, NUL-ended normalised
 * forms within TEXT_WORD_MAX, and the same words whatever max is given;
 * sentence ends must move forward and stay inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct text_word w[256], w2[8];
    const char *s = (const char *)data;
    if (size > 8192) return 0;
    for (unsigned opts = 0; opts <= TEXT_KEEP_SLASH; opts++) {
        size_t n = text_words_opt(s, size, w, 256, opts);
        size_t n2 = text_words_opt(s, size, w2, 8, opts);
        if (n != n2) abort();
        for (size_t i = 0; i < n && i < 256; i++) {
            if (w[i].ptr < s || w[i].ptr + w[i].len > s + size || w[i].len == 0) abort();
            if (i && w[i].ptr < w[i - 1].ptr + w[i - 1].len) abort();
            if (w[i].nlen >= TEXT_WORD_MAX || strlen(w[i].norm) != w[i].nlen) abort();
            if (i < 8 && memcmp(&w[i], &w2[i], sizeof w[i]) != 0) abort();
            struct text_span sp[TEXT_WORD_MAX];
            size_t np = text_pieces(w[i].norm, w[i].nlen, sp, TEXT_WORD_MAX), sum = 0;
            for (size_t k = 0; k < np && k < TEXT_WORD_MAX; k++) sum += sp[k].len;
            if (np <= TEXT_WORD_MAX && sum != w[i].nlen) abort();
            double v;
            (void)text_number(w[i].norm, w[i].nlen, &v);
            (void)text_number_prefix(w[i].norm, w[i].nlen);
        }
    }
    for (size_t at = 0, e; at < size && (e = text_sentence_end(s, size, at)) != 0; at = e)
        if (e <= at || e > size) abort();
    return 0;
}
