/* spell.c — spelling tolerance on hunspell for the words triage matches.
 * See spell.h for what it does and why it is split by first letter. */
#include "spell.h"
#include "text.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <hunspell/hunspell.h>
#include <pthread.h>
#include <time.h>
#include <iconv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* hunspell keeps one process-wide UTF-8 table, reference-counted without a
 * lock (initialize_utf_tbl / free_utf_tbl, run when a handle is made and
 * destroyed): the loader thread and the loop making handles at the same
 * time could both allocate it (LeakSanitizer saw the 384 KiB table leak in
 * test_warm_real) or free it under the other. Every handle is made and
 * destroyed under this one lock; using a handle needs none. */
static pthread_mutex_t hs_mu = PTHREAD_MUTEX_INITIALIZER;

static Hunhandle *hs_create(const char *aff, const char *dic)
{
    Hunhandle *h;
    pthread_mutex_lock(&hs_mu);
    h = Hunspell_create(aff, dic);
    pthread_mutex_unlock(&hs_mu);
    return h;
}

static void hs_destroy(Hunhandle *h)
{
    pthread_mutex_lock(&hs_mu);
    Hunspell_destroy(h);
    pthread_mutex_unlock(&hs_mu);
}

#define SPELL_CACHE 512            /* recent corrections, by hash */
#define SPELL_MEMO 65536           /* words looked up: two ways of a set per hash */
#define SPELL_MAX_WORD 40

struct cache_ent { char w[SPELL_MAX_WORD]; char fix[SPELL_MAX_WORD]; int used; };

/* What hunspell said about a word, which never changes for a speller:
 * whether it is known (a vocabulary or real English word) and, once a
 * suggestion look-up was made for it, its correction (maybe none). Only
 * spares hunspell calls: the budget is spent exactly as without it (and
 * as without the correction cache above), so which words get corrected is
 * the same. */
#define MEMO_KNOWN_SET 1           /* known holds the answer */
#define MEMO_KNOWN 2
#define MEMO_FIX_SET 4             /* fix holds the suggestion look-up's answer */
struct memo_ent { char w[SPELL_MAX_WORD]; char fix[SPELL_MAX_WORD]; unsigned char flags; };

