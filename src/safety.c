/* safety.c — deterministic safety classifier, refusal payloads, output hook.
 *
 * Three layers, each a pure function over data loaded once:
 *
 *  1. Normalisation (norm_*): the question is lowercased, punctuation becomes
 *     spaces, apostrophe contractions are expanded from the policy's
 *     "contractions" map, each word is looked up in the "spellings" map
 *     (misspellings, txt-speak) and digits are split from letters ("5ml" ->
 *     "5 ml"). The result is an array of {ptr,len} word tokens.
 *
 *  2. Matching: the pattern language (words, prefixes, number ranges, "_",
 *     word classes, groups, gaps; whole tokens only) is pattern.c's: its
 *     compiler, its backtracking matcher and the anchor index that lets a
 *     question try only the patterns, and the positions, its words can
 *     start. This file hands it the policy's classes and patterns at load
 *     and the normalised tokens of each question.
 *
 *  3. Policy (rules, masks, frames): masks blank out benign phrases ("choking
 *     hazard", "kill germs") for chosen categories before rules run; a rule
 *     fires when one of its patterns matches, one of its "requires" patterns
 *     (if any) matches, none of its "unless" patterns matches and none of its
 *     "unless_frames" (named contexts such as "asking how to prevent") is
 *     active. Categories are tried in the fixed priority order
 *     emergency > crisis > unsafe > medical > out_of_scope.
 *
 * All compiled policy data lives in one arena owned by the policy, so a
 * policy is a single allocation tree freed by safety_policy_free. Loading
 * validates everything and reports the first problem with its location. */
#include "safety.h"
#include "gloss.h"
#include "pattern.h"
#include "spell.h"
#include "text.h"
#include "tmodel.h"
#include "url.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SAFETY_MAX_INPUT   16384   /* bytes of a question we read */
#define SAFETY_MAX_TOKENS  8192
#define SAFETY_MAX_SPELL   6       /* hunspell suggestions per question (~0.3-2 ms each) */
#define SAFETY_MAX_GAP     PAT_MAX_GAP
#define SAFETY_NCAT        7
#define ARENA_BLOCK        16384

/* ---------------------------------------------------------------- types */

/* A word token (pattern.h); num/isnum cache its numeric value (digits or
 * number word); flags is TOK_BRK when a clause ends after it. */
#define TOK_BRK 1

/* Token array produced by normalisation; tokens point into buf (owned) or
 * into policy-owned replacement strings. */
struct toks { struct pat_tok *v; size_t n, cap; char *buf; int corrected; };  /* corrected: the speller changed a word */

/* What the matcher sees is a struct pat_input: tokens, an optional mask
 * (1 = blanked) and optionally the scan of the anchor index over them. */
struct patlist { const struct pat_pattern *v; size_t n; };

struct mapent { const char *key; const struct pat_tok *out; size_t nout; };
/* unless: the mask stands down when one of these matches the plain text
 * ("knocked out his baby tooth" is masked, "... his adult tooth" is not) */
struct mask { const char *id; unsigned cats; struct patlist pats, unless; };
struct frame { const char *id; struct patlist pats, except; };
struct rule {
    const char *id;
    safety_category cat;
    struct patlist pats, requires, unless;
    const size_t *frames;
    size_t nframes;
    const char *const *res;        /* rule-specific resource keys */
    size_t nres;
    int has_res;
    int no_gloss;                  /* "glossed": false: not taken from a glossed reading */
    int harm_request;              /* "harm_request": true (unsafe rules): a request to do or
                                      hide a harm to a child is refused as that request even
                                      when a crisis rule or protocol reads its words too */
};
/* A triage protocol: a rule over concepts, written from a published
 * red-flag list. It fires when every group of "all" has a match that is
 * not negated ("no fever") and no "unless" pattern or frame holds. */
enum { LEVEL_EMERGENCY, LEVEL_CRISIS, LEVEL_URGENT, LEVEL_NET, NLEVELS };
struct protocol {
    const char *id, *source, *reason;
    int level;
    struct patlist *all;           /* groups: each needs one match */
    size_t nall;
    struct patlist unless;
    struct patlist prepare;        /* looser words that bring its first aid to a "what if" */
    const size_t *frames;
    size_t nframes;
    const char *first_aid;         /* expanded for the locale */
    const char *const *res;
    size_t nres;
    int over_emergency;            /* a crisis that outranks an emergency (strangulation by a partner) */
    int over_crisis;               /* an injury that outranks a crisis rule (heavy bleeding after self-harm) */
    int yields_to_request;         /* a request for the harmful act (an unsafe rule, asked,
                                      nothing happened yet) is refused as that act */
};
struct language {
    const char *code, *name, *note;   /* note: in that language, expanded */
    const char *emergency_note, *crisis_note;   /* optional, expanded */
    struct patlist markers;           /* its common function words */
    const char *const *words;         /* the single-word markers, sorted */
    size_t nwords;
    int script;                       /* SCRIPT_*: written in a non-Latin script */
    struct patlist emergency, crisis; /* red flags written in that language */
    struct spell_lang *dict;          /* its hunspell dictionary (NULL: none installed) */
    struct lemma_ix *lix;             /* its glossary words by their dictionary stems (with dict) */
    int slot;                         /* its slot in the policy's warm (with dict), else -1 */
};

/* A language's glossary words by the stems its dictionary gives them
 * ("lloran" under "llorar"), so a question's "lloraba", whose stem is
 * "llorar" too, reads as "lloran" does. Built on the first question of
 * that language read through the dictionary (lemma_build). */
struct lemma_pair { char lemma[SPELL_MAX_WORD_LEN]; const char *word; size_t n; };
struct lemma_ix { struct lemma_pair *v; size_t n; int built; };

/* Non-Latin scripts a language entry may name ("script"). */
enum { SCRIPT_LATIN, SCRIPT_ARABIC, SCRIPT_CYRILLIC, SCRIPT_DEVANAGARI, SCRIPT_BENGALI,
       SCRIPT_GURMUKHI, SCRIPT_GUJARATI, SCRIPT_TAMIL, SCRIPT_CJK, SCRIPT_HANGUL,
       SCRIPT_THAI, SCRIPT_HEBREW, SCRIPT_GREEK, SCRIPT_ETHIOPIC, SCRIPT_N };
static const char *const script_names[SCRIPT_N] = {
    "latin", "arabic", "cyrillic", "devanagari", "bengali", "gurmukhi", "gujarati",
    "tamil", "cjk", "hangul", "thai", "hebrew", "greek", "ethiopic"
};
struct resource { const char *key, *name, *phone, *url; };
/* after_first_aid: what follows a protocol's first-aid line in place of the
 * message, which would repeat the call to the emergency number (optional). */
struct tmpl { const char *empathy, *message, *after_first_aid; };

struct arena_block { struct arena_block *next; size_t used, cap; unsigned char data[]; };

struct safety_policy {
    struct arena_block *arena;
    struct mapent *contr, *spell;
    size_t ncontr, nspell;
    struct pat_words hcontr, hspell;   /* their keys -> entry index */
    struct pat_class *classes;     /* names and members (arena), resolved by pattern.c */
    size_t nclasses;
    struct mask *masks;
    size_t nmasks;
    struct frame *frames;
    size_t nframes;
    struct rule *rules;
    size_t nrules;
    int default_gap;
    struct tmpl tmpl[SAFETY_NCAT];
    struct resource *res;          /* resources of the loaded locale */
    size_t nres;
    const char *const *catres[SAFETY_NCAT];
    size_t ncatres[SAFETY_NCAT];
    struct patlist hold, hold_if_medicine, medicine;
    const char *const *dose_units, *const *continuations, *const *range_words;
    const char *const *not_dose_words;
    size_t ndose_units, ncontinuations, nrange_words, nnot_dose_words;
    unsigned dose_window;
    struct safety_filter_words filter_words;
    const char *referral;
    struct protocol *protos;
    size_t nprotos;
    struct patlist negation, prepare, prepare_except;
    struct patlist teach;      /* how to talk to, teach or get a child to...: like
                                  prepare for the protocols, but the net still reads */
    struct patlist event_now;  /* an event told as happening or just happened */
    struct patlist request;    /* the question asks whether or how to do something */
    struct patlist gloss_hold; /* a glossed reading naming one is never answered */
    struct patlist gloss_unsafe, gloss_medical; /* ... and refused as such when nothing
                                  more urgent is read in it (lang43) */
    struct patlist gloss_offtopic, gloss_parenting; /* a reading naming the first and
                                  none of the second is out of scope (scope44) */
    struct patlist gloss_crisis; /* a crisis concept in keyword text (a wish not to
                                  live, cuts on the wrist, an adult's touching, a
                                  child gone since last night): a crisis (crisis45) */
    size_t past_frames[4];               /* frame indices + 1; 0 ends */
    size_t net_calm[8];                  /* frames of an ordinary question the net's
                                            medical / unsafe / out-of-scope refusal
                                            stands down for (benign45); indices + 1 */
    struct patlist story;                /* a film, book, game or pretend play */
    int neg_window;
    struct language *langs;
    size_t nlangs;
    const struct language *other;        /* the "other" entry: a language with no entry of its own */
    struct tmodel *model;                /* the fitted net under the rules (NULL: none shipped) */
    struct gloss *gloss;                 /* other languages' red-flag words read as English (NULL: none) */
    struct patlist english;              /* English function words */
    const char *const *english_w;        /* ... its single words, sorted */
    size_t nenglish_w;
    struct spell *speller;               /* spelling tolerance (NULL: dictionaries missing) */
    /* the languages' dictionaries (and their stem indexes), one slot each
     * with a dictionary: loaded in the background by safety_policy_warm,
     * else on first use (NULL warm: the CLI tools); see spell_warm */
    struct spell_warm *warm;
    const struct language **slot_lang;
    size_t nslots;
    /* the anchor index over every compiled pattern (by id, pattern.c) and
     * the marker index: a marker word -> the languages it marks */
    const struct pat_pattern **pats;
    size_t npats, cappats;
    struct pat_index *ix;
    struct pat_words am;
};
static void anchor_index_build(struct safety_policy *p);

static const char *const cat_names[SAFETY_NCAT] = {
    "none", "emergency", "medical", "crisis", "unsafe", "out_of_scope", "language"
};
static const safety_category cat_priority[] = {
    SAFETY_EMERGENCY, SAFETY_CRISIS, SAFETY_UNSAFE, SAFETY_MEDICAL,
    SAFETY_OUT_OF_SCOPE
};
static const char *const required_resources[] = {
    "emergency", "poison", "crisis", "child_abuse", "domestic_violence"
};

const char *safety_category_name(safety_category c)
{
    if ((int)c < 0 || (int)c >= SAFETY_NCAT)
        return "none";
    return cat_names[c];
}

/* Category by name, excluding "none"; -1 when unknown. */
static int cat_from_name(const char *s)
{
    for (int i = 1; i < SAFETY_NCAT; i++)
        if (strcmp(s, cat_names[i]) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- arena */

static void *arena_alloc(struct safety_policy *p, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct arena_block *b = p->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = xmalloc(sizeof *b + cap);
        b->cap = cap;
        b->used = 0;
        b->next = p->arena;
        p->arena = b;
    }
    void *r = b->data + b->used;
    b->used += n;
    memset(r, 0, n);
    return r;
}

static char *arena_strndup(struct safety_policy *p, const char *s, size_t n)
{
    char *r = arena_alloc(p, n + 1);
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

static char *arena_strdup(struct safety_policy *p, const char *s)
{
    return arena_strndup(p, s, strlen(s));
}

void safety_policy_free(struct safety_policy *p)
{
    if (!p)
        return;
    spell_warm_free(p->warm);           /* joins the loader first */
    free(p->slot_lang);
    spell_close(p->speller);
    for (size_t i = 0; p->langs && i < p->nlangs; i++) {
        spell_lang_close(p->langs[i].dict);
        if (p->langs[i].lix)
            free(p->langs[i].lix->v);
        free(p->langs[i].lix);
    }
    tmodel_free(p->model);
    gloss_free(p->gloss);
    pat_index_free(p->ix);
    pat_words_free(&p->am);
    pat_words_free(&p->hcontr);
    pat_words_free(&p->hspell);
    free(p->pats);
    struct arena_block *b = p->arena;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(p);
}

/* -------------------------------------------------------- normalisation */

/* A byte a normalised word may hold: lowercase letters, digits, UTF-8. */
static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int tok_number(const struct pat_tok *t, double *v);

static void toks_push(struct toks *t, const char *s, size_t n)
{
    if (n == 0 || t->n >= SAFETY_MAX_TOKENS)
        return;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 32;
        t->v = xrealloc(t->v, t->cap * sizeof *t->v);
    }
    struct pat_tok *k = &t->v[t->n++];
    k->s = s;
    k->n = n;
    k->isnum = tok_number(k, &k->num);
    k->flags = 0;
}

/* The entry of s[0..n) in a map (its keys hashed in h at load), or NULL. */
static const struct mapent *map_find(const struct pat_words *h, const struct mapent *m,
                                     const char *s, size_t n)
{
    uint32_t k = 0;
    const uint32_t *ids = pat_words_get(h, s, n, pat_hash(s, n), &k);
    return ids && k ? &m[ids[0]] : NULL;
}

/* Pushes a word, replaced by its spelling-map entry when it has one. */
static void norm_lookup(const struct safety_policy *p, struct toks *t,
                        const char *s, size_t n)
{
    const struct mapent *e = map_find(&p->hspell, p->spell, s, n);
    if (!e) {
        toks_push(t, s, n);
        return;
    }
    for (size_t i = 0; i < e->nout; i++)
        toks_push(t, e->out[i].s, e->out[i].n);
}

/* A look-up of one piece of a word: English (norm_lookup) or another
 * language's (gloss_lookup; lang its code, NULL for English). */
typedef void (*piece_lookup)(const struct safety_policy *p, const char *lang, struct toks *t,
                             const char *s, size_t n);

/* The pieces of a word without apostrophes, each handed to look: the whole
 * word when the spelling map has it ("b/c"); the word as it is when it is
 * one piece (most words: no second look-up); else its slash-separated
 * parts, split at digit/letter boundaries ("5ml", "2yo"). English and the
 * glossary (gloss_norm_word) read words the same way through it. */
static void word_pieces(const struct safety_policy *p, const char *lang, struct toks *t,
                        const char *s, size_t n, piece_lookup look)
{
    if (n == 0)
        return;
    if (map_find(&p->hspell, p->spell, s, n)) {
        look(p, lang, t, s, n);
        return;
    }
    if (!memchr(s, '/', n)) {
        struct text_span sp[2];
        if (text_pieces(s, n, sp, 2) == 1) {
            toks_push(t, s, n);
            return;
        }
    }
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            if (i > start) {
                struct text_span sp[TEXT_WORD_MAX];
                size_t np = text_pieces(s + start, i - start, sp, TEXT_WORD_MAX);
                for (size_t k = 0; k < np && k < TEXT_WORD_MAX; k++)
                    look(p, lang, t, s + start + sp[k].off, sp[k].len);
            }
            start = i + 1;
        }
    }
}

static void norm_lookup_en(const struct safety_policy *p, const char *lang, struct toks *t,
                           const char *s, size_t n)
{
    (void)lang;
    norm_lookup(p, t, s, n);
}

/* A word without apostrophes, read as English. */
static void norm_word(const struct safety_policy *p, struct toks *t,
                      const char *s, size_t n)
{
    word_pieces(p, NULL, t, s, n, norm_lookup_en);
}

/* A raw word that may carry apostrophes (s is writable, owned by toks). */
static void norm_raw(const struct safety_policy *p, struct toks *t, char *s, size_t n)
{
    while (n && s[0] == '\'') {
        s++;
        n--;
    }
    while (n && s[n - 1] == '\'')
        n--;
    if (!memchr(s, '\'', n)) {
        norm_word(p, t, s, n);
        return;
    }
    const struct mapent *e = map_find(&p->hcontr, p->contr, s, n);
    if (e) {
        for (size_t i = 0; i < e->nout; i++)
            toks_push(t, e->out[i].s, e->out[i].n);
        return;
    }
    if (n >= 2 && s[n - 2] == '\'' && s[n - 1] == 's')
        n -= 2;                          /* possessive: "son's" -> "son" */
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\'')
            s[w++] = s[i];
    norm_word(p, t, s, w);
}

/* The words of one split of a question as text.c read them, before any
 * spelling fix: each norm (NUL-ended, in buf at off[i], nl[i] bytes) and
 * whether a clause ends after it. A question read twice (with and without
 * the fixes) is split once (norm_tokens_split). Owns its arrays. */
struct split {
    char *buf;
    size_t nb, bcap;
    uint32_t *off;
    unsigned char *nl, *brk;
    size_t n, cap;
};

static void split_free(struct split *sp)
{
    free(sp->buf);
    free(sp->off);
    free(sp->nl);
    free(sp->brk);
    memset(sp, 0, sizeof *sp);
}

static void split_add(struct split *sp, const struct text_word *w)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? 2 * sp->cap : 64;
        sp->off = xrealloc(sp->off, sp->cap * sizeof *sp->off);
        sp->nl = xrealloc(sp->nl, sp->cap);
        sp->brk = xrealloc(sp->brk, sp->cap);
    }
    sp->off[sp->n] = (uint32_t)sp->nb;
    sp->nl[sp->n] = (unsigned char)w->nlen;         /* < TEXT_WORD_MAX */
    sp->brk[sp->n] = (w->flags & TEXT_CLAUSE_END) != 0;
    sp->n++;
    if (sp->nb + w->nlen + 1 > sp->bcap) {
        sp->bcap = 2 * sp->bcap + w->nlen + 1 + 256;
        sp->buf = xrealloc(sp->buf, sp->bcap);
    }
    memcpy(sp->buf + sp->nb, w->norm, w->nlen + 1);
    sp->nb += w->nlen + 1;
}

