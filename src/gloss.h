/*
 * gloss.h - the triage glossary: red-flag words of other languages read
 * as English.
 *
 * A question in a language the coach does not answer in is still triaged:
 * its words are looked up in policy/glossary.tsv ("es  no respira  not
 * breathing"), the words found become a short English text, and that text
 * goes through the English rules and protocols. Words the glossary
 * does not know are dropped, numbers are kept ("3 semanas" -> "3 weeks").
 * The glossary is data the operator can read and extend; this module is
 * its pure parser and matcher (no file I/O but gloss_load).
 *
 * File format: one entry a line, "lang<TAB>words<TAB>english", '#'
 * comments and blank lines ignored. words are 1 to GLOSS_MAX_WORDS
 * normalised words (lowercase, accents folded, as text.c reads them); a
 * word ending in '*' matches any word it begins ("convuls*"). english is
 * 1 to 8 plain words, or "_" for a function word ("de", "les", "und"):
 * it is read (it counts as covered, see gloss_read) but writes nothing and
 * is no hit. A longer match wins over a shorter one, and the question's
 * own language over another's.
 */
#ifndef COACHD_GLOSS_H
#define COACHD_GLOSS_H

#include <stddef.h>

/* words in one entry's foreign side: a Chinese or Japanese character is a
 * word, and so is a Thai piece (text.h), so phrases of those run long */
#define GLOSS_MAX_WORDS 10
#define GLOSS_MAX_PIECES 14     /* the same once digits are split from letters */
#define GLOSS_MAX_ENTRIES 20000
#define GLOSS_MAX_LINE 512

struct gloss;

/* One word of a question, normalised; brk: a clause ends after it. */
struct gloss_word { const char *s; size_t n; int brk; };

/* Parses a glossary from text[0..len). Returns NULL and a message in err
 * (with the line number) on any malformed line. Caller frees with
 * gloss_free. */
struct gloss *gloss_parse(const char *text, size_t len, char *err, size_t errlen);

/* Reads and parses a file (at most 4 MiB). NULL and err on failure. */
struct gloss *gloss_load(const char *path, char *err, size_t errlen);

void gloss_free(struct gloss *g);

/* The number of distinct language codes in g, and the i-th (owned by g). */
size_t gloss_nlangs(const struct gloss *g);
const char *gloss_lang(const struct gloss *g, size_t i);
size_t gloss_nentries(const struct gloss *g);

/* Writes the English reading of words[0..n) (question language lang, may
 * be NULL: any entry) to out (NUL-ended, truncated at a word boundary to
 * outcap). Returns the number of entries that matched (a phrase entry such
 * as "no respira" is one). */
size_t gloss_translate(const struct gloss *g, const char *lang,
                       const struct gloss_word *words, size_t n,
                       char *out, size_t outcap);

/* 1 when an entry of language lang has s (n bytes, normalised) among its
 * words, or a prefix* word s begins; 0 otherwise (lang NULL or not in g).
 * A word the glossary does not know is one worth reading through the
 * language's dictionary (safety.c, spell_lang_read). */
int gloss_knows(const struct gloss *g, const char *lang, const char *s, size_t n);

/* The distinct whole words (no prefix*) of language lang's entries, sorted,
 * up to max: pointers into g (not NUL-ended: lens) into words/lens.
 * Returns how many were written (0: lang NULL or not in g). */
size_t gloss_lang_words(const struct gloss *g, const char *lang, const char **words,
                        size_t *lens, size_t max);

/* How much of a question a reading covers: words, every word of each
 * entry matched ("no respira" is two), each function word ("_") and each
 * number kept; function, the function words among them; run, the longest
 * stretch of consecutive words it left unread. */
struct gloss_cover { size_t words, function, run; };

/* gloss_translate, and, when cover is not NULL, how much it covered. */
size_t gloss_read(const struct gloss *g, const char *lang,
                  const struct gloss_word *words, size_t n,
                  char *out, size_t outcap, struct gloss_cover *cover);

#endif