struct spell {
    Hunhandle *english;             /* is it a real word? */
    Hunhandle *letter[26];          /* the whole vocabulary, by first letter (NULL: none) */
    Hunhandle *target[26];          /* its English words: what a word may become */
    struct cache_ent cache[SPELL_CACHE];
    struct memo_ent *memo;          /* SPELL_MEMO entries */
    char **tw[26];                  /* target[c]'s words, sorted (for near_target) */
    unsigned char *twlen[26];       /* ... and their lengths */
    size_t ntw[26];
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int target_has(const struct spell *s, int c, const char *w)
{
    return s->ntw[c] && bsearch(&w, s->tw[c], s->ntw[c], sizeof *s->tw[c], cmp_str) != NULL;
}

/* 0 when no suggestion of target[c] can pass spell_fix's distance cap:
 * the dictionary has no affixes, so hunspell suggests only its own words
 * (all starting with c) and two of them joined by a space or a dash (the
 * word split in two). Then the look-up, 0.3-2 ms, would find nothing. */
static int near_target(const struct spell *s, int c, const char *w, size_t len, int cap)
{
    char part[SPELL_MAX_WORD];
    for (size_t i = 0; i < s->ntw[c]; i++)
        if ((size_t)s->twlen[c][i] + (size_t)cap >= len && s->twlen[c][i] <= len + (size_t)cap &&
            spell_distance(w, len, s->tw[c][i], s->twlen[c][i], cap) <= cap)
            return 1;
    for (size_t i = 1; i < len; i++) {
        memcpy(part, w, i);
        part[i] = '\0';
        if (target_has(s, c, part) && target_has(s, c, w + i))
            return 1;
    }
    return 0;
}

/* A one-file dictionary of the words starting with c, for hunspell. */
static Hunhandle *letter_dict(const char *aff, const char *const *vocab, size_t n, char c)
{
    char path[] = "/tmp/coachd-spell-XXXXXX";
    size_t k = 0;
    int fd = mkstemp(path);
    FILE *f;
    Hunhandle *h = NULL;
    if (fd < 0) return NULL;
    f = fdopen(fd, "w");
    if (!f) { close(fd); unlink(path); return NULL; }
    for (size_t i = 0; i < n; i++) k += vocab[i][0] == c;
    fprintf(f, "%zu\n", k);
    for (size_t i = 0; i < n; i++)
        if (vocab[i][0] == c) fprintf(f, "%s\n", vocab[i]);
    if (fclose(f) == 0 && k) h = hs_create(aff, path);
    unlink(path);
    return h;
}

struct spell *spell_open(const char *const *vocab, size_t n, const char *dict_dir)
{
    char aff[512], dic[512], min[] = "/tmp/coachd-aff-XXXXXX";
    struct spell *s = NULL;
    const char *dir = dict_dir ? dict_dir : getenv("COACH_HUNSPELL_DIR");
    int fd;
    FILE *f;
    if (!dir || !*dir) dir = "/usr/share/hunspell";
    snprintf(aff, sizeof aff, "%s/en_US.aff", dir);
    snprintf(dic, sizeof dic, "%s/en_US.dic", dir);
    if (access(aff, R_OK) || access(dic, R_OK)) return NULL;
    s = xcalloc(1, sizeof *s);
    s->memo = xcalloc(SPELL_MEMO, sizeof *s->memo);
    s->english = hs_create(aff, dic);
    /* the vocabulary's dictionaries need no affixes: a minimal .aff */
    fd = mkstemp(min);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        if (fd >= 0) { close(fd); unlink(min); }
        spell_close(s);
        return NULL;
    }
    fputs("SET UTF-8\nTRY esianrtolcdugmphbyfvkwzxjq\n", f);
    fclose(f);
    /* only English policy words: "cortes" (Spanish, cuts) must not become
     * "cotes" (French, ribs) */
    const char **eng = xmalloc((n ? n : 1) * sizeof *eng);
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (Hunspell_spell(s->english, vocab[i])) eng[ne++] = vocab[i];
    for (int c = 0; c < 26; c++) {
        s->letter[c] = letter_dict(min, vocab, n, (char)('a' + c));
        s->target[c] = letter_dict(min, eng, ne, (char)('a' + c));
    }
    for (size_t i = 0; i < ne; i++) {
        int c = eng[i][0] - 'a';
        if (c < 0 || c >= 26) continue;
        s->tw[c] = xrealloc(s->tw[c], (s->ntw[c] + 1) * sizeof *s->tw[c]);
        s->tw[c][s->ntw[c]++] = xstrdup(eng[i]);
    }
    for (int c = 0; c < 26; c++) {
        if (!s->ntw[c]) continue;
        qsort(s->tw[c], s->ntw[c], sizeof *s->tw[c], cmp_str);
        s->twlen[c] = xmalloc(s->ntw[c]);
        for (size_t i = 0; i < s->ntw[c]; i++) {
            size_t l = strlen(s->tw[c][i]);
            s->twlen[c][i] = (unsigned char)(l < 255 ? l : 255);   /* spell_distance caps at 40 */
        }
    }
    free(eng);
    unlink(min);
    return s;
}

void spell_close(struct spell *s)
{
    if (!s) return;
    if (s->english) hs_destroy(s->english);
    for (int c = 0; c < 26; c++) {
        if (s->letter[c]) hs_destroy(s->letter[c]);
        if (s->target[c]) hs_destroy(s->target[c]);
        for (size_t i = 0; i < s->ntw[c]; i++) free(s->tw[c][i]);
        free(s->tw[c]);
        free(s->twlen[c]);
    }
    free(s->memo);
    free(s);
}