/* Text -> tokens: the words text.c reads (lowercased, accents folded, a
 * '.' kept between digits and a '/' inside a word), each then rewritten by
 * the policy's maps. With correct, a misspelt word that is no English word
 * becomes the nearest policy word (spell.c). With save (zeroed), the words
 * as split are kept there too, for norm_tokens_split. t must be zeroed;
 * free with toks_free. */
static void norm_tokens_opt(const struct safety_policy *p, const char *text,
                            size_t len, struct toks *t, int correct, struct split *save)
{
    struct text_word w[64];
    size_t off = 0, o = 0;
    int budget = SAFETY_MAX_SPELL;           /* hunspell look-ups per question */
    if (len > SAFETY_MAX_INPUT)
        len = SAFETY_MAX_INPUT;
    t->buf = xmalloc(3 * len + 16);        /* norms (+2 for a correction) + NUL each */
    for (;;) {
        size_t n = text_words_opt(text + off, len - off, w, 64, TEXT_KEEP_SLASH | TEXT_STOP_AT_MAX);
        size_t got = n < 64 ? n : 64;
        for (size_t i = 0; i < got; i++) {
            char *dst = t->buf + o;
            size_t wl = w[i].nlen, fl;
            if (save)
                split_add(save, &w[i]);
            memcpy(dst, w[i].norm, wl + 1);
            if (correct && p->speller && wl >= 5 && !(w[i].flags & (TEXT_DIGIT | TEXT_APOS)) &&
                !map_find(&p->hspell, p->spell, dst, wl) &&
                (fl = spell_fix(p->speller, dst, wl, dst, wl + 3, &budget)) > 0) {
                wl = fl;                         /* at most SAFETY_MAX_SPELL suggestions */
                t->corrected = 1;
            }
            o += wl + 1;
            norm_raw(p, t, dst, wl);
            if ((w[i].flags & TEXT_CLAUSE_END) && t->n)
                t->v[t->n - 1].flags = TOK_BRK;
        }
        if (n <= 64)
            break;
        off = (size_t)(w[63].ptr + w[63].len - text);
    }
}

/* A reader of one raw word (writable, owned by toks) into tokens: English
 * (norm_raw) or another language's (gloss_norm_word; lang its code). */
typedef void (*word_reader)(const struct safety_policy *p, const char *lang, struct toks *t,
                            char *s, size_t n);

/* The tokens of a split that a first reading of the same text saved (len
 * as then), each word read by read. */
static void split_read(const struct safety_policy *p, const char *lang, const struct split *sp,
                       size_t len, struct toks *t, word_reader read)
{
    size_t o = 0;
    if (len > SAFETY_MAX_INPUT)
        len = SAFETY_MAX_INPUT;
    t->buf = xmalloc(3 * len + 16);
    for (size_t i = 0; i < sp->n; i++) {
        char *dst = t->buf + o;
        size_t wl = sp->nl[i];
        memcpy(dst, sp->buf + sp->off[i], wl + 1);
        o += wl + 1;
        read(p, lang, t, dst, wl);
        if (sp->brk[i] && t->n)
            t->v[t->n - 1].flags = TOK_BRK;
    }
}

static void norm_raw_en(const struct safety_policy *p, const char *lang, struct toks *t,
                        char *s, size_t n)
{
    (void)lang;
    norm_raw(p, t, s, n);
}

/* The tokens norm_tokens_opt(p, text, len, t, 0, NULL) gives, from the
 * split that a first reading of the same text saved (len as then). */
static void norm_tokens_split(const struct safety_policy *p, const struct split *sp,
                              size_t len, struct toks *t)
{
    split_read(p, NULL, sp, len, t, norm_raw_en);
}

static void norm_tokens(const struct safety_policy *p, const char *text,
                        size_t len, struct toks *t)
{
    norm_tokens_opt(p, text, len, t, 0, NULL);
}

static void toks_free(struct toks *t)
{
    free(t->v);
    free(t->buf);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------- matching */

/* Set by the unit tests to compare every decision with and without the
 * anchor-word index; always 0 in coachd. */
static int safety_no_index;

/* 1 and *v when the token is a number (text_number). */
static int tok_number(const struct pat_tok *t, double *v)
{
    return text_number(t->s, t->n, v);
}

static int match_any(const struct patlist *l, const struct pat_input *in)
{
    size_t s, e;
    for (size_t i = 0; i < l->n; i++)
        if (pat_possible(&l->v[i], in) && pat_find(&l->v[i], in, 0, &s, &e))
            return 1;
    return 0;
}

/* ------------------------------------------------------------- loading */

struct loadctx {
    struct safety_policy *p;
    const char *path;
    char *err;
    size_t errlen;
    struct pat_compiler pc;        /* the pattern compiler, on the policy's arena */
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int load_fail(struct loadctx *c, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "%s: ", c->path);
    if (n < 0 || (size_t)n >= c->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static json_t *get_member(struct loadctx *c, json_t *obj, const char *key,
                          json_type type, const char *where)
{
    static const char *const tn[] = {"an object", "an array", "a string",
                                     "an integer", "a number", "true", "false",
                                     "null"};
    json_t *v = json_object_get(obj, key);
    if (!v) {
        load_fail(c, "%s: missing \"%s\"", where, key);
        return NULL;
    }
    if (json_typeof(v) != type) {
        load_fail(c, "%s: \"%s\" must be %s", where, key, tn[type]);
        return NULL;
    }
    return v;
}

static const char *get_string(struct loadctx *c, json_t *obj, const char *key,
                              const char *where)
{
    json_t *v = get_member(c, obj, key, JSON_STRING, where);
    if (!v)
        return NULL;
    if (json_string_length(v) == 0) {
        load_fail(c, "%s: \"%s\" is empty", where, key);
        return NULL;
    }
    return json_string_value(v);
}

/* Splits a normalised replacement ("can not") into arena tokens. */
static struct pat_tok *split_words(struct safety_policy *p, const char *s, size_t *count)
{
    size_t n = 0, cap = 4;
    struct pat_tok *v = arena_alloc(p, cap * sizeof *v);
    const char *q = s;
    while (*q) {
        while (*q == ' ')
            q++;
        const char *start = q;
        while (*q && *q != ' ')
            q++;
        if (q == start)
            break;
        if (n == cap) {
            struct pat_tok *nv = arena_alloc(p, 2 * cap * sizeof *v);
            memcpy(nv, v, n * sizeof *v);
            v = nv;
            cap *= 2;
        }
        v[n].s = arena_strndup(p, start, (size_t)(q - start));
        v[n].n = (size_t)(q - start);
        n++;
    }
    *count = n;
    return v;
}

static int mapent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mapent *)a)->key, ((const struct mapent *)b)->key);
}

/* Loads one normalisation map. Keys of "contractions" must contain an
 * apostrophe; keys of "spellings" must not. Values must be normalised. */
static int load_map(struct loadctx *c, json_t *norm, const char *name,
                    int want_apostrophe, struct mapent **out, size_t *count,
                    struct pat_words *h)
{
    char where[64];
    snprintf(where, sizeof where, "normalise.%s", name);
    json_t *m = get_member(c, norm, name, JSON_OBJECT, "normalise");
    if (!m)
        return -1;
    size_t n = json_object_size(m), i = 0;
    struct mapent *v = arena_alloc(c->p, (n ? n : 1) * sizeof *v);
    const char *key;
    json_t *val;
    json_object_foreach(m, key, val) {
        int has_ap = strchr(key, '\'') != NULL;
        if (!*key || has_ap != want_apostrophe)
            return load_fail(c, "%s: key \"%s\" %s", where, key, want_apostrophe
                        ? "must contain an apostrophe" : "must not contain an apostrophe");
        for (const char *q = key; *q; q++)
            if (*q != '\'' && *q != '/' && !is_word_byte((unsigned char)*q))
                return load_fail(c, "%s: key \"%s\" must be lowercase letters and digits", where, key);
        if (!json_is_string(val) || json_string_length(val) == 0)
            return load_fail(c, "%s: value for \"%s\" must be a non-empty string", where, key);
        v[i].key = arena_strdup(c->p, key);
        v[i].out = split_words(c->p, json_string_value(val), &v[i].nout);
        for (size_t k = 0; k < v[i].nout; k++)
            if (!pat_normalised_word(v[i].out[k].s))
                return load_fail(c, "%s: value for \"%s\" must be lowercase words", where, key);
        i++;
    }
    qsort(v, n, sizeof *v, mapent_cmp);
    for (i = 0; i < n; i++)
        pat_words_add(h, v[i].key, strlen(v[i].key), pat_hash(v[i].key, strlen(v[i].key)),
                      (uint32_t)i);
    *out = v;
    *count = n;
    return 0;
}

/* ---------------------------------------------------- pattern compiling */

static void *pc_alloc(void *actx, size_t n)
{
    return arena_alloc(actx, n);
}

/* A word normalise.spellings rewrites can never be in the text. */
static int pc_rewritten(void *rctx, const char *w, size_t n)
{
    const struct safety_policy *p = rctx;
    return map_find(&p->hspell, p->spell, w, n) != NULL;
}

static void compiler_init(struct loadctx *c)
{
    memset(&c->pc, 0, sizeof c->pc);
    c->pc.alloc = pc_alloc;
    c->pc.actx = c->p;
    c->pc.default_gap = c->p->default_gap;
    c->pc.rewritten = pc_rewritten;
    c->pc.rctx = c->p;
    c->pc.classes = c->p->classes;
    c->pc.nclasses = c->p->nclasses;
}

/* Compiles one pattern (pattern.c) and numbers it for the anchor index. */
static int compile_pattern(struct loadctx *c, const char *src, const char *where,
                           struct pat_pattern *out)
{
    if (!c->pc.alloc)
        compiler_init(c);
    if (pat_compile(&c->pc, src, where, out) < 0)
        return load_fail(c, "%s", c->pc.err);
    if (c->p->npats == c->p->cappats) {
        c->p->cappats = c->p->cappats ? 2 * c->p->cappats : 1024;
        c->p->pats = xrealloc(c->p->pats, c->p->cappats * sizeof *c->p->pats);
    }
    out->id = (uint32_t)c->p->npats;
    c->p->pats[c->p->npats++] = out;
    return 0;
}

/* A JSON array of pattern strings -> patlist. Missing and optional: empty. */
static int load_patlist(struct loadctx *c, json_t *obj, const char *key, int required,
                        const char *where, struct patlist *out)
{
    json_t *arr = json_object_get(obj, key);
    memset(out, 0, sizeof *out);
    if (!arr && !required)
        return 0;
    if (!json_is_array(arr) || (required && json_array_size(arr) == 0))
        return load_fail(c, "%s: \"%s\" must be a non-empty array of patterns", where, key);
    size_t n = json_array_size(arr);
    struct pat_pattern *v = arena_alloc(c->p, (n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        char w[256];
        snprintf(w, sizeof w, "%s %s[%zu]", where, key, i);
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s))
            return load_fail(c, "%s: pattern must be a string", w);
        if (compile_pattern(c, json_string_value(s), w, &v[i]) < 0)
            return -1;
    }
    out->v = v;
    out->n = n;
    return 0;
}

static int load_classes(struct loadctx *c, json_t *root)
{
    json_t *obj = get_member(c, root, "classes", JSON_OBJECT, "top level");
    if (!obj)
        return -1;
    struct safety_policy *p = c->p;
    p->nclasses = json_object_size(obj);
    p->classes = arena_alloc(p, (p->nclasses ? p->nclasses : 1) * sizeof *p->classes);
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        if (!json_is_array(val) || json_array_size(val) == 0)
            return load_fail(c, "classes.%s: must be a non-empty array of words or phrases", key);
        size_t nm = json_array_size(val);
        const char **m = arena_alloc(p, nm * sizeof *m);
        for (size_t k = 0; k < nm; k++) {   /* NULL: not a non-empty string */
            json_t *s = json_array_get(val, k);
            m[k] = json_is_string(s) && json_string_length(s) ? arena_strdup(p, json_string_value(s)) : NULL;
        }
        p->classes[i].name = arena_strdup(p, key);
        p->classes[i].members = m;
        p->classes[i].nmembers = nm;
        i++;
    }
    compiler_init(c);
    if (pat_classes_resolve(&c->pc) < 0)
        return load_fail(c, "%s", c->pc.err);
    return 0;
}

/* "categories": ["emergency", ...] -> bit set; all categories if absent. */
static int load_cats(struct loadctx *c, json_t *obj, const char *where, unsigned *out)
{
    json_t *arr = json_object_get(obj, "categories");
    if (!arr) {
        *out = ~0u;
        return 0;
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return load_fail(c, "%s: \"categories\" must be a non-empty array", where);
    *out = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        int k = s ? cat_from_name(s) : -1;
        if (k < 0)
            return load_fail(c, "%s: unknown category \"%s\"", where, s ? s : "(not a string)");
        *out |= 1u << k;
    }
    return 0;
}

/* Every array of the policy ("masks", "frames", "rules") holds objects
 * with a unique non-empty "id"; this checks the shape and builds "where". */
static json_t *load_item(struct loadctx *c, json_t *arr, size_t i, const char *name,
                         char *where, size_t wlen, const char **id)
{
    json_t *o = json_array_get(arr, i);
    snprintf(where, wlen, "%s[%zu]", name, i);
    if (!json_is_object(o)) {
        load_fail(c, "%s: must be an object", where);
        return NULL;
    }
    *id = get_string(c, o, "id", where);
    if (!*id)
        return NULL;
    snprintf(where, wlen, "%s[%zu] \"%s\"", name, i, *id);
    return o;
}

/* The top-level array name (absent: none) as *n items of size bytes in a
 * new arena array *out, each filled by item(c, object, where, id, slot)
 * once load_item has checked the object and its id. */
typedef int (*item_loader)(struct loadctx *c, json_t *o, const char *where, const char *id, void *slot);

static int load_items(struct loadctx *c, json_t *root, const char *name, size_t size,
                      void **out, size_t *n, item_loader item)
{
    json_t *arr = json_object_get(root, name);
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return load_fail(c, "top level: \"%s\" must be an array", name);
    *n = json_array_size(arr);
    *out = arena_alloc(c->p, (*n ? *n : 1) * size);
    for (size_t i = 0; i < *n; i++) {
        char where[160];
        const char *id;
        json_t *o = load_item(c, arr, i, name, where, sizeof where, &id);
        if (!o || item(c, o, where, id, (char *)*out + i * size) < 0)
            return -1;
    }
    return 0;
}

static int load_mask(struct loadctx *c, json_t *o, const char *where, const char *id, void *slot)
{
    struct mask *m = slot;
    if (load_cats(c, o, where, &m->cats) < 0 || load_patlist(c, o, "patterns", 1, where, &m->pats) < 0
        || load_patlist(c, o, "unless", 0, where, &m->unless) < 0)
        return -1;
    m->id = arena_strdup(c->p, id);
    return 0;
}

static int load_frame(struct loadctx *c, json_t *o, const char *where, const char *id, void *slot)
{
    struct frame *f = slot;
    if (load_patlist(c, o, "patterns", 1, where, &f->pats) < 0
        || load_patlist(c, o, "except", 0, where, &f->except) < 0)
        return -1;
    f->id = arena_strdup(c->p, id);
    return 0;
}

static int load_masks(struct loadctx *c, json_t *root)
{
    void *v = NULL;
    int rc = load_items(c, root, "masks", sizeof *c->p->masks, &v, &c->p->nmasks, load_mask);
    c->p->masks = v;
    return rc;
}

static int load_frames(struct loadctx *c, json_t *root)
{
    void *v = NULL;
    int rc = load_items(c, root, "frames", sizeof *c->p->frames, &v, &c->p->nframes, load_frame);
    c->p->frames = v;
    return rc;
}

/* "unless_frames": names of frames -> indices. */
static int load_rule_frames(struct loadctx *c, json_t *o, const char *where, struct rule *r)
{
    json_t *arr = json_object_get(o, "unless_frames");
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return load_fail(c, "%s: \"unless_frames\" must be an array of frame ids", where);
    size_t n = json_array_size(arr);
    size_t *v = arena_alloc(c->p, (n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        size_t k = 0;
        while (s && k < c->p->nframes && strcmp(c->p->frames[k].id, s) != 0)
            k++;
        if (!s || k == c->p->nframes)
            return load_fail(c, "%s: unknown frame \"%s\"", where, s ? s : "(not a string)");
        v[i] = k;
    }
    r->frames = v;
    r->nframes = n;
    return 0;
}

/* A JSON array of strings -> arena string array. */
static int load_strings(struct loadctx *c, json_t *arr, const char *where,
                        const char *const **out, size_t *count)
{
    if (!json_is_array(arr))
        return load_fail(c, "%s: must be an array of strings", where);
    size_t n = json_array_size(arr);
    const char **v = arena_alloc(c->p, (n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(arr, i);
        if (!json_is_string(s) || json_string_length(s) == 0)
            return load_fail(c, "%s[%zu]: must be a non-empty string", where, i);
        v[i] = arena_strdup(c->p, json_string_value(s));
    }
    *out = v;
    *count = n;
    return 0;
}

static int load_rule(struct loadctx *c, json_t *arr, size_t i, struct rule *r)
{
    char where[160];
    const char *id, *cat;
    json_t *o = load_item(c, arr, i, "rules", where, sizeof where, &id);
    if (!o || !(cat = get_string(c, o, "category", where)))
        return -1;
    for (size_t k = 0; k < i; k++)
        if (strcmp(c->p->rules[k].id, id) == 0)
            return load_fail(c, "%s: duplicate rule id", where);
    int k = cat_from_name(cat);
    if (k < 0)
        return load_fail(c, "%s: unknown category \"%s\"", where, cat);
    r->id = arena_strdup(c->p, id);
    r->cat = (safety_category)k;
    if (load_patlist(c, o, "patterns", 1, where, &r->pats) < 0
        || load_patlist(c, o, "requires", 0, where, &r->requires) < 0
        || load_patlist(c, o, "unless", 0, where, &r->unless) < 0
        || load_rule_frames(c, o, where, r) < 0)
        return -1;
    json_t *res = json_object_get(o, "resources");
    if (res) {
        char w[200];
        snprintf(w, sizeof w, "%s resources", where);
        if (load_strings(c, res, w, &r->res, &r->nres) < 0)
            return -1;
        r->has_res = 1;
    }
    json_t *gl = json_object_get(o, "glossed");
    if (gl && !json_is_boolean(gl))
        return load_fail(c, "%s: \"glossed\" must be true or false", where);
    r->no_gloss = gl && json_is_false(gl);
    json_t *hr = json_object_get(o, "harm_request");
    if (hr && !json_is_boolean(hr))
        return load_fail(c, "%s: \"harm_request\" must be true or false", where);
    if (hr && json_is_true(hr) && r->cat != SAFETY_UNSAFE)
        return load_fail(c, "%s: \"harm_request\" is for unsafe rules only", where);
    r->harm_request = hr && json_is_true(hr);
    return 0;
}

static int load_rules(struct loadctx *c, json_t *root)
{
    json_t *arr = get_member(c, root, "rules", JSON_ARRAY, "top level");
    if (!arr)
        return -1;
    struct safety_policy *p = c->p;
    size_t n = json_array_size(arr);
    if (n == 0)
        return load_fail(c, "rules: no rules");
    p->rules = arena_alloc(p, n * sizeof *p->rules);
    for (size_t i = 0; i < n; i++) {
        if (load_rule(c, arr, i, &p->rules[i]) < 0)
            return -1;
        p->nrules = i + 1;
    }
    return 0;
}

/* -------------------------------------------- locales and templates */

static int phone_ok(const char *s)
{
    int digits = 0;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s))
            digits++;
        else if (!strchr(" -+()", *s))
            return 0;
    }
    return digits >= 3;
}

