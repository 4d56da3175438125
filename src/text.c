/* text.c — one way to read a parent's words.
 *
 * Every module that reads a question or an answer (safety, retrieval, the
 * grounded composer, the output filter) splits it here, so a word, a
 * number, a stem and a sentence end mean the same thing everywhere. The
 * splitter is a single pass over UTF-8 that yields slices of the input and
 * a normalised copy of each word; numbers are read from the normalised
 * form; stems come from FTS5's own porter tokenizer, reached through
 * fts5_api.xFindTokenizer on a private in-memory SQLite connection, so a
 * word stems exactly as the BM25 index stemmed it. See text.h. */
#include "text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

/* ------------------------------------------------------------ letters */

/* Base letter of a Latin-1 Supplement or Latin Extended-A code point
 * (U+00C0..U+017F), lowercase, or 0 when it is not a letter. */
static const char latin1[64] = "aaaaaaaceeeeiiiidnooooo\0ouuuuyts" "aaaaaaaceeeeiiiidnooooo\0ouuuuyty";
static char latin_base(unsigned cp)
{
    static const char exta[] =      /* U+0100..U+017F */
        "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllll"
        "nnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";
    if (cp >= 0xC0 && cp <= 0xFF) return latin1[cp - 0xC0];
    if (cp >= 0x100 && cp <= 0x17F) return exta[cp - 0x100];
    /* Romanian comma-below s and t; Vietnamese horn o and u */
    if (cp >= 0x218 && cp <= 0x21B) return cp < 0x21A ? 's' : 't';
    if (cp == 0x1A0 || cp == 0x1A1) return 'o';
    if (cp == 0x1AF || cp == 0x1B0) return 'u';
    /* Latin Extended Additional: Vietnamese tone marks (U+1EA0..U+1EF9) */
    if (cp >= 0x1EA0 && cp <= 0x1EF9)
        return cp <= 0x1EB7 ? 'a' : cp <= 0x1EC7 ? 'e' : cp <= 0x1ECB ? 'i'
             : cp <= 0x1EE3 ? 'o' : cp <= 0x1EF1 ? 'u' : 'y';
    return 0;
}

/* The lowercase of a Greek or Cyrillic capital, else cp itself. Greek
 * letters also lose their tonos and dialytika ("Πώς" -> "πως"), as Latin
 * letters lose their accents: parents type Greek with and without them. */
static unsigned lower_cp(unsigned cp)
{
    if (cp >= 0x386 && cp <= 0x3CE) {
        static const struct { unsigned short from, to; } greek[] = {
            {0x386, 0x3B1}, {0x388, 0x3B5}, {0x389, 0x3B7}, {0x38A, 0x3B9}, {0x38C, 0x3BF},
            {0x38E, 0x3C5}, {0x38F, 0x3C9}, {0x390, 0x3B9}, {0x3AA, 0x3B9}, {0x3AB, 0x3C5},
            {0x3AC, 0x3B1}, {0x3AD, 0x3B5}, {0x3AE, 0x3B7}, {0x3AF, 0x3B9}, {0x3B0, 0x3C5},
            {0x3CA, 0x3B9}, {0x3CB, 0x3C5}, {0x3CC, 0x3BF}, {0x3CD, 0x3C5}, {0x3CE, 0x3C9},
        };
        for (size_t k = 0; k < sizeof greek / sizeof greek[0]; k++)
            if (greek[k].from == cp)
                return greek[k].to;
    }
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 0x20;
    if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;
    if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
    return cp;
}

/* cp (below U+10000) as UTF-8 into out; its length. */
static size_t utf8_enc(unsigned cp, char *out)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Decodes one UTF-8 sequence at s[i..len); returns its length (0 when
 * malformed) and the code point. */
