/* pattern.h — the safety policy's pattern language: compiler, matcher and
 * the anchor index that tells, per question, which patterns can match.
 *
 * A pattern is a sequence of elements. Each element is a set of alternative
 * phrases and may be preceded by a gap "~N" (or "...", the compiler's
 * default gap) of up to N skipped tokens. A phrase is space-separated atoms:
 * a literal word ("choke"), a prefix ("suicid*", 3 letters or more), a
 * number range ("#0..12"), or "_" (any one token). An element is one atom,
 * a word class "@ingest" (its members spliced in as alternatives), or a
 * group "(a|b c|@k|)" whose empty alternative makes it optional; a phrase
 * may hold inline groups ("#0..7 (year|years) old"), expanded into one
 * phrase per combination. Only whole tokens are compared: "therapist" never
 * matches "rapist". The matcher backtracks over gaps and alternatives.
 *
 * Everything here is pure: no policy, no JSON, no globals. The caller
 * normalises text into tokens (safety.c) and owns every compiled pattern's
 * memory through the allocator it gives the compiler; the index and a
 * scan own their own memory (pat_index_free, pat_scan_free). Out of memory
 * aborts (util.h's xmalloc). Compiled patterns and a built index are
 * immutable and may be shared read-only by any number of threads. */
#ifndef COACH_PATTERN_H
#define COACH_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#define PAT_MAX_GAP    12      /* the largest "~N" */
#define PAT_PREFIX_MAX 24      /* longest prefix atom the anchor index holds */
#define PAT_ERR_MAX    4096    /* size of a compile error message */
#define PAT_NONE       UINT32_MAX

/* A token of normalised text: s[0..n) (not NUL-ended), its numeric value
 * when isnum (digits or a number word), and flags the matcher never reads
 * (safety.c marks a clause end there). */
struct pat_tok { const char *s; size_t n; double num; int isnum; int flags; };

enum { PAT_WORD, PAT_PREFIX, PAT_NUMBER, PAT_ANY };
/* s: NUL-ended copy for words and prefixes; h: pat_hash(s, n). */
struct pat_atom { int kind; const char *s; size_t n; double lo, hi; uint32_t h; };
struct pat_phrase { const struct pat_atom *atoms; size_t n; };
/* starts (set by the compiler): 0, or every alternative starts with a word
 * or a prefix whose first byte is in first (1), or with one of those or a
 * number (2): a token that is neither cannot start the element. */
/* bk (set by the compiler for an element of PAT_BUCKET_MIN alternatives
 * or more, else NULL): the alternatives that can match at a token whose
 * first byte is b, in their order, are bk[257 + bk[b]] .. bk[257 +
 * bk[b + 1]) (every alternative not starting with a word or a prefix is in
 * every list); the matcher tries only those, with the same result. */
#define PAT_BUCKET_MIN 8
struct pat_elem {
    const struct pat_phrase *alts;
    size_t nalts;
    int gap;
    int starts;
    unsigned char first[32];
    const uint16_t *bk;
};
/* anchor: an element every match must use whose alternatives all start
 * with a word or prefix (the one with the fewest), or NULL. first: the
 * first bytes a match can start with, when has_first (every alternative
 * of the first element starts with a word or a prefix) or num_first. id: the caller's
 * number for it, the pattern's index in the array given to pat_index_build. */
struct pat_pattern {
    const struct pat_elem *elems;
    size_t n;
    const char *src;
    const struct pat_elem *anchor;
    uint32_t id;
    int has_first;
    unsigned char first[32];
    int num_first;                 /* no has_first, but every alternative of the first
                                      element starts with a word, a prefix or a number
                                      (at least one): first holds the words' and
                                      prefixes' first bytes, and only such a byte or
                                      a number token can start a match */
};

/* ------------------------------------------------------------ compiler */

/* A word class: its name (without '@') and its member sources, each a
 * phrase or "@other"; a NULL member is one that is not a non-empty string
 * (reported as such). alts/nalts/state are the compiler's. */
struct pat_class {
    const char *name;
    const char *const *members;
    size_t nmembers;
    const struct pat_phrase *alts;
    size_t nalts;
    int state;                     /* 0 new, 1 resolving, 2 done */
};

/* What compiling needs, set by the caller:
 *  alloc(actx, n): n zeroed bytes that live as long as the patterns (an
 *    arena); the compiler never frees what it allocates there.
 *  default_gap: what "..." means.
 *  rewritten(rctx, w, n) (optional): 1 when normalisation rewrites the
 *    word w, so a pattern naming it could never match (an error).
 *  classes: the word classes "@name" may name.
 * On an error the message (where, what, which pattern) is in err. */
