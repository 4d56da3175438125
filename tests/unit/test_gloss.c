/* test_gloss.c — the triage glossary (src/gloss.c): parsing and its
 * errors, table-driven translation (longest match, prefixes, the
 * question's own language first, numbers kept, clause ends), bounds; and
 * that the shipped policy/glossary.tsv loads and reads ordinary questions
 * of eight languages as English keyword queries; that the first-word
 * buckets read as a scan of every entry would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/util.c"
#include "../../src/text.c"
#include "../../src/gloss.c"

static const char SAMPLE[] =
    "# a comment\n"
    "\n"
    "es\tno\tnot\n"
    "es\tno respira\tnot breathing\n"
    "es\tconvuls*\tseizure\n"
    "es\tbebé\tbaby\n"
    "es\tsemanas\tweeks\n"
    "pt\tbebe\tinfant\n"
    "pt\tnão respira\tnot breathing\n"
    "pl\tnie oddycha\tnot breathing\r\n";

/* Translates text as a question in lang would be read (text.c words). */
static size_t tr(const struct gloss *g, const char *lang, const char *text, char *out, size_t cap)
{
    struct text_word w[64];
    struct gloss_word gw[64];
    size_t n = text_words(text, strlen(text), w, 64);
    for (size_t i = 0; i < n && i < 64; i++) {
        gw[i].s = w[i].norm;
        gw[i].n = w[i].nlen;
        gw[i].brk = (w[i].flags & TEXT_CLAUSE_END) != 0;
    }
    return gloss_translate(g, lang, gw, n < 64 ? n : 64, out, cap);
}

/* Other scripts (lang43): Thai pieces and Chinese characters are words,
 * entries are written spaced; a phrase of more than six of them reads;
 * Arabic-Indic digits are kept as ASCII digits. */
static void test_scripts(void **state)
{
    static const char text[] =
        "th\t\xE0\xB9\x84\xE0\xB8\xA1\xE0\xB9\x88 \xE0\xB8\xAB\xE0\xB8\xB2 \xE0\xB8\xA2 \xE0\xB9\x83\xE0\xB8\x88\tnot breathing\n"
        "th\t\xE0\xB8\xA5\xE0\xB8\xB9 \xE0\xB8\x81\tchild\n"
        "zh\t\xE5\xAF\xB9 \xE4\xB9\x99 \xE9\x85\xB0 \xE6\xB0\xA8 \xE5\x9F\xBA \xE9\x85\x9A\tparacetamol\n"
        "zh\t\xE5\xA4\x9A \xE5\xB0\x91 \xE6\xAF\xAB \xE5\x8D\x87 \xE4\xB8\x80 \xE6\xAC\xA1 \xE5\x90\x83\thow many ml\n"
        "ar\t\xD9\x83\xD9\x8A\xD9\x84\xD9\x88\tkg\n";
    char err[200], out[256];
    (void)state;
    struct gloss *g = gloss_parse(text, sizeof text - 1, err, sizeof err);
    assert_non_null(g);
    /* ลูกไม่หายใจ */
    assert_int_equal(tr(g, "th", "\xE0\xB8\xA5\xE0\xB8\xB9\xE0\xB8\x81\xE0\xB9\x84\xE0\xB8\xA1\xE0\xB9\x88"
                                 "\xE0\xB8\xAB\xE0\xB8\xB2\xE0\xB8\xA2\xE0\xB9\x83\xE0\xB8\x88", out, sizeof out), 2);
    assert_string_equal(out, "child not breathing");
    /* 对乙酰氨基酚多少毫升一次吃 */
    assert_int_equal(tr(g, "zh", "\xE5\xAF\xB9\xE4\xB9\x99\xE9\x85\xB0\xE6\xB0\xA8\xE5\x9F\xBA\xE9\x85\x9A"
                                 "\xE5\xA4\x9A\xE5\xB0\x91\xE6\xAF\xAB\xE5\x8D\x87\xE4\xB8\x80\xE6\xAC\xA1\xE5\x90\x83",
                        out, sizeof out), 2);
    assert_string_equal(out, "paracetamol how many ml");
    /* ١٢ كيلو */
    tr(g, "ar", "\xD9\xA1\xD9\xA2 \xD9\x83\xD9\x8A\xD9\x84\xD9\x88", out, sizeof out);
    assert_string_equal(out, "12 kg");
    gloss_free(g);
}