static size_t utf8_dec(const unsigned char *s, size_t i, size_t len, unsigned *cp)
{
    unsigned char c = s[i];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    unsigned v;
    if (need == 0 || i + need > len || c >= 0xF8) return 0;
    v = c & (0x3F >> (need - 1));
    for (size_t k = 1; k < need; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    *cp = v;
    return need;
}

enum ck { C_SEP, C_ALNUM, C_APOS, C_FRAC, C_LETTER };

/* The value of a decimal digit of another script (Arabic-Indic, Persian,
 * Devanagari, Bengali, Gurmukhi, Gujarati, Tamil, Thai, fullwidth), read
 * as the ASCII digit ("١٢ كيلو" is "12 kilo"); -1 for any other code point. */
static int script_digit(unsigned cp)
{
    static const unsigned zero[] = { 0x660, 0x6F0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xBE6, 0xE50, 0xFF10 };
    for (size_t k = 0; k < sizeof zero / sizeof zero[0]; k++)
        if (cp >= zero[k] && cp <= zero[k] + 9)
            return (int)(cp - zero[k]);
    return -1;
}

/* Punctuation of other scripts that ends a sentence: Arabic question mark
 * and Urdu full stop, the Devanagari danda (Hindi, Bengali, Punjabi), the
 * Ethiopic full stop and question mark, the Greek question mark, the
 * Hebrew sof pasuq, fullwidth full stop. */
static int script_sentence_end(unsigned cp)
{
    return cp == 0x61F || cp == 0x6D4 || cp == 0x964 || cp == 0x965 || cp == 0x1362 ||
           cp == 0x1367 || cp == 0x37E || cp == 0x5C3 || cp == 0xFF0E;
}

/* ... and the ones that end a clause: Arabic comma and semicolon, the
 * ideographic and fullwidth commas, fullwidth colon and semicolon, the
 * Ethiopic comma and semicolon. */
static int script_clause_end(unsigned cp)
{
    return cp == 0x60C || cp == 0x61B || cp == 0x3001 || cp == 0xFF0C || cp == 0xFF1A ||
           cp == 0xFF1B || cp == 0x1363 || cp == 0x1364;
}

/* Thai is written without spaces between words. A Thai run is split into
 * syllable-like pieces, each a word of its own: a piece starts at a
 * consonant (U+0E01..U+0E2E) unless a leading vowel (U+0E40..U+0E44: เ แ
 * โ ใ ไ) opened it just before, or at a leading vowel; vowel signs, tone
 * marks and the following vowels stay with the piece before them
 * ("ไม่หายใจ" -> "ไม่" "หา" "ย" "ใจ"). Patterns and glossary entries write
 * Thai the same way, pieces spaced. */
static int thai_starts_piece(unsigned cp, unsigned prev)
{
    if (cp >= 0xE40 && cp <= 0xE44) return 1;
    if (cp >= 0xE01 && cp <= 0xE2E) return !(prev >= 0xE40 && prev <= 0xE44);
    return 0;
}

static int is_thai(unsigned cp)
{
    return cp >= 0xE01 && cp <= 0xE4E && cp != 0xE3F;
}

/* What a code point is to the splitter. */
static enum ck classify_cp(unsigned cp)
{
    if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC) return C_APOS;
    if (cp == 0xBC || cp == 0xBD || cp == 0xBE) return C_FRAC;
    if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return C_SEP;
    if (script_digit(cp) >= 0) return C_ALNUM;
    if (script_sentence_end(cp) || script_clause_end(cp)) return C_SEP;
    if (cp == 0x5BE || cp == 0xE2F || cp == 0xE3F || cp == 0xE46 || cp == 0xE4F ||
        cp == 0xE5A || cp == 0xE5B || (cp >= 0x1360 && cp <= 0x1368))
        return C_SEP;           /* Hebrew maqaf, Thai signs, Ethiopic punctuation */
    if (cp >= 0x2000 && cp <= 0x2BFF) return C_SEP;     /* punctuation, symbols, arrows */
    if (cp >= 0x3000 && cp <= 0x303F) return C_SEP;     /* CJK punctuation */
    if (cp >= 0xFE00 && cp <= 0xFE6F) return C_SEP;
    if (cp >= 0xFF00 && cp <= 0xFF20) return C_SEP;     /* fullwidth punctuation */
    if (cp >= 0x1F000) return C_SEP;                    /* emoji */
    return C_LETTER;
}

/* ------------------------------------------------------------- words */

/* isalnum of an ASCII byte in the C locale (what the splitter has always
 * meant), without the locale table look-up. */
static int ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static void word_finish(struct text_word *w)
{
    while (w->nlen && w->norm[w->nlen - 1] == '\'') w->nlen--;   /* trailing ' */
    w->norm[w->nlen] = '\0';
    if (text_number(w->norm, w->nlen, &w->num)) w->flags |= TEXT_NUMBER;
}

static void norm_put(struct text_word *w, char c)
{
    if (w->nlen < TEXT_WORD_MAX - 1) w->norm[w->nlen++] = c;
}

size_t text_words_opt(const char *text, size_t len, struct text_word *out, size_t max,
                      unsigned opts)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = 0, i = 0;
    struct text_word cur;
    int in = 0;
    unsigned prev_cp = 0;       /* the code point before, for Thai pieces */