static int check_resource(struct loadctx *c, json_t *r, const char *where)
{
    const char *name, *phone, *url;
    if (!json_is_object(r))
        return load_fail(c, "%s: must be an object {\"name\",\"phone\",\"url\"}", where);
    if (!(name = get_string(c, r, "name", where)) || !(phone = get_string(c, r, "phone", where))
        || !(url = get_string(c, r, "url", where)))
        return -1;
    if (!phone_ok(phone))
        return load_fail(c, "%s: phone \"%s\" must be digits, spaces, - + ( )", where, phone);
    if (!url_valid(url, URL_HTTPS_ONLY | URL_DOTTED_HOST))
        return load_fail(c, "%s: bad URL \"%s\" (must be https://host/...)", where, url);
    return 0;
}

/* Checks every resource of one locale and the required ones. */
static int check_locale_resources(struct loadctx *c, const char *loc, json_t *res)
{
    char where[160];
    const char *key;
    json_t *val;
    json_object_foreach(res, key, val) {
        snprintf(where, sizeof where, "locales.%s.resources.%s", loc, key);
        if (check_resource(c, val, where) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof required_resources / sizeof required_resources[0]; i++)
        if (!json_object_get(res, required_resources[i]))
            return load_fail(c, "locales.%s.resources: missing required resource \"%s\"",
                        loc, required_resources[i]);
    return 0;
}

/* Every resource key named by rules and category_resources must exist. */
static int check_resource_refs(struct loadctx *c, const char *loc, json_t *res, json_t *catres)
{
    for (size_t i = 0; i < c->p->nrules; i++)
        for (size_t k = 0; k < c->p->rules[i].nres; k++)
            if (!json_object_get(res, c->p->rules[i].res[k]))
                return load_fail(c, "rules \"%s\": resource \"%s\" is not defined in locales.%s.resources",
                            c->p->rules[i].id, c->p->rules[i].res[k], loc);
    const char *key;
    json_t *val;
    json_object_foreach(catres, key, val) {
        if (cat_from_name(key) < 0)
            return load_fail(c, "locales.%s.category_resources: unknown category \"%s\"", loc, key);
        if (!json_is_array(val))
            return load_fail(c, "locales.%s.category_resources.%s: must be an array", loc, key);
        for (size_t i = 0; i < json_array_size(val); i++) {
            const char *s = json_string_value(json_array_get(val, i));
            if (!s || !json_object_get(res, s))
                return load_fail(c, "locales.%s.category_resources.%s: resource \"%s\" is not defined",
                            loc, key, s ? s : "(not a string)");
        }
    }
    return 0;
}

/* Expands {key.field} (resources) and {term} (locale terms) in a template.
 * Returns an arena string or NULL after load_fail(). */
static const char *expand(struct loadctx *c, const char *tpl, json_t *res, json_t *terms,
                          const char *where)
{
    size_t cap = strlen(tpl) * 2 + 256, o = 0;
    char *out = xmalloc(cap);
    const char *r = NULL;
    for (const char *q = tpl; *q;) {
        const char *val = NULL;
        size_t adv = 1;
        if (*q == '{') {
            const char *end = strchr(q, '}');
            char key[64];
            if (!end || (size_t)(end - q - 1) >= sizeof key || end == q + 1) {
                load_fail(c, "%s: unterminated or empty placeholder", where);
                goto out;
            }
            memcpy(key, q + 1, (size_t)(end - q - 1));
            key[end - q - 1] = '\0';
            char *dot = strchr(key, '.');
            if (dot) {
                *dot = '\0';
                val = json_string_value(json_object_get(json_object_get(res, key), dot + 1));
            } else
                val = json_string_value(json_object_get(terms, key));
            if (!val) {
                if (dot)
                    *dot = '.';
                load_fail(c, "%s: unknown placeholder {%s}", where, key);
                goto out;
            }
            adv = (size_t)(end - q) + 1;
        }
        size_t add = val ? strlen(val) : 1;
        if (o + add + 1 > cap) {
            cap = (o + add + 1) * 2;
            out = xrealloc(out, cap);
        }
        memcpy(out + o, val ? val : q, add);
        o += add;
        q += adv;
    }
    out[o] = '\0';
    r = arena_strdup(c->p, out);
out:
    free(out);
    return r;
}

/* Template field for a category: the locale override if any, else global. */
static const char *template_field(struct loadctx *c, json_t *root, json_t *loc_obj,
                                  const char *cat, const char *field, const char *where)
{
    json_t *ov = json_object_get(json_object_get(json_object_get(loc_obj, "templates"), cat), field);
    if (ov) {
        if (!json_is_string(ov) || json_string_length(ov) == 0) {
            load_fail(c, "%s: override of %s.%s must be a non-empty string", where, cat, field);
            return NULL;
        }
        return json_string_value(ov);
    }
    json_t *t = json_object_get(json_object_get(root, "templates"), cat);
    if (!json_is_object(t)) {
        load_fail(c, "templates: missing template for category \"%s\"", cat);
        return NULL;
    }
    char w[96];
    snprintf(w, sizeof w, "templates.%s", cat);
    return get_string(c, t, field, w);
}

static int check_template_keys(struct loadctx *c, json_t *root)
{
    json_t *t = get_member(c, root, "templates", JSON_OBJECT, "top level");
    if (!t)
        return -1;
    const char *key;
    json_t *val;
    json_object_foreach(t, key, val)
        if (cat_from_name(key) < 0)
            return load_fail(c, "templates: unknown category \"%s\"", key);
    return 0;
}

/* Resolves the templates and referral of one locale; stores them when keep. */
static int load_locale_texts(struct loadctx *c, json_t *root, const char *loc, json_t *lo,
                             json_t *res, int keep)
{
    json_t *terms = json_object_get(lo, "terms");
    char where[128];
    for (int k = 1; k < SAFETY_NCAT; k++) {
        static const char *const fields[] = {"empathy", "message", "after_first_aid"};
        for (int f = 0; f < 3; f++) {
            snprintf(where, sizeof where, "templates.%s.%s (locale %s)", cat_names[k], fields[f], loc);
            if (f == 2 && !json_object_get(json_object_get(json_object_get(root, "templates"),
                                                           cat_names[k]), fields[f]))
                continue; /* optional */
            const char *raw = template_field(c, root, lo, cat_names[k], fields[f], where);
            const char *s = raw ? expand(c, raw, res, terms, where) : NULL;
            if (!s)
                return -1;
            if (keep && f == 0)
                c->p->tmpl[k].empathy = s;
            else if (keep && f == 1)
                c->p->tmpl[k].message = s;
            else if (keep)
                c->p->tmpl[k].after_first_aid = s;
        }
    }
    /* the referral: locales.X.referral overrides output.referral */
    json_t *ref = json_object_get(lo, "referral");
    if (!ref)
        ref = json_object_get(json_object_get(root, "output"), "referral");
    snprintf(where, sizeof where, "output.referral (locale %s)", loc);
    if (!json_is_string(ref) || json_string_length(ref) == 0)
        return load_fail(c, "%s: missing or not a non-empty string", where);
    const char *s = expand(c, json_string_value(ref), res, terms, where);
    if (!s)
        return -1;
    if (keep)
        c->p->referral = s;
    return 0;
}

/* Copies the selected locale's resources and category defaults. */
static void keep_locale(struct loadctx *c, json_t *res, json_t *catres)
{
    struct safety_policy *p = c->p;
    p->nres = json_object_size(res);
    p->res = arena_alloc(p, (p->nres ? p->nres : 1) * sizeof *p->res);
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(res, key, val) {
        p->res[i].key = arena_strdup(p, key);
        p->res[i].name = arena_strdup(p, json_string_value(json_object_get(val, "name")));
        p->res[i].phone = arena_strdup(p, json_string_value(json_object_get(val, "phone")));
        p->res[i].url = arena_strdup(p, json_string_value(json_object_get(val, "url")));
        i++;
    }
    json_object_foreach(catres, key, val) {
        int k = cat_from_name(key);
        char w[96];
        snprintf(w, sizeof w, "category_resources.%s", key);
        load_strings(c, val, w, &p->catres[k], &p->ncatres[k]);
    }
}

static int load_locales(struct loadctx *c, json_t *root, const char *want)
{
    json_t *locs = get_member(c, root, "locales", JSON_OBJECT, "top level");
    if (!locs || check_template_keys(c, root) < 0)
        return -1;
    if (!json_object_get(locs, want))
        return load_fail(c, "locales: no locale \"%s\"", want);
    const char *loc;
    json_t *lo;
    json_object_foreach(locs, loc, lo) {
        char where[96];
        snprintf(where, sizeof where, "locales.%s", loc);
        if (!json_is_object(lo))
            return load_fail(c, "%s: must be an object", where);
        json_t *res = get_member(c, lo, "resources", JSON_OBJECT, where);
        json_t *catres = res ? get_member(c, lo, "category_resources", JSON_OBJECT, where) : NULL;
        if (!catres || check_locale_resources(c, loc, res) < 0
            || check_resource_refs(c, loc, res, catres) < 0)
            return -1;
        int keep = strcmp(loc, want) == 0;
        if (load_locale_texts(c, root, loc, lo, res, keep) < 0)
            return -1;
        if (keep)
            keep_locale(c, res, catres);
    }
    return 0;
}

/* section.key (output.dose_units, output_filter.amount_cues...): 1..max
 * lowercase strings of up to 31 bytes, single words when one_word. */
static int load_words_in(struct loadctx *c, json_t *o, const char *section, const char *key,
                         size_t max, int one_word, const char *const **out, size_t *n)
{
    char where[64];
    json_t *arr = json_object_get(o, key);
    snprintf(where, sizeof where, "%s.%s", section, key);
    if (!arr)
        return load_fail(c, "%s: missing", where);
    if (load_strings(c, arr, where, out, n) < 0)
        return -1;
    if (*n == 0 || *n > max)
        return load_fail(c, "%s: must have 1 to %zu entries", where, max);
    for (size_t i = 0; i < *n; i++) {
        const char *w = (*out)[i];
        size_t len = strlen(w);
        int ok = len < 32 && w[0] != ' ' && w[len - 1] != ' ';
        for (size_t k = 0; k < len && ok; k++)
            ok = (islower((unsigned char)w[k]) || (!one_word && w[k] == ' ' && w[k + 1] != ' ')
                  || (unsigned char)w[k] >= 0x80);
        if (!ok)
            return load_fail(c, "%s[%zu]: must be %s of lowercase letters, up to 31 bytes",
                             where, i, one_word ? "one word" : "words");
    }
    return 0;
}

static int load_words(struct loadctx *c, json_t *o, const char *key, size_t max, int one_word,
                      const char *const **out, size_t *n)
{
    return load_words_in(c, o, "output", key, max, one_word, out, n);
}

/* "output_filter": the word lists of the output filter (filter.c), loaded
 * once into one object (safety_output_filter_words). */
static int load_output_filter(struct loadctx *c, json_t *root)
{
    struct safety_filter_words *w = &c->p->filter_words;
    json_t *o = get_member(c, root, "output_filter", JSON_OBJECT, "top level");
    if (!o)
        return -1;
    if (load_words_in(c, o, "output_filter", "amount_cues", 128, 1, &w->amount_cues,
                      &w->namount_cues) < 0
        || load_words_in(c, o, "output_filter", "amount_cues_near", 128, 1,
                         &w->amount_cues_near, &w->namount_cues_near) < 0
        || load_words_in(c, o, "output_filter", "amount_cues_before", 32, 1,
                         &w->amount_cues_before, &w->namount_cues_before) < 0
        || load_words_in(c, o, "output_filter", "not_amount_after", 64, 1,
                         &w->not_amount_after, &w->nnot_amount_after) < 0
        || load_words_in(c, o, "output_filter", "prefix_words", 32, 1, &w->prefix_words,
                         &w->nprefix_words) < 0
        || load_words_in(c, o, "output_filter", "frequency_words", 32, 1, &w->frequency_words,
                         &w->nfrequency_words) < 0)
        return -1;
    return 0;
}

static int load_output(struct loadctx *c, json_t *root)
{
    json_t *o = get_member(c, root, "output", JSON_OBJECT, "top level");
    if (!o)
        return -1;
    if (load_patlist(c, o, "hold", 1, "output", &c->p->hold) < 0
        || load_patlist(c, o, "hold_if_medicine", 1, "output", &c->p->hold_if_medicine) < 0
        || load_patlist(c, o, "medicine", 1, "output", &c->p->medicine) < 0
        || load_words(c, o, "dose_units", 64, 1, &c->p->dose_units, &c->p->ndose_units) < 0
        || load_words(c, o, "dose_continuations", 16, 0, &c->p->continuations,
                      &c->p->ncontinuations) < 0
        || load_words(c, o, "dose_ranges", 16, 1, &c->p->range_words, &c->p->nrange_words) < 0
        || load_words(c, o, "not_dose_words", 128, 1, &c->p->not_dose_words,
                      &c->p->nnot_dose_words) < 0)
        return -1;
    json_t *win = json_object_get(o, "dose_window");
    if (!json_is_integer(win) || json_integer_value(win) < 0 || json_integer_value(win) > 4)
        return load_fail(c, "output.dose_window: must be an integer 0..4");
    c->p->dose_window = (unsigned)json_integer_value(win);
    for (size_t i = 0; i < c->p->ncontinuations; i++) {
        char probe[96];
        snprintf(probe, sizeof probe, "give 2 %s", c->p->continuations[i]);
        if (!safety_output_hold(c->p, probe, strlen(probe)))
            return load_fail(c, "output.dose_continuations[%zu]: \"%s\" after \"give 2\" "
                             "is not held by the output rules", i, probe + 7);
    }
    return load_output_filter(c, root);
}



/* ------------------------------------------------------ the vocabulary */

struct vocab { const char **v; size_t n, cap; };

static void vocab_add(struct vocab *vo, const struct pat_atom *a)
{
    if (a->kind != PAT_WORD || a->n < 5 || a->n > 30)
        return;
    for (size_t i = 0; i < a->n; i++)
        if (a->s[i] < 'a' || a->s[i] > 'z')
            return;
    if (vo->n == vo->cap) {
        vo->cap = vo->cap ? vo->cap * 2 : 1024;
        vo->v = xrealloc(vo->v, vo->cap * sizeof *vo->v);
    }
    vo->v[vo->n++] = a->s;     /* atoms' strings are NUL-ended arena copies */
}

static void vocab_phrases(struct vocab *vo, const struct pat_phrase *ph, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ph[i].n; k++)
            vocab_add(vo, &ph[i].atoms[k]);
}

static void vocab_patlist(struct vocab *vo, const struct patlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        for (size_t e = 0; e < l->v[i].n; e++)
            vocab_phrases(vo, l->v[i].elems[e].alts, l->v[i].elems[e].nalts);
}