static void test_parse_and_counts(void **state)
{
    (void)state;
    char err[200];
    struct gloss *g = gloss_parse(SAMPLE, sizeof SAMPLE - 1, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(gloss_nentries(g), 8);
    assert_int_equal(gloss_nlangs(g), 3);
    assert_string_equal(gloss_lang(g, 0), "es");
    assert_string_equal(gloss_lang(g, 2), "pl");
    assert_null(gloss_lang(g, 3));
    gloss_free(g);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct { const char *text, *msg; } bad[] = {
        {"es\tno\n", "line 1: expected"},
        {"es\tno\tnot\textra\n", "line 1: expected"},
        {"\n# x\nES\tno\tnot\n", "line 3: bad language"},
        {"e s\tno\tnot\n", "line 1: bad language"},
        {"es\t\tnot\n", "line 1: need foreign"},
        {"es\tno\t\n", "line 1: need foreign"},
        {"es\tab*\tnot\n", "line 1: each of"},
        {"es\ta b c d e f g h i j k\tnot\n", "line 1: each of"},
        {"es\tno\tone two three four five six seven eight nine\n", "line 1: need foreign"},
        {"es\tno-se\tnot\n", "line 1: each of"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200];
        struct gloss *g = gloss_parse(bad[i].text, strlen(bad[i].text), err, sizeof err);
        assert_null(g);
        if (!strstr(err, bad[i].msg))
            fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].msg);
    }
    static const char nul[] = "es\tno\tn\0t\n";
    char err0[200];
    assert_null(gloss_parse(nul, sizeof nul - 1, err0, sizeof err0));   /* found by fuzz_gloss */
    assert_non_null(strstr(err0, "NUL byte"));
    char big[GLOSS_MAX_LINE + 40];
    memset(big, 'a', sizeof big);
    memcpy(big, "es\t", 3);
    big[sizeof big - 1] = '\n';
    char err[200];
    assert_null(gloss_parse(big, sizeof big, err, sizeof err));
    assert_non_null(strstr(err, "longer than"));
}

static void test_translate_table(void **state)
{
    (void)state;
    static const struct { const char *lang, *text, *want; size_t hits; } cases[] = {
        /* the longer entry wins over "no" alone */
        {"es", "mi bebé no respira", "baby not breathing", 2},
        /* accents folded both ways; case folded */
        {"es", "MI BEBE NO RESPIRA", "baby not breathing", 2},
        /* a prefix entry matches the word's inflections */
        {"es", "tiene convulsiones", "seizure", 1},
        {"es", "convulsionando", "seizure", 1},
        /* numbers are kept, unknown words dropped */
        {"es", "un bebé de 3 semanas con 38.5", "baby 3 weeks 38.5", 2},
        /* the question's own language first at equal length */
        {"pt", "o bebe", "infant", 1},
        {"es", "el bebe", "baby", 1},
        /* another language's entry still counts (a neighbour's words) */
        {"es", "não respira", "not breathing", 1},
        {NULL, "nie oddycha", "not breathing", 1},
        /* a phrase never spans a clause end */
        {"es", "no. respira", "not.", 1},
        {"es", "nada aqui", "", 0},
        {"es", "", "", 0},
    };
    char err[200], out[256];
    struct gloss *g = gloss_parse(SAMPLE, sizeof SAMPLE - 1, err, sizeof err);
    assert_non_null(g);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t h = tr(g, cases[i].lang, cases[i].text, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0 || h != cases[i].hits)
            fail_msg("case %zu: '%s' -> '%s' (%zu hits), want '%s' (%zu)", i, cases[i].text, out, h,
                     cases[i].want, cases[i].hits);
    }
    gloss_free(g);
}

/* Function words ("_"): read, counted as covered, but never written and
 * never a hit; phrases count every word they cover, numbers count. */