#define EMIT() do { if (in) { word_finish(&cur); if (n < max) out[n] = cur; n++; in = 0; } } while (0)
#define START(at) do { if (!in) { if ((opts & TEXT_STOP_AT_MAX) && n >= max) return max + 1; \
                                   memset(&cur, 0, sizeof cur); cur.ptr = text + (at); in = 1; } } while (0)

    while (i < len) {
        unsigned char c = s[i];
        unsigned cp = c;
        size_t step = 1;
        enum ck k;
        if (c >= 0x80) {
            step = utf8_dec(s, i, len, &cp);
            if (step == 0) { EMIT(); i++; prev_cp = 0; continue; }
            k = classify_cp(cp);
            if (k == C_ALNUM)
                c = (unsigned char)('0' + script_digit(cp));  /* read as its ASCII digit */
        } else if (ascii_alnum(c)) {
            k = C_ALNUM;
        } else if (c == '\'' || c == '`') {
            k = C_APOS;
        } else if (c == '.' && in && cur.nlen && isdigit((unsigned char)cur.norm[cur.nlen - 1]) &&
                   i + 1 < len && isdigit(s[i + 1])) {
            k = C_ALNUM;                                   /* 38.5 */
        } else if (c == '/' && (opts & TEXT_KEEP_SLASH) && in && cur.nlen &&
                   cur.norm[cur.nlen - 1] != '\'' && i + 1 < len &&
                   (isalnum(s[i + 1]) || s[i + 1] >= 0x80)) {
            k = C_ALNUM;                                   /* b/c, mg/kg */
        } else {
            k = C_SEP;
        }
        switch (k) {
        case C_SEP:
            EMIT();
            /* a sentence ends after the last word: . ! ? newline 。 ！ ？ */
            if (n && n <= max && (c == '.' || c == '!' || c == '?' || c == '\n' ||
                                  cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F ||
                                  script_sentence_end(cp)))
                out[n - 1].flags |= TEXT_SENT_END | TEXT_CLAUSE_END;
            else if (n && n <= max && (c == ',' || c == ';' || c == ':' || c == '(' || c == ')' ||
                                       c == '-' || cp == 0x2013 || cp == 0x2014 ||
                                       script_clause_end(cp)))
                out[n - 1].flags |= TEXT_CLAUSE_END;
            break;
        case C_APOS:
            if (in && cur.nlen && cur.norm[cur.nlen - 1] != '\'') {
                norm_put(&cur, '\'');
                cur.flags |= TEXT_APOS;
                cur.len = (size_t)(text + i + step - cur.ptr);
            }
            break;
        case C_FRAC:
            EMIT();
            START(i);
            {
                const char *v = cp == 0xBD ? "0.5" : cp == 0xBC ? "0.25" : "0.75";
                cur.nlen = strlen(v);
                memcpy(cur.norm, v, cur.nlen + 1);
            }
            cur.flags = TEXT_DIGIT;
            cur.len = step;
            EMIT();
            break;
        case C_ALNUM:
            if (in && is_thai(prev_cp))
                EMIT();                                    /* Thai letters, then digits */
            START(i);
            norm_put(&cur, (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c));
            cur.flags |= (c >= '0' && c <= '9') ? TEXT_DIGIT : c == '.' || c == '/' ? 0 : TEXT_ALPHA;
            cur.len = (size_t)(text + i + step - cur.ptr);
            break;
        case C_LETTER: {
            char b = latin_base(cp);
            if ((cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x3400 && cp <= 0x9FFF)) {
                /* Chinese and Japanese are written without spaces: each
                 * character is a word of its own */
                EMIT();
                START(i);
                memcpy(cur.norm, s + i, step);
                cur.nlen = step;
                cur.flags |= TEXT_ALPHA;
                cur.len = step;
                EMIT();
                break;
            }
            if (is_thai(cp)) {
                /* a Thai piece ends where the next begins, and after a
                 * word of other letters or digits */
                if (in && (!is_thai(prev_cp) || thai_starts_piece(cp, prev_cp)))
                    EMIT();
            } else if (in && is_thai(prev_cp)) {
                EMIT();
            }
            START(i);
            if (b) {
                norm_put(&cur, b);
                if (cp == 0xDF || cp == 0xC6 || cp == 0xE6) norm_put(&cur, cp == 0xDF ? 's' : 'e');
            } else if (lower_cp(cp) != cp && cur.nlen + 3 < TEXT_WORD_MAX) {
                cur.nlen += utf8_enc(lower_cp(cp), cur.norm + cur.nlen);
            } else if (cur.nlen + step < TEXT_WORD_MAX) {
                memcpy(cur.norm + cur.nlen, s + i, step);
                cur.nlen += step;
            }
            cur.flags |= TEXT_ALPHA;
            cur.len = (size_t)(text + i + step - cur.ptr);
            break;
        }
        }
        prev_cp = cp;
        i += step;
    }
    EMIT();
