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
    TEXT_APOS     = 1u << 4,        /* had an apostrophe inside ("can't") */
    TEXT_CLAUSE_END = 1u << 5       /* a clause ends after it: , ; : ( ) or a dash, or a sentence end */
};

struct text_word {
    const char *ptr;                /* the word in the input (not NUL-ended) */
    size_t len;
    char norm[TEXT_WORD_MAX];       /* lowercased, NUL-ended; apostrophes kept */
    size_t nlen;
    unsigned flags;
    double num;                     /* when TEXT_NUMBER */
};

/* Splits s into words: runs of letters (any UTF-8 letter outside the
 * punctuation and symbol blocks), digits and inner apostrophes (', `,
 * U+2018, U+2019, U+02BC, all kept as '; leading and trailing ones are
 * dropped). A '.' between digits stays in the word ("38.5"). "½", "¼" and
 * "¾" are words of their own, normalised to "0.5", "0.25", "0.75". ASCII
 * letters are lowercased, and Latin-1 and Latin Extended-A letters are
 * lowercased and lose their accents ("Convulsión" -> "convulsion",
 * "łóżko" -> "lozko"); Greek and Cyrillic are lowercased and Greek loses
 * its tonos ("Πώς" -> "πως"); other scripts are kept as they are. Decimal
 * digits of other scripts (Arabic-Indic, Persian, Devanagari, Bengali,
 * Gurmukhi, Gujarati, Tamil, Thai, fullwidth) are read as ASCII digits,
 * and their punctuation (، ؛ ؟ ۔ । 、 ， and the Ethiopic marks) ends a
 * clause or a sentence as its ASCII counterpart does. Chinese and Japanese
 * characters are a word each; Thai, written without spaces, is split into
 * syllable-like pieces (text.c, thai_starts_piece). Words are not
 * split at digit/letter boundaries here: text_pieces does that.
 * Writes up to max words and returns how many there are in all (which may
 * be more than max). */
size_t text_words(const char *s, size_t len, struct text_word *out, size_t max);

/* As text_words, with options: */
enum {
    TEXT_KEEP_SLASH = 1u << 0,      /* a '/' between word characters stays ("b/c", "mg/kg") */
    /* stop reading where word max + 1 starts and return max + 1 ("more"):
     * the max words written, and their flags, are exactly as without it
     * (a caller reading a long text max words at a time, from the end of
     * the last, no longer reads the rest of the text at every step) */
    TEXT_STOP_AT_MAX = 1u << 1
};
size_t text_words_opt(const char *s, size_t len, struct text_word *out, size_t max,
                      unsigned opts);

/* Splits a normalised word at digit/letter boundaries ("3yo" -> "3" "yo",
 * "5ml" -> "5" "ml", "38.5c" -> "38.5" "c"); a '.' goes with the digits.
 * Writes up to max {offset,length} pairs into w and returns how many
 * pieces there are. Pure. */
struct text_span { size_t off, len; };
size_t text_pieces(const char *w, size_t len, struct text_span *out, size_t max);

/* The value of a number word or numeral (normalised, lowercase): digits
 * with at most one '.' ("3", "38.5"), "zero" to "twenty", the tens to
 * "sixty", "half" = 0.5, "quarter" = 0.25. Returns 1 and sets *val, or 0.
 * Pure. */
int text_number(const char *w, size_t len, double *val);

/* 1 when w, a word that may still be growing, could become a number word
 * ("tw", "seve"). Pure. */
int text_number_prefix(const char *w, size_t len);

/* Offset just past the end of the first sentence that ends in s[from..len):
 * a newline; '.', '!' or '?' (repeats and closing marks such as ) " ' ’ ”
 * included) followed by a blank; or "。", "！", "？". A '.' after a list
 * number ("2.") or an abbreviation ("e.g.", "Dr.", "tsp.") is no end.
 * 0 when no sentence ends there. A terminator at the very end of s is not
 * an end yet, since the next byte decides (text may arrive in pieces): for
 * a whole text, what follows the last end is the last sentence. Pure. */
size_t text_sentence_end(const char *s, size_t len, size_t from);

/* Opens the stemmer; 0 on success. Idempotent. text_free() closes it. */
int text_init(void);
void text_free(void);

/* Porter stem of one lowercase word, as FTS5's "porter" tokenizer stems it,
 * written NUL-ended to out (at most outlen bytes). Returns the stem's
 * length, or 0 when the word is empty or too long. Needs text_init(). */
size_t text_stem(const char *w, size_t len, char *out, size_t outlen);

#endif
