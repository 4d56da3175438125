/* spell.h — spelling tolerance for the words triage looks for, on hunspell.
 *
 * A parent types "unconsiuos" or "bleading" at 3 a.m.; the policy's
 * patterns say "unconscious" and "bleeding". spell_fix() maps a word that
 * is neither a real English word (hunspell's en_US dictionary, plus en_GB
 * when installed) nor a word of the policy's own vocabulary to the nearest
 * vocabulary word that hunspell suggests, so a misspelt danger sign still
 * matches. Real words are never changed ("breed" stays "breed"), and only
 * a suggestion within a small edit distance is taken.
 *
 * Only vocabulary words that are English words themselves are targets (the
 * policy also holds Spanish, French and Polish words). The vocabulary is
 * split by first letter into small hunspell dictionaries
 * (suggestion cost grows with dictionary size); results are cached.
 * Not thread-safe: one speller per thread (coachd classifies on its loop).
 * Memory: the speller owns everything; spell_fix writes into the caller's
 * buffer. */
#ifndef COACH_SPELL_H
#define COACH_SPELL_H

#include <stddef.h>

#define SPELL_MAX_WORD_LEN 40     /* a word and its NUL, at most */

struct spell;

/* Builds a speller for these vocabulary words (lowercase ASCII, NUL-ended;
 * copied). dict_dir holds en_US.aff/.dic (NULL: $COACH_HUNSPELL_DIR or
 * /usr/share/hunspell). Returns NULL when the dictionaries are missing. */
struct spell *spell_open(const char *const *vocab, size_t n, const char *dict_dir);
void spell_close(struct spell *s);

/* The correction of a lowercase ASCII word, written to out (outlen bytes),
 * or 0 when it is left as it is (a known word, too short, no close
 * suggestion). Returns the correction's length. A hunspell suggestion costs
 * 0.3-2 ms, so each one spends one unit of *budget (NULL: unbounded) and
 * none is made once it is 0; known words and cached answers are free. */
size_t spell_fix(struct spell *s, const char *w, size_t len, char *out, size_t outlen,
                 int *budget);

/* 1 when w (len bytes, lowercase ASCII letters) is a real English word or
 * a vocabulary word, 0 when it is not (or is not plain ASCII letters), -1
 * when s is NULL (no dictionaries: cannot tell). Free of suggestions. */
int spell_known(struct spell *s, const char *w, size_t len);

/* Edit distance with adjacent transpositions (optimal string alignment),
 * capped: returns cap + 1 when larger. Pure. */
int spell_distance(const char *a, size_t alen, const char *b, size_t blen, int cap);


/* --- Other languages' own dictionaries (2026-12-03) ---
 *
 * A question in Spanish says "niños", "nino" or "ninos"; the triage
 * glossary knows "niño" (normalised "nino"). spell_lang reads a word of
 * another language through that language's hunspell dictionary (the
 * Debian hunspell-xx packages): a dictionary word gives its stems
 * ("lloraba" -> "llorar"), a word the dictionary lacks (accents left out,
 * a typo) gives the suggestions whose accent-folded form is within a small
 * edit distance ("nino" -> "niño", "pequeno" -> "pequeño") and their
 * stems, all accent-folded like text.c's words. The dictionaries are found
 * by language code (spell_lang_open) and loaded on first use; a missing
 * dictionary makes spell_lang_open return NULL (callers keep today's
 * behaviour). Answers are cached per word; suggestions (the costly call)
 * spend a caller's budget. Not thread-safe, as above. Memory: the reader
 * owns its dictionaries and cache; candidates are written into the
 * caller's array. */
struct spell_lang;

#define SPELL_LANG_MAX_CAND 6      /* candidates one word gives, at most */

/* A reader for language code (es fr de pt it pl nl ro tr sv id cs vi sw;
 * other codes: NULL) from dict_dir (NULL: $COACH_HUNSPELL_DIR or
 * /usr/share/hunspell). NULL when none of its dictionaries is installed.
 * Nothing is loaded yet: the first spell_lang_read does it. */
struct spell_lang *spell_lang_open(const char *code, const char *dict_dir);
void spell_lang_close(struct spell_lang *s);

/* The dictionary's readings of w (len bytes, lowercase ASCII letters, as
 * text.c folds a word): up to max (<= SPELL_LANG_MAX_CAND) candidate words,
 * accent-folded, NUL-ended, into out, best first, w itself never among
 * them. A word the dictionary knows gives its stems; one it does not give
 * close suggestions (folded edit distance 0 up to 4 letters, 1 up to
 * 7, 2 beyond) and their stems, spending one unit of *budget (NULL:
 * unbounded; none made at 0). Returns how many were written (0: s NULL, a
 * dictionary that failed to load, not plain ASCII letters, nothing). */
size_t spell_lang_read(struct spell_lang *s, const char *w, size_t len,
                       char out[][SPELL_MAX_WORD_LEN], size_t max, int *budget);

/* 1 when s's dictionaries are loaded (loading them now if they are not:
 * 0.02-1 s), 0 when none could be. The thread that loads them owns s until
 * it returns (see spell_warm). */
int spell_lang_load(struct spell_lang *s);

/* --- Loading every language's dictionaries in the background ---
 *
 * A server cannot stall its one event loop for a second on the first
 * question in Swedish, and triage must not answer one way while the
 * dictionary is loading and another once it is there. spell_warm is the
 * state machine that prevents both: n slots (one a language), each IDLE,
 * LOADING or READY; a background thread claims the IDLE ones in order and
 * runs load(arg, i) on each (it creates the hunspell handles, and may do
 * any more work on slot i's own data), then marks it READY. A caller about
 * to use slot i calls spell_warm_wait first: READY returns at once; IDLE is
 * claimed and loaded by the caller itself (so it never waits behind other
 * languages); LOADING waits for the thread to finish that one slot, for up
 * to timeout_ms. Slot i's data is touched by exactly one thread at a time:
 * the loader while LOADING, the callers from READY on (the mutex orders
 * the hand-over). Slots nobody asks for cost nothing to the callers.
 * Memory: the warm owns its thread and slots, not the caller's data. */
struct spell_warm;

enum { SPELL_WARM_IDLE, SPELL_WARM_LOADING, SPELL_WARM_READY };

/* n slots, none loaded yet. background: start the thread now (0: nothing
 * loads until a caller asks, as the CLI tools do). NULL on failure to
 * start the thread (the caller then loads on demand, as before). */
struct spell_warm *spell_warm_new(size_t n, void (*load)(void *arg, size_t i), void *arg,
                                  int background);
/* Stops the thread after the slot it is loading (if any) and frees. NULL:
 * no-op. */
void spell_warm_free(struct spell_warm *w);

/* Waits until slot i is READY (see above): 1 READY (loaded by whichever
 * thread), 0 not within timeout_ms (the slot still LOADING), -1 i out of
 * range or w NULL. *waited_ms (optional): how long this call took. */
int spell_warm_wait(struct spell_warm *w, size_t i, long timeout_ms, double *waited_ms);

/* Slot i's state now (SPELL_WARM_*; -1 out of range), and how many slots
 * are READY (of *total, optional). For tests and the readiness endpoint. */
int spell_warm_state(struct spell_warm *w, size_t i);
size_t spell_warm_ready(struct spell_warm *w, size_t *total);

#endif