int spell_distance(const char *a, size_t alen, const char *b, size_t blen, int cap)
{
    int d[SPELL_MAX_WORD + 1][SPELL_MAX_WORD + 1];
    if (alen > SPELL_MAX_WORD || blen > SPELL_MAX_WORD) return cap + 1;
    if ((alen > blen ? alen - blen : blen - alen) > (size_t)cap) return cap + 1;
    for (size_t i = 0; i <= alen; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= blen; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= alen; i++)
        for (size_t j = 1; j <= blen; j++) {
            int cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[alen][blen] > cap ? cap + 1 : d[alen][blen];
}

/* The memo entry of word (NUL-ended, len < SPELL_MAX_WORD, hash h): the
 * one holding it, else an empty or the older-filled way, reset to it. */
static struct memo_ent *memo_get(struct spell *s, const char *word, size_t len, unsigned h)
{
    struct memo_ent *a = &s->memo[(h * 2u) % SPELL_MEMO], *b = a + 1;
    if (a->flags && memcmp(a->w, word, len + 1) == 0) return a;
    if (b->flags && memcmp(b->w, word, len + 1) == 0) return b;
    if (a->flags && !b->flags) a = b;
    else if (a->flags) {            /* both full: the newer moves to the first way */
        *b = *a;
    }
    memcpy(a->w, word, len + 1);
    a->fix[0] = '\0';
    a->flags = 0;
    return a;
}

/* 1 when word (NUL-ended lowercase letters) is a vocabulary or real word. */
static int memo_known(struct spell *s, struct memo_ent *m, const char *word)
{
    if (!(m->flags & MEMO_KNOWN_SET)) {
        Hunhandle *voc = s->letter[word[0] - 'a'];
        int k = (voc && Hunspell_spell(voc, word)) || (s->english && Hunspell_spell(s->english, word));
        m->flags |= (unsigned char)(MEMO_KNOWN_SET | (k ? MEMO_KNOWN : 0));
    }
    return (m->flags & MEMO_KNOWN) != 0;
}

int spell_known(struct spell *s, const char *w, size_t len)
{
    char word[SPELL_MAX_WORD];

    if (!s) return -1;
    if (len == 0 || len >= SPELL_MAX_WORD) return 0;
    for (size_t i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z') return 0;
    memcpy(word, w, len);
    word[len] = '\0';
    return memo_known(s, memo_get(s, word, len, util_hash(word, len)), word);
}

/* Spends one unit of *budget (NULL: unbounded): 0 when none is left. A
 * word spends it whenever it would need a look-up read cold, remembered
 * or not, so what a question reads never depends on the questions asked
 * before it. */
static int budget_take(int *budget)
{
    if (budget && *budget <= 0) return 0;
    if (budget) (*budget)--;
    return 1;
}

size_t spell_fix(struct spell *s, const char *w, size_t len, char *out, size_t outlen,
                 int *budget)
{
    char word[SPELL_MAX_WORD];
    struct cache_ent *ce;
    Hunhandle *voc;
    char **list = NULL;
    int n;
    size_t got = 0;

    if (!s || len < 5 || len >= SPELL_MAX_WORD || w[0] < 'a' || w[0] > 'z') return 0;
    for (size_t i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z') return 0;          /* letters only */
    memcpy(word, w, len);
    word[len] = '\0';
    unsigned h = util_hash(word, len);
    ce = &s->cache[h % SPELL_CACHE];
    if (ce->used && strcmp(ce->w, word) == 0) {
        if (!budget_take(budget)) return 0;     /* cached: costs as a first look-up */
        goto done;
    }
    /* the answers for a word never change: remembered (two hunspell
     * look-ups per word were most of a long question's cost) */
    struct memo_ent *m = memo_get(s, word, len, h);
    if (!s->letter[word[0] - 'a'] || memo_known(s, m, word))
        return 0;                                         /* vocabulary, or a real word */
    voc = s->target[word[0] - 'a'];
    if (!voc) return 0;
    if (!budget_take(budget)) return 0;
    ce->used = 1;
    memcpy(ce->w, word, len + 1);
    ce->fix[0] = '\0';
    if (m->flags & MEMO_FIX_SET) {
        memcpy(ce->fix, m->fix, sizeof ce->fix);
        goto done;
    }
    int cap = len >= 5 ? 2 : 1;
    /* the same budget and cache as a look-up, so nothing else changes */
    n = near_target(s, word[0] - 'a', word, len, cap) ? Hunspell_suggest(voc, &list, word) : 0;
    for (int i = 0; i < n; i++) {
        size_t sl = strlen(list[i]);
        if (sl < SPELL_MAX_WORD && !strchr(list[i], ' ') &&
            spell_distance(word, len, list[i], sl, cap) <= cap) {
            memcpy(ce->fix, list[i], sl + 1);
            break;
        }
    }
    if (n > 0) Hunspell_free_list(voc, &list, n);
    memcpy(m->fix, ce->fix, sizeof m->fix);
    m->flags |= MEMO_FIX_SET;
done:
    got = strlen(ce->fix);
    if (!got || got >= outlen) return 0;
    memcpy(out, ce->fix, got + 1);
    return got;
}

/* --- other languages' dictionaries (see spell.h) ---
 *
 * Hunspell_suggest was measured at 10-500 ms a word on these dictionaries
 * (es 40 ms, pl 300 ms, tr 250 ms), too slow for triage. A question's word
 * has lost its accents far more often than it is misspelt, so the reader
 * restores them itself: the letters that carry an accent in the language
 * ("n" -> "ñ", "a" -> "á") are replaced, one, then two (three in pl cs ro
 * tr) at a time, and each variant is checked with Hunspell_spell (about
 * 10 us); the fewest replacements that make a dictionary word win. A word
 * still unknown then tries the typos of one letter a phone keyboard makes
 * most (a letter left out, doubled, or two swapped). Both are capped in
 * checks per word. */

#define SPELL_LANG_DICTS 2         /* dictionaries one language reads (pt: pt_BR, pt_PT) */
#define SPELL_LANG_MEMO 2048       /* words remembered, per language (by hash, replaced) */
#define SPELL_LANG_CHECKS 400      /* Hunspell_spell calls for one word's variants, at most */
#define SPELL_LANG_ALTS 6          /* accented forms of one letter, at most */

struct lang_memo {
    char w[SPELL_MAX_WORD_LEN];
    char cand[SPELL_LANG_MAX_CAND][SPELL_MAX_WORD_LEN];
    unsigned char n, set, costly;   /* costly: not a word as written (spends budget) */
};

struct spell_lang {
    char aff[SPELL_LANG_DICTS][512], dic[SPELL_LANG_DICTS][512];
    size_t ndict;
    int loaded;                     /* 1: tried (h may still be NULL) */
    int maxsub;                     /* accents restored in one word, at most */
    int capitalise;                 /* nouns are capitalised (de): try "Kind" for "kind" */
    const char *accents;            /* "n:ñ a:á ..." (UTF-8), see lang_dicts */
    Hunhandle *h[SPELL_LANG_DICTS];
    iconv_t cv[SPELL_LANG_DICTS];   /* dictionary encoding -> UTF-8, (iconv_t)-1: UTF-8 */
    /* each letter's accented forms, in the dictionary's encoding */
    char alt[SPELL_LANG_DICTS][26][SPELL_LANG_ALTS][5];
    unsigned char nalt[SPELL_LANG_DICTS][26];
    struct lang_memo *memo;         /* SPELL_LANG_MEMO entries, on first use */
};

/* The dictionaries of each language (Debian's names): the first found, or
 * with both, every one found (Brazilian and European Portuguese); the
 * letters its accents go on and how many to restore in one word. */
static const struct {
    const char *code, *dict[SPELL_LANG_DICTS];
    int both, maxsub, capitalise;
    const char *accents;
} lang_dicts[] = {
    {"es", {"es_ES", "es_MX"}, 0, 2, 0, "a:á e:é i:í o:ó u:úü n:ñ"},
    {"fr", {"fr_FR", "fr"}, 0, 2, 0, "a:àâ e:éèêë i:îï o:ô u:ùûü c:ç"},
    {"de", {"de_DE", NULL}, 0, 2, 1, "a:ä o:ö u:ü"},
    {"pt", {"pt_BR", "pt_PT"}, 1, 2, 0, "a:ãáâà e:éê i:í o:óôõ u:ú c:ç"},
    {"it", {"it_IT", NULL}, 0, 1, 0, "a:à e:èé i:ì o:òó u:ù"},
    {"pl", {"pl_PL", NULL}, 0, 3, 0, "a:ą c:ć e:ę l:ł n:ń o:ó s:ś z:żź"},
    {"nl", {"nl_NL", "nl"}, 0, 1, 0, "e:éë i:ï o:ö"},
    {"ro", {"ro_RO", NULL}, 0, 3, 0, "a:ăâ i:î s:șş t:țţ"},
    {"tr", {"tr_TR", NULL}, 0, 3, 0, "c:ç g:ğ i:ı o:ö s:ş u:ü"},
    {"sv", {"sv_SE", NULL}, 0, 2, 0, "a:äå o:ö e:é"},
    {"id", {"id_ID", NULL}, 0, 0, 0, ""},
    {"cs", {"cs_CZ", NULL}, 0, 3, 0, "a:á c:č d:ď e:éě i:í n:ň o:ó r:ř s:š t:ť u:úů y:ý z:ž"},
    {"sw", {"sw_TZ", NULL}, 0, 0, 0, ""},
};

struct spell_lang *spell_lang_open(const char *code, const char *dict_dir)
{
    const char *dir = dict_dir ? dict_dir : getenv("COACH_HUNSPELL_DIR");
    struct spell_lang *s = NULL;
    if (!code)
        return NULL;
    if (!dir || !*dir) dir = "/usr/share/hunspell";
    for (size_t i = 0; i < sizeof lang_dicts / sizeof lang_dicts[0]; i++) {
        if (strcmp(lang_dicts[i].code, code) != 0) continue;
        for (size_t k = 0; k < SPELL_LANG_DICTS && lang_dicts[i].dict[k]; k++) {
            char aff[512], dic[512];
            snprintf(aff, sizeof aff, "%s/%s.aff", dir, lang_dicts[i].dict[k]);
            snprintf(dic, sizeof dic, "%s/%s.dic", dir, lang_dicts[i].dict[k]);
            if (access(aff, R_OK) || access(dic, R_OK)) continue;
            if (!s) s = xcalloc(1, sizeof *s);
            memcpy(s->aff[s->ndict], aff, sizeof aff);
            memcpy(s->dic[s->ndict], dic, sizeof dic);
            s->ndict++;
            if (!lang_dicts[i].both) break;
        }
        if (s) {
            s->maxsub = lang_dicts[i].maxsub;
            s->capitalise = lang_dicts[i].capitalise;
            s->accents = lang_dicts[i].accents;
        }
        break;
    }
    return s;
}

/* Frees what lang_load made (cv is set only once loading was tried) and
 * leaves s as before it: nothing loaded, no accented forms. */
static void lang_unload(struct spell_lang *s)
{
    for (size_t k = 0; k < s->ndict; k++) {
        if (s->h[k]) hs_destroy(s->h[k]);
        if (s->loaded && s->cv[k] != (iconv_t)-1) iconv_close(s->cv[k]);
        s->h[k] = NULL;
        s->cv[k] = (iconv_t)-1;
        memset(s->nalt[k], 0, sizeof s->nalt[k]);
    }
    s->loaded = 0;
}

void spell_lang_close(struct spell_lang *s)
{
    if (!s) return;
    lang_unload(s);
    free(s->memo);
    free(s);
}

/* in (UTF-8, n bytes) in the encoding cd converts to, into out (cap
 * bytes, NUL-ended); cd (iconv_t)-1: copied. 0 on failure. */
static size_t lang_conv(iconv_t cd, const char *in, size_t n, char *out, size_t cap)
{
    if (cd == (iconv_t)-1) {
        if (n >= cap) return 0;
        memcpy(out, in, n);
        out[n] = '\0';
        return n;
    }
    char *ip = (char *)in, *op = out;
    size_t il = n, ol = cap - 1;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) return 0;
    *op = '\0';
    return (size_t)(op - out);
}

/* Each letter's accented forms (s->accents, "a:áà e:é"), in dictionary
 * k's encoding (to: UTF-8 -> it; (iconv_t)-1: UTF-8). */
static void lang_alts(struct spell_lang *s, size_t k, iconv_t to)
{
    const char *a = s->accents;
    while (a && *a) {
        while (*a == ' ') a++;
        if (!*a || a[0] < 'a' || a[0] > 'z' || a[1] != ':') break;
        int c = a[0] - 'a';
        a += 2;
        while (*a && *a != ' ') {
            size_t l = 1;
            while ((a[l] & 0xC0) == 0x80) l++;     /* one UTF-8 character */
            char enc[8];
            size_t el = lang_conv(to, a, l, enc, sizeof enc);
            if (el && el < 5 && s->nalt[k][c] < SPELL_LANG_ALTS)
                memcpy(s->alt[k][c][s->nalt[k][c]++], enc, el + 1);
            a += l;
        }
    }
}

/* 1 when both files open, 0 when one is missing or unreadable, -1 when
 * the process is out of descriptors (EMFILE/ENFILE): hunspell would then
 * print its own "cannot open" lines on stderr and load nothing, so the
 * caller waits a little and tries again, and past that leaves the
 * language to a later question. */
static int lang_files_open(const char *aff, const char *dic)
{
    const char *f[2] = {aff, dic};
    for (int i = 0; i < 2; i++) {
        int fd = open(f[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) return errno == EMFILE || errno == ENFILE ? -1 : 0;
        close(fd);
    }
    return 1;
}

/* Loads the dictionaries once; 0 when none loaded. */
static int lang_load(struct spell_lang *s)
{
    size_t ok = 0;
    if (!s->loaded) {
        int later = 0;
        s->loaded = 1;
        if (!s->memo) s->memo = xcalloc(SPELL_LANG_MEMO, sizeof *s->memo);
        for (size_t k = 0; k < s->ndict; k++) {
            iconv_t to = (iconv_t)-1;
            int files = lang_files_open(s->aff[k], s->dic[k]);
            for (int tries = 0; files < 0 && tries < 20; tries++) {
                struct timespec ts = {0, 10 * 1000 * 1000};     /* 10 ms, 0.2 s at most */
                nanosleep(&ts, NULL);
                files = lang_files_open(s->aff[k], s->dic[k]);
            }
            s->cv[k] = (iconv_t)-1;
            s->h[k] = NULL;
            if (files < 0) later = 1;
            if (files <= 0) continue;
            s->h[k] = hs_create(s->aff[k], s->dic[k]);
            if (!s->h[k]) continue;
            const char *enc = Hunspell_get_dic_encoding(s->h[k]);
            if (enc && strcmp(enc, "UTF-8") != 0 && strcmp(enc, "utf-8") != 0) {
                s->cv[k] = iconv_open("UTF-8", enc);
                to = iconv_open(enc, "UTF-8");
                if (s->cv[k] == (iconv_t)-1 || to == (iconv_t)-1) {   /* cannot read its words */
                    if (s->cv[k] != (iconv_t)-1) iconv_close(s->cv[k]);
                    s->cv[k] = (iconv_t)-1;
                    hs_destroy(s->h[k]);
                    s->h[k] = NULL;
                }
            }
            if (s->h[k]) lang_alts(s, k, to);
            if (to != (iconv_t)-1) iconv_close(to);
        }
        if (later)                          /* out of descriptors: tried again next time */
            lang_unload(s);
    }
    for (size_t k = 0; k < s->ndict; k++) ok += s->h[k] != NULL;
    return ok > 0;
}

int spell_lang_load(struct spell_lang *s)
{
    return s ? lang_load(s) : 0;
}

/* A dictionary word (its encoding) as a question's word: UTF-8, then
 * lowercased and accent-folded by text.c; 0 unless that is one word of
 * lowercase ASCII letters (len < SPELL_MAX_WORD_LEN) written to out. */
static size_t lang_fold(struct spell_lang *s, size_t k, const char *in, char *out)
{
    char utf[4 * SPELL_MAX_WORD_LEN];
    struct text_word tw[2];
    size_t il = strlen(in);
    if (il >= SPELL_MAX_WORD_LEN || !lang_conv(s->cv[k], in, il, utf, sizeof utf)) return 0;
    if (text_words(utf, strlen(utf), tw, 2) != 1) return 0;
    size_t n = tw[0].nlen;
    if (n == 0 || n >= SPELL_MAX_WORD_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (tw[0].norm[i] < 'a' || tw[0].norm[i] > 'z') return 0;
    memcpy(out, tw[0].norm, n + 1);
    return n;
}

/* Adds c (folded) to m's candidates unless it is w or already there. */
static void lang_add(struct lang_memo *m, const char *w, const char *c)
{
    if (m->n >= SPELL_LANG_MAX_CAND || strcmp(c, w) == 0) return;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->cand[i], c) == 0) return;
    memcpy(m->cand[m->n++], c, strlen(c) + 1);
}

/* Whether dictionary k knows dw (its encoding), as written or, in a
 * language that capitalises nouns, with a capital: the form it knows is
 * left in dw. */
static int lang_knows(struct spell_lang *s, size_t k, char *dw)
{
    if (Hunspell_spell(s->h[k], dw)) return 1;
    if (s->capitalise && dw[0] >= 'a' && dw[0] <= 'z') {
        dw[0] = (char)(dw[0] - 'a' + 'A');
        if (Hunspell_spell(s->h[k], dw)) return 1;
        dw[0] = (char)(dw[0] - 'A' + 'a');
    }
    return 0;
}

/* The stems of dictionary word dw (its encoding), folded, into m; and dw
 * itself folded (for a variant: the restored word). */
static void lang_stems(struct spell_lang *s, size_t k, const char *w, const char *dw,
                       struct lang_memo *m)
{
    char **list = NULL, f[SPELL_MAX_WORD_LEN];
    if (lang_fold(s, k, dw, f)) lang_add(m, w, f);
    int n = Hunspell_stem(s->h[k], &list, dw);
    for (int i = 0; i < n; i++)
        if (lang_fold(s, k, list[i], f)) lang_add(m, w, f);
    if (n > 0) Hunspell_free_list(s->h[k], &list, n);
}

/* The accent variants of w from position at on, with left replacements
 * still to make (exactly), into buf (the variant so far, bl bytes, in
 * dictionary k's encoding); each known one's stems go to m. *checks
 * counts Hunspell_spell calls; stops at SPELL_LANG_CHECKS. */
static void lang_variants(struct spell_lang *s, size_t k, const char *w, size_t len, size_t at,
                          int left, char *buf, size_t bl, int *checks, struct lang_memo *m)
{
    if (*checks >= SPELL_LANG_CHECKS || m->n >= SPELL_LANG_MAX_CAND) return;
    if (left == 0) {
        char dw[4 * SPELL_MAX_WORD_LEN];
        if (bl + (len - at) >= sizeof dw) return;
        memcpy(dw, buf, bl);
        memcpy(dw + bl, w + at, len - at);
        dw[bl + len - at] = '\0';
        (*checks)++;
        if (lang_knows(s, k, dw)) lang_stems(s, k, w, dw, m);
        return;
    }
    for (size_t i = at; i < len; i++) {
        int c = w[i] - 'a';
        for (unsigned a = 0; a < s->nalt[k][c]; a++) {
            size_t al = strlen(s->alt[k][c][a]), nb = bl + (i - at);
            if (nb + al + len >= 4 * SPELL_MAX_WORD_LEN) return;
            memcpy(buf + bl, w + at, i - at);
            memcpy(buf + nb, s->alt[k][c][a], al);
            lang_variants(s, k, w, len, i + 1, left - 1, buf, nb + al, checks, m);
        }
    }
}

/* The one-letter typos of w a keyboard makes most (a letter left out and
 * so missing here: not tried, since it means 26 letters at every place;
 * one typed twice; two swapped): their stems into m. */
static void lang_typos(struct spell_lang *s, size_t k, const char *w, size_t len, int *checks,
                       struct lang_memo *m)
{
    char dw[SPELL_MAX_WORD_LEN];
    for (size_t i = 0; i < len && *checks < SPELL_LANG_CHECKS; i++) {
        if (i + 1 < len && w[i] == w[i + 1]) {          /* doubled: drop one */
            memcpy(dw, w, i);
            memcpy(dw + i, w + i + 1, len - i);
            (*checks)++;
            if (lang_knows(s, k, dw)) lang_stems(s, k, w, dw, m);
        }
        if (i + 1 < len && w[i] != w[i + 1]) {          /* swapped */
            memcpy(dw, w, len + 1);
            dw[i] = w[i + 1];
            dw[i + 1] = w[i];
            (*checks)++;
            if (lang_knows(s, k, dw)) lang_stems(s, k, w, dw, m);
        }
    }
}

size_t spell_lang_read(struct spell_lang *s, const char *w, size_t len,
                       char out[][SPELL_MAX_WORD_LEN], size_t max, int *budget)
{
    char word[SPELL_MAX_WORD_LEN];
    if (!s || len < 2 || len >= SPELL_MAX_WORD_LEN || !max) return 0;
    for (size_t i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z') return 0;
    if (!lang_load(s)) return 0;
    memcpy(word, w, len);
    word[len] = '\0';
    struct lang_memo *m = &s->memo[util_hash(word, len) % SPELL_LANG_MEMO];
    if (m->set && strcmp(m->w, word) == 0) {
        if (m->costly && !budget_take(budget)) return 0;   /* as its first reading */
    } else {
        struct lang_memo fresh;
        char dw[SPELL_MAX_WORD_LEN];
        int known = 0;
        memset(&fresh, 0, sizeof fresh);
        memcpy(fresh.w, word, len + 1);
        for (size_t k = 0; k < s->ndict; k++) {
            memcpy(dw, word, len + 1);
            if (s->h[k] && lang_knows(s, k, dw)) {
                known = 1;
                lang_stems(s, k, word, dw, &fresh);
            }
        }
        if (!known) {
            /* not a word as written: its accents left out, or a typo */
            char buf[4 * SPELL_MAX_WORD_LEN];
            if (!budget_take(budget)) return 0;         /* not remembered: later, maybe */
            fresh.costly = 1;
            for (size_t k = 0; k < s->ndict; k++) {
                int checks = 0;
                if (!s->h[k]) continue;
                for (int sub = 1; sub <= s->maxsub && !fresh.n; sub++)
                    lang_variants(s, k, word, len, 0, sub, buf, 0, &checks, &fresh);
                if (!fresh.n && len >= 5)
                    lang_typos(s, k, word, len, &checks, &fresh);
            }
        }
        fresh.set = 1;
        *m = fresh;
    }
    size_t got = 0;
    for (; got < m->n && got < max; got++)
        memcpy(out[got], m->cand[got], SPELL_MAX_WORD_LEN);
    return got;
}

/* --- spell_warm: the loader state machine (see spell.h) --- */

struct spell_warm {
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* a slot became READY */
    pthread_t thread;
    int started, stop;
    size_t n;
    unsigned char *state;           /* SPELL_WARM_*, by slot, under mu */
    void (*load)(void *arg, size_t i);
    void *arg;
};

/* Claims slot i if IDLE (under mu): 1 claimed, the caller loads it. */
static int warm_claim(struct spell_warm *w, size_t i)
{
    if (w->state[i] != SPELL_WARM_IDLE)
        return 0;
    w->state[i] = SPELL_WARM_LOADING;
    return 1;
}

/* Loads claimed slot i (mu not held) and marks it READY. */
static void warm_run(struct spell_warm *w, size_t i)
{
    w->load(w->arg, i);
    pthread_mutex_lock(&w->mu);
    w->state[i] = SPELL_WARM_READY;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *warm_main(void *arg)
{
    struct spell_warm *w = arg;
    for (size_t i = 0; i < w->n; i++) {
        pthread_mutex_lock(&w->mu);
        int mine = !w->stop && warm_claim(w, i);
        int stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            break;
        if (mine)
            warm_run(w, i);
    }
    return NULL;
}

struct spell_warm *spell_warm_new(size_t n, void (*load)(void *arg, size_t i), void *arg,
                                  int background)
{
    struct spell_warm *w = xcalloc(1, sizeof *w);
    pthread_condattr_t ca;
    w->n = n;
    w->state = xcalloc(n ? n : 1, 1);
    w->load = load;
    w->arg = arg;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (background) {
        if (pthread_create(&w->thread, NULL, warm_main, w) != 0) {
            spell_warm_free(w);
            return NULL;
        }
        w->started = 1;
    }
    return w;
}

void spell_warm_free(struct spell_warm *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_mutex_unlock(&w->mu);
    if (w->started)
        pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->state);
    free(w);
}

static double warm_ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int spell_warm_wait(struct spell_warm *w, size_t i, long timeout_ms, double *waited_ms)
{
    struct timespec t0, until;
    int rc = 1;
    if (waited_ms)
        *waited_ms = 0;
    if (!w || i >= w->n)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    until = t0;
    if (timeout_ms < 0)
        timeout_ms = 0;
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    if (warm_claim(w, i)) {             /* nobody has started it: load it here */
        pthread_mutex_unlock(&w->mu);
        warm_run(w, i);
        goto out;
    }
    while (w->state[i] != SPELL_WARM_READY) {
        int e = pthread_cond_timedwait(&w->cv, &w->mu, &until);
        if (e == ETIMEDOUT && w->state[i] != SPELL_WARM_READY) {
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
out:
    if (waited_ms)
        *waited_ms = warm_ms_since(&t0);
    return rc;
}

int spell_warm_state(struct spell_warm *w, size_t i)
{
    int st;
    if (!w || i >= w->n)
        return -1;
    pthread_mutex_lock(&w->mu);
    st = w->state[i];
    pthread_mutex_unlock(&w->mu);
    return st;
}

size_t spell_warm_ready(struct spell_warm *w, size_t *total)
{
    size_t r = 0;
    if (total)
        *total = w ? w->n : 0;
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n; i++)
        r += w->state[i] == SPELL_WARM_READY;
    pthread_mutex_unlock(&w->mu);
    return r;
}