static void test_function_words(void **state)
{
    static const char text[] =
        "es\tde\t_\n"
        "es\tmi\t_\n"
        "es\thija\tchild\n"
        "es\tno respira\tnot breathing\n";
    (void)state;
    char err[200], out[128];
    struct gloss *g = gloss_parse(text, sizeof text - 1, err, sizeof err);
    assert_non_null(g);
    struct gloss_word w[] = {
        {"mi", 2, 0}, {"hija", 4, 0}, {"de", 2, 0}, {"3", 1, 0}, {"no", 2, 0},
        {"respira", 7, 0}, {"hoy", 3, 0},
    };
    struct gloss_cover c;
    size_t h = gloss_read(g, "es", w, 7, out, sizeof out, &c);
    assert_string_equal(out, "child 3 not breathing");
    assert_int_equal(h, 2);
    assert_int_equal(c.words, 6);       /* all but "hoy" */
    assert_int_equal(c.function, 2);
    assert_int_equal(c.run, 1);         /* "hoy", the longest stretch unread */
    /* a question of function words only reads as nothing */
    h = gloss_read(g, "es", w + 2, 1, out, sizeof out, &c);
    assert_int_equal(h, 0);
    assert_string_equal(out, "");
    assert_int_equal(c.words, 1);
    /* no glossary: nothing covered */
    h = gloss_read(NULL, "es", w, 7, out, sizeof out, &c);
    assert_int_equal(h + c.words + c.function, 0);
    gloss_free(g);
}