static int safety_cmp_words(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* COACH_SPELL=0 turns off the English speller and the other languages'
 * dictionaries alike. */
static int spelling_on(void)
{
    const char *off = getenv("COACH_SPELL");
    return !(off && strcmp(off, "0") == 0);
}

/* Every word the rules and protocols look for, for the speller. */
static void load_speller(struct safety_policy *p)
{
    struct vocab vo = {0};
    size_t u = 0;
    for (size_t i = 0; i < p->nrules; i++) {
        vocab_patlist(&vo, &p->rules[i].pats);
        vocab_patlist(&vo, &p->rules[i].requires);
    }
    for (size_t i = 0; i < p->nprotos; i++)
        for (size_t g = 0; g < p->protos[i].nall; g++)
            vocab_patlist(&vo, &p->protos[i].all[g]);
    for (size_t i = 0; i < p->nclasses; i++)
        vocab_phrases(&vo, p->classes[i].alts, p->classes[i].nalts);
    if (vo.n) {
        qsort(vo.v, vo.n, sizeof *vo.v, safety_cmp_words);
        for (size_t i = 0; i < vo.n; i++)
            if (u == 0 || strcmp(vo.v[u - 1], vo.v[i]) != 0)
                vo.v[u++] = vo.v[i];
    }
    if (spelling_on())
        p->speller = spell_open(vo.v, u, NULL);
    free(vo.v);
}

/* ------------------------------------------------------------- triage */

static const char *const level_names[NLEVELS] = {"emergency", "crisis", "urgent", "net"};

/* Expands a locale string of the triage section for every locale (so a bad
 * placeholder anywhere fails the load) and returns the wanted one's. */
static const char *expand_all_locales(struct loadctx *c, json_t *root, const char *tpl,
                                      const char *want, const char *where)
{
    json_t *locs = json_object_get(root, "locales"), *lo;
    const char *loc, *kept = NULL;
    json_object_foreach(locs, loc, lo) {
        char w[200];
        snprintf(w, sizeof w, "%s (locale %s)", where, loc);
        const char *e = expand(c, tpl, json_object_get(lo, "resources"),
                               json_object_get(lo, "terms"), w);
        if (!e)
            return NULL;
        if (strcmp(loc, want) == 0)
            kept = e;
    }
    return kept;
}

/* The frames named by the triage section (a frame id or an array of up to
 * max of them): their indices + 1, zero-terminated. */
static int triage_frames(struct loadctx *c, json_t *t, const char *key, size_t *out, size_t max)
{
    json_t *v = json_object_get(t, key);
    json_t *arr = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
    size_t n = 0;
    int rc = 0;
    memset(out, 0, max * sizeof *out);
    if (!v)
        goto done;
    if (!json_is_array(arr) || json_array_size(arr) >= max) {
        rc = load_fail(c, "triage.%s: a frame id or an array of fewer than %zu", key, max);
        goto done;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *s = json_array_get(arr, i);
        size_t k = 0;
        while (json_is_string(s) && k < c->p->nframes && strcmp(c->p->frames[k].id, json_string_value(s)) != 0)
            k++;
        if (!json_is_string(s) || k == c->p->nframes) {
            rc = load_fail(c, "triage.%s: unknown frame", key);
            goto done;
        }
        out[n++] = k + 1;
    }
done:
    json_decref(arr);
    return rc;
}

/* A group of an "all" list: a pattern or an array of them, where "$name"
 * stands for every pattern of triage.concepts.name. New reference. */
static json_t *expand_concepts(struct loadctx *c, json_t *concepts, json_t *grp, const char *where)
{
    json_t *out = json_array(), *items = json_is_string(grp) ? json_pack("[O]", grp) : json_incref(grp);
    size_t i;
    json_t *it;
    if (!json_is_array(items)) {
        load_fail(c, "%s: each \"all\" group must be a pattern or an array of patterns", where);
        goto fail;
    }
    json_array_foreach(items, i, it) {
        const char *v = json_string_value(it);
        if (v && v[0] == '$') {
            json_t *con = json_object_get(concepts, v + 1);
            if (!json_is_array(con)) {
                load_fail(c, "%s: unknown concept \"%s\"", where, v);
                goto fail;
            }
            json_array_extend(out, con);
        } else {
            json_array_append(out, it);
        }
    }
    json_decref(items);
    return out;
fail:
    json_decref(items);
    json_decref(out);
    return NULL;
}

static int load_protocol(struct loadctx *c, json_t *root, json_t *concepts, json_t *arr, size_t i,
                         const char *want, struct protocol *pr)
{
    char where[160];
    const char *id, *level, *fa;
    json_t *o = load_item(c, arr, i, "triage.protocols", where, sizeof where, &id);
    if (!o || !(level = get_string(c, o, "level", where)) || !(fa = get_string(c, o, "first_aid", where))
        || !(pr->source = get_string(c, o, "source", where)))
        return -1;
    for (size_t k = 0; k < i; k++)
        if (strcmp(c->p->protos[k].id, id) == 0)
            return load_fail(c, "%s: duplicate protocol id", where);
    for (size_t k = 0; k < c->p->nrules; k++)
        if (strcmp(c->p->rules[k].id, id) == 0)
            return load_fail(c, "%s: id is also a rule id", where);
    pr->id = arena_strdup(c->p, id);
    pr->level = -1;
    for (int k = 0; k < NLEVELS; k++)
        if (strcmp(level, level_names[k]) == 0)
            pr->level = k;
    if (pr->level < 0)
        return load_fail(c, "%s: unknown level \"%s\" (emergency, crisis, urgent, net)", where, level);
    pr->source = arena_strdup(c->p, pr->source);
    pr->over_emergency = json_is_true(json_object_get(o, "over_emergency"));
    pr->over_crisis = json_is_true(json_object_get(o, "over_crisis"));
    pr->yields_to_request = json_is_true(json_object_get(o, "yields_to_request"));
    json_t *reason = json_object_get(o, "reason");
    pr->reason = arena_strdup(c->p, json_is_string(reason) ? json_string_value(reason) : id);
    json_t *all = get_member(c, o, "all", JSON_ARRAY, where);
    if (!all)
        return -1;
    pr->nall = json_array_size(all);
    if (pr->nall == 0)
        return load_fail(c, "%s: \"all\" is empty", where);
    pr->all = arena_alloc(c->p, pr->nall * sizeof *pr->all);
    for (size_t g = 0; g < pr->nall; g++) {
        json_t *grp = json_array_get(all, g);
        json_t *list = expand_concepts(c, concepts, grp, where);
        if (!list)
            return -1;
        json_t *wrap = json_pack("{s:o}", "g", list);
        char w[200];
        snprintf(w, sizeof w, "%s all[%zu]", where, g);
        int rc = load_patlist(c, wrap, "g", 1, w, &pr->all[g]);
        json_decref(wrap);
        if (rc < 0)
            return -1;
    }
    struct rule tmp = {0};
    if (load_patlist(c, o, "unless", 0, where, &pr->unless) < 0
        || load_patlist(c, o, "prepare", 0, where, &pr->prepare) < 0
        || load_rule_frames(c, o, where, &tmp) < 0)
        return -1;
    pr->frames = tmp.frames;
    pr->nframes = tmp.nframes;
    char w[200];
    snprintf(w, sizeof w, "%s first_aid", where);
    if (!(pr->first_aid = expand_all_locales(c, root, fa, want, w)))
        return -1;
    json_t *res = json_object_get(o, "resources");
    if (res) {
        snprintf(w, sizeof w, "%s resources", where);
        if (load_strings(c, res, w, &pr->res, &pr->nres) < 0)
            return -1;
        json_t *locs = json_object_get(root, "locales"), *lo;
        const char *loc;
        json_object_foreach(locs, loc, lo)
            for (size_t k = 0; k < pr->nres; k++)
                if (!json_object_get(json_object_get(lo, "resources"), pr->res[k]))
                    return load_fail(c, "%s: resource \"%s\" is not defined in locale %s", w,
                                     pr->res[k], loc);
    }
    return 0;
}

/* The one-word patterns of a list, sorted (the marker index is built from them). */
static void load_markers(struct loadctx *c, const struct patlist *l, const char *const **out,
                         size_t *n)
{
    const char **v = arena_alloc(c->p, (l->n ? l->n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct pat_pattern *pt = &l->v[i];
        if (pt->n == 1 && pt->elems[0].nalts == 1 && pt->elems[0].alts[0].n == 1 &&
            pt->elems[0].alts[0].atoms[0].kind == PAT_WORD)
            v[k++] = pt->elems[0].alts[0].atoms[0].s;
    }
    qsort(v, k, sizeof *v, safety_cmp_words);
    *out = v;
    *n = k;
}

static int load_languages(struct loadctx *c, json_t *root, json_t *t, const char *want)
{
    json_t *arr = json_object_get(t, "languages");
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return load_fail(c, "triage.languages: must be an array");
    c->p->nlangs = json_array_size(arr);
    c->p->langs = arena_alloc(c->p, (c->p->nlangs ? c->p->nlangs : 1) * sizeof *c->p->langs);
    for (size_t i = 0; i < c->p->nlangs; i++) {
        char where[160];
        const char *code, *note, *name;
        struct language *l = &c->p->langs[i];
        json_t *o = load_item(c, arr, i, "triage.languages", where, sizeof where, &code);
        /* "other" (a language with no entry) has no markers of its own */
        if (!o || !(name = get_string(c, o, "name", where)) || !(note = get_string(c, o, "note", where))
            || load_patlist(c, o, "markers", strcmp(code, "other") != 0, where, &l->markers) < 0)
            return -1;
        l->code = arena_strdup(c->p, code);
        l->name = arena_strdup(c->p, name);
        if (strcmp(code, "other") == 0)
            c->p->other = l;
        load_markers(c, &l->markers, &l->words, &l->nwords);
        if (!(l->note = expand_all_locales(c, root, note, want, where)))
            return -1;
        if (load_patlist(c, o, "emergency", 0, where, &l->emergency) < 0
            || load_patlist(c, o, "crisis", 0, where, &l->crisis) < 0)
            return -1;
        static const char *const nk[] = {"emergency_note", "crisis_note"};
        for (int k = 0; k < 2; k++) {
            json_t *nv = json_object_get(o, nk[k]);
            const char *ex = NULL;
            if (nv && (!json_is_string(nv) || !(ex = expand_all_locales(c, root, json_string_value(nv), want, where))))
                return nv && !json_is_string(nv) ? load_fail(c, "%s: %s must be a string", where, nk[k]) : -1;
            if (k == 0) l->emergency_note = ex;
            else l->crisis_note = ex;
        }
        json_t *sc = json_object_get(o, "script");
        l->script = SCRIPT_LATIN;
        if (sc) {
            int k = 0;
            while (json_is_string(sc) && k < SCRIPT_N && strcmp(script_names[k], json_string_value(sc)) != 0)
                k++;
            if (!json_is_string(sc) || k == SCRIPT_N)
                return load_fail(c, "%s: unknown script", where);
            l->script = k;
        }
    }
    return 0;
}

static int load_triage(struct loadctx *c, json_t *root, const char *want)
{
    json_t *t = json_object_get(root, "triage");
    struct safety_policy *p = c->p;
    if (!t)
        return 0;
    if (!json_is_object(t))
        return load_fail(c, "triage: must be an object");
    json_t *win = json_object_get(t, "negation_window");
    p->neg_window = 3;
    if (win) {
        if (!json_is_integer(win) || json_integer_value(win) < 1 || json_integer_value(win) > 8)
            return load_fail(c, "triage.negation_window: must be an integer 1..8");
        p->neg_window = (int)json_integer_value(win);
    }
    if (load_patlist(c, t, "negation", 1, "triage", &p->negation) < 0
        || load_patlist(c, t, "prepare", 0, "triage", &p->prepare) < 0
        || load_patlist(c, t, "prepare_except", 0, "triage", &p->prepare_except) < 0
        || load_patlist(c, t, "teach", 0, "triage", &p->teach) < 0
        || load_patlist(c, t, "event_now", 0, "triage", &p->event_now) < 0
        || load_patlist(c, t, "request", 0, "triage", &p->request) < 0
        || load_patlist(c, t, "gloss_hold", 0, "triage", &p->gloss_hold) < 0
        || load_patlist(c, t, "gloss_unsafe", 0, "triage", &p->gloss_unsafe) < 0
        || load_patlist(c, t, "gloss_medical", 0, "triage", &p->gloss_medical) < 0
        || load_patlist(c, t, "gloss_offtopic", 0, "triage", &p->gloss_offtopic) < 0
        || load_patlist(c, t, "gloss_parenting", 0, "triage", &p->gloss_parenting) < 0
        || load_patlist(c, t, "gloss_crisis", 0, "triage", &p->gloss_crisis) < 0
        || load_patlist(c, t, "english", 0, "triage", &p->english) < 0
        || (load_markers(c, &p->english, &p->english_w, &p->nenglish_w), 0)
        || triage_frames(c, t, "past_frame", p->past_frames, sizeof p->past_frames / sizeof p->past_frames[0]) < 0
        || triage_frames(c, t, "net_calm", p->net_calm, sizeof p->net_calm / sizeof p->net_calm[0]) < 0
        || load_patlist(c, t, "story", 0, "triage", &p->story) < 0
        || load_languages(c, root, t, want) < 0)
        return -1;
    json_t *arr = get_member(c, t, "protocols", JSON_ARRAY, "triage");
    if (!arr)
        return -1;
    p->nprotos = json_array_size(arr);
    p->protos = arena_alloc(p, (p->nprotos ? p->nprotos : 1) * sizeof *p->protos);
    for (size_t i = 0; i < p->nprotos; i++)
        if (load_protocol(c, root, json_object_get(t, "concepts"), arr, i, want, &p->protos[i]) < 0)
            return -1;
    return 0;
}

static int load_document(struct loadctx *c, json_t *root, const char *locale)
{
    if (!json_is_object(root))
        return load_fail(c, "top level: must be a JSON object");
    json_t *norm = get_member(c, root, "normalise", JSON_OBJECT, "top level");
    if (!norm)
        return -1;
    json_t *gap = json_object_get(root, "default_gap");
    c->p->default_gap = 6;
    if (gap) {
        if (!json_is_integer(gap) || json_integer_value(gap) < 1
            || json_integer_value(gap) > SAFETY_MAX_GAP)
            return load_fail(c, "default_gap: must be an integer 1..%d", SAFETY_MAX_GAP);
        c->p->default_gap = (int)json_integer_value(gap);
    }
    if (load_map(c, norm, "contractions", 1, &c->p->contr, &c->p->ncontr, &c->p->hcontr) < 0
        || load_map(c, norm, "spellings", 0, &c->p->spell, &c->p->nspell, &c->p->hspell) < 0
        || load_classes(c, root) < 0 || load_masks(c, root) < 0
        || load_frames(c, root) < 0 || load_rules(c, root) < 0
        || load_output(c, root) < 0 || load_locales(c, root, locale) < 0
        || load_triage(c, root, locale) < 0)
        return -1;
    load_speller(c->p);
    anchor_index_build(c->p);
    return 0;
}

/* The fitted net beside the policy file (triage-model.tsv in the same
 * directory), when there is one; a broken one fails the load. */
/* path's directory + name in out; 0 when it does not fit or no such file
 * exists (none shipped beside this policy). */
static int beside(const char *path, const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0, nl = strlen(name) + 1;
    if (dir + nl > cap)
        return 0;
    memcpy(out, path, dir);
    memcpy(out + dir, name, nl);
    return access(out, F_OK) == 0;
}

static int load_model(struct loadctx *c, const char *path)
{
    char mpath[4096], merr[256];
    if (!beside(path, "triage-model.tsv", mpath, sizeof mpath))
        return 0;
    if (!(c->p->model = tmodel_load(mpath, merr, sizeof merr)))
        return load_fail(c, "%s", merr);
    return 0;
}

static const struct language *find_language(const struct safety_policy *p, const char *code)
{
    for (size_t i = 0; code && i < p->nlangs; i++)
        if (strcmp(p->langs[i].code, code) == 0)
            return &p->langs[i];
    return NULL;
}

/* policy/glossary.tsv: every language it names must have an entry in
 * triage.languages, so a typo in a code is a start-up error. */
static int load_gloss(struct loadctx *c, const char *path)
{
    char gpath[4096], gerr[256];
    if (!beside(path, "glossary.tsv", gpath, sizeof gpath))
        return 0;
    if (!(c->p->gloss = gloss_load(gpath, gerr, sizeof gerr)))
        return load_fail(c, "%s", gerr);
    /* each language's own dictionary reads the words the glossary lacks
     * (read_glossed); loaded on first use, none when not installed */
    int spell = spelling_on();
    c->p->slot_lang = xcalloc(c->p->nlangs ? c->p->nlangs : 1, sizeof *c->p->slot_lang);
    for (size_t l = 0; l < c->p->nlangs; l++) {
        c->p->langs[l].slot = -1;
        if (spell && c->p->langs[l].script == SCRIPT_LATIN &&
            (c->p->langs[l].dict = spell_lang_open(c->p->langs[l].code, NULL)) != NULL) {
            c->p->langs[l].lix = xcalloc(1, sizeof *c->p->langs[l].lix);
            c->p->langs[l].slot = (int)c->p->nslots;
            c->p->slot_lang[c->p->nslots++] = &c->p->langs[l];
        }
    }
    for (size_t i = 0; i < gloss_nlangs(c->p->gloss); i++)
        if (!find_language(c->p, gloss_lang(c->p->gloss, i)))
            return load_fail(c, "%s: language \"%s\" has no entry in triage.languages",
                             gpath, gloss_lang(c->p->gloss, i));
    return 0;
}

int safety_policy_load(const char *path, const char *locale,
                       struct safety_policy **out, char *err, size_t errlen)
{
    struct loadctx c = { .path = path ? path : "(null)", .err = err, .errlen = errlen };
    json_error_t jerr;
    json_t *root = NULL;
    int rc = -1;
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (!path || !locale || !*locale) {
        load_fail(&c, "no policy path or locale given");
        goto out;
    }
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        load_fail(&c, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        goto out;
    }
    c.p = xcalloc(1, sizeof *c.p);
    if (load_document(&c, root, locale) < 0 || load_model(&c, path) < 0 ||
        load_gloss(&c, path) < 0)
        goto out;
    *out = c.p;
    c.p = NULL;
    rc = 0;
out:
    safety_policy_free(c.p);
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------- classification */

/* Blanks, per category, the spans matched by masks that apply to it. */
static void apply_masks(const struct safety_policy *p, const struct pat_input *plain,
                        unsigned char *masks)
{
    for (size_t m = 0; m < p->nmasks; m++) {
        const struct mask *mk = &p->masks[m];
        if (mk->unless.n && match_any(&mk->unless, plain))
            continue;
        for (size_t k = 0; k < mk->pats.n; k++) {
            size_t from = 0, s, e;
            if (!pat_possible(&mk->pats.v[k], plain))
                continue;
            while (from < plain->n && pat_find(&mk->pats.v[k], plain, from, &s, &e)) {
                for (int cat = 1; cat < SAFETY_NCAT; cat++)
                    if (mk->cats & (1u << cat))
                        memset(masks + (size_t)cat * plain->n + s, 1, e - s);
                from = e > s ? e : s + 1;
            }
        }
    }
}

/* Frames are evaluated at most once per question; cache: -1 unknown. */
static int frame_active(const struct safety_policy *p, size_t f, const struct pat_input *plain,
                        signed char *cache)
{
    if (cache[f] < 0)
        cache[f] = (signed char)(match_any(&p->frames[f].pats, plain)
                                 && !match_any(&p->frames[f].except, plain));
    return cache[f];
}

static int match_affirmed(const struct safety_policy *p, const struct patlist *l,
                          const struct pat_input *in, const struct pat_input *plain);

static int rule_fires(const struct safety_policy *p, const struct rule *r,
                      const struct pat_input *masked, const struct pat_input *plain,
                      signed char *cache)
{
    if (!match_any(&r->pats, masked))
        return 0;
    if (r->requires.n && !(p->negation.n ? match_affirmed(p, &r->requires, masked, plain)
                                          : match_any(&r->requires, masked)))
        return 0;                        /* "no vomiting" satisfies no requirement */
    if (match_any(&r->unless, plain))
        return 0;
    for (size_t i = 0; i < r->nframes; i++)
        if (frame_active(p, r->frames[i], plain, cache))
            return 0;
    return 1;
}

/* What one question comes to (internal form of struct safety_verdict). */
struct verdict {
    const struct rule *rule;            /* the rule that decided, or NULL */
    const struct protocol *proto;       /* the protocol that decided or adds first aid */
    safety_category cat;
    const struct protocol *notice;      /* urgent / prepare / net notice */
    int notice_level;                   /* LEVEL_URGENT, LEVEL_NET, or NLEVELS for prepare */
    const struct language *lang;
    int framed;                         /* a what-if, a story or an event that is over */
    int masked[2];                      /* a benign idiom was blanked for emergency / crisis */
    const char *model;                  /* "model.emergency", "model.medical", ... when the net decided */
    int lang_answer;                    /* another language, answered from its English reading */
    int lang_relaxed;                   /* taken for another language only because it
                                           would be out of scope: the net still reads it */
    int harm_request;                   /* a harm_request rule decided: the net does not
                                           turn it into a crisis or an emergency */
    int calm;                           /* a triage.net_calm frame is active: the net
                                           refuses nothing (its emergency and crisis stand) */
};

/* 1 when some pattern of l matches at exactly pos. */
static int match_at(const struct patlist *l, const struct pat_input *in, size_t pos)
{
    size_t end;
    for (size_t k = 0; k < l->n; k++)
        if (pat_match_at(&l->v[k], in, pos, &end))
            return 1;
    return 0;
}

/* 1 when a negation ("no", "not", "never", "without") stands within the
 * policy's window before token s, in the same clause. */
static int negated(const struct safety_policy *p, const struct pat_input *plain, size_t s)
{
    for (size_t k = 1; k <= (size_t)p->neg_window && k <= s; k++) {
        size_t j = s - k;
        if (plain->v[j].flags & TOK_BRK)
            return 0;                    /* the clause ended there */
        if (plain->v[j].n == 3 && memcmp(plain->v[j].s, "but", 3) == 0)
            return 0;
        if (match_at(&p->negation, plain, j))
            return 1;
    }
    return 0;
}

/* 1 when some pattern of l has a match in in that is not negated. */
static int match_affirmed(const struct safety_policy *p, const struct patlist *l,
                          const struct pat_input *in, const struct pat_input *plain)
{
    for (size_t k = 0; k < l->n; k++) {
        size_t from = 0, st, e;
        if (!pat_possible(&l->v[k], in))
            continue;
        while (from < in->n && pat_find(&l->v[k], in, from, &st, &e)) {
            if (!negated(p, plain, st))
                return 1;
            from = st + 1;
        }
    }
    return 0;
}

static int proto_fires(const struct safety_policy *p, const struct protocol *pr,
                       const struct pat_input *masked, const struct pat_input *plain, signed char *cache)
{
    for (size_t g = 0; g < pr->nall; g++)
        if (!match_affirmed(p, &pr->all[g], masked, plain))
            return 0;
    if (match_any(&pr->unless, plain))
        return 0;
    for (size_t i = 0; i < pr->nframes; i++)
        if (frame_active(p, pr->frames[i], plain, cache))
            return 0;
    return 1;
}

/* The script of a word's first letter (SCRIPT_LATIN for ASCII and Latin). */
static int word_script(const struct pat_tok *t)
{
    const unsigned char *s = (const unsigned char *)t->s;
    unsigned cp;
    if (t->n < 2 || s[0] < 0xC0)
        return SCRIPT_LATIN;
    if (s[0] < 0xE0) cp = ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    else if (t->n >= 3 && s[0] < 0xF0) cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    else return SCRIPT_LATIN;
    return cp >= 0x370 && cp <= 0x3FF ? SCRIPT_GREEK
         : cp >= 0x400 && cp <= 0x52F ? SCRIPT_CYRILLIC
         : cp >= 0x590 && cp <= 0x5FF ? SCRIPT_HEBREW
         : (cp >= 0x600 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F) ? SCRIPT_ARABIC
         : cp >= 0x900 && cp <= 0x97F ? SCRIPT_DEVANAGARI
         : cp >= 0x980 && cp <= 0x9FF ? SCRIPT_BENGALI
         : cp >= 0xA00 && cp <= 0xA7F ? SCRIPT_GURMUKHI
         : cp >= 0xA80 && cp <= 0xAFF ? SCRIPT_GUJARATI
         : cp >= 0xB80 && cp <= 0xBFF ? SCRIPT_TAMIL
         : cp >= 0xE00 && cp <= 0xE7F ? SCRIPT_THAI
         : cp >= 0x1200 && cp <= 0x137F ? SCRIPT_ETHIOPIC
         : (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x3400 && cp <= 0x9FFF) ? SCRIPT_CJK
         : cp >= 0xAC00 && cp <= 0xD7AF ? SCRIPT_HANGUL
         : SCRIPT_LATIN;
}

/* Marker hits per language (hits[nlangs] counts English): one look-up per
 * word in the marker index, which every loaded policy has. */
static void marker_hits(const struct safety_policy *p, const struct pat_input *plain, size_t *hits)
{
    memset(hits, 0, (p->nlangs + 1) * sizeof *hits);
    for (size_t i = 0; i < plain->n; i++) {
        const struct pat_tok *t = &plain->v[i];
        uint32_t nids = 0;
        const uint32_t *ids = pat_words_get(&p->am, t->s, t->n, pat_hash(t->s, t->n), &nids);
        for (uint32_t k = 0; ids && k < nids; k++)
            hits[ids[k]]++;
    }
}

/* The language of the question when it is clearly not English: mostly in
 * a script of its own; or more of its words are that language's common
 * words than English ones, at least two, and at least a fifth of the
 * question; or a short message with one marker and one of its red flags. */
static const struct language *detect_language(const struct safety_policy *p,
                                              const struct pat_input *plain)
{
    const struct language *best = NULL;
    size_t bestn = 0, en, nscript[SCRIPT_N] = {0};
    size_t hitbuf[64], *hits = p->nlangs < 64 ? hitbuf : xmalloc((p->nlangs + 1) * sizeof *hits);
    for (size_t i = 0; i < plain->n; i++)
        nscript[word_script(&plain->v[i])]++;
    marker_hits(p, plain, hits);
    en = hits[p->nlangs];
    /* mostly written in a non-Latin script: the language of that script
     * with the most marker words (the first one listed on a tie) */
    for (int sc = 1; sc < SCRIPT_N; sc++) {
        if (nscript[sc] * 2 < plain->n || nscript[sc] == 0)
            continue;
        for (size_t l = 0; l < p->nlangs; l++)
            if (p->langs[l].script == sc && (!best || hits[l] > bestn)) {
                best = &p->langs[l];
                bestn = hits[l];
            }
        goto done;
    }
    for (size_t l = 0; l < p->nlangs; l++)
        if (p->langs[l].script == SCRIPT_LATIN && hits[l] > bestn) {
            bestn = hits[l];
            best = &p->langs[l];
        }
    if (bestn >= 2 && bestn > en && bestn * 5 >= plain->n)
        goto done;
    best = NULL;
    /* a short message with no English function word that names a red
     * flag of a language and one of its markers ("oglum camasir suyu icti") */
    for (size_t l = 0; en == 0 && !best && l < p->nlangs; l++)
        if (p->langs[l].script == SCRIPT_LATIN && hits[l] >= 1 &&
            (match_any(&p->langs[l].emergency, plain) || match_any(&p->langs[l].crisis, plain)))
            best = &p->langs[l];
done:
    if (hits != hitbuf)
        free(hits);
    return best;
}

/* A language with no entry of its own ("pitit mwen an pa ka respire",
 * Indonesian, Hungarian): at least three words, at most one English
 * function word, and fewer than half of the words real English or policy
 * words by hunspell; or mostly a script no entry is written in. Such a
 * question gets the "other" entry's note with the numbers, never "out of
 * scope". With relaxed (the question would be refused as out of scope) a
 * few English function words, up to one word in four, do not make it
 * English ("do", "go", Polish "w" read as "with"). NULL without an "other"
 * entry or without the dictionaries. */
static const struct language *other_language(const struct safety_policy *p,
                                             const struct pat_input *plain, int relaxed)
{
    size_t words = 0, known = 0, foreign_script = 0, en = 0, distinct = 0;
    const struct pat_tok *seen[3];
    if (!p->other || !p->speller)
        return NULL;
    for (size_t i = 0; i < plain->n && words + foreign_script < 64; i++) {
        const struct pat_tok *t = &plain->v[i];
        if (t->isnum || t->n < 2)
            continue;
        if (word_script(t) != SCRIPT_LATIN) {
            foreign_script++;
            continue;
        }
        words++;
        if (spell_known(p->speller, t->s, t->n) == 1)
            known++;
        else if (distinct < 3) {      /* "aaaaa aaaaa aaaaa" is not a language */
            size_t k = 0;
            while (k < distinct && !(seen[k]->n == t->n && memcmp(seen[k]->s, t->s, t->n) == 0))
                k++;
            if (k == distinct)
                seen[distinct++] = t;
        }
        uint32_t nids = 0;
        const uint32_t *ids = pat_words_get(&p->am, t->s, t->n, pat_hash(t->s, t->n), &nids);
        for (uint32_t k = 0; ids && k < nids; k++)
            en += ids[k] == p->nlangs;   /* English is the last id */
    }
    if (foreign_script >= 3 && foreign_script * 2 > words + foreign_script)
        return p->other;
    if (words >= 3 && distinct >= 3 && (en <= 1 || (relaxed && en * 4 <= words)) && known * 2 < words)
        return p->other;
    return NULL;
}

/* A short message the language tests above let through as English or out
 * of scope, though it is mostly not English: "nataka kujiua", "jag vill
 * dö", "ana 3ayez a2tel nafsi" (two or three words, or a marker too few).
 * At least two words, at least one of them no English word by hunspell,
 * at most one English function word in three, and either none at all or
 * at most half (plus one) real English words. Returns the Latin-script language with the most marker words,
 * else the "other" entry; NULL when it looks English. Its caller only
 * takes the glossary's reading of it when that reading is an emergency or
 * a crisis, so an ordinary answer is never turned into a language note. */
static const struct language *foreign_probe(const struct safety_policy *p,
                                            const struct pat_input *plain)
{
    size_t words = 0, known = 0, checked = 0, en, best = 0;
    const struct language *lang = NULL;
    if (!p->other || !p->speller)
        return NULL;
    for (size_t i = 0; i < plain->n; i++) {
        const struct pat_tok *t = &plain->v[i];
        words += !t->isnum && t->n >= 2 && word_script(t) == SCRIPT_LATIN;
    }
    if (words < 2)
        return NULL;
    size_t hitbuf[64], *hits = p->nlangs < 64 ? hitbuf : xmalloc((p->nlangs + 1) * sizeof *hits);
    marker_hits(p, plain, hits);
    en = hits[p->nlangs];
    for (size_t l = 0; l < p->nlangs; l++)
        if (p->langs[l].script == SCRIPT_LATIN && hits[l] > best) {
            best = hits[l];
            lang = &p->langs[l];
        }
    if (hits != hitbuf)
        free(hits);
    if (en * 3 > words)          /* English: no dictionary look-up at all */
        return NULL;
    for (size_t i = 0; i < plain->n && checked < 64; i++) {
        const struct pat_tok *t = &plain->v[i];
        if (t->isnum || t->n < 2 || word_script(t) != SCRIPT_LATIN)
            continue;
        checked++;
        known += spell_known(p->speller, t->s, t->n) == 1;
    }
    /* mostly real English words ("min man slår mig" is) pass only
     * without a single English function word */
    if (known == checked || (en > 0 && known * 2 > checked + 1))
        return NULL;
    return lang ? lang : p->other;
}

/* ------------------------------------------------------ anchor index */

/* After loading: pattern.c's index over every compiled pattern, and the
 * marker index (word -> the languages it marks, English last). */
static void anchor_index_build(struct safety_policy *p)
{
    p->ix = pat_index_build(p->pats, p->npats);
    for (size_t l = 0; l <= p->nlangs; l++) {
        const char *const *w = l < p->nlangs ? p->langs[l].words : p->english_w;
        size_t nw = l < p->nlangs ? p->langs[l].nwords : p->nenglish_w;
        for (size_t k = 0; k < nw; k++)
            pat_words_add(&p->am, w[k], strlen(w[k]), pat_hash(w[k], strlen(w[k])), (uint32_t)l);
    }
}

/* The old rules first, then the triage protocols by urgency. A protocol's
 * emergency or crisis beats a medical, unsafe or out-of-scope rule (a real
 * injury beats the unsafe act in the story; "how many pills does it take to
 * die" is crisis, not medical). Preparedness ("what do I do if she
 * chokes") turns an emergency protocol into a first-aid notice, and a past
 * event or a story into nothing. Then an urgent protocol, a preparedness
 * notice or a red-flag net line may stand with the answer. */
static void decide(const struct safety_policy *p, const struct pat_tok *v, size_t n,
                   struct verdict *out)
{
    struct pat_scan sc;
    pat_scan_init(&sc, safety_no_index ? NULL : p->ix, v, n);
    struct pat_input plain = { v, n, NULL, safety_no_index ? NULL : &sc };
    unsigned char *masks = xcalloc(SAFETY_NCAT * (n ? n : 1), 1);
    signed char *cache = xmalloc(p->nframes ? p->nframes : 1);
    const struct protocol *hit = NULL, *prep = NULL;
    memset(cache, -1, p->nframes ? p->nframes : 1);
    memset(out, 0, sizeof *out);
    apply_masks(p, &plain, masks);
    for (size_t i = 0; i < n; i++) {
        out->masked[0] |= masks[(size_t)SAFETY_EMERGENCY * n + i];
        out->masked[1] |= masks[(size_t)SAFETY_CRISIS * n + i];
    }
    for (size_t ci = 0; !out->rule && ci < sizeof cat_priority / sizeof cat_priority[0]; ci++) {
        safety_category cat = cat_priority[ci];
        struct pat_input masked = { v, n, masks + (size_t)cat * n, plain.scan };
        for (size_t i = 0; !out->rule && i < p->nrules; i++)
            if (p->rules[i].cat == cat && rule_fires(p, &p->rules[i], &masked, &plain, cache))
                out->rule = &p->rules[i];
    }
    out->cat = out->rule ? out->rule->cat : SAFETY_NONE;

    int teach = p->teach.n && match_any(&p->teach, &plain) && !match_any(&p->prepare_except, &plain);
    int prepare = p->prepare.n && match_any(&p->prepare, &plain) && !match_any(&p->prepare_except, &plain);
    int past = 0;
    for (size_t i = 0; !past && i < sizeof p->past_frames / sizeof p->past_frames[0] && p->past_frames[i]; i++)
        past = frame_active(p, p->past_frames[i] - 1, &plain, cache);
    int story = p->story.n && match_any(&p->story, &plain);
    out->framed = prepare || past || story;
    for (size_t i = 0; !out->calm && i < sizeof p->net_calm / sizeof p->net_calm[0] && p->net_calm[i]; i++)
        out->calm = frame_active(p, p->net_calm[i] - 1, &plain, cache);
    /* a question about how to talk to or teach a child ("how do I talk to
     * my teen about drinking", "how do I get her to carry her EpiPen") is
     * no event: the protocols read it as a what-if, the net (which knows
     * "how do I talk to him about it" after a disclosure) still reads it */
    prepare |= teach;
    const struct protocol *lvl_hit[2] = {NULL, NULL};
    const struct protocol *over = NULL;  /* first crisis protocol that outranks an emergency */
    for (int lvl = LEVEL_EMERGENCY; lvl <= LEVEL_CRISIS; lvl++) {
        safety_category cat = lvl == LEVEL_EMERGENCY ? SAFETY_EMERGENCY : SAFETY_CRISIS;
        struct pat_input masked = { v, n, masks + (size_t)cat * n, plain.scan };
        /* the most specific protocol that fires wins (the most concept
         * groups: "honey + baby + floppy" over "floppy"), then file order */
        for (size_t i = 0; i < p->nprotos; i++) {
            const struct protocol *pr = &p->protos[i];
            if (pr->level != lvl || (lvl_hit[lvl] && pr->nall <= lvl_hit[lvl]->nall) ||
                !proto_fires(p, pr, &masked, &plain, cache))
                continue;
            if (lvl == LEVEL_EMERGENCY && (prepare || past || story)) {
                if (prepare && !prep)
                    prep = pr;
                continue;
            }
            lvl_hit[lvl] = pr;
        }
    }
    /* a crisis protocol that outranks an emergency does so even when a
     * more specific crisis protocol without that flag also fired ("the
     * voices tell me to drown her" read as postpartum psychosis too) */
    for (size_t i = 0; lvl_hit[LEVEL_CRISIS] && !lvl_hit[LEVEL_CRISIS]->over_emergency &&
                       !over && i < p->nprotos; i++) {
        const struct protocol *pr = &p->protos[i];
        struct pat_input masked = { v, n, masks + (size_t)SAFETY_CRISIS * n, plain.scan };
        if (pr->level == LEVEL_CRISIS && pr->over_emergency && pr != lvl_hit[LEVEL_CRISIS] &&
            proto_fires(p, pr, &masked, &plain, cache))
            over = pr;
    }
    if (prepare && !prep && !lvl_hit[LEVEL_EMERGENCY]) {
        struct pat_input masked = { v, n, masks + (size_t)SAFETY_EMERGENCY * n, plain.scan };
        for (size_t i = 0; !prep && i < p->nprotos; i++)
            if (p->protos[i].level == LEVEL_EMERGENCY && p->protos[i].prepare.n &&
                match_affirmed(p, &p->protos[i].prepare, &masked, &plain))
                prep = &p->protos[i];
    }
    /* a rule's emergency in a what-if question, a story or an event that
     * is over becomes its first aid (no protocol fired for it) */
    if (out->cat == SAFETY_EMERGENCY && !lvl_hit[LEVEL_EMERGENCY] && (prepare || past || story)) {
        out->cat = SAFETY_NONE;
        out->rule = NULL;
    }
    hit = lvl_hit[LEVEL_EMERGENCY] ? lvl_hit[LEVEL_EMERGENCY] : lvl_hit[LEVEL_CRISIS];
    if (lvl_hit[LEVEL_CRISIS] && !lvl_hit[LEVEL_CRISIS]->over_emergency && over &&
        (out->cat == SAFETY_EMERGENCY || hit != lvl_hit[LEVEL_CRISIS]))
        lvl_hit[LEVEL_CRISIS] = over;
    if (lvl_hit[LEVEL_CRISIS] && lvl_hit[LEVEL_CRISIS]->over_emergency &&
        (out->cat == SAFETY_EMERGENCY || hit != lvl_hit[LEVEL_CRISIS])) {
        hit = lvl_hit[LEVEL_CRISIS];     /* e.g. a partner's hands round the neck */
        out->cat = SAFETY_NONE;
        out->rule = NULL;
    }
    /* a request for a harmful act ("is it ok to put a bit of vodka in his
     * bottle to help him sleep") is refused as that act, not as the
     * emergency it would cause, for the protocols that say so
     * (yields_to_request: poisoning, not a burn already on the skin):
     * nothing has happened yet. A real event told in it ("he has
     * swallowed", "just drank", "right now") keeps the emergency. */
    if (hit && hit->level == LEVEL_EMERGENCY && hit->yields_to_request &&
        (out->cat == SAFETY_UNSAFE || out->cat == SAFETY_MEDICAL) &&
        match_any(&p->request, &plain) && !match_any(&p->event_now, &plain))
        hit = NULL;
    if (hit) {
        safety_category hc = hit->level == LEVEL_EMERGENCY ? SAFETY_EMERGENCY : SAFETY_CRISIS;
        if (out->cat != SAFETY_EMERGENCY && out->cat != SAFETY_CRISIS) {
            out->cat = hc;
            out->rule = NULL;
            out->proto = hit;
        } else if (out->cat == hc) {
            out->proto = hit;            /* the rule decided; the protocol adds first aid */
        } else if (hc == SAFETY_EMERGENCY && out->cat == SAFETY_CRISIS && hit->over_crisis) {
            out->cat = hc;               /* a real injury now beats the crisis in the story */
            out->rule = NULL;            /* ("cut her wrist deep and it's pumping blood") */
            out->proto = hit;
        }
    }
    /* a request to do or to hide a harm to a child ("how do I get her to
     * keep quiet about the smacks", "what makeup covers the bruise where I
     * grabbed him", "how do I make him sleep in the shed") is refused as
     * that request, by the rules that say so (harm_request), though its
     * words also read as the crisis they describe (or an emergency rule's
     * words: "a bit of my sleeping pill"): asked (the rule's own requires),
     * with nothing happening now and no emergency protocol read. The rule's
     * resources keep the child-abuse line. */
    if ((out->cat == SAFETY_CRISIS || (out->cat == SAFETY_EMERGENCY && out->rule)) &&
        !lvl_hit[LEVEL_EMERGENCY] && !match_any(&p->event_now, &plain)) {
        struct pat_input masked = { v, n, masks + (size_t)SAFETY_UNSAFE * n, plain.scan };
        for (size_t i = 0; i < p->nrules; i++)
            if (p->rules[i].harm_request && rule_fires(p, &p->rules[i], &masked, &plain, cache)) {
                out->cat = SAFETY_UNSAFE;
                out->rule = &p->rules[i];
                out->proto = NULL;
                break;
            }
    }
    out->harm_request = out->cat == SAFETY_UNSAFE && out->rule && out->rule->harm_request;
    if (out->cat != SAFETY_EMERGENCY && out->cat != SAFETY_CRISIS) {
        struct pat_input masked = { v, n, masks + (size_t)SAFETY_EMERGENCY * n, plain.scan };
        for (size_t i = 0; !out->notice && i < p->nprotos; i++)
            if (p->protos[i].level == LEVEL_URGENT && !past && !story &&
                proto_fires(p, &p->protos[i], &masked, &plain, cache)) {
                out->notice = &p->protos[i];
                out->notice_level = LEVEL_URGENT;
            }
        if (!out->notice && prep) {
            out->notice = prep;
            out->notice_level = NLEVELS;
        }
        for (size_t i = 0; !out->notice && !past && !story && i < p->nprotos; i++)
            if (p->protos[i].level == LEVEL_NET &&
                proto_fires(p, &p->protos[i], &masked, &plain, cache)) {
                out->notice = &p->protos[i];
                out->notice_level = LEVEL_NET;
            }
        /* a language the coach does not answer in is never "out of scope":
         * its own red flags make an emergency or a crisis, otherwise the
         * note with the numbers */
        if ((out->cat == SAFETY_NONE || out->cat == SAFETY_OUT_OF_SCOPE) &&
            ((out->lang = detect_language(p, &plain)) != NULL ||
             (out->lang = other_language(p, &plain, 0)) != NULL ||
             (out->cat == SAFETY_OUT_OF_SCOPE &&
              (out->lang_relaxed = (out->lang = other_language(p, &plain, 1)) != NULL)))) {
            /* red flags of every language in the detected one's script
             * count: it may be a neighbour's (Portuguese read as Spanish),
             * and a flag word is never an ordinary one */
            int em = 0, cr = 0;
            for (size_t l = 0; !em && l < p->nlangs; l++)
                em = p->langs[l].script == out->lang->script && match_any(&p->langs[l].emergency, &plain);
            for (size_t l = 0; !em && !cr && l < p->nlangs; l++)
                cr = p->langs[l].script == out->lang->script && match_any(&p->langs[l].crisis, &plain);
            out->cat = em ? SAFETY_EMERGENCY : cr ? SAFETY_CRISIS : SAFETY_LANGUAGE;
            out->rule = NULL;
            out->proto = NULL;
            out->notice = NULL;
        }
    } else {
        out->lang = detect_language(p, &plain);   /* for the note in that language */
    }
    free(cache);
    free(masks);
    pat_scan_free(&sc);
}

static const char *verdict_rule_id(const struct verdict *d)
{
    return d->rule ? d->rule->id : d->proto ? d->proto->id : d->model ? d->model
         : d->lang && !d->lang_answer ? d->lang->code : NULL;
}

/* The net under the rules: when they found no emergency or crisis (an
 * answer, an urgent notice, or a medical, unsafe or out-of-scope refusal),
 * no frame turned one away (a what-if, a story, an event that is over) and
 * the question is in English (another language is read by its own red
 * flags: a few characters of Chinese are too little for the model), a
 * question the fitted model reads as an emergency or a crisis, above the
 * threshold it was fitted with, is one. Below those, when the rules would
 * answer and gave no urgent notice, a question the model reads as a
 * medical question, a harmful request or an off-topic one is refused as
 * that: the order stays emergency > crisis > medical / unsafe >
 * out-of-scope > urgent notice > answer, so the net's refusals never hide
 * a "see a doctor today" the rules found, nor an emergency. The rules
 * always win where they found one. An ordinary question the policy names
 * (triage.net_calm frames: "at what age can she stay home alone", a
 * teenager who wants to move out) is not refused by the net; its
 * emergency and crisis readings still stand. */
static const char *const model_ids[TMODEL_NCLASS] = {
    "model.emergency", "model.crisis", "model.medical", "model.unsafe", "model.out_of_scope",
};
static const safety_category model_cats[TMODEL_NCLASS] = {
    SAFETY_EMERGENCY, SAFETY_CRISIS, SAFETY_MEDICAL, SAFETY_UNSAFE, SAFETY_OUT_OF_SCOPE,
};

static void apply_model(const struct safety_policy *p, const char *text, size_t len,
                        struct verdict *d)
{
    double pr[TMODEL_NCLASS];
    int fl[TMODEL_NCLASS], pick = -1;
    if (!p->model || d->cat == SAFETY_EMERGENCY || d->cat == SAFETY_CRISIS ||
        (d->lang && !d->lang_relaxed))
        return;
    int urgent_ok = !d->framed && !(d->masked[0] && d->masked[1]) && !d->harm_request;
    int refuse_ok = d->cat == SAFETY_NONE && !(d->notice && d->notice_level == LEVEL_URGENT) &&
                    !d->calm;
    if (!urgent_ok && !refuse_ok)
        return;
    tmodel_flags(p->model, text, len, pr, fl);
    if (urgent_ok) {
        /* an idiom the policy blanks ("hit a home run", "dying to know")
         * keeps the net quiet for that class too */
        int em = !d->masked[0] && fl[TMODEL_EMERGENCY];
        int cr = !d->masked[1] && fl[TMODEL_CRISIS];
        if (em && cr)      /* both: the likelier one */
            em = pr[TMODEL_EMERGENCY] >= pr[TMODEL_CRISIS];
        pick = em ? TMODEL_EMERGENCY : cr ? TMODEL_CRISIS : -1;
    }
    for (int c = TMODEL_MEDICAL; pick < 0 && refuse_ok && c < TMODEL_NCLASS; c++)
        if (fl[c])
            pick = c;
    /* two refusals flagged: the one furthest above its threshold */
    for (int c = pick + 1; pick >= TMODEL_MEDICAL && c < TMODEL_NCLASS; c++)
        if (fl[c] && pr[c] - tmodel_threshold(p->model, c) >
                     pr[pick] - tmodel_threshold(p->model, pick))
            pick = c;
    if (pick < 0)
        return;
    d->cat = model_cats[pick];
    d->model = model_ids[pick];
    d->rule = NULL;
    d->proto = NULL;
    d->notice = NULL;
}

/* A question in another language whose own red flags found nothing: its
 * words the glossary knows, read as English, go through the English rules
 * and protocols. An emergency, a crisis, a medical or an unsafe question
 * there is one here (with the language's note). When the reading is an
 * ordinary parenting question (the English rules answer it, with a
 * parenting word of its own), at least three entries were read, and
 * either two in five of its words were (counting an entry as one), or
 * every word but one is covered (phrases count every word, numbers and the
 * glossary's function words "_" count: "ma fille de 4 ans fait des colères
 * tous les jours" is read to the end, while an emergency whose red-flag
 * word the glossary lacks still leaves that word unread), and the fitted
 * net does not read the reading as an emergency or a crisis, it is
 * answered in English from that reading: english
 * gets it, and the verdict a "language" notice unless the reading has a
 * notice of its own (urgent, prepare, net), which says more. Anything else
 * keeps the language note with the numbers. The fitted net never refuses
 * a glossed reading: it was fitted on English sentences, and a glossed
 * text ("child 3 years old not eat") is not one; it flagged ordinary
 * questions. It may only keep one from being answered. */
#define GLOSS_ANSWER_MIN 3         /* entries read */
#define GLOSS_LEMMA_MIN 3          /* letters of a word read through the dictionary */
#define GLOSS_LEMMA_WORD 4         /* letters of a word matched by a shared stem */
#define SAFETY_MAX_LANG_SPELL 12   /* words of a question whose accents or typos are looked for */
#define GLOSS_ANSWER_SHARE 0.4     /* entries, of the question's words */
#define GLOSS_ANSWER_UNREAD 1      /* or: words left unread, at most */
#define GLOSS_CALM_SHARE 0.3        /* the same when no alarm word is read (lang39) */
#define GLOSS_CALM_UNREAD 2
#define GLOSS_ANSWER_RUN 5         /* consecutive words left unread: never answered (lang45) */
#define SAFETY_DICT_WAIT_MS 10000  /* a question waits for its language's dictionary, at most */

static int lemma_cmp(const void *a, const void *b)
{
    const struct lemma_pair *x = a, *y = b;
    int c = strcmp(x->lemma, y->lemma);
    if (c)
        return c;
    size_t m = x->n < y->n ? x->n : y->n;
    c = memcmp(x->word, y->word, m);
    return c ? c : x->n < y->n ? -1 : x->n > y->n;
}

/* The stems of lang's glossary words (see struct lemma_ix), once. */
static void lemma_build(const struct safety_policy *p, const struct language *l)
{
    struct lemma_ix *ix = l->lix;
    size_t max = gloss_nentries(p->gloss) * GLOSS_MAX_PIECES, cap = 0;
    if (ix->built)
        return;
    ix->built = 1;
    const char **words = xmalloc((max ? max : 1) * sizeof *words);
    size_t *lens = xmalloc((max ? max : 1) * sizeof *lens);
    size_t nw = gloss_lang_words(p->gloss, l->code, words, lens, max);
    for (size_t i = 0; i < nw; i++) {
        char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
        if (lens[i] < GLOSS_LEMMA_WORD)
            continue;
        size_t nc = spell_lang_read(l->dict, words[i], lens[i], cand, SPELL_LANG_MAX_CAND, NULL);
        for (size_t c = 0; c < nc; c++) {
            if (ix->n == cap) {
                cap = cap ? 2 * cap : 256;
                ix->v = xrealloc(ix->v, cap * sizeof *ix->v);
            }
            memcpy(ix->v[ix->n].lemma, cand[c], SPELL_MAX_WORD_LEN);
            ix->v[ix->n].word = words[i];
            ix->v[ix->n++].n = lens[i];
        }
    }
    if (ix->n)
        qsort(ix->v, ix->n, sizeof *ix->v, lemma_cmp);
    free(words);
    free(lens);
}

/* A language's slot of the warm (spell_warm's load): its dictionaries,
 * then its glossary's stem index, both on the loading thread, which owns
 * them until the slot is READY. */
static void warm_load(void *arg, size_t i)
{
    const struct safety_policy *p = arg;
    const struct language *l = p->slot_lang[i];
    if (spell_lang_load(l->dict))
        lemma_build(p, l);
}

int safety_policy_warm(struct safety_policy *p)
{
    if (!p || p->warm || p->nslots == 0)
        return 0;
    p->warm = spell_warm_new(p->nslots, warm_load, p, 1);
    return p->warm ? 0 : -1;
}

size_t safety_policy_dicts(const struct safety_policy *p, size_t *total)
{
    if (!p) {
        if (total) *total = 0;
        return 0;
    }
    if (!p->warm) {                 /* on demand: loaded when first read */
        if (total) *total = p->nslots;
        return 0;
    }
    return spell_warm_ready(p->warm, total);
}

/* Language l's dictionary ready to read on this thread: with a warm, wait
 * for its slot (at most SAFETY_DICT_WAIT_MS; it is loaded here if nobody
 * has started it); without, it loads on first use as before. 0: give up on
 * the dictionary for this question (only past the bound). */
static int dict_ready(const struct safety_policy *p, const struct language *l)
{
    static unsigned long late;      /* questions past the bound (a count, no text) */
    if (!l->dict)
        return 0;
    if (!p->warm || l->slot < 0)
        return 1;
    if (spell_warm_wait(p->warm, (size_t)l->slot, SAFETY_DICT_WAIT_MS, NULL) == 1)
        return 1;
    fprintf(stderr, "coachd: triage: the %s dictionary is still loading after %d ms; "
            "read without it (%lu so far)\n", l->code, SAFETY_DICT_WAIT_MS, ++late);
    return 0;
}

/* The first glossary word (in lemma_cmp order) whose stems include w
 * (NUL-ended), or NULL. */
static const struct lemma_pair *lemma_find(const struct lemma_ix *ix, const char *w)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {               /* the first pair whose lemma is >= w */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->v[mid].lemma, w) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && strcmp(ix->v[lo].lemma, w) == 0 ? &ix->v[lo] : NULL;
}

/* The reading of question word w[i] (lang l, a word the glossary lacks)
 * through l's dictionary: the first of its stems or restored forms the
 * glossary knows, else a glossary word sharing a stem with it (or with
 * the word itself); written to lemma and w[i] pointed at it. 0: none. */
static int read_lemma(const struct safety_policy *p, const struct language *l,
                      struct gloss_word *w, char *lemma, int *budget)
{
    char cand[SPELL_LANG_MAX_CAND + 1][SPELL_MAX_WORD_LEN];
    size_t nc = spell_lang_read(l->dict, w->s, w->n, cand + 1, SPELL_LANG_MAX_CAND, budget);
    for (size_t c = 1; c <= nc; c++) {
        size_t cl = strlen(cand[c]);
        if (cl >= GLOSS_LEMMA_MIN && gloss_knows(p->gloss, l->code, cand[c], cl)) {
            memcpy(lemma, cand[c], cl + 1);
            w->s = lemma;
            w->n = cl;
            return 1;
        }
    }
    if (w->n < GLOSS_LEMMA_WORD)
        return 0;
    lemma_build(p, l);
    memcpy(cand[0], w->s, w->n);
    cand[0][w->n] = '\0';
    for (size_t c = 0; c <= nc; c++) {
        const struct lemma_pair *lp = lemma_find(l->lix, cand[c]);
        if (lp && lp->n < SPELL_MAX_WORD_LEN) {
            memcpy(lemma, lp->word, lp->n);
            lemma[lp->n] = '\0';
            w->s = lemma;
            w->n = lp->n;
            return 1;
        }
    }
    return 0;
}

#ifdef SAFETY_GLOSS_DIAG
/* bench/langgate.c only (it includes this file): what read_glossed saw */
struct gloss_diag { int seen, hits, words, covered, ecat, net, alarm, topic; char eng[4 * 1024]; };
static struct gloss_diag *gloss_diag;
#endif

/* The English words of a glossed reading, as classes (lang39). A reading
 * is keyword text ("baby battery hours.", "child bleach. what"): the verbs
 * and function words the English rules need are often the words the
 * glossary did not read. So on a reading the rules do not decide:
 *   - a hazard word is an emergency and a crisis word a crisis, when the
 *     question would otherwise get only the language note (a refusal
 *     either way: the answer gate never sees them);
 *   - an alarm word (the body, illness, medicines, injuries, harm, abuse;
 *     hazard and crisis words too) or a negation left dangling at a
 *     clause end ("head blood not": its verb unread) keeps the stricter
 *     gate; a reading with none of them may leave more words unread.
 * A word ending in '*' matches any word it begins. Lists written from
 * the glossary's English side (policy/glossary.tsv) and the red-flag
 * families of docs/safety.md, not from dev lines. */
static const char *const gloss_hazard_words[] = {
    "battery", "batteries", "bleach", "magnet*", "poison*", "antifreeze", "kerosene",
    "insecticide", "detergent", "pod", "drowned", "drowning", "unconscious", "fainted",
    "seizure", "convuls*", "strangled", "scald*", "electrocut*", "overdose", "limp", "floppy",
    NULL,
};
static const char *const gloss_crisis_words[] = {
    "suicid*", "abuse*", "abusing", "sexual*", "porn*", "molest*", "rape*", "raped", "groom*",
    NULL,
};
static const char *const gloss_alarm_words[] = {
    "fever", "temperature", "rash", "hives", "spots", "blisters", "vomit*", "diarrh*", "blood",
    "bleed*", "bruise*", "swell*", "swollen", "lump", "pain", "hurt*", "headache", "cough*",
    "wheez*", "breath*", "choke*", "choking", "swallow*", "ate", "drank", "chewed", "drink",
    "medicine*", "medication*", "dose*", "dosing", "pill*", "tablet", "tablets", "syrup",
    "paracetamol", "ibuprofen", "nurofen", "panadol", "calpol", "tylenol", "acetaminophen",
    "antibiotic*", "melatonin", "inhaler", "asthma", "allerg*", "diabet*", "sting*", "stung",
    "bite", "bites", "bitten", "snake", "scorpion", "dog", "head", "fell", "fall", "falls",
    "banged", "burn*", "cut", "cuts", "cutting", "knife", "gun", "weapon*", "belt", "beat*",
    "kick*", "slap*", "spank*", "shook", "shaking", "shake*", "kill*", "die", "dies", "died", "dying",
    "dead", "death", "disappear*", "touch*", "naked", "private", "parts", "secret*", "photos",
    "threat*", "drugs", "alcohol", "drunk", "smokes", "pool", "water", "window", "balcony",
    "gas", "fire", "pale", "blue", "grey", "purple", "stiff", "numb", "sleepy", "drowsy",
    "confused", "dizzy", "doctor", "hospital", "emergency", "police", "sick", "ill", "alone",
    "harm*", "self", "myself", "himself", "herself", "anymore", "forced", "marriage",
    "cleaning", "product", "products", "chemical*", "cleaner", "liquid", "plant", "mushrooms",
    "jaundice", "fontanelle", "dehydrated", "testicle", "chest", "heart", "eye", "ear", "neck",
    NULL,
};

/* Words that say who and when but not what: a reading made of these and
 * numbers ("child 12 years old. problem", "sometimes want. not mum") has
 * no topic to answer, so it needs the stricter gate. */
static const char *const gloss_vague_words[] = {
    "child", "children", "baby", "babies", "son", "sons", "daughter", "daughters", "kid",
    "kids", "toddler", "teenager", "teen", "boy", "girl", "mum", "mom", "dad", "father",
    "mother", "parents", "parent", "husband", "wife", "year", "years", "old", "month",
    "months", "week", "weeks", "day", "days", "hour", "hours", "age", "today", "tomorrow",
    "yesterday", "not", "no", "doesn't", "don't", "won't", "can't", "can", "cannot", "want",
    "wants", "sometimes", "always", "never", "every", "all", "lot", "very", "much", "how",
    "what", "why", "when", "where", "who", "which", "do", "does", "did", "is", "it", "be",
    "i", "my", "me", "he", "she", "him", "her", "his", "they", "we", "you", "and", "or",
    "but", "with", "without", "at", "in", "on", "to", "of", "for", "the", "a", "this",
    "that", "should", "help", "tips", "ok", "problem", "problems", "normal", "thing",
    "things", "time", "times", "still", "also", "just", "really", "go", "goes", "get",
    "has", "have", "said", "says", "told", "tell", "about", "everything", "something",
    /* question frames and time words that say nothing of the topic either
     * ("i think", "now", "again": lang45) */
    "think", "thinks", "seems", "know", "here", "there", "now", "well", "again", "until",
    "after", "before", "since", "while", "even", "only", "maybe", "bit", "some", "someone",
    "everyone", "nothing", "was", "had", "will", "must", "came", "come", "comes", "okay",
    "both", "whole", "first", "long", "which", "give", "do", "did",
    NULL,
};

static const char *const gloss_hit_words[] = { "hit", "hits", "hitting", "smack*", NULL };
static const char *const gloss_child_words[] = {
    "child", "children", "baby", "son", "daughter", "kid", "kids", "toddler", "boy", "girl", NULL,
};

static int gloss_word_in(const char *const *list, const struct pat_tok *w)
{
    for (size_t i = 0; list[i]; i++) {
        size_t n = strlen(list[i]);
        if (list[i][n - 1] == '*' ? w->n >= n - 1 && memcmp(w->s, list[i], n - 1) == 0
                                  : w->n == n && memcmp(w->s, list[i], n) == 0)
            return 1;
    }
    return 0;
}

/* 1 when some word of et is in list; for the alarm list, also a negation
 * that ends its clause or the text */
static int gloss_reads(const char *const *list, const struct toks *et, int dangling)
{
    for (size_t i = 0; i < et->n; i++) {
        const struct pat_tok *w = &et->v[i];
        /* "hit child": the reading lost who hits, and a parent hitting a
         * child is no everyday question ("child hits" is) */
        if (dangling && i + 1 < et->n && gloss_word_in(gloss_hit_words, w) &&
            gloss_word_in(gloss_child_words, &et->v[i + 1]))
            return 1;
        /* "falls asleep" is sleep, not a fall */
        if (dangling && i + 1 < et->n && et->v[i + 1].n == 6 &&
            memcmp(et->v[i + 1].s, "asleep", 6) == 0)
            continue;
        if (gloss_word_in(list, w))
            return 1;
        if (dangling && w->n == 3 && memcmp(w->s, "not", 3) == 0 &&
            (i + 1 == et->n || (w->flags & TOK_BRK)))
            return 1;
    }
    return 0;
}

/* 1 when some word of et is neither a number nor a vague word */
static int gloss_topic(const struct toks *et)
{
    for (size_t i = 0; i < et->n; i++) {
        const struct pat_tok *w = &et->v[i];
        if (w->n && !(w->s[0] >= '0' && w->s[0] <= '9') && !gloss_word_in(gloss_vague_words, w))
            return 1;
    }
    return 0;
}

/* A piece of a word for the glossary: replaced by its English spelling-map
 * entry only when lang's glossary does not know it as written (the maps are
 * English: Vietnamese "tho" is breathing, not "though"; Polish "w" and
 * "mam" are "in" and "I have", not "with" and "mom"). */
static void gloss_lookup(const struct safety_policy *p, const char *lang, struct toks *t,
                         const char *s, size_t n)
{
    if (map_find(&p->hspell, p->spell, s, n) && !gloss_knows(p->gloss, lang, s, n))
        norm_lookup(p, t, s, n);
    else
        toks_push(t, s, n);
}

/* One word as split, for the glossary: norm_word's pieces with
 * gloss_lookup's maps. A word with an apostrophe inside that lang's
 * glossary does not know joined is read as its parts: the elisions of
 * French and Italian ("l'eau", "j'appuie", "all'asilo") are an article or
 * a pronoun and a word, not one unknown word ("leau"). */
static void gloss_norm_word(const struct safety_policy *p, const char *lang, struct toks *t,
                            char *s, size_t n)
{
    while (n && s[0] == '\'') {
        s++;
        n--;
    }
    while (n && s[n - 1] == '\'')
        n--;
    if (memchr(s, '\'', n)) {
        size_t w = 0;
        char joined[SPELL_MAX_WORD_LEN] = "";
        for (size_t i = 0; i < n && w + 1 < sizeof joined; i++)
            if (s[i] != '\'')
                joined[w++] = s[i];
        if (!gloss_knows(p->gloss, lang, joined, w)) {
            size_t start = 0;
            for (size_t i = 0; i <= n; i++) {
                if (i == n || s[i] == '\'') {
                    if (i > start)
                        gloss_norm_word(p, lang, t, s + start, i - start);
                    start = i + 1;
                }
            }
            return;
        }
        w = 0;                              /* as norm_raw: the apostrophes dropped */
        for (size_t i = 0; i < n; i++)
            if (s[i] != '\'')
                s[w++] = s[i];
        n = w;
    }
    /* as norm_word: the whole word's map, then slash parts and pieces
     * (gloss_knows only for a word a map would change: most words have
     * none, and a long question has hundreds of words) */
    word_pieces(p, lang, t, s, n, gloss_lookup);
}

/* The words of a question as the glossary reads them (lang: its language),
 * from the split of its first reading: norm_tokens_split's, with
 * gloss_norm_word for norm_raw. */
static void gloss_tokens(const struct safety_policy *p, const char *lang, const struct split *sp,
                         size_t len, struct toks *t)
{
    split_read(p, lang, sp, len, t, gloss_norm_word);
}

static void read_glossed(const struct safety_policy *p, const struct toks *qt,
                         const struct split *sp, size_t len, struct verdict *d,
                         char *english, size_t cap)
{
    /* the question's words as the glossary reads them (gloss_tokens) */
    struct toks gt = {0};
    const struct toks *t = qt;
    if (sp && sp->n) {
        gloss_tokens(p, d->lang->code, sp, len, &gt);
        t = &gt;
    }
    struct gloss_word *w = xmalloc((t->n ? t->n : 1) * sizeof *w);
    char (*lemma)[SPELL_MAX_WORD_LEN] = NULL;   /* dictionary readings, by word */
    char eng[4 * 1024];
    struct toks et = {0};
    struct verdict e = {0};
    int budget = SAFETY_MAX_LANG_SPELL;
    int dict = d->lang->dict ? -1 : 0;          /* -1: not asked for yet */
    for (size_t i = 0; i < t->n; i++) {
        w[i].s = t->v[i].s;
        w[i].n = t->v[i].n;
        w[i].brk = (t->v[i].flags & TOK_BRK) != 0;
        /* a word the glossary lacks, read through the language's own
         * dictionary: its stem ("lloraba" -> "llorar"), its accents
         * restored ("ninos" -> "niños" -> "niño"), or a glossary word of
         * the same stem ("lloraba" -> "lloran") */
        if (dict && w[i].n >= GLOSS_LEMMA_MIN &&
            !gloss_knows(p->gloss, d->lang->code, w[i].s, w[i].n)) {
            if (dict < 0 && !(dict = dict_ready(p, d->lang)))
                continue;       /* past the bound: read without it */
            if (!lemma)
                lemma = xmalloc(t->n * sizeof *lemma);
            read_lemma(p, d->lang, &w[i], lemma[i], &budget);
        }
    }
    struct gloss_cover cov = {0, 0, 0};
    size_t hits = gloss_read(p->gloss, d->lang->code, w, t->n, eng, sizeof eng, &cov);
    free(w);
    free(lemma);
    size_t nwords = t->n;
    toks_free(&gt);
    if (hits == 0)
        return;
    norm_tokens(p, eng, strlen(eng), &et);
    if (et.n)
        decide(p, et.v, et.n, &e);
    struct pat_input ei = { et.v, et.n, NULL, NULL };
    int hazard = gloss_reads(gloss_hazard_words, &et, 0);
    /* a crisis word, or a crisis concept as keywords put it
     * (triage.gloss_crisis: "child 14 not want live anymore", "wrist cuts
     * knife marks", "uncle touches body nobody home"); the rules, written
     * for sentences, miss what the reading lost (the subject, the tense) */
    int crisis = !hazard && (gloss_reads(gloss_crisis_words, &et, 0) ||
                             (p->gloss_crisis.n && et.n && match_any(&p->gloss_crisis, &ei)));
    int alarm = hazard || crisis || gloss_reads(gloss_alarm_words, &et, 1);
    int topic = gloss_topic(&et);
    /* a dose, an illness named, a sedative or a harmful act read in it
     * (triage.gloss_hold) that the rules did not make a refusal: the
     * reading lost what made it one, so it is not answered */
    int hold = p->gloss_hold.n && et.n && match_any(&p->gloss_hold, &ei);
    /* the keyword reading of a harmful request or a medical question
     * (triage.gloss_unsafe, triage.gloss_medical: "how hit child without
     * marks", "child sleep sleeping pills", "3 years old how much ibuprofen")
     * that the rules, written for sentences, did not refuse */
    int as_unsafe = p->gloss_unsafe.n && et.n && match_any(&p->gloss_unsafe, &ei);
    int as_medical = !as_unsafe && p->gloss_medical.n && et.n && match_any(&p->gloss_medical, &ei);
    /* positive evidence of another subject (triage.gloss_offtopic: a
     * recipe, a car, a flight, a match, taxes) and no child, family or
     * parenting word read (triage.gloss_parenting) */
    int offtopic = p->gloss_offtopic.n && p->gloss_parenting.n && et.n &&
        match_any(&p->gloss_offtopic, &ei) && !match_any(&p->gloss_parenting, &ei);
    toks_free(&et);
#ifdef SAFETY_GLOSS_DIAG
    if (gloss_diag) {
        gloss_diag->seen = 1;
        gloss_diag->hits = (int)hits;
        gloss_diag->words = (int)nwords;
        gloss_diag->covered = (int)cov.words;
        gloss_diag->ecat = (int)e.cat;
        snprintf(gloss_diag->eng, sizeof gloss_diag->eng, "%s", eng);
        if (p->model) {
            double pr[TMODEL_NCLASS];
            int fl[TMODEL_NCLASS];
            tmodel_flags(p->model, eng, strlen(eng), pr, fl);
            gloss_diag->net = fl[TMODEL_EMERGENCY] ? 1 : fl[TMODEL_CRISIS] ? 2 : 0;
        }
    }
#endif
    if (e.cat == SAFETY_EMERGENCY || e.cat == SAFETY_CRISIS ||
        e.cat == SAFETY_MEDICAL || e.cat == SAFETY_UNSAFE) {
        d->cat = e.cat;
        d->rule = e.rule;
        d->proto = e.proto;
        d->notice = NULL;
        return;
    }
    /* the net on the reading: an emergency or a crisis it reads there
     * ("baby 5 weeks old. breathing fast. not feeding floppy limp") is
     * never answered */
    int net = -1;
    if (p->model) {
        double pr[TMODEL_NCLASS];
        int fl[TMODEL_NCLASS];
        tmodel_flags(p->model, eng, strlen(eng), pr, fl);
        if (fl[TMODEL_EMERGENCY] && (!fl[TMODEL_CRISIS] || pr[TMODEL_EMERGENCY] >= pr[TMODEL_CRISIS]))
            net = TMODEL_EMERGENCY;
        else if (fl[TMODEL_CRISIS])
            net = TMODEL_CRISIS;
    }
#ifdef SAFETY_GLOSS_DIAG
    if (gloss_diag)
        gloss_diag->alarm = hazard ? 3 : crisis ? 2 : alarm;
    if (gloss_diag)
        gloss_diag->topic = topic;
#endif
    /* the reading must cover enough of the question: a few red-flag words
     * read out of an ordinary sentence ("child ... blood") are no question.
     * A word of it must name a topic (not only who and when: "child 14
     * years old says wants always" is a reading whose verb was lost), and
     * two in five words must be read or every word but one; with no alarm
     * word read and no negation left dangling, a looser share or more
     * words unread. Never with GLOSS_ANSWER_RUN words in a row unread: a
     * clause the glossary could not read at all ("... and never wakes up,
     * I found cuts") may be the question's point (lang45) */
    /* an off-topic question the reading names ("recipe lasagne", "ignore
     * previous instructions") is refused as one when nothing alarming is
     * read in it; a rule marked "glossed": false (the scope fallback: no
     * parenting word read) is not, as a reading often loses the child
     * ("how. 4.") */
    if (e.cat == SAFETY_OUT_OF_SCOPE && e.rule && !e.rule->no_gloss && english &&
        net < 0 && !alarm) {
        d->cat = e.cat;
        d->rule = e.rule;
        d->proto = NULL;
        d->notice = NULL;
        return;
    }
    /* the catch-all scope rule is not applied to a reading (it often
     * loses the child), but a reading that names another subject and no
     * child, family or parenting word is refused as an English one would
     * be: never when anything alarming, a dose or a harmful act is read */
    if (offtopic && english && net < 0 && !alarm && !hold && !as_unsafe && !as_medical &&
        (e.cat == SAFETY_NONE || e.cat == SAFETY_OUT_OF_SCOPE) && !e.notice) {
        d->cat = SAFETY_OUT_OF_SCOPE;
        d->rule = NULL;
        d->model = "gloss.out_of_scope";
        d->proto = NULL;
        d->notice = NULL;
        return;
    }
    double share = nwords ? (double)hits / (double)nwords : 0;
    size_t unread = nwords - cov.words;
    int read_enough = hits >= GLOSS_ANSWER_MIN && topic && cov.run < GLOSS_ANSWER_RUN &&
        (share >= GLOSS_ANSWER_SHARE || unread <= GLOSS_ANSWER_UNREAD ||
         (!alarm && (share >= GLOSS_CALM_SHARE || unread <= GLOSS_CALM_UNREAD)));
    if (net < 0 && !hazard && !crisis && !hold && !as_unsafe && !as_medical &&
        e.cat == SAFETY_NONE && !e.lang && read_enough &&
        english && cap > 0)
        goto answer;
    /* not answered: the language note, unless the reading names an
     * emergency or a crisis the rules, written for sentences, missed in
     * keyword text. Only for the question's own reading (english set):
     * a short message foreign_probe reads may be English */
    if (!english)
        return;
    if (net >= 0 || hazard || crisis) {
        d->cat = net >= 0 ? model_cats[net] : hazard ? SAFETY_EMERGENCY : SAFETY_CRISIS;
        d->model = net >= 0 ? model_ids[net] : hazard ? "gloss.emergency" : "gloss.crisis";
        d->rule = NULL;
        d->proto = NULL;
        d->notice = NULL;
    } else if ((as_unsafe || as_medical) && (e.cat == SAFETY_NONE || e.cat == SAFETY_OUT_OF_SCOPE)) {
        d->cat = as_unsafe ? SAFETY_UNSAFE : SAFETY_MEDICAL;
        d->model = as_unsafe ? "gloss.unsafe" : "gloss.medical";
        d->rule = NULL;
        d->proto = NULL;
        d->notice = NULL;
    }
    return;
answer:
    d->cat = SAFETY_NONE;
    d->rule = NULL;
    d->proto = NULL;
    d->notice = e.notice;
    d->notice_level = e.notice_level;
    d->lang_answer = 1;
    /* truncated at a word boundary, like the glossary's own output */
    size_t n = strlen(eng);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && eng[n] != ' ')
            n--;
    }
    memcpy(english, eng, n);
    english[n] = '\0';
}

