/* spell.c — spelling tolerance on hunspell for the words triage matches.
 * See spell.h for what it does and why it is split by first letter. */
#include "spell.h"
#include "util.h"

#include <hunspell/hunspell.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPELL_CACHE 512            /* recent corrections, by hash */
#define SPELL_MEMO 65536           /* words looked up: two ways of a set per hash */
#define SPELL_MAX_WORD 40

struct cache_ent { char w[SPELL_MAX_WORD]; char fix[SPELL_MAX_WORD]; int used; };

/* What hunspell said about a word, which never changes for a speller:
 * whether it is known (a vocabulary or real English word) and, once a
 * suggestion look-up was made for it, its correction (maybe none). Only
 * spares hunspell calls: the budget and the correction cache above are
 * spent exactly as without it, so which words get corrected is the same. */
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
    if (fclose(f) == 0 && k) h = Hunspell_create(aff, path);
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
    s->english = Hunspell_create(aff, dic);
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
    if (s->english) Hunspell_destroy(s->english);
    for (int c = 0; c < 26; c++) {
        if (s->letter[c]) Hunspell_destroy(s->letter[c]);
        if (s->target[c]) Hunspell_destroy(s->target[c]);
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
    if (ce->used && strcmp(ce->w, word) == 0) goto done;
    /* the answers for a word never change: remembered (two hunspell
     * look-ups per word were most of a long question's cost) */
    struct memo_ent *m = memo_get(s, word, len, h);
    if (!s->letter[word[0] - 'a'] || memo_known(s, m, word))
        return 0;                                         /* vocabulary, or a real word */
    voc = s->target[word[0] - 'a'];
    if (!voc) return 0;
    if (budget && *budget <= 0) return 0;
    if (budget) (*budget)--;
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