#undef EMIT
#undef START
    return n;
}

size_t text_words(const char *s, size_t len, struct text_word *out, size_t max)
{
    return text_words_opt(s, len, out, max, 0);
}

size_t text_pieces(const char *w, size_t len, struct text_span *out, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 1; i <= len; i++) {
        int boundary = i == len;
        if (!boundary) {
            int a = isdigit((unsigned char)w[i - 1]) || w[i - 1] == '.';
            int b = isdigit((unsigned char)w[i]) || w[i] == '.';
            boundary = a != b;
        }
        if (boundary) {
            if (n < max) out[n] = (struct text_span){start, i - start};
            n++;
            start = i;
        }
    }
    return n;
}

/* ----------------------------------------------------------- numbers */

/* by length (their order matters nowhere: no word is there twice), so
 * text_number reads only the words of the length it has */
static const struct { const char *w; size_t n; double v; } number_words[] = {
    {"one", 3, 1}, {"two", 3, 2}, {"six", 3, 6}, {"ten", 3, 10},
    {"zero", 4, 0}, {"four", 4, 4}, {"five", 4, 5}, {"nine", 4, 9}, {"half", 4, 0.5},
    {"three", 5, 3}, {"seven", 5, 7}, {"eight", 5, 8}, {"forty", 5, 40}, {"fifty", 5, 50},
    {"sixty", 5, 60},
    {"eleven", 6, 11}, {"twelve", 6, 12}, {"twenty", 6, 20}, {"thirty", 6, 30},
    {"fifteen", 7, 15}, {"sixteen", 7, 16}, {"quarter", 7, 0.25},
    {"thirteen", 8, 13}, {"fourteen", 8, 14}, {"eighteen", 8, 18}, {"nineteen", 8, 19},
    {"seventeen", 9, 17},
};
/* number_words[number_len_at[n - 3] .. number_len_at[n - 2]): the words of n bytes */
static const unsigned char number_len_at[] = {0, 4, 9, 15, 19, 22, 26, 27};
#define NNUMBER_WORDS (sizeof number_words / sizeof number_words[0])
#define NUMBER_WORD_MIN 3
#define NUMBER_WORD_MAX 9
/* bit c - 'a' set: some number word starts with c (e f h n o q s t z) */
#define NUMBER_WORD_FIRST ((1u << ('e' - 'a')) | (1u << ('f' - 'a')) | (1u << ('h' - 'a')) | \
                           (1u << ('n' - 'a')) | (1u << ('o' - 'a')) | (1u << ('q' - 'a')) | \
                           (1u << ('s' - 'a')) | (1u << ('t' - 'a')) | (1u << ('z' - 'a')))

int text_number(const char *w, size_t len, double *val)
{
    char buf[16];
    int dots = 0;
    if (len == 0) return 0;
    if (!isdigit((unsigned char)w[0])) {
        if (len < NUMBER_WORD_MIN || len > NUMBER_WORD_MAX || w[0] < 'a' || w[0] > 'z' ||
            !((NUMBER_WORD_FIRST >> (w[0] - 'a')) & 1))
            return 0;
        for (size_t i = number_len_at[len - NUMBER_WORD_MIN]; i < number_len_at[len - NUMBER_WORD_MIN + 1]; i++)
            if (number_words[i].w[0] == w[0] && memcmp(number_words[i].w, w, len) == 0) {
                *val = number_words[i].v;
                return 1;
            }
        return 0;
    }
    if (len > 15) return 0;
    for (size_t i = 0; i < len; i++) {
        if (w[i] == '.') dots++;
        else if (!isdigit((unsigned char)w[i])) return 0;
        buf[i] = w[i];
    }
    if (dots > 1) return 0;
    buf[len] = '\0';
    *val = strtod(buf, NULL);
    return 1;
}

int text_number_prefix(const char *w, size_t len)
{
    if (len == 0) return 0;
    for (size_t i = 0; i < NNUMBER_WORDS; i++)
        if (strlen(number_words[i].w) > len && strncasecmp(number_words[i].w, w, len) == 0)
            return 1;
    return 0;
}

/* --------------------------------------------------------- sentences */

static const char *const abbrevs[] = {
    "e.g", "i.e", "eg", "ie", "approx", "dr", "mr", "mrs", "ms", "vs", "st", "tsp", "tbsp",
};