static void test_translate_bounds(void **state)
{
    (void)state;
    char err[200], out[16];
    struct gloss *g = gloss_parse(SAMPLE, sizeof SAMPLE - 1, err, sizeof err);
    assert_non_null(g);
    /* truncated at a word boundary, always NUL-ended */
    tr(g, "es", "no respira no respira no respira", out, sizeof out);
    assert_true(strlen(out) < sizeof out);
    assert_string_equal(out, "not breathing");
    assert_int_equal(tr(g, "es", "no respira", out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(gloss_translate(NULL, "es", NULL, 0, out, sizeof out), 0);
    gloss_free(g);
    gloss_free(NULL);
}

static void test_shipped_glossary_loads(void **state)
{
    (void)state;
    char err[300], out[512];
    struct gloss *g = gloss_load("policy/glossary.tsv", err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    assert_true(gloss_nentries(g) > 1000);
    tr(g, "pl", "Synek ma 3 tygodnie, nie oddycha", out, sizeof out);
    assert_non_null(strstr(out, "not breathing"));
    /* ordinary questions read as English keyword queries (Round 6), two a
     * language; a red flag swallowed by a longer ordinary entry stays */
    static const struct { const char *lang, *q, *want; } ord[] = {
        {"es", "mi hijo de 3 años no quiere dormir solo, ¿qué puedo hacer?",
         "child 3 years old doesn't want sleep alone. what can i do."},
        {"es", "mi bebé de 8 meses se despierta todas las noches", "baby 8 months wakes up every night"},
        {"fr", "ma fille de 4 ans fait des crises de colère tous les jours",
         "child 4 years old tantrums every day"},
        {"fr", "mon fils refuse de se brosser les dents", "child refuses brushing teeth"},
        {"pt", "minha filha de 4 anos faz birra todos os dias", "child 4 years old has tantrums every day"},
        {"pt", "meu filho não quer escovar os dentes", "child doesn't want brushing teeth"},
        {"it", "mio figlio non vuole fare i compiti", "child doesn't want do homework"},
        {"it", "mia figlia è gelosa del fratellino", "child jealous little brother"},
        {"de", "mein Sohn lügt oft, warum?", "child lies often. why."},
        {"de", "Stillen und Fläschchen in der Nacht", "breastfeeding bottle at night"},
        {"nl", "mijn dochter is jaloers op haar broertje", "child jealous little brother"},
        {"nl", "hoe stoppen met de speen", "how stop dummy pacifier"},
        {"pl", "córka jest zazdrosna o braciszka", "child jealous little brother"},
        {"pl", "dziecko nie słucha i krzyczy cały czas", "child doesn't listen shouts all the time"},
        {"ro", "fetița mea are crize de furie în fiecare zi", "child tantrums every day"},
        {"ro", "fiul meu face pipi în pat la 6 ani, e normal?", "child wets the bed 6 years old. is it normal."},
        {"de", "er möchte nicht mehr leben", "don't want to live anymore"},
        {"es", "dice que quiere morir", "says want to die"},
        /* lang35: number words, "without" (French "sans" is no longer
         * Hindi "sans" = breath), a medicine name spelt alike everywhere,
         * and "saw" written "watched" (English "saw ... accident") */
        {"es", "mi hija de tres años tiene rabietas", "child 3 years old has tantrums"},
        {"fr", "comment réagir sans crier", "how should i react without shout"},
        {"de", "wie viel Ibuprofen darf mein Sohn bekommen", "how much ibuprofen may child"},
        {"es", "mi hijo vio un accidente", "child watched accident"},
    };
    for (size_t i = 0; i < sizeof ord / sizeof ord[0]; i++) {
        tr(g, ord[i].lang, ord[i].q, out, sizeof out);
        if (strcmp(out, ord[i].want) != 0)
            fail_msg("%s \"%s\": got \"%s\", want \"%s\"", ord[i].lang, ord[i].q, out, ord[i].want);
    }
    gloss_free(g);
    assert_null(gloss_load("policy/no-such-glossary.tsv", err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
}

/* safety.c splits a question's words at digit/letter boundaries before the
 * glossary reads them ("zer2a" -> "zer 2 a"), so entries are split the same
 * way: romanised Arabic's digit letters (2, 3, 8) match (session 9). */
static void test_digit_letters(void **state)
{
    (void)state;
    static const char text[] =
        "ar-latn\tzer2a\tblue lips\n"
        "ar-latn\tmish 3am yetnaffas\tnot breathing well\n"
        "ar-latn\tyista3fre8*\tvomiting\n";
    static const char *q[] = {"ibni", "mish", "3", "am", "yetnaffas", "w", "zer", "2", "a",
                              "w", "yista", "3", "fre", "8u"};
    struct gloss_word gw[14];
    char err[200], out[128];
    struct gloss *g = gloss_parse(text, sizeof text - 1, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    for (size_t i = 0; i < 14; i++) {
        gw[i].s = q[i];
        gw[i].n = strlen(q[i]);
        gw[i].brk = 0;
    }
    assert_int_equal(gloss_translate(g, "ar-latn", gw, 14, out, sizeof out), 3);
    assert_string_equal(out, "not breathing well blue lips vomiting");
    gloss_free(g);
}

/* The old reader: every entry at every word (what the buckets must give). */
static size_t read_scan(const struct gloss *g, const char *lang, const struct gloss_word *words,
                        size_t n, char *out, size_t outcap)
{
    size_t o = 0, hits = 0, want = (size_t)-1;
    out[0] = '\0';
    for (size_t i = 0; lang && i < g->nlangs; i++)
        if (strcmp(g->langs[i], lang) == 0)
            want = i;
    for (size_t i = 0; i < n;) {
        const struct gentry *best = NULL;
        for (size_t k = 0; k < g->n; k++) {
            const struct gentry *e = &g->e[k];
            if (entry_beats(e, best, want) && entry_matches_at(e, words, n, i))
                best = e;
        }
        size_t step = best ? best->nw : 1;
        int ok = 1;
        if (best && !best->silent) {
            ok = put(out, outcap, &o, best->eng, strlen(best->eng));
            hits += ok;
        } else if (!best && is_number(&words[i])) {
            ok = put(out, outcap, &o, words[i].s, words[i].n);
        }
        if (!ok)
            break;
        if (words[i + step - 1].brk && o >= 2 && o + 3 <= outcap && out[o - 2] != '.') {
            out[o - 1] = '.';
            out[o++] = ' ';
            out[o] = '\0';
        }
        i += step;
    }
    while (o && out[o - 1] == ' ')
        out[--o] = '\0';
    return hits;
}

/* The first-word buckets (one byte; a hash of two bytes, merged in file
 * order; the first four bytes checked before the entry) read exactly as a
 * scan of every entry: one-letter words and prefixes, "a3bc*" whose first
 * word is one byte, ties between languages at equal length, words that
 * share a bucket, on random questions over a small alphabet. */
static void test_buckets_match_scan(void **state)
{
    (void)state;
    static const char text[] =
        "es\ta\tto\n"
        "pt\ta\tthe\n"
        "es\ta b\tab\n"
        "pt\tab\tpt ab\n"
        "es\tab\tes ab\n"
        "es\tabc*\tabc prefix\n"
        "es\tabcd\tabcd\n"
        "es\tabcde fg\tlong one\n"
        "pl\ta3bc*\ta three\n"
        "pl\tzz9q*\tzed\n"
        "pl\tb\t_\n"
        "pl\tba ab a\tthree words\n"
        "es\tbaab*\tbaab prefix\n"
        "es\tcab\tcab\n";
    static const char *vocab[] = {"a", "b", "ab", "ba", "abc", "abcd", "abcde", "abcdef", "fg",
                                  "baab", "baabc", "cab", "3", "a3", "c", "aab", "bab", "bc", "bcd", "zz", "9", "q", "qx"};
    enum { NV = sizeof vocab / sizeof vocab[0] };
    char err[200], out1[512], out2[512];
    struct gloss *g = gloss_parse(text, sizeof text - 1, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    unsigned seed = 12345;
    gloss_gaps = 0;             /* read_scan reads no split phrases, no stems */
    gloss_stems = 0;
    for (int round = 0; round < 3000; round++) {
        struct gloss_word w[12];
        size_t n = 1 + (size_t)(round % 12);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *v = vocab[(seed >> 16) % NV];
            w[i].s = v;
            w[i].n = strlen(v);
            w[i].brk = ((seed >> 8) & 7) == 0;
        }
        const char *lang = round % 3 == 0 ? "es" : round % 3 == 1 ? "pt" : "pl";
        size_t h1 = gloss_translate(g, lang, w, n, out1, sizeof out1);
        size_t h2 = read_scan(g, lang, w, n, out2, sizeof out2);
        assert_string_equal(out1, out2);
        assert_int_equal(h1, h2);
    }
    gloss_gaps = 1;
    gloss_stems = 1;
    gloss_free(g);
}

/* gap_entry, stem_entry and the split-phrase search read the first-word
 * buckets; they must pick exactly what a scan of every entry picks (ties
 * in file order), with split phrases and stems on: random questions over
 * a small alphabet on a table with phrases, prefixes, stems and ties
 * between languages, and the shipped glossary on real words. */
static void test_gap_stem_buckets_match_scan(void **state)
{
    (void)state;
    static const char text[] =
        "es\tabcdef\tone\n"
        "es\tabcdeg\ttwo\n"
        "es\tabcdxy\tthree\n"
        "pt\tabcdef\tpt one\n"
        "es\tme matar\tkill myself\n"
        "es\tme de matar\tlonger\n"
        "pt\tme matar\tpt kill\n"
        "es\tme\t_\n"
        "es\tde\tof\n"
        "pt\tde\tpt of\n"
        "es\tmatarse\tsuicide\n"
        "es\tmat*\tmat prefix\n"
        "es\tzu viel\ttoo much\n"
        "es\tzuv*\tzuv\n"
        "es\tdoen pijn\thurt\n"
        "es\tdoenx\tdoenx\n";
    static const char *vocab[] = {"abcdefg", "abcdegh", "abcdxyz", "abcde", "abcdef", "me", "de",
                                  "matar", "matarse", "matarlo", "zu", "viel", "zuvo", "doen",
                                  "pijn", "doenxx", "no", "x", "mas", "mx"};
    enum { NV = sizeof vocab / sizeof vocab[0] };
    char err[200], out1[512], out2[512];
    struct gloss *g = gloss_parse(text, sizeof text - 1, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    unsigned seed = 777;
    for (int round = 0; round < 4000; round++) {
        struct gloss_word w[10];
        struct gloss_cover c1, c2;
        size_t n = 1 + (size_t)(round % 10);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *v = vocab[(seed >> 16) % NV];
            w[i].s = v;
            w[i].n = strlen(v);
            w[i].brk = ((seed >> 8) & 7) == 0;
        }
        const char *lang = round % 2 ? "es" : "pt";
        gloss_scan_all = 0;
        size_t h1 = gloss_read(g, lang, w, n, out1, sizeof out1, &c1);
        gloss_scan_all = 1;
        size_t h2 = gloss_read(g, lang, w, n, out2, sizeof out2, &c2);
        gloss_scan_all = 0;
        assert_string_equal(out1, out2);
        assert_int_equal(h1, h2);
        assert_int_equal(c1.words, c2.words);
        assert_int_equal(c1.function, c2.function);
    }
    gloss_free(g);
    struct gloss *sg = gloss_load("policy/glossary.tsv", err, sizeof err);
    if (!sg)
        fail_msg("%s", err);
    static const struct { const char *lang, *q; } qs[] = {
        {"es", "mi hija de catorce anos me dijo que se quiere matar no se que hacer"},
        {"nl", "mijn zoon wil zichzelf pijn doen en zegt dat hij niet meer wil leven"},
        {"de", "mein kind will abends nicht schlafen und weint immer beim zahneputzen"},
        {"fr", "ma fille de 4 ans fait des coleres tous les jours quoi faire"},
        {"pl", "moj syn ciagle placze i nie chce jesc obiadu co robic"},
        {"pt", "meu filho nao quer dormir sozinho no quarto dele"},
        {"it", "mio figlio non vuole andare a scuola e piange ogni mattina"},
    };
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        struct text_word tw[40];
        struct gloss_word w[40];
        size_t n = text_words(qs[k].q, strlen(qs[k].q), tw, 40);
        for (size_t i = 0; i < n; i++) {
            w[i].s = tw[i].norm;
            w[i].n = tw[i].nlen;
            w[i].brk = 0;
        }
        gloss_scan_all = 0;
        size_t h1 = gloss_read(sg, qs[k].lang, w, n, out1, sizeof out1, NULL);
        gloss_scan_all = 1;
        size_t h2 = gloss_read(sg, qs[k].lang, w, n, out2, sizeof out2, NULL);
        gloss_scan_all = 0;
        assert_string_equal(out1, out2);
        assert_int_equal(h1, h2);
    }
    gloss_free(sg);
}

/* gloss_knows: a word of an entry of that language, anywhere in the
 * entry, or one a prefix* begins; not another language's, not unknown
 * languages. gloss_lang_words: that language's whole words, once each. */
static void test_knows(void **state)
{
    (void)state;
    char err[200];
    struct gloss *g = gloss_parse(SAMPLE, sizeof SAMPLE - 1, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    assert_true(gloss_knows(g, "es", "respira", 7));         /* second word of a phrase */
    assert_true(gloss_knows(g, "es", "no", 2));
    assert_true(gloss_knows(g, "es", "convulsiona", 11));    /* convuls* */
    assert_true(gloss_knows(g, "es", "convuls", 7));
    assert_false(gloss_knows(g, "es", "convu", 5));
    assert_true(gloss_knows(g, "es", "bebe", 4));            /* "bebé" normalised */
    assert_false(gloss_knows(g, "es", "nao", 3));            /* Portuguese only */
    assert_true(gloss_knows(g, "pt", "nao", 3));
    assert_false(gloss_knows(g, "xx", "no", 2));
    assert_false(gloss_knows(g, NULL, "no", 2));
    assert_false(gloss_knows(NULL, "es", "no", 2));
    const char *w[16];
    size_t l[16];
    size_t n = gloss_lang_words(g, "es", w, l, 16);
    assert_true(n >= 4);
    for (size_t i = 0; i < n; i++) {
        assert_true(gloss_knows(g, "es", w[i], l[i]));
        for (size_t j = 0; j < i; j++)
            assert_false(l[i] == l[j] && memcmp(w[i], w[j], l[i]) == 0);
        assert_false(l[i] == 7 && memcmp(w[i], "convuls", 7) == 0);   /* a prefix is no word */
    }
    assert_int_equal(gloss_lang_words(g, "es", w, l, 2), 2);
    assert_int_equal(gloss_lang_words(g, "xx", w, l, 16), 0);
    gloss_free(g);
}

/* A phrase split by one word of the question (a modal, an adverb, a
 * clitic) is still read; the word inside is read on its own after it, and
 * stays unread (not covered) when no entry reads it; a negation or a
 * sentence break never splits a phrase; a split never costs a function
 * word's reading. */
static void test_split_phrases(void **state)
{
    static const char text[] =
        "nl\tzichzelf pijn doen\thurt herself\n"
        "nl\twil\twants\n"
        "nl\tzoon\tchild\n"
        "nl\tmijn\t_\n"
        "de\twill nicht\tdoesn't want\n"
        "de\tabends\tin the evening\n"
        "es\tsu\t_\n"
        "es\tsu cama\town bed\n"
        "es\tpropia cama\town bed\n";
    (void)state;
    char err[200], out[128];
    struct gloss *g = gloss_parse(text, sizeof text - 1, err, sizeof err);
    assert_non_null(g);
    struct gloss_cover c;
    struct gloss_word a[] = {
        {"mijn", 4, 0}, {"zoon", 4, 0}, {"wil", 3, 0}, {"zichzelf", 8, 0},
        {"pijn", 4, 0}, {"wil", 3, 0}, {"doen", 4, 0},
    };
    size_t h = gloss_read(g, "nl", a, 7, out, sizeof out, &c);
    assert_string_equal(out, "child wants hurt herself wants");
    assert_int_equal(h, 4);
    assert_int_equal(c.words, 7);
    /* the word inside unread: the phrase is read, the word is not covered */
    struct gloss_word b[] = { {"zichzelf", 8, 0}, {"pijn", 4, 0}, {"echt", 4, 0}, {"doen", 4, 0} };
    h = gloss_read(g, "nl", b, 4, out, sizeof out, &c);
    assert_string_equal(out, "hurt herself");
    assert_int_equal(c.words, 3);
    /* no negation and no sentence break inside */
    struct gloss_word n1[] = { {"zichzelf", 8, 0}, {"pijn", 4, 0}, {"niet", 4, 0}, {"doen", 4, 0} };
    h = gloss_read(g, "nl", n1, 4, out, sizeof out, &c);
    assert_string_equal(out, "");
    struct gloss_word n2[] = { {"zichzelf", 8, 0}, {"pijn", 4, 0}, {"wil", 3, 1}, {"doen", 4, 0} };
    h = gloss_read(g, "nl", n2, 4, out, sizeof out, &c);
    assert_string_equal(out, "wants.");
    /* German: the adverb inside is read after the phrase */
    struct gloss_word d[] = { {"will", 4, 0}, {"abends", 6, 0}, {"nicht", 5, 0} };
    h = gloss_read(g, "de", d, 3, out, sizeof out, &c);
    assert_string_equal(out, "doesn't want in the evening");
    assert_int_equal(c.words, 3);
    /* "su" (a function word) + "propia cama" reads every word: no split */
    struct gloss_word e[] = { {"su", 2, 0}, {"propia", 6, 0}, {"cama", 4, 0} };
    h = gloss_read(g, "es", e, 3, out, sizeof out, &c);
    assert_string_equal(out, "own bed");
    assert_int_equal(c.words, 3);
    /* only the question's own language's phrases split */
    h = gloss_read(g, "es", a, 7, out, sizeof out, &c);
    assert_string_equal(out, "child wants wants");
    gloss_free(g);
}

/* An unread word that is an inflection of a one-word entry of the
 * question's own language is read as it: a shared start of five letters
 * or more, the entry's last two letters and the word's last four free;
 * not shorter words, not another language's entries, not "other". */
static void test_stems(void **state)
{
    static const char text[] =
        "cs\tskrti\tstrangles\n"
        "cs\tmanzel\thusband\n"
        "pl\tzemdlal\tpassed out\n"
        "other\ttablet*\tpills\n"
        "es\tmes\tmonths\n";
    (void)state;
    char err[200], out[128];
    struct gloss *g = gloss_parse(text, sizeof text - 1, err, sizeof err);
    assert_non_null(g);
    struct gloss_cover c;
    struct gloss_word a[] = { {"manzel", 6, 0}, {"skrtil", 6, 0} };
    size_t h = gloss_read(g, "cs", a, 2, out, sizeof out, &c);
    assert_string_equal(out, "husband strangles");
    assert_int_equal(h, 2);
    assert_int_equal(c.words, 2);
    struct gloss_word b[] = { {"zemdleje", 8, 0} };
    gloss_read(g, "pl", b, 1, out, sizeof out, &c);
    assert_string_equal(out, "passed out");
    /* another language's entries and "other" take no endings */
    gloss_read(g, "cs", b, 1, out, sizeof out, &c);
    assert_string_equal(out, "");
    struct gloss_word d[] = { {"tablette", 8, 0} };
    gloss_read(g, "other", d, 1, out, sizeof out, &c);
    assert_string_equal(out, "pills");      /* the prefix entry itself */
    struct gloss_word e[] = { {"tablu", 5, 0} };
    gloss_read(g, "other", e, 1, out, sizeof out, &c);
    assert_string_equal(out, "");
    /* too short to be a stem: "mesi" is no "mes" */
    struct gloss_word f[] = { {"mesi", 4, 0} };
    gloss_read(g, "es", f, 1, out, sizeof out, &c);
    assert_string_equal(out, "");
    gloss_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_counts),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_translate_table),
        cmocka_unit_test(test_function_words),
        cmocka_unit_test(test_translate_bounds),
        cmocka_unit_test(test_shipped_glossary_loads),
        cmocka_unit_test(test_digit_letters),
        cmocka_unit_test(test_buckets_match_scan),
        cmocka_unit_test(test_gap_stem_buckets_match_scan),
        cmocka_unit_test(test_knows),
        cmocka_unit_test(test_split_phrases),
        cmocka_unit_test(test_stems),
        cmocka_unit_test(test_scripts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