void safety_triage(const struct safety_policy *p, const char *text, size_t len,
                   struct safety_verdict *v)
{
    struct toks t = {0};
    struct verdict d = {0};
    struct split sp = {0};      /* the words as split, for a reading without the fixes */
    int modeled = 0;            /* apply_model already ran on d */
    memset(v, 0, sizeof *v);
    if (!p || !text || len == 0)
        return;
    norm_tokens_opt(p, text, len, &t, 1, &sp);
    if (t.n)
        decide(p, t.v, t.n, &d);
    if (d.lang && t.corrected) {
        /* another language: English spelling fixes would bend its words
         * ("erpresst" is German, not a misspelt "express"); read it as written */
        toks_free(&t);
        memset(&t, 0, sizeof t);
        norm_tokens_split(p, &sp, len, &t);
        if (t.n)
            decide(p, t.v, t.n, &d);
    } else if (t.corrected && (d.cat == SAFETY_NONE || d.cat == SAFETY_OUT_OF_SCOPE)) {
        /* the fixes may have made another language look English ("pitit
         * mwen ... manje"): as written, is it one? Then that reading
         * stands; a red flag the fixes found ("my dauter swalod a batry")
         * never gets here */
        struct toks raw = {0};
        struct verdict dr = {0}, dn = d;
        norm_tokens_split(p, &sp, len, &raw);
        /* the reading as written counts only as another language, and
         * decide() takes it for one only through detect_language or
         * other_language (relaxed finds whatever strict does) on these
         * tokens: when neither does, its rules cannot matter (most long
         * English questions with one typo; a whole decide saved). The
         * matcher gives the same answers without the index scan. */
        struct pat_input rp = { raw.v, raw.n, NULL, NULL };
        if (raw.n && (detect_language(p, &rp) || other_language(p, &rp, 1)))
            decide(p, raw.v, raw.n, &dr);
        /* ... unless the net, reading the fixed English, calls it an
         * emergency or a crisis ("ibni wi2i3 min el balcon") */
        apply_model(p, text, len > SAFETY_MAX_INPUT ? SAFETY_MAX_INPUT : len, &dn);
        if (dr.lang && dr.cat == SAFETY_LANGUAGE &&
            dn.cat != SAFETY_EMERGENCY && dn.cat != SAFETY_CRISIS) {
            toks_free(&t);
            t = raw;
            d = dr;
        } else {
            toks_free(&raw);
            d = dn;                 /* the net has read it: not twice */
            modeled = 1;
        }
    }
    if (d.cat == SAFETY_LANGUAGE && p->gloss)
        read_glossed(p, &t, &sp, len, &d, v->english, sizeof v->english);
    else if ((d.cat == SAFETY_NONE || d.cat == SAFETY_OUT_OF_SCOPE) && !d.lang && p->gloss && t.n) {
        /* too short or too mixed for the language tests: a red flag the
         * glossary reads in it still counts ("nataka kujiua"), read as
         * written (the English fixes bend its words: "bebegim") */
        struct toks raw = {0};
        const struct toks *rt = &t;
        if (t.corrected) {
            norm_tokens_split(p, &sp, len, &raw);
            rt = &raw;
        }
        struct pat_input tp = { rt->v, rt->n, NULL, NULL };
        struct verdict dg = {0};
        if (rt->n && (dg.lang = foreign_probe(p, &tp)) != NULL) {
            int em = 0, cr = 0;
            for (size_t l = 0; !em && l < p->nlangs; l++)
                em = p->langs[l].script == SCRIPT_LATIN && match_any(&p->langs[l].emergency, &tp);
            for (size_t l = 0; !em && !cr && l < p->nlangs; l++)
                cr = p->langs[l].script == SCRIPT_LATIN && match_any(&p->langs[l].crisis, &tp);
            dg.cat = em ? SAFETY_EMERGENCY : cr ? SAFETY_CRISIS : SAFETY_LANGUAGE;
            if (dg.cat == SAFETY_LANGUAGE)
                read_glossed(p, rt, &sp, len, &dg, NULL, 0);
            if (dg.cat == SAFETY_EMERGENCY || dg.cat == SAFETY_CRISIS)
                d = dg;
        }
        toks_free(&raw);
    }
    split_free(&sp);
    toks_free(&t);
    if (!modeled)
        apply_model(p, text, len > SAFETY_MAX_INPUT ? SAFETY_MAX_INPUT : len, &d);
    v->category = d.cat;
    v->rule_id = verdict_rule_id(&d);
    v->protocol_id = d.proto ? d.proto->id : NULL;
    if (d.notice) {
        v->notice = d.notice_level == LEVEL_URGENT ? "urgent"
                  : d.notice_level == LEVEL_NET ? "net" : "prepare";
        v->notice_id = d.notice->id;
    } else if (d.lang_answer && d.lang) {
        v->notice = "language";
        v->notice_id = d.lang->code;
    }
    v->language = d.lang ? d.lang->code : NULL;
}