/* 1 when the word ending at s[i] (exclusive), before a '.', is a list
 * number or a known abbreviation, so the '.' does not end a sentence. */
static int not_an_end(const char *s, size_t i)
{
    size_t st = i, n;
    int digits = 1;
    while (st > 0 && !isspace((unsigned char)s[st - 1]) && s[st - 1] != '(' && s[st - 1] != '[' &&
           s[st - 1] != '"' && s[st - 1] != '*')
        st--;
    n = i - st;
    if (n == 0) return 0;
    for (size_t k = st; k < i; k++) digits &= isdigit((unsigned char)s[k]) != 0;
    if (digits) return n <= 3;
    for (size_t a = 0; a < sizeof abbrevs / sizeof abbrevs[0]; a++)
        if (strlen(abbrevs[a]) == n && strncasecmp(s + st, abbrevs[a], n) == 0) return 1;
    return 0;
}

/* Closing marks that may follow a terminator: ) ] " ' * _ and ’ ” (UTF-8). */
static size_t closer_len(const char *s, size_t len, size_t j)
{
    if (s[j] && strchr(")]\"'*_", s[j])) return 1;
    if (j + 2 < len && (unsigned char)s[j] == 0xE2 && (unsigned char)s[j + 1] == 0x80 &&
        ((unsigned char)s[j + 2] == 0x99 || (unsigned char)s[j + 2] == 0x9D))
        return 3;
    return 0;
}

size_t text_sentence_end(const char *s, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') return i + 1;
        if (c == 0xE3 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x82)
            return i + 3;                                  /* 。 */
        if (c == 0xEF && i + 2 < len && (unsigned char)s[i + 1] == 0xBC &&
            ((unsigned char)s[i + 2] == 0x81 || (unsigned char)s[i + 2] == 0x9F))
            return i + 3;                                  /* ！ ？ */
        if (c != '.' && c != '!' && c != '?') continue;
        size_t j = i + 1, cl;
        while (j < len && (s[j] == '.' || s[j] == '!' || s[j] == '?')) j++;
        while (j < len && (cl = closer_len(s, len, j)) > 0) j += cl;
        if (j >= len) return 0;                            /* the next byte decides */
        if (s[j] != ' ' && s[j] != '\t' && s[j] != '\n') continue;
        if (c == '.' && j == i + 1 && not_an_end(s, i)) continue;
        return j + 1;
    }
    return 0;
}

/* ------------------------------------------------------------ stemmer */

static sqlite3 *stem_db;
static fts5_tokenizer stem_api;
static Fts5Tokenizer *stem_tok;

int text_init(void)
{
    sqlite3_stmt *st = NULL;
    fts5_api *api = NULL;
    void *ud = NULL;
    const char *args[] = {"unicode61", "remove_diacritics", "1"};
    int rc = -1;

    if (stem_tok) return 0;
    if (sqlite3_open_v2(":memory:", &stem_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL))
        goto out;
    if (sqlite3_prepare_v2(stem_db, "SELECT fts5(?1)", -1, &st, NULL)) goto out;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    if (!api || api->iVersion < 2) goto out;
    if (api->xFindTokenizer(api, "porter", &ud, &stem_api) != SQLITE_OK) goto out;
    if (stem_api.xCreate(ud, args, 3, &stem_tok) != SQLITE_OK) { stem_tok = NULL; goto out; }
    rc = 0;
out:
    sqlite3_finalize(st);
    if (rc) text_free();
    return rc;
}

void text_free(void)
{
    if (stem_tok) stem_api.xDelete(stem_tok);
    stem_tok = NULL;
    sqlite3_close(stem_db);
    stem_db = NULL;
}

struct stem_out { char *out; size_t cap, len; int n; };

static int stem_cb(void *ctx, int flags, const char *tok, int ntok, int s, int e)
{
    struct stem_out *o = ctx;
    (void)flags; (void)s; (void)e;
    if (o->n++ == 0 && ntok > 0 && (size_t)ntok < o->cap) {
        memcpy(o->out, tok, (size_t)ntok);
        o->out[ntok] = '\0';
        o->len = (size_t)ntok;
    }
    return SQLITE_OK;
}

size_t text_stem(const char *w, size_t len, char *out, size_t outlen)
{
    struct stem_out o = {out, outlen, 0, 0};
    if (!stem_tok || len == 0 || outlen == 0 || len > 200) return 0;
    if (stem_api.xTokenize(stem_tok, &o, FTS5_TOKENIZE_DOCUMENT, w, (int)len, stem_cb) != SQLITE_OK)
        return 0;
    return o.len;
}
