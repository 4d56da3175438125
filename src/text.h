/* text.h — one way to read a parent's words.
 *
 * Safety, retrieval and the grounded engine all read text through this
 * module: words as slices of the input with their normalised form, number
 * words and numbers, FTS5's own porter stemmer (so coverage stems exactly
 * the way BM25 does) and sentence ends. Everything here is pure except the
 * stemmer, which needs text_init() once (it opens a private in-memory
 * SQLite connection to reach FTS5's tokenizer API) and is not thread-safe.
 *
 * Memory: nothing returned points into module state; word slices point
 * into the caller's input and live as long as it does. */
#ifndef COACH_TEXT_H
#define COACH_TEXT_H

#include <stddef.h>

#define TEXT_WORD_MAX 64            /* longer words are cut (norm only) */

enum {
    TEXT_ALPHA    = 1u << 0,        /* has a letter */
    TEXT_DIGIT    = 1u << 1,        /* has a digit */
    TEXT_NUMBER   = 1u << 2,        /* reads as a number: .num is valid */
    TEXT_SENT_END = 1u << 3,        /* a sentence ends right after this word */
    TEXT_APOS     = 1u << 4         /* had an apostrophe inside ("can't") */
};

struct text_word {
    const char *ptr;                /* the word in the input (not NUL-ended) */
    size_t len;
    char norm[TEXT_WORD_MAX];       /* lowercased, NUL-ended; apostrophes kept */
    size_t nlen;
    unsigned flags;
    double num;                     /* when TEXT_NUMBER */
};

/* Splits s into words: runs of letters (any UTF-8 letter), digits and
 * inner apostrophes (' or U+2019, kept as '). A '.' or ',' between digits
 * stays in the word ("38.5", "1,000"). Glued digits and letters are split
 * ("3yo" -> "3" "yo", "5ml" -> "5" "ml"). ASCII and Latin-1/Latin
 * Extended-A letters are lowercased; other bytes of a UTF-8 letter are kept.
 * Writes up to max words and returns how many there are in all (which may
 * be more than max). */
size_t text_words(const char *s, size_t len, struct text_word *out, size_t max);

/* The value of a number word or numeral: "3", "38.5", "1,000", "three",
 * "twenty", "a dozen" is not one word so "dozen" = 12, "half" = 0.5,
 * "½" = 0.5. Returns 1 and sets *val, or 0. Pure. */
int text_number(const char *w, size_t len, double *val);

/* 1 when w, a word that may still be growing, could become a number word
 * ("tw", "seve"). Pure. */
int text_number_prefix(const char *w, size_t len);

/* Offset just past the end of the first sentence that ends in s[from..len):
 * after '.', '!', '?' or a newline, followed by a blank or the end, and not
 * a decimal point or an abbreviation such as "e.g." or "Dr.". 0 when no
 * sentence ends there. Pure. */
size_t text_sentence_end(const char *s, size_t len, size_t from);

/* Opens the stemmer; 0 on success. Idempotent. text_free() closes it. */
int text_init(void);
void text_free(void);

/* Porter stem of one lowercase word, as FTS5's "porter" tokenizer stems it,
 * written NUL-ended to out (at most outlen bytes). Returns the stem's
 * length, or 0 when the word is empty or too long. Needs text_init(). */
size_t text_stem(const char *w, size_t len, char *out, size_t outlen);

#endif