struct pat_compiler {
    void *(*alloc)(void *actx, size_t n);
    void *actx;
    int default_gap;
    int (*rewritten)(void *rctx, const char *w, size_t n);
    void *rctx;
    struct pat_class *classes;
    size_t nclasses;
    char err[PAT_ERR_MAX];
};

/* Compiles src (where names it in an error) into *out, id 0. 0 or -1. */
int pat_compile(struct pat_compiler *c, const char *src, const char *where,
                struct pat_pattern *out);

/* Resolves every class in order (an error names "classes"); each class is
 * resolved once, its "@other" members first. 0 or -1. */
int pat_classes_resolve(struct pat_compiler *c);

/* 1 when s is made of normalised word bytes (a-z, 0-9, UTF-8) and '.'. */
int pat_normalised_word(const char *s);

/* FNV-1a of s[0..n). */
uint32_t pat_hash(const char *s, size_t n);

/* ------------------------------------------------------------- matcher */

struct pat_scan;

/* What the matcher sees: tokens, an optional mask (mask[i] 1: token i is
 * blanked and matches nothing) and optionally the scan of these tokens. */
struct pat_input {
    const struct pat_tok *v;
    size_t n;
    const unsigned char *mask;
    const struct pat_scan *scan;
};

/* 1 when p matches starting exactly at pos; *end is one past its last token. */
int pat_match_at(const struct pat_pattern *p, const struct pat_input *in, size_t pos,
                 size_t *end);

/* The first match of p starting at or after from: [*start, *end). 0 if none. */
int pat_find(const struct pat_pattern *p, const struct pat_input *in, size_t from,
             size_t *start, size_t *end);

/* 0 when the scan shows p cannot match in (a required element has no word
 * of the input that can start it); else 1. Masks only remove matches, so
 * this holds for any mask. */
int pat_possible(const struct pat_pattern *p, const struct pat_input *in);

/* ---------------------------------------------------------- word lists */

/* A hash map from a word to a list of ids (in the order added, a repeat
 * of the last id dropped). Owns its entries; words are borrowed and must
 * outlive it. Zero-initialise, then pat_words_add; pat_words_free. */
struct pat_words { struct pat_wentry *e; size_t mask, count; };
struct pat_wentry { const char *s; uint32_t n, h; uint32_t *ids; uint32_t nids, cap; };

void pat_words_add(struct pat_words *w, const char *s, size_t n, uint32_t h, uint32_t id);
/* The ids of s (h = pat_hash(s, n)), *nids of them; NULL when absent. */
const uint32_t *pat_words_get(const struct pat_words *w, const char *s, size_t n, uint32_t h,
                              uint32_t *nids);
void pat_words_free(struct pat_words *w);

/* --------------------------------------------------------------- index */

/* Built once over every pattern, pats[i]->id == i: an id for every element
 * a match must use whose alternatives all start with a word or a prefix of
 * at most PAT_PREFIX_MAX bytes, and which of them each word (or word
 * prefix) can start. Owned by the caller: pat_index_free. */
struct pat_index;
struct pat_index *pat_index_build(const struct pat_pattern *const *pats, size_t n);
void pat_index_free(struct pat_index *x);

/* The index read over one token array: which required elements some token
 * can start, and where each pattern's first element can start. Built by
 * pat_scan_init (tokens borrowed, must outlive it), freed by pat_scan_free.
 * A pattern with an id the index does not know is always possible.
 * Whether a pattern is possible is worked out the first time it is asked
 * (its required elements against the entries seen), then remembered.
 * Positions are kept per word-map entry that starts a pattern (a "key":
 * slots of the word map, then of the prefix map), not per pattern: a common
 * word starts hundreds. A first element with several keys gets their
 * positions merged the first time pat_find asks (lazy, owned by the scan). */
struct pat_scan_lazy;
struct pat_scan {
    const struct pat_index *ix;
    unsigned char *possible;       /* per pattern id: 0 not asked yet, 1 not possible, 2 possible */
    unsigned char *seen[2];        /* bit per slot of the index's word / prefix map */
    unsigned char *eid_seen;       /* bit per required element id: some token can start it */
    uint32_t *head, *tail;         /* per key: first/last hit + 1 (valid when its slot is seen) */
    uint32_t (*hits)[2];           /* {position, next hit + 1} */
    size_t nhits, caphits;
    struct pat_scan_lazy *lz;      /* merged positions per start id */
};
void pat_scan_init(struct pat_scan *s, const struct pat_index *ix,
                   const struct pat_tok *v, size_t n);
void pat_scan_free(struct pat_scan *s);

#endif