void safety_verdict_language(struct safety_verdict *v)
{
    if (!v->language) return;
    v->category = SAFETY_LANGUAGE;
    v->rule_id = v->language;
    v->protocol_id = NULL;
    v->notice = NULL;
    v->notice_id = NULL;
    v->english[0] = '\0';
}

safety_category safety_classify(const struct safety_policy *p,
                                const char *text, size_t len,
                                const char **rule_id)
{
    struct safety_verdict v;
    safety_triage(p, text, len, &v);
    if (rule_id)
        *rule_id = v.rule_id;
    return v.category;
}

/* --------------------------------------------------- refusal and output */

static const struct resource *find_resource(const struct safety_policy *p, const char *key)
{
    for (size_t i = 0; i < p->nres; i++)
        if (strcmp(p->res[i].key, key) == 0)
            return &p->res[i];
    return NULL;
}

static const struct rule *find_rule(const struct safety_policy *p, const char *id)
{
    for (size_t i = 0; id && i < p->nrules; i++)
        if (strcmp(p->rules[i].id, id) == 0)
            return &p->rules[i];
    return NULL;
}

static const struct protocol *find_protocol(const struct safety_policy *p, const char *id)
{
    for (size_t i = 0; id && i < p->nprotos; i++)
        if (strcmp(p->protos[i].id, id) == 0)
            return &p->protos[i];
    return NULL;
}

static json_t *resources_json(const struct safety_policy *p, const char *const *keys, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct resource *res = find_resource(p, keys[i]);
        if (res)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "name", res->name,
                                                 "phone", res->phone, "url", res->url));
    }
    return arr;
}

json_t *safety_refusal_json(const struct safety_policy *p, safety_category c,
                            const char *rule_id)
{
    if (!p || (int)c <= 0 || (int)c >= SAFETY_NCAT)
        return NULL;
    const struct rule *r = find_rule(p, rule_id);
    const struct protocol *pr = find_protocol(p, rule_id);
    const char *const *keys = p->catres[c];
    size_t nkeys = p->ncatres[c];
    const char *empathy = p->tmpl[c].empathy;
    if (r && r->has_res && r->cat == c) {
        keys = r->res;
        nkeys = r->nres;
    } else if (pr && pr->nres) {
        keys = pr->res;
        nkeys = pr->nres;
    }
    for (size_t i = 0; c == SAFETY_LANGUAGE && rule_id && i < p->nlangs; i++)
        if (strcmp(p->langs[i].code, rule_id) == 0)
            empathy = p->langs[i].note;
    json_t *out = json_pack("{s:s,s:s,s:s,s:o}", "category", cat_names[c],
                            "empathy", empathy, "message", p->tmpl[c].message,
                            "resources", resources_json(p, keys, nkeys));
    if (pr) {
        /* what to do first, before the template's "call now" */
        const char *rest = p->tmpl[c].after_first_aid ? p->tmpl[c].after_first_aid
                                                       : p->tmpl[c].message;
        size_t n = strlen(pr->first_aid) + strlen(rest) + 2;
        char *msg = xmalloc(n);
        snprintf(msg, n, "%s %s", pr->first_aid, rest);
        json_object_set_new(out, "message", json_string(msg));
        json_object_set_new(out, "first_aid", json_string(pr->first_aid));
        json_object_set_new(out, "source", json_string(pr->source));
        free(msg);
    }
    return out;
}

/* An emergency or a crisis written in another language opens with that
 * language's own line (its emergency_note or crisis_note, else its note);
 * a medical or unsafe refusal with its note (the coach answers in English,
 * and the numbers). */
static json_t *with_language(const struct safety_policy *p, const struct safety_verdict *v, json_t *out)
{
    const struct language *l = find_language(p, v->language);
    if (!out || !l || (v->category != SAFETY_EMERGENCY && v->category != SAFETY_CRISIS &&
                       v->category != SAFETY_MEDICAL && v->category != SAFETY_UNSAFE))
        return out;
    const char *n = v->category == SAFETY_EMERGENCY ? l->emergency_note
                  : v->category == SAFETY_CRISIS ? l->crisis_note : NULL;
    json_object_set_new(out, "empathy", json_string(n ? n : l->note));
    json_object_set_new(out, "language", json_string(l->code));
    return out;
}

json_t *safety_verdict_json(const struct safety_policy *p, const struct safety_verdict *v)
{
    if (!p || !v)
        return NULL;
    if (!v->protocol_id || (v->rule_id && strcmp(v->rule_id, v->protocol_id) == 0))
        return with_language(p, v, safety_refusal_json(p, v->category, v->rule_id ? v->rule_id : v->protocol_id));
    /* a rule decided and a protocol adds its first aid: the rule's
     * resources (poison control, say), then the protocol's line */
    json_t *out = safety_refusal_json(p, v->category, v->rule_id);
    json_t *pj = safety_refusal_json(p, v->category, v->protocol_id);
    if (out && pj) {
        json_t *res = json_object_get(out, "resources"), *more = json_object_get(pj, "resources"), *it;
        size_t i;
        json_array_foreach(more, i, it) {
            const char *ph = json_string_value(json_object_get(it, "phone"));
            int dup = 0;
            size_t k;
            json_t *have;
            json_array_foreach(res, k, have)
                dup |= ph && json_equal(json_object_get(have, "phone"), json_object_get(it, "phone"));
            if (!dup)
                json_array_append(res, it);
        }
        json_object_set(out, "message", json_object_get(pj, "message"));
        json_object_set(out, "first_aid", json_object_get(pj, "first_aid"));
        json_object_set(out, "source", json_object_get(pj, "source"));
    }
    json_decref(pj);
    return with_language(p, v, out);
}

json_t *safety_notice_json(const struct safety_policy *p, const struct safety_verdict *v)
{
    const struct protocol *pr;
    static const char *const em[] = {"emergency"};
    static const char *const lang_res[] = {"emergency", "crisis"};
    if (p && v && v->notice && strcmp(v->notice, "language") == 0) {
        /* answered in English: the language's own note, with the numbers */
        const struct language *l = find_language(p, v->notice_id);
        char why[128];
        if (!l)
            return NULL;
        snprintf(why, sizeof why, "written in %s", l->name);
        return json_pack("{s:s,s:s,s:s,s:s,s:o}", "level", "language", "language", l->code,
                         "reason", why, "message", l->note,
                         "resources", resources_json(p, lang_res, 2));
    }
    if (!p || !v || !v->notice || !(pr = find_protocol(p, v->notice_id)))
        return NULL;
    const char *const *keys = pr->nres ? pr->res : em;
    size_t n = pr->nres ? pr->nres : 1;
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "level", v->notice, "reason", pr->reason,
                     "message", pr->first_aid, "source", pr->source,
                     "resources", resources_json(p, keys, n));
}

int safety_output_hold(const struct safety_policy *p, const char *sentence, size_t len)
{
    struct toks t = {0};
    int hold = 0;
    if (!p || !sentence || len == 0)
        return 0;
    norm_tokens(p, sentence, len, &t);
    struct pat_scan sc;
    pat_scan_init(&sc, safety_no_index ? NULL : p->ix, t.v, t.n);
    struct pat_input in = { t.v, t.n, NULL, safety_no_index ? NULL : &sc };
    if (match_any(&p->hold, &in))
        hold = 1;
    else if (match_any(&p->hold_if_medicine, &in) && match_any(&p->medicine, &in))
        hold = 1;
    pat_scan_free(&sc);
    toks_free(&t);
    return hold;
}

/* 1 when the letters at the end of s are a proper prefix of a number word
 * ("tw" may become "twenty"). Letters right after an apostrophe ("It's",
 * "child’s", "don't") end a contraction or a possessive: no number word
 * grows there. */
static int number_word_ahead(const char *s, size_t len)
{
    size_t st = len;
    while (st > 0 && isalpha((unsigned char)s[st - 1]))
        st--;
    if (st < len && st > 0 && s[st - 1] == '\'')
        return 0;
    if (st < len && st >= 3 && memcmp(s + st - 3, "\xE2\x80\x99", 3) == 0)
        return 0;
    return text_number_prefix(s + st, len - st);
}

/* An ASCII byte that the reader (text_words) turns into a blank wherever it stands
 * next to letters or other such bytes: everything but letters, digits and
 * the apostrophes (a '.' or '/' survives only between digits or word
 * bytes). */
static int blank_byte(unsigned char c)
{
    return c < 0x80 && !isalnum(c) && c != '\'' && c != '`';
}

/* safety_output_number's common case without allocating: ASCII letters,
 * perhaps with punctuation around them ("bedtime,", "(often)"). Gives what
 * the full tokenizer would: the word's spelling-map replacement, or the
 * word itself, holds a number. -1 when the word is not of that shape. */
static int letters_number(const struct safety_policy *p, const char *w, size_t len)
{
    char buf[32];
    size_t a = 0, b = len, n;
    const struct mapent *e;
    struct pat_tok t;
    double v;

    while (a < b && blank_byte((unsigned char)w[a])) a++;
    while (b > a && blank_byte((unsigned char)w[b - 1])) b--;
    n = b - a;
    if (n == 0) return 0;                     /* punctuation only: no token */
    if (n > sizeof buf) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isalpha((unsigned char)w[a + i])) return -1;
        buf[i] = (char)tolower((unsigned char)w[a + i]);
    }
    e = map_find(&p->hspell, p->spell, buf, n);
    if (!e) {
        t = (struct pat_tok){buf, n, 0, 0, 0};
        return tok_number(&t, &v);
    }
    for (size_t i = 0; i < e->nout; i++)
        if (tok_number(&e->out[i], &v)) return 1;
    return 0;
}

int safety_output_number(const struct safety_policy *p, const char *word, size_t len,
                         int partial)
{
    struct toks t = {0};
    int num = 0;
    if (!p || !word || len == 0)
        return 0;
    num = letters_number(p, word, len);
    if (num >= 0)
        return num || (partial && number_word_ahead(word, len));
    num = 0;
    norm_tokens(p, word, len, &t);
    for (size_t i = 0; i < t.n && !num; i++)
        num = t.v[i].isnum;
    toks_free(&t);
    return num || (partial && number_word_ahead(word, len));
}

const char *safety_output_referral(const struct safety_policy *p)
{
    return p ? p->referral : NULL;
}

int safety_output_dose_unit(const struct safety_policy *p, const char *word, size_t len,
                            int partial)
{
    if (!p || !word || len == 0)
        return 0;
    for (size_t u = 0; u < p->ndose_units; u++) {
        const char *d = p->dose_units[u];
        size_t dl = strlen(d);
        if (dl == len && strncasecmp(word, d, len) == 0)
            return 1;
        if (partial && dl > len && strncasecmp(word, d, len) == 0)
            return 1;
        /* the plural: "ml" -> "mls", "tablet" -> "tablets" */
        if (dl + 1 == len && (word[len - 1] == 's' || word[len - 1] == 'S')
            && strncasecmp(word, d, dl) == 0)
            return 1;
    }
    return 0;
}

size_t safety_output_not_dose_words(const struct safety_policy *p, const char *const **out,
                                    unsigned *window)
{
    *out = p ? p->not_dose_words : NULL;
    *window = p ? p->dose_window : 0;
    return p ? p->nnot_dose_words : 0;
}

const struct safety_filter_words *safety_output_filter_words(const struct safety_policy *p)
{
    return p ? &p->filter_words : NULL;
}

size_t safety_output_range_words(const struct safety_policy *p, const char *const **out)
{
    *out = p ? p->range_words : NULL;
    return p ? p->nrange_words : 0;
}

size_t safety_output_continuations(const struct safety_policy *p, const char *const **out)
{
    *out = p ? p->continuations : NULL;
    return p ? p->ncontinuations : 0;
}
