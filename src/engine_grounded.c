/* engine_grounded.c — the embedded default engine: answers composed from
 * the retrieved passages only, with no network and no key.
 *
 * An answer is: a line for the parent's own feeling or struggle when they
 * tell one, never a topic's stock opening line (session 14); for a yes/no
 * question the passage's yes, no, "usually" or "it depends" first, when
 * its answering sentence says one; for a question asking for an amount,
 * an age or a limit, the fact first, when the sentence gives one; one
 * orienting sentence from the best passage; three concrete steps drawn from the best passages
 * (the steps that share most words with the question, de-duplicated, from
 * passages that fit the child's age when one was given); and the "when to
 * get help" line when a used passage has one. Every sentence after the
 * opener carries an [n] marker for the passage it came from, and the
 * citations are exactly those passages, numbered in order of first use.
 * The shape follows the question (session 12): a part that tells the story
 * is no part; a number the parent gives is set against the passage's guide
 * first; what they say they have tried goes last; a weaker passage's step
 * must be tied to the question; the parent's own feeling is answered in
 * place of the topic's opener; the steps' heading fits a request for ideas
 * or for how to talk about something. Session 15 (compose43): asked how
 * much or how many, the amount beats an age; a rule for the child's own
 * age range is a yes or no, not "it depends"; a step that opens on a no
 * about what was asked answers a yes/no question the sentence leaves
 * open; a weaker passage on another subject gives steps only on two of
 * the question's key words; a stop after a number ends a sentence.
 * Session 16 (compose45): what the question carries of feeling is
 * answered first in one short line, ahead of a yes, a no or a number too:
 * condolence for a loss (naming whom, when the parent's own), the parent's
 * feeling or self-doubt, a child's hurt the parent watches; none for a
 * plain question. A bare "It depends." is never said: the sentence that
 * says what it depends on opens by itself. Words of a stage of sleep and
 * care ("naps", "the morning nap", "your baby") tell against an age; a
 * step framed for starting at an age long past ("from about 6 months"
 * for a 14-month-old) is taken only to make up two.
 * Composition is pure and deterministic; streaming is a timer that releases
 * one word-sized chunk every pace_ms (all at once when pace is 0). */
#include "engine_grounded.h"

#include <ctype.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

#define MAX_STEPS 3
#define MAX_USED 3
#define ANSWER_MAX 8192

static const char no_match_text[] =
    "I'm sorry, I don't have vetted guidance on that, so I'd rather not guess. "
    "I can help with everyday parenting questions such as sleep, feeding, behaviour, "
    "development, school, family changes and safety at home. For anything about your "
    "child's health, your pediatrician, family doctor or health visitor is the best "
    "person to ask.";

/* ---------- composition ---------- */

struct wordset { char w[64][24]; size_t n; };

/* The content words of s (four letters or more, porter-stemmed through
 * text.h, as retrieval stems them), at most 64. */
static void words_of(const char *s, struct wordset *ws)
{
    struct text_word w[128];
    size_t n = text_words(s, strlen(s), w, 128);
    ws->n = 0;
    if (n > 128) n = 128;
    for (size_t i = 0; i < n && ws->n < 64; i++) {
        if (w[i].nlen < 4 || !(w[i].flags & TEXT_ALPHA)) continue;
        if (!text_stem(w[i].norm, w[i].nlen, ws->w[ws->n], sizeof ws->w[0])) {
            size_t l = w[i].nlen < sizeof ws->w[0] - 1 ? w[i].nlen : sizeof ws->w[0] - 1;
            memcpy(ws->w[ws->n], w[i].norm, l);        /* too long to stem: cut */
            ws->w[ws->n][l] = '\0';
        }
        ws->n++;
    }
}

static size_t overlap(const struct wordset *a, const struct wordset *b)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        for (size_t k = 0; k < b->n; k++)
            if (strcmp(a->w[i], b->w[k]) == 0) { n++; break; }
    return n;
}

/* Words too common in steps to make two steps alike by themselves. */
static int plain_word(const char *w)
{
    static const char *const plain[] = {"your", "with", "that", "this", "they", "them", "from",
                                        "have", "when", "what", "will", "been", "were", "their",
                                        "there", "about", "into", "child", "children", "babi",
                                        "more", "each", "onli", "some", "than", NULL};
    for (int k = 0; plain[k]; k++) if (strcmp(w, plain[k]) == 0) return 1;
    return 0;
}

/* 1 when two sentences say nearly the same thing: most of their words are
 * shared (Jaccard over 0.5), or most of the shorter one's words that are
 * not plain words are (0.6 of at least four), or they share a run of three words in the same order that
 * are not plain words ("stay calm, keep your child safe"). */
static int similar(const char *x, const char *y)
{
    struct wordset a, b, ka = {.n = 0}, kb2 = {.n = 0};
    size_t o, u, lo;
    words_of(x, &a);
    words_of(y, &b);
    o = overlap(&a, &b);
    u = a.n + b.n - o;
    if (u && o * 2 > u) return 1;
    for (size_t i = 0; i < a.n; i++)            /* the words that are not plain */
        if (!plain_word(a.w[i])) memcpy(ka.w[ka.n++], a.w[i], sizeof a.w[0]);
    for (size_t i = 0; i < b.n; i++)
        if (!plain_word(b.w[i])) memcpy(kb2.w[kb2.n++], b.w[i], sizeof b.w[0]);
    lo = ka.n < kb2.n ? ka.n : kb2.n;
    if (lo >= 4 && overlap(&ka, &kb2) * 10 >= lo * 6) return 1;
    for (size_t i = 0; i + 2 < a.n; i++)
        for (size_t k = 0; k + 2 < b.n; k++) {
            size_t r = 0;
            while (r < 3 && strcmp(a.w[i + r], b.w[k + r]) == 0 && !plain_word(a.w[i + r])) r++;
            if (r == 3) return 1;
        }
    return 0;
}

/* 1 when two steps say nearly the same thing: similar(), or four or more
 * distinct words that are neither plain nor vague are shared, two fifths
 * of the shorter one's ("for a nanny, check identity, references ... and
 * a background check" and "check licensing ..., and references and
 * background checks for a nanny", from two passages; rubric review
 * 2026-12-03). Only between steps: an answering sentence and a step may
 * share a routine's words ("a calm routine like a bath, a book") and say
 * different things. */
static int vague_word(const char *w);
static int similar_steps(const char *x, const char *y)
{
    struct wordset a, b, da = {.n = 0}, db = {.n = 0};
    if (similar(x, y)) return 1;
    words_of(x, &a);
    words_of(y, &b);
    for (int side = 0; side < 2; side++) {
        const struct wordset *src = side ? &b : &a;
        struct wordset *dst = side ? &db : &da;
        for (size_t i = 0; i < src->n; i++) {
            int seen = vague_word(src->w[i]);
            for (size_t k = 0; k < dst->n && !seen; k++) seen = strcmp(dst->w[k], src->w[i]) == 0;
            if (!seen) memcpy(dst->w[dst->n++], src->w[i], sizeof src->w[0]);
        }
    }
    size_t dlo = da.n < db.n ? da.n : db.n, dov = overlap(&da, &db);
    return dov >= 4 && dov * 5 >= dlo * 2;
}

/* 1 when a step says again what the answering sentence already said: at
 * least four of the step's distinct words that are neither plain nor
 * vague are in the sentence, and they are half of the step's or more
 * ("the night before, lay out clothes, pack school bags..." after "do as
 * much as you can the night before, such as packing bags and laying out
 * clothes"; compose42, 2026-12-04). A step that shares a routine's few
 * words with the sentence ("a calm routine like a bath, a book") and says
 * something else is kept: two of the step's first three such words must
 * be the sentence's too. Pure. */
static int repeats_sentence(const char *sentence, const char *step)
{
    struct wordset a, b, db = {.n = 0};
    words_of(sentence, &a);
    words_of(step, &b);
    for (size_t i = 0; i < b.n; i++) {
        int seen = vague_word(b.w[i]);
        for (size_t k = 0; k < db.n && !seen; k++) seen = strcmp(db.w[k], b.w[i]) == 0;
        if (!seen) memcpy(db.w[db.n++], b.w[i], sizeof b.w[0]);
    }
    size_t ov = overlap(&db, &a), lead = 0;
    /* and the step's own opening words (what it says to do) are the
     * sentence's: "switch off screens ... replace them with a calm routine
     * like a bath, a book" shares the routine, not what it asks */
    for (size_t i = 0; i < db.n && i < 3; i++)
        for (size_t k = 0; k < a.n; k++)
            if (strcmp(db.w[i], a.w[k]) == 0) { lead++; break; }
    return ov >= 4 && ov * 2 >= db.n && lead >= 2;
}

struct pick { size_t passage; const char *text; double score; int off; };  /* off: tied to nothing asked, or for another age */

/* 1 when two passages share a topic: a weaker second passage is drawn on
 * only when it is about the same thing as the best one. */
static int shares_topic(const struct kb_passage *a, const struct kb_passage *b)
{
    for (size_t i = 0; i < a->ntopics; i++)
        for (size_t k = 0; k < b->ntopics; k++)
            if (strcmp(a->topics[i], b->topics[k]) == 0) return 1;
    return 0;
}

static int cmp_pick(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    if (x->passage != y->passage) return x->passage < y->passage ? -1 : 1;
    return x->text < y->text ? -1 : x->text > y->text;
}

static void age_phrase(int months, char *out, size_t n)
{
    if (months < 0) out[0] = '\0';
    else if (months == 0) snprintf(out, n, " with your newborn");
    else if (months < 24) snprintf(out, n, " with your %d-month-old", months);
    else snprintf(out, n, " with your %d-year-old", months / 12);
}

/* text_sentence_end for a passage's prose, with one more end: text.c reads
 * a word of up to three digits before a stop as a list number ("1. Offer
 * ..."), so "8 ounces for ages 7 to 18. Whole fruit is always better" ran
 * on as one sentence and an answer asking for the amount took along the
 * next one. A number that follows a word of its own sentence, then its
 * stop, a space and a capital letter, ends the sentence (compose43). */
static size_t body_sentence_end(const char *s, size_t len, size_t from)
{
    size_t end = text_sentence_end(s, len, from), lim = end ? end : len;
    for (size_t i = from + 1; i + 2 < lim; i++) {
        if (s[i] != '.' || !isdigit((unsigned char)s[i - 1]) || s[i + 1] != ' ' ||
            !isupper((unsigned char)s[i + 2]))
            continue;
        size_t st = i;
        while (st > from && isdigit((unsigned char)s[st - 1])) st--;
        if (st == from || s[st - 1] != ' ') continue;
        size_t k = st - 1;                       /* a word before it in this sentence */
        while (k > from && s[k - 1] == ' ') k--;
        if (k == from || s[k - 1] == '\n') continue;   /* a list number opens its line */
        return i + 2;
    }
    return end;
}

/* 1 when the question asks for an amount, an age, a time or a limit
 * ("how much", "how many", "how long", "how often", "what age", "when",
 * "what temperature", "limit", "enough"). "When" asks only where it opens
 * a question clause ("when can he face forward", "7 months, when do night
 * feeds stop"): "he only listens when I shout" tells a story and asks for
 * no time. */
static int asks_for_number(const char *q)
{
    static const char *const cues[] = {"how much", "how many", "how long", "how often", "how old",
                                       "what age", "which age", "at what age", "how late",
                                       "how early", "temperature", "temp ", "limit", "enough",
                                       "how hot", "how warm", "how cold", "ounces", "ml ", NULL};
    char low[512];
    size_t i = 0;
    for (; q[i] && i < sizeof low - 2; i++) low[i] = (char)tolower((unsigned char)q[i]);
    low[i++] = ' ';
    low[i] = '\0';
    /* an amount or a count ("how much milk", "how many naps", "how
     * often"): 2, so that a sentence giving one beats a sentence giving
     * only an age (compose43) */
    static const char *const amount[] = {"how much", "how many", "how often", "ounces", "ml ",
                                         NULL};
    for (int k = 0; amount[k]; k++) if (strstr(low, amount[k])) return 2;
    for (int k = 0; cues[k]; k++) if (strstr(low, cues[k])) return 1;
    for (const char *w = strstr(low, "when "); w; w = strstr(w + 1, "when ")) {
        const char *b = w;                       /* the text before it, spaces skipped */
        while (b > low && b[-1] == ' ') b--;
        if (b == low || strchr("?.!,;:(", b[-1])) return 1;
        if ((b - low >= 3 && strncmp(b - 3, "and", 3) == 0 && (b - 3 == low || b[-4] == ' ')) ||
            (b - low >= 2 && strncmp(b - 2, "so", 2) == 0 && (b - 2 == low || b[-3] == ' ')) ||
            (b - low >= 3 && strncmp(b - 3, "but", 3) == 0 && (b - 3 == low || b[-4] == ' ')))
            return 1;
    }
    return 0;
}

/* 1 when a sentence gives an amount, an age, a time or a limit: a number
 * written in digits, or a number word before a unit ("two years", "ten
 * minutes"). "Give one instruction at a time" and "linking one cycle to
 * the next" give none, so they do not open the answer as its fact. */
static int gives_quantity(const char *s, size_t len)
{
    static const char *const units[] = {"month", "year", "week", "day", "hour", "minut",
                                        "second", "ounc", "oz", "ml", "time", "feed", "nap",
                                        "night", "word", "hr", "hrs", "min", "mins", "kg",
                                        "pound", "degre", "cup", "portion", "serv", "meal",
                                        "teaspoon", "tablespoon", "gram", NULL};
    struct text_word w[96];
    size_t n = text_words(s, len, w, 96);
    if (n > 96) n = 96;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i].flags & TEXT_NUMBER)) continue;
        if (w[i].nlen && isdigit((unsigned char)w[i].norm[0])) return 1;
        for (size_t j = i + 1; j < n && j <= i + 3; j++) {
            for (int k = 0; units[k]; k++)
                if (strncmp(w[j].norm, units[k], strlen(units[k])) == 0) return 1;
            if (!(w[j].flags & TEXT_NUMBER) && strcmp(w[j].norm, "to") != 0 &&
                strcmp(w[j].norm, "or") != 0 && strcmp(w[j].norm, "and") != 0)
                break;
        }
    }
    return 0;
}

/* 1 when a sentence gives an amount or a count that is not an age: a
 * number whose next word (past a range's "to 24") is no age or duration
 * unit ("16 to 24 ounces a day", "two or three baths a week", "at least
 * 6 wet diapers"; not "at 12 months", "by age 2", "a 3-year-old"). Pure. */
static int gives_amount(const char *s, size_t len)
{
    static const char *const ages[] = {"month", "year", "week", "yr", "mo", "old", "day",
                                       "decad", NULL};
    struct text_word w[96];
    size_t n = text_words(s, len, w, 96);
    if (n > 96) n = 96;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i].flags & TEXT_NUMBER)) continue;
        if (i > 0 && (strcmp(w[i - 1].norm, "age") == 0 || strcmp(w[i - 1].norm, "ages") == 0 ||
                      strcmp(w[i - 1].norm, "aged") == 0))
            continue;
        size_t j = i + 1;
        while (j < n && ((w[j].flags & TEXT_NUMBER) || strcmp(w[j].norm, "to") == 0 ||
                         strcmp(w[j].norm, "or") == 0 || strcmp(w[j].norm, "and") == 0))
            j++;
        if (j >= n) continue;
        int age = 0;
        for (int k = 0; ages[k] && !age; k++)
            age = strncmp(w[j].norm, ages[k], strlen(ages[k])) == 0;
        /* a number word counts before a unit only ("one thing at a time"
         * gives no amount) */
        static const char *const units[] = {"ounc", "oz", "ml", "cup", "gram", "teaspoon",
                                            "tablespoon", "portion", "serv", "meal", "snack",
                                            "hour", "minut", "hr", "min", "time", "feed", "nap",
                                            "bath", "word", "nappi", "diaper", "percent",
                                            "bottle", "glass", "litr", "kg", "pound", NULL};
        int unit = isdigit((unsigned char)w[i].norm[0]);
        for (int k = 0; units[k] && !unit; k++)
            unit = strncmp(w[j].norm, units[k], strlen(units[k])) == 0;
        if (!age && unit && (w[j].flags & TEXT_ALPHA)) return 1;
        i = j - 1;
    }
    return 0;
}

/* Whether a sentence is for a child of this age (months): 1 when it
 * names an age range that holds it ("under 6 months", "from 12 months",
 * "by 18 months", "3 to 5 years", "newborns"), -1 when it names ages and
 * none holds it, 0 when it names none (or the age is unknown). A number
 * counts as an age only after an age word (under, from, by, around, until,
 * aged, between...), before "old" ("a 2-year-old") or before "and
 * over" / "and under" ("babies of 4 months and over"): "every 3 to 4
 * months" is a how-often, not an age. Pure. */
static int age_fit(const char *s, size_t len, int age)
{
    static const char *const below[] = {"under", "before", "below", "younger", "until", "till",
                                        "up", NULL};
    static const char *const above[] = {"from", "after", "over", "older", "past", "since",
                                        "beyond", "once", NULL};
    static const char *const near[] = {"by", "at", "around", "about", "aged", "age", "ages",
                                       "between", "roughly", "approximately", NULL};
    struct text_word w[128];
    size_t n = text_words(s, len, w, 128);
    int named = 0, fits = 0;
    if (age < 0) return 0;
    if (n > 128) n = 128;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(w[i].norm, "newborn") == 0 || strcmp(w[i].norm, "newborns") == 0) {
            named = 1;
            fits |= age <= 1;
            continue;
        }
        /* "in the first days", "the first 6 weeks", "the first few
         * months": up to that age; "by the end of the first month": about
         * that age */
        if (strcmp(w[i].norm, "first") == 0 && i + 1 < n) {
            size_t j = i + 1;
            double count = 1, upto = -1;
            if (strcmp(w[j].norm, "few") == 0 || strcmp(w[j].norm, "couple") == 0) {
                count = 3;
                j++;
                if (j < n && strcmp(w[j].norm, "of") == 0) j++;
            } else if (w[j].flags & TEXT_NUMBER) {
                count = w[j].num;
                j++;
            }
            if (j < n) {
                if (strncmp(w[j].norm, "day", 3) == 0) upto = 0;
                else if (strncmp(w[j].norm, "week", 4) == 0) upto = count * 12.0 / 52.0;
                else if (strncmp(w[j].norm, "month", 5) == 0) upto = count;
            }
            if (upto >= 0) {
                int end_of = i >= 3 && strcmp(w[i - 1].norm, "the") == 0 &&
                             strcmp(w[i - 2].norm, "of") == 0 && strcmp(w[i - 3].norm, "end") == 0;
                named = 1;
                if (end_of) fits |= age >= upto - 1 && age <= upto + 1;
                else fits |= age <= upto + 0.01;
                i = j;
                continue;
            }
        }
        /* a stage named for a group ("give toddlers and older children a
         * drink with a straw", "with young children, stop tickling"):
         * the ages the word covers (a 9-month-old is neither) */
        {
            static const struct { const char *w, *w2; int lo, hi, against_only; } stages[] = {
                {"toddler", NULL, 10, 42, 0}, {"toddlers", NULL, 10, 42, 0},
                {"preschooler", NULL, 30, 66, 0}, {"preschoolers", NULL, 30, 66, 0},
                {"teen", NULL, 144, 228, 0}, {"teens", NULL, 144, 228, 0},
                {"teenager", NULL, 144, 228, 0}, {"teenagers", NULL, 144, 228, 0},
                {"young", "children", 0, 96, 0}, {"younger", "children", 0, 96, 0},
                {"young", "kids", 0, 96, 0}, {"little", "ones", 0, 96, 0},
                {"older", "children", 48, 216, 0}, {"older", "kids", 48, 216, 0},
                /* "give older babies plenty of time on a safe floor" is not
                 * for a 2-month-old (compose42) */
                {"older", "babies", 6, 24, 0}, {"older", "baby", 6, 24, 0},
                /* words of a stage of sleep and care (compose45): a step
                 * "adding night sleep and naps together" is not for a
                 * 10-year-old, "when dropping the morning nap" not for a
                 * 4-year-old, "lay your baby down" not for a 3-year-old
                 * (blind rubric 2026-12-04). They tell against an age
                 * only: a sentence about naps is not for a 4-year-old
                 * more than one that names none */
                {"morning", "nap", 6, 24, 1}, {"morning", "naps", 6, 24, 1},
                {"two", "naps", 4, 24, 1}, {"nap", NULL, 0, 66, 1}, {"naps", NULL, 0, 66, 1},
                {"your", "baby", 0, 24, 1}, {"your", "baby's", 0, 24, 1},
                {"your", "babys", 0, 24, 1}};
            int st = -1;
            for (size_t k = 0; k < sizeof stages / sizeof stages[0] && st < 0; k++)
                if (strcmp(w[i].norm, stages[k].w) == 0 &&
                    (!stages[k].w2 || (i + 1 < n && strcmp(w[i + 1].norm, stages[k].w2) == 0)))
                    st = (int)k;
            if (st >= 0) {
                int lo = stages[st].lo;
                /* "older children and teens": school age and up, not a
                 * 4-year-old (compose43) */
                if (stages[st].lo == 48 && i + 3 < n &&
                    (strcmp(w[i + 2].norm, "and") == 0 || strcmp(w[i + 2].norm, "or") == 0) &&
                    strncmp(w[i + 3].norm, "teen", 4) == 0)
                    lo = 96;
                int in = age >= lo && age <= stages[st].hi;
                if (!stages[st].against_only || !in) named = 1;
                if (!stages[st].against_only) fits |= in;
                if (stages[st].w2) i++;          /* "morning nap" is not also "nap" */
                continue;
            }
        }
        if (!(w[i].flags & TEXT_NUMBER)) continue;
        double lo = w[i].num, hi = lo, unit = 0;
        size_t j = i + 1;
        if (j + 1 < n && (strcmp(w[j].norm, "to") == 0 || strcmp(w[j].norm, "and") == 0 ||
                          strcmp(w[j].norm, "or") == 0) && (w[j + 1].flags & TEXT_NUMBER)) {
            hi = w[j + 1].num;
            j += 2;
        } else if (j < n && (w[j].flags & TEXT_NUMBER)) {      /* "6-12 months" */
            hi = w[j].num;
            j++;
        }
        /* "by age 2", "from age 3 to 5": years with no unit word */
        int age_word = i > 0 && (strcmp(w[i - 1].norm, "age") == 0 ||
                                 strcmp(w[i - 1].norm, "ages") == 0 ||
                                 strcmp(w[i - 1].norm, "aged") == 0);
        const char *u = j < n ? w[j].norm : "";
        /* "children under 5", "kids over about 8": years with no unit
         * word, after a word for children and an age cue */
        int kid_cue = 0;
        {
            static const char *const kids[] = {"children", "kids", "child", "those", "ones",
                                               NULL};
            size_t c = i;
            if (c > 0 && (strcmp(w[c - 1].norm, "about") == 0 ||
                          strcmp(w[c - 1].norm, "around") == 0 || strcmp(w[c - 1].norm, "age") == 0))
                c--;
            if (c >= 2 && (strcmp(w[c - 1].norm, "under") == 0 ||
                           strcmp(w[c - 1].norm, "over") == 0 ||
                           strcmp(w[c - 1].norm, "aged") == 0))
                for (int k = 0; kids[k] && !kid_cue; k++)
                    kid_cue = strcmp(w[c - 2].norm, kids[k]) == 0;
            if (kid_cue && w[i].num > 18) kid_cue = 0;
            /* "kids over 2 hours a day" gives an amount, not an age */
            static const char *const amounts[] = {"hour", "minut", "day", "time", "ounc", "ml",
                                                  "oz", "kg", "pound", "cup", "percent", "feet",
                                                  "foot", "inch", "cm", "hr", "min", NULL};
            for (int k = 0; kid_cue && amounts[k]; k++)
                if (strncmp(u, amounts[k], strlen(amounts[k])) == 0) kid_cue = 0;
        }
        if ((age_word || kid_cue) && strncmp(u, "month", 5) != 0 && strncmp(u, "week", 4) != 0 &&
            strncmp(u, "year", 4) != 0) {
            unit = 12;
            j--;                                 /* no unit word to step over */
        } else if (j >= n) continue;
        else if (strncmp(u, "month", 5) == 0) unit = 1;
        else if (strncmp(u, "week", 4) == 0) unit = 12.0 / 52.0;
        else if (strncmp(u, "year", 4) == 0 || strcmp(u, "yr") == 0 || strcmp(u, "yrs") == 0)
            unit = 12;
        else continue;
        int olds = j + 1 < n && strncmp(w[j + 1].norm, "old", 3) == 0;
        const char *cue = i > 0 ? w[i - 1].norm : "";
        if (i > 1 && (strcmp(cue, "about") == 0 || strcmp(cue, "around") == 0 ||
                      strcmp(cue, "age") == 0))
            cue = w[i - 2].norm;                 /* "under about 6 months" */
        int k_below = 0, k_above = 0, k_near = 0;
        for (int c = 0; below[c]; c++) k_below |= strcmp(cue, below[c]) == 0;
        for (int c = 0; above[c]; c++) k_above |= strcmp(cue, above[c]) == 0;
        for (int c = 0; near[c]; c++) k_near |= strcmp(cue, near[c]) == 0;
        if (age_word && !k_below && !k_above) k_near = 1;   /* "children age 2" */
        if (j + 2 < n && (strcmp(w[j + 1].norm, "and") == 0 || strcmp(w[j + 1].norm, "or") == 0)) {
            const char *after = w[j + 2].norm;  /* "babies of 4 months and over" */
            if (!strcmp(after, "over") || !strcmp(after, "older") || !strcmp(after, "up") ||
                !strcmp(after, "above"))
                k_above = 1, k_below = 0, k_near = 0;
            else if (!strcmp(after, "under") || !strcmp(after, "younger") ||
                     !strcmp(after, "below"))
                k_below = 1, k_above = 0, k_near = 0;
        }
        if (!k_below && !k_above && !k_near && !olds) continue;
        lo *= unit;
        hi *= unit;
        named = 1;
        if (k_below) fits |= age <= lo || (hi > lo && age <= hi);   /* "baby under 6 months" reads as 6 */
        else if (k_above) fits |= age >= lo;
        else if (hi > lo) {
            /* a range says its own ends ("6 to 9-year-olds" is not for a
             * 5-year-old): a little slack only */
            fits |= age >= lo - (lo / 12 > 1 ? lo / 12 : 1) && age <= hi + (hi / 12 > 1 ? hi / 12 : 1);
        } else {
            double slack = lo / 3 > 1 ? lo / 3 : 1;
            fits |= age >= lo - slack && age <= hi + (hi / 3 > 1 ? hi / 3 : 1);
        }
    }
    return !named ? 0 : fits ? 1 : -1;
}

/* 1 when a step is framed for starting something at an age the child is
 * long past: its age is a "from about 6 months" (or "from 1 year") that
 * the child passed by half their age or more and by at least 6 months
 * ("offer a small open cup ... from about 6 months, holding it to your
 * baby's lips" for a 14-month-old; blind rubric 2026-12-04: "steps framed
 * for 6 months, not 14"). age_fit says it fits (it is for any age from
 * then); composition takes it only when no step fits better. Pure. */
static int age_started_long_ago(const char *s, size_t len, int age)
{
    if (age < 0 || (!strstr(s, "from ") && !strstr(s, "From ")) || age_fit(s, len, age) <= 0)
        return 0;
    struct text_word w[128];
    size_t n = text_words(s, len, w, 128);
    if (n > 128) n = 128;
    for (size_t i = 1; i + 1 < n; i++) {
        if (!(w[i].flags & TEXT_NUMBER)) continue;
        size_t c = i - 1;
        if (c > 0 && (strcmp(w[c].norm, "about") == 0 || strcmp(w[c].norm, "around") == 0 ||
                      strcmp(w[c].norm, "age") == 0))
            c--;
        if (strcmp(w[c].norm, "from") != 0) continue;
        double unit = strncmp(w[i + 1].norm, "month", 5) == 0 ? 1
                      : strncmp(w[i + 1].norm, "year", 4) == 0 ? 12 : 0;
        if (!unit) continue;
        double from = w[i].num * unit;
        if (from * 2 <= age && age - from >= 6) return 1;
    }
    return 0;
}

/* Words that say too little to tie a step to a question ("how do I
 * help" and "helping pick a middle name"). */
static int vague_word(const char *w)
{
    static const char *const vague[] = {"help", "need", "want", "make", "thing", "good", "time",
                                        "just", "realli", "veri", "much", "mani", "even", "still",
                                        "also", "like", "know", "think", "doe", "should", "would",
                                        "could", "keep", "take", "give", "tri", "start", "such",
                                        "other", "most", "well", "over", "after", "befor", "same",
                                        "then", "where", "which", "while", "those", "these",
                                        "thing", "everi", "whole", "wai", "place", "sure",
                                        "around", "right", "first", "alwai", NULL};
    for (int k = 0; vague[k]; k++) if (strcmp(w, vague[k]) == 0) return 1;
    return plain_word(w);
}

/* A word of the child's age ("my 9 year old", "18 months"): it ties a
 * step to nothing asked ("introduce yourself at the start of the year"
 * for a 9-year-old's homework time; compose43). */
static int age_unit_word(const char *w)
{
    return strcmp(w, "year") == 0 || strcmp(w, "month") == 0 || strcmp(w, "week") == 0;
}

/* How many of b's words that are not plain or vague words, nor the
 * child's age, a holds. */
static size_t key_overlap(const struct wordset *a, const struct wordset *b)
{
    size_t n = 0;
    for (size_t k = 0; k < b->n; k++) {
        if (vague_word(b->w[k]) || age_unit_word(b->w[k])) continue;
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(a->w[i], b->w[k]) == 0) { n++; break; }
    }
    return n;
}

/* key_overlap counting each word once ("a seat ... car seat" shares one
 * word with a booster-seat question, not two). */
static size_t key_overlap_distinct(const struct wordset *a, const struct wordset *b)
{
    size_t n = 0;
    for (size_t k = 0; k < b->n; k++) {
        int again = 0;
        for (size_t j = 0; j < k && !again; j++) again = strcmp(b->w[j], b->w[k]) == 0;
        if (again || vague_word(b->w[k]) || age_unit_word(b->w[k])) continue;
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(a->w[i], b->w[k]) == 0) { n++; break; }
    }
    return n;
}

/* The words of what the parent says they have already tried, which a
 * step should not offer again: a clause after "tried", "already",
 * "not even", "even" ("we've tried white noise", "not even the bitter
 * polish"), a clause ending in "doesn't work" / "didn't help" ("bath book
 * bed doesnt work anymore"), and a list of three or more past-tense words
 * ("fed changed burped cuddled"). Writes the stemmed words to out. Pure. */
static void tried_words(const char *q, size_t len, struct wordset *out)
{
    static const char *const before[] = {"tried", "trying", "attempted", NULL};
    static const char *const after[] = {"doesnt work", "didnt work", "dont work", "isnt working",
                                        "not working", "didnt help", "doesnt help",
                                        "does nothing", "did nothing", "no luck",
                                        "nothing helps", "nothing works", "not helping",
                                        "hasnt helped", "havent helped", NULL};
    struct text_word w[128];
    size_t n = text_words(q, len, w, 128), cs = 0;
    char buf[512];
    out->n = 0;
    if (n > 128) n = 128;
    for (size_t i = 0; i <= n; i++) {
        /* clause ends at a stop, a comma, "but" or the end */
        int end = i == n;
        if (!end) {
            size_t at = (size_t)(w[i].ptr - q) + w[i].len;
            end = at < len && strchr(",.;!?", q[at]) != NULL;
        }
        if (!end) continue;
        size_t ce = i == n ? n : i + 1;          /* words [cs, ce) */
        int from = -1;
        for (size_t k = cs; k < ce; k++) {
            for (int c = 0; before[c] && from < 0; c++)
                if (strcmp(w[k].norm, before[c]) == 0) from = (int)k + 1;
            if (from < 0 && k > cs && strcmp(w[k].norm, "even") == 0 &&
                strcmp(w[k - 1].norm, "not") == 0)
                from = (int)k + 1;                /* "nothing works, not even the polish" */
        }
        /* a clause that says it does not work */
        {
            size_t a = cs < ce ? (size_t)(w[cs].ptr - q) : 0;
            size_t b = cs < ce ? (size_t)(w[ce - 1].ptr - q) + w[ce - 1].len : 0;
            size_t l = 0;
            for (size_t k = a; k < b && k < len && l + 1 < sizeof buf; k++)
                if (q[k] != '\'') buf[l++] = (char)tolower((unsigned char)q[k]);
            buf[l] = '\0';
            for (int c = 0; after[c] && from < 0; c++)
                if (strstr(buf, after[c])) from = (int)cs;
        }
        if (from >= 0 && (size_t)from < ce) {
            size_t a = (size_t)(w[from].ptr - q), b = (size_t)(w[ce - 1].ptr - q) + w[ce - 1].len;
            snprintf(buf, sizeof buf, "%.*s", (int)(b - a), q + a);
            struct wordset tw;
            words_of(buf, &tw);
            for (size_t k = 0; k < tw.n && out->n < 64; k++)
                if (!plain_word(tw.w[k]) && strncmp(tw.w[k], "work", 4) != 0 &&
                    strncmp(tw.w[k], "help", 4) != 0 && strncmp(tw.w[k], "noth", 4) != 0 &&
                    strncmp(tw.w[k], "anymor", 6) != 0)
                    memcpy(out->w[out->n++], tw.w[k], sizeof tw.w[0]);
        }
        cs = ce;
    }
    /* a list of three or more past-tense words ("fed, changed, burped
     * and rocked"), across commas and "and" */
    for (size_t k = 0, runs = 0, rs = 0; k < n; k++) {
        if (w[k].nlen >= 3 && strcmp(w[k].norm + w[k].nlen - 2, "ed") == 0) {
            if (!runs) rs = k;
            runs++;
            if (k + 1 < n && runs >= 1) continue;
        } else if (runs && (strcmp(w[k].norm, "and") == 0 || strcmp(w[k].norm, "or") == 0 ||
                            strcmp(w[k].norm, "then") == 0) && k + 1 < n) {
            continue;
        }
        if (runs >= 3) {
            size_t last = k;
            while (last > rs && !(w[last].nlen >= 3 &&
                                  strcmp(w[last].norm + w[last].nlen - 2, "ed") == 0))
                last--;
            size_t a = (size_t)(w[rs].ptr - q), b = (size_t)(w[last].ptr - q) + w[last].len;
            snprintf(buf, sizeof buf, "%.*s", (int)(b - a), q + a);
            struct wordset tw;
            words_of(buf, &tw);
            for (size_t m = 0; m < tw.n && out->n < 64; m++)
                if (!plain_word(tw.w[m])) memcpy(out->w[out->n++], tw.w[m], sizeof tw.w[0]);
        }
        runs = 0;
    }
}

/* qw without the words of tw. */
static void minus_words(struct wordset *qw, const struct wordset *tw)
{
    size_t o = 0;
    for (size_t i = 0; i < qw->n; i++) {
        int drop = 0;
        for (size_t k = 0; k < tw->n && !drop; k++) drop = strcmp(qw->w[i], tw->w[k]) == 0;
        if (!drop) memmove(qw->w[o++], qw->w[i], sizeof qw->w[0]);
    }
    qw->n = o;
}

static const char *verdict_for_age(const char *q, size_t len, const char *sentence, int age);

/* 1 when q asks "is it normal" and sentence says how common (below). */
static int says_common(const char *q, size_t qlen, const char *sentence);

/* The sentence of a passage body that best answers the question: words
 * shared with the question count most; a question that asks for an
 * amount, age or limit prefers a sentence with a number; an earlier
 * sentence wins a tie. */
static void best_sentence(const char *body, const struct wordset *qw, int want_number,
                          const char *yes_no_q, size_t qlen, int age, const struct wordset *tried,
                          char *out, size_t n)
{
    size_t len = strlen(body), from = 0, best_off = 0, best_len = 0, idx = 0;
    size_t prev_off = 0, best_prev = (size_t)-1;   /* the sentence before, for a carried one */
    double best = -1e9;
    while (from < len) {
        size_t end = body_sentence_end(body, len, from);
        if (end == 0) end = len;
        size_t off = from;
        while (off < end && body[off] == ' ') off++;
        size_t sl = end - off;
        while (sl && body[off + sl - 1] == ' ') sl--;
        if (sl > 0) {
            char tmp[1024];
            struct wordset sw;
            snprintf(tmp, sizeof tmp, "%.*s", (int)sl, body + off);
            words_of(tmp, &sw);
            double sc = (double)overlap(qw, &sw) * 2.0 - (double)idx * 0.6;
            /* the answering sentence stands alone: one that points back
             * ("The AAP advises this because...", "These help...") reads
             * as a fragment out of its passage */
            {
                static const char *const back[] = {"this ", "these ", "those ", "that ", "so ",
                                                   "but ", "also ", "then ", "after that ", NULL};
                char low[48];
                size_t ll = 0;
                for (; ll < sl && ll + 1 < sizeof low; ll++)
                    low[ll] = (char)tolower((unsigned char)body[off + ll]);
                low[ll] = '\0';
                int points_back = strstr(tmp, " this because") != NULL ||
                                  strstr(tmp, " advises this") != NULL;
                /* and one that names what came before mid-sentence
                 * ("Mornings go more smoothly with that preparation and
                 * routine"; compose43) */
                static const char *const mid[] = {" with that ", " with this ", " with these ",
                                                  " with those ", " for that reason",
                                                  " from that ", " from this ", NULL};
                for (int k = 0; mid[k] && !points_back; k++)
                    points_back = strstr(tmp, mid[k]) != NULL;
                for (int k = 0; back[k] && !points_back; k++)
                    points_back = strncmp(low, back[k], strlen(back[k])) == 0;
                if (points_back && idx > 0) sc -= 2.0;
            }
            /* what the parent has already tried is no answer */
            if (tried && tried->n && key_overlap(tried, &sw)) sc -= 3.0;
            /* asked how much, how many or how often: the amount, and an
             * age alone is not it ("at 12 months" for how much milk a
             * day; compose43) */
            if (want_number == 2 ? gives_amount(body + off, sl) : want_number && gives_quantity(body + off, sl))
                sc += want_number == 2 ? 6.0 : 3.0;
            /* for the child's age: "under 6 months" does not answer for
             * an 8-month-old while "from 6 months" does */
            sc += 2.0 * age_fit(body + off, sl, age);
            if (yes_no_q) {                      /* a sentence that says yes or no */
                const char *v = verdict_for_age(yes_no_q, qlen, tmp, age);
                if (v && strcmp(v, "It depends.") != 0) sc += 1.0;
                /* "is this normal?" is answered by the sentence that says
                 * how common it is ("very common to catch one cold after
                 * another"), not by one that only gives a reason */
                if (says_common(yes_no_q, qlen, tmp)) sc += 1.5;
            }
            if (sc > best) {
                best = sc;
                best_off = off;
                best_len = sl;
                best_prev = idx > 0 ? prev_off : (size_t)-1;
            }
            prev_off = off;
            idx++;
        }
        from = end;
    }
    /* A question asking for an amount whose answering sentence is
     * carried on by the next one ("no juice at all under 12 months. After
     * that, ... no more than 4 ounces a day for ages 1 to 3"): the next
     * sentence goes with it when it points back and gives the amounts,
     * so the answer holds the numbers asked for (compose42). */
    static const char *const on[] = {"After that", "After this", "From then", "Then ",
                                     "Beyond that", NULL};
    /* and one that is carried on from the sentence before reads as a
     * fragment by itself ("After that, ... 4 ounces a day for ages 1 to
     * 3"): the sentence before goes with it */
    for (int k = 0; on[k] && best_prev != (size_t)-1; k++)
        if (strncmp(body + best_off, on[k], strlen(on[k])) == 0 &&
            best_off + best_len - best_prev < 700) {
            best_len = best_off + best_len - best_prev;
            best_off = best_prev;
            break;
        }
    if (want_number && best_len) {
        size_t from2 = best_off + best_len;
        while (from2 < len && body[from2] != ' ') from2++;   /* past the stop */
        size_t end2 = from2 < len ? body_sentence_end(body, len, from2) : 0;
        if (end2 == 0 && from2 < len) end2 = len;
        size_t off2 = from2;
        while (off2 < end2 && body[off2] == ' ') off2++;
        size_t l2 = end2 > off2 ? end2 - off2 : 0;
        while (l2 && body[off2 + l2 - 1] == ' ') l2--;
        int carries = 0;
        for (int k = 0; on[k] && l2; k++) carries |= strncmp(body + off2, on[k], strlen(on[k])) == 0;
        if (carries && gives_quantity(body + off2, l2) && off2 + l2 - best_off < n &&
            off2 + l2 - best_off < 700)
            best_len = off2 + l2 - best_off;
    }
    if (best_len >= n) best_len = n - 1;
    memcpy(out, body + best_off, best_len);
    out[best_len] = '\0';
}

/* Lower-cases s[0..len) into out with spaces around it and between words
 * (every non-alphanumeric byte is a space), so cues match whole words. */
static void cue_text(const char *s, size_t len, char *out, size_t n)
{
    size_t o = 0;
    if (n < 3) { if (n) out[0] = '\0'; return; }
    out[o++] = ' ';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'') continue;                 /* don't -> dont */
        char ch = isalnum(c) || c >= 0x80 ? (char)tolower(c) : ' ';
        if (ch == ' ' && out[o - 1] == ' ') continue;
        out[o++] = ch;
    }
    if (out[o - 1] != ' ') out[o++] = ' ';
    out[o] = '\0';
}

static int has_cue(const char *text, const char *const *cues)
{
    for (int k = 0; cues[k]; k++) if (strstr(text, cues[k])) return 1;
    return 0;
}

/* ---------- what kind of question ---------- */

/* The parent's own feeling, when the question names one: a feeling word
 * just after "I", "I'm", "we", "me" ("im completely burnt out", "we're
 * losing our minds"), a first-person phrase ("on my knees", "mum guilt"),
 * or a feeling word standing alone as a sentence ("... group chat.
 * mortified."). "she's worried" and "he is scared of the dark" are the
 * child's, and the topic's own opener speaks to those. The line answers
 * the feeling in place of the topic's opening line: a reply that names
 * what the parent said reads less like a form. NULL when none. Pure. */
struct feeling { const char *const *cues; const char *line; };

static const char *const f_tired[] = {"exhausted", "knackered", "shattered", "burnt", "burned",
                                      "burnout", "drained", "tired", "zombie", NULL};
static const char *const f_worry[] = {"worried", "worrying", "worry", "concerned", "scared", "terrified", "panicking",
                                      "panicked", "nervous", "freaking", "anxious", "paranoid",
                                      NULL};
static const char *const f_guilt[] = {"guilty", "guilt", "failing", "awful", "terrible",
                                      NULL};
static const char *const f_frust[] = {"frustrated", "desperate", "fed", "stuck", "losing",
                                      "cracking", "tearing", "overwhelmed", NULL};
static const char *const f_shock[] = {"mortified", "embarrassed", "ashamed", "horrified",
                                      "shocked", "gutted", "heartbroken", "devastated", NULL};
static const struct feeling feelings[] = {
    {f_tired, "That sounds exhausting, and it makes complete sense to want something to change."},
    {f_worry, "It is natural to feel worried about this, and asking is a sensible first step."},
    {f_guilt, "A lot of parents feel this way, and the fact that you are asking shows how much "
              "you care."},
    {f_frust, "That sounds really hard going, and a calm, steady plan can take some of the "
              "pressure off."},
    {f_shock, "That is a lot to take in, and it is good that you want to handle it well."},
    /* self-doubt (compose45): the parent's fear of getting it wrong, not
     * guilt for something done; no single word says it, the phrases do */
    {NULL, "Most parents feel they are getting it wrong at some point; that you are asking "
           "shows you are paying close attention."},
};
/* First-person phrases that say the feeling whatever comes before. */
static const struct { const char *cue; size_t f; } f_phrases[] = {
    {" on my knees ", 0}, {" running on empty ", 0}, {" touched out ", 0}, {" havent slept ", 0},
    {" no sleep ", 0}, {" nothing left ", 0}, {" mum guilt ", 2}, {" mom guilt ", 2},
    {" parent guilt ", 2}, {" feel bad ", 2}, {" bad mum ", 2}, {" bad mom ", 2},
    {" bad parent ", 2}, {" never doing enough ", 2}, {" my wits end ", 3},
    {" losing my mind ", 3}, {" losing our minds ", 3}, {" at a loss ", 3},
    {" cant cope ", 3}, {" driving me mad ", 3}, {" driving me crazy ", 3},
    {" going insane ", 3}, {" losing it ", 3}, {" so worried ", 1}, {" really worried ", 1},
    {" so scared ", 1},
    /* self-doubt told in the parent's words ("i feel like im getting it
     * wrong", "is it my fault"): the blind rubric's "no reassurance for a
     * worried parent" (compose45, 2026-12-04) */
    {" getting it wrong ", 5}, {" getting this wrong ", 5}, {" doing it wrong ", 5},
    {" doing this wrong ", 5}, {" doing it all wrong ", 5}, {" doing something wrong ", 5},
    {" done something wrong ", 5}, {" my fault ", 5}, {" our fault ", 5},
    {" messed him up ", 5}, {" messed her up ", 5}, {" messing him up ", 5},
    {" messing her up ", 5}, {" not good enough ", 5},
    {" out of my depth ", 5}, {" no idea what im doing ", 5},
    {" dont know what im doing ", 5}, {" im a failure ", 5}, {" failed her ", 5},
    {" failed him ", 5},
    {" then feeling awful ", 2}, {" then feeling guilty ", 2}, {" then feel awful ", 2},
    {" then feel guilty ", 2}, {" then feeling terrible ", 2}, {" then feel terrible ", 2},
    /* a struggle told without a feeling word ("meals are a battle every
     * single night", "school mornings are chaos"): the story is answered
     * in place of a stock opening line (compose42, 2026-12-04) */
    {" a battle ", 3}, {" battles ", 3}, {" are chaos ", 3}, {" is chaos ", 3},
    {" chaotic ", 3}, {" is a nightmare ", 3}, {" are a nightmare ", 3},
    {" its a nightmare ", 3}, {" been a nightmare ", 3}, {" such a nightmare ", 3},
    {" total nightmare ", 3}, {" absolute nightmare ", 3}, {" a war ", 3}, {" a war zone ", 3},
    {" every single night ", 3}, {" every single day ", 3}, {" every single time ", 3},
    {" a struggle ", 3}, {" a fight ", 3}, {" screaming matches ", 3},
};
static const char *const f_subject[] = {"i", "im", "ive", "id", "me", "we", "were", "weve", "us",
                                        "myself", NULL};

static const char *parent_feeling(const char *q, size_t len)
{
    char t[1024];
    cue_text(q, len, t, sizeof t);
    for (size_t k = 0; k < sizeof f_phrases / sizeof f_phrases[0]; k++)
        if (strstr(t, f_phrases[k].cue)) return feelings[f_phrases[k].f].line;
    struct text_word w[128];
    size_t n = text_words(q, len, w, 128);
    if (n > 128) n = 128;
    for (size_t i = 0; i < n; i++) {
        char wn[TEXT_WORD_MAX];
        size_t l = 0;
        for (size_t c = 0; w[i].norm[c] && l + 1 < sizeof wn; c++)
            if (w[i].norm[c] != '\'') wn[l++] = w[i].norm[c];
        wn[l] = '\0';
        for (size_t f = 0; f < sizeof feelings / sizeof feelings[0]; f++) {
            int hit = 0;
            for (int c = 0; feelings[f].cues && feelings[f].cues[c] && !hit; c++)
                hit = strcmp(wn, feelings[f].cues[c]) == 0;
            if (!hit) continue;
            /* "fed" and "stuck" and "losing" feel only as "fed up",
             * "feel stuck", "losing my/our..." (the phrases above) */
            if (f == 3 && (strcmp(wn, "fed") == 0 || strcmp(wn, "losing") == 0 ||
                           strcmp(wn, "stuck") == 0) &&
                !(strcmp(wn, "fed") == 0 && i + 1 < n && strcmp(w[i + 1].norm, "up") == 0))
                continue;
            /* "awful" and "terrible" are guilt only as "I feel awful" or
             * "I was awful at maths" is not: after "feel" */
            if (f == 2 && (strcmp(wn, "awful") == 0 || strcmp(wn, "terrible") == 0) &&
                !(i > 0 && strncmp(w[i - 1].norm, "feel", 4) == 0))
                continue;
            /* the parent's: a first-person word within the three before */
            int mine = 0;
            for (size_t b = i > 3 ? i - 3 : 0; b < i && !mine; b++) {
                char bn[TEXT_WORD_MAX];
                size_t bl = 0;
                for (size_t c = 0; w[b].norm[c] && bl + 1 < sizeof bn; c++)
                    if (w[b].norm[c] != '\'') bn[bl++] = w[b].norm[c];
                bn[bl] = '\0';
                for (int c = 0; f_subject[c]; c++) mine |= strcmp(bn, f_subject[c]) == 0;
                /* a third person in between: "i think she's anxious" */
                if (mine && b + 1 < i)
                    for (size_t m = b + 1; m < i; m++)
                        if (!strcmp(w[m].norm, "she") || !strcmp(w[m].norm, "he") ||
                            /* "how do i help her worry less" (compose45) */
                            !strcmp(w[m].norm, "her") || !strcmp(w[m].norm, "him") ||
                            !strcmp(w[m].norm, "them") ||
                            !strcmp(w[m].norm, "she's") || !strcmp(w[m].norm, "he's") ||
                            !strcmp(w[m].norm, "they") || !strcmp(w[m].norm, "shes") ||
                            !strcmp(w[m].norm, "hes") || !strcmp(w[m].norm, "it"))
                            mine = 0;
            }
            /* or the word is a sentence by itself ("mortified.") */
            if (!mine) {
                size_t a = (size_t)(w[i].ptr - q), e = a + w[i].len;
                while (a > 0 && q[a - 1] == ' ') a--;
                while (e < len && q[e] == ' ') e++;
                mine = (a == 0 || strchr(".!?,", q[a - 1])) && (e >= len || strchr(".!?,", q[e]));
            }
            if (mine) return feelings[f].line;
        }
    }
    return NULL;
}

/* ---------- a loss, or a child's hurt, told in the question ---------- */

/* The words of cue text t (cue_text: lower-cased, spaced), at most max. */
static size_t cue_split(const char *t, char (*w)[24], size_t max)
{
    size_t n = 0;
    for (const char *p = t; *p && n < max;) {
        while (*p == ' ') p++;
        size_t l = 0;
        while (p[l] && p[l] != ' ') l++;
        if (!l) break;
        snprintf(w[n++], 24, "%.*s", (int)(l < 23 ? l : 23), p);
        p += l;
    }
    return n;
}

static int one_of(const char *w, const char *const *list)
{
    for (int k = 0; list[k]; k++) if (strcmp(w, list[k]) == 0) return 1;
    return 0;
}

/* A death in the family, told ("my dad passed away and the funeral is next
 * week", "my 9 year old's grandma died", "our dog died"): condolence,
 * naming whom the parent lost when it is their own ("your dad"), before
 * anything else (blind rubric 2026-12-04: "no condolence for a bereaved
 * parent"). "nearly died", "the battery died", "how do I explain death"
 * are no loss. 1 and the line in out, or 0. Pure. */
static const char *const g_people[] = {
    "dad", "daddy", "father", "mum", "mummy", "mom", "mommy", "mother", "grandma", "granny",
    "gran", "nan", "nana", "nanna", "nanny", "grandmother", "grandad", "granddad", "grandpa",
    "grandfather", "husband", "wife", "partner", "brother", "sister", "son", "daughter", "baby",
    "friend", "uncle", "aunt", "auntie", "aunty", "cousin", "stepdad", "stepmum", "stepmom",
    "grandparent", "grandparents", "parent", "parents", "ex", "nephew", "niece", "boyfriend",
    "girlfriend", NULL};
static const char *const g_pets[] = {"dog", "cat", "puppy", "kitten", "hamster", "rabbit",
                                     "bunny", "goldfish", "pet", "horse", "pony", "budgie",
                                     "tortoise", NULL};

static int loss_line(const char *t, char *out, size_t n)
{
    char w[96][24];
    size_t nw = cue_split(t, w, 96);
    for (size_t d = 0; d < nw; d++) {
        int death = strcmp(w[d], "died") == 0 ||
                    (strcmp(w[d], "passed") == 0 && d + 1 < nw &&
                     (strcmp(w[d + 1], "away") == 0 || strcmp(w[d + 1], "on") == 0));
        int lost = strcmp(w[d], "lost") == 0 || strcmp(w[d], "losing") == 0;
        if (!death && !lost) {
            if (one_of(w[d], (const char *const[]){"miscarriage", "miscarried", "stillbirth",
                                                   "stillborn", "bereaved", "bereavement",
                                                   NULL})) {
                snprintf(out, n, "I'm so sorry for your loss.");
                return 1;
            }
            continue;
        }
        if (d > 0 && (strcmp(w[d - 1], "nearly") == 0 || strcmp(w[d - 1], "almost") == 0))
            continue;
        /* whom: before the verb ("my dad died"), after "lost" ("we lost
         * our dog") */
        size_t r = nw;
        if (death)
            for (size_t b = d > 4 ? d - 4 : 0; b < d; b++)
                if (one_of(w[b], g_people) || one_of(w[b], g_pets)) r = b;
        if (lost)
            for (size_t a = d + 1; a < nw && a <= d + 3; a++)
                if ((one_of(w[a], g_people) || one_of(w[a], g_pets)) && a >= 1 &&
                    one_of(w[a - 1], (const char *const[]){"my", "our", "his", "her", "their",
                                                           "grandma", "grandpa", "late", "step",
                                                           NULL})) {
                    r = a;
                    break;
                }
        if (r == nw) continue;
        /* "lost" about a person is a death only in "lost my dad" (not
         * "lost her temper", nor "losing my husband's patience") */
        if (lost && r + 1 < nw && (strcmp(w[r + 1], "s") == 0)) continue;
        size_t p = r;
        while (p > 0 && one_of(w[p - 1], (const char *const[]){"best", "late", "step", "great",
                                                                "beloved", "dear", NULL}))
            p--;
        int own = p > 0 && (strcmp(w[p - 1], "my") == 0 || strcmp(w[p - 1], "our") == 0);
        char who[48];
        snprintf(who, sizeof who, "%s", w[r]);
        if (r + 2 < nw && strcmp(w[r + 1], "in") == 0 && strcmp(w[r + 2], "law") == 0)
            snprintf(who, sizeof who, "%s-in-law", w[r]);
        if (!own)
            snprintf(out, n, "I'm so sorry; a loss like this is hard on the whole family.");
        else if (one_of(w[r], g_pets))
            snprintf(out, n, "I'm so sorry about your %s; losing a pet is a real loss for the "
                             "whole family.", who);
        else if (!strcmp(w[r], "son") || !strcmp(w[r], "daughter") || !strcmp(w[r], "baby"))
            snprintf(out, n, "I am so very sorry about your %s.", who);
        else
            snprintf(out, n, "I'm so sorry about your %s; helping a child through this while "
                             "you are grieving too is a lot to carry.", who);
        return 1;
    }
    return 0;
}

/* The child's pronouns: from the last she/he/they (or son, daughter)
 * among w[0..e), else the first among w[e..n), "your child" when none. */
static void child_pronouns(char (*w)[24], size_t n, size_t e, const char **obj,
                           const char **subj, const char **poss)
{
    *obj = "your child", *subj = "your child", *poss = "your child's";
    /* none before: the first after ("my 8 year old is being bullied, he
     * won't say much") */
    size_t from = 0;
    for (size_t b = 0; b < e; b++)
        if (one_of(w[b], (const char *const[]){"she", "shes", "daughter", "girl", "he", "hes",
                                               "son", "boy", "they", "theyre", "kids", "twins",
                                               NULL}))
            from = e + 1;
    if (from == 0) {
        for (size_t b = e; b < n; b++) {
            if (one_of(w[b], (const char *const[]){"she", "shes", "daughter", "girl", NULL})) {
                *obj = "her", *subj = "she", *poss = "her";
                return;
            }
            if (one_of(w[b], (const char *const[]){"he", "hes", "son", "boy", NULL})) {
                *obj = "him", *subj = "he", *poss = "his";
                return;
            }
        }
    }
    for (size_t b = 0; b < e; b++) {
        if (one_of(w[b], (const char *const[]){"she", "shes", "daughter", "girl", NULL}))
            *obj = "her", *subj = "she", *poss = "her";
        else if (one_of(w[b], (const char *const[]){"he", "hes", "son", "boy", NULL}))
            *obj = "him", *subj = "he", *poss = "his";
        else if (one_of(w[b], (const char *const[]){"they", "theyre", "kids", "twins", NULL}))
            *obj = "them", *subj = "they", *poss = "their";
    }
}

/* A child's hurt, told ("she's so stressed about her exams she's crying
 * every night", "my son is being called names at school"): the parent
 * watching it is answered, with the child's own pronoun (blind rubric
 * 2026-12-04: "no acknowledgement of distress"). Milder words a topic
 * is about ("she's worried about starting school", "scared of the dark")
 * are not. 1 and the line in out, or 0. Pure. */
static int child_hurt_line(const char *t, char *out, size_t n)
{
    static const char *const hurt[] = {"stressed", "upset", "distressed", "miserable",
                                       "unhappy", "sad", "lonely", "heartbroken", "devastated",
                                       "crying", "sobbing", "tears", NULL};
    static const char *const picked[] = {" being bullied ", " is bullied ", " been bullied ",
                                         " gets bullied ", " getting bullied ",
                                         " called names ", " picked on ", " being teased ",
                                         " getting teased ", NULL};
    static const char *const self[] = {"i", "im", "ive", "me", "we", "were", "us", "myself",
                                       NULL};
    char w[96][24];
    size_t nw = cue_split(t, w, 96);
    const char *obj, *subj, *poss;
    for (int k = 0; picked[k]; k++) {
        const char *at = strstr(t, picked[k]);
        if (!at) continue;
        size_t e = 0;
        for (const char *p = t; p < at; p++) if (*p == ' ' && p[1] && p[1] != ' ') e++;
        child_pronouns(w, nw, e, &obj, &subj, &poss);
        snprintf(out, n, "I'm sorry %s %s going through this; being picked on hurts, and "
                         "knowing you are on %s side makes a real difference.",
                 subj, strcmp(subj, "they") == 0 ? "are" : "is", poss);
        return 1;
    }
    for (size_t i = 0; i < nw; i++) {
        if (!one_of(w[i], hurt)) continue;
        if (!strcmp(w[i], "tears") && !(i > 0 && !strcmp(w[i - 1], "in"))) continue;
        if ((!strcmp(w[i], "crying") || !strcmp(w[i], "sobbing")) &&
            !(i + 1 < nw && one_of(w[i + 1], (const char *const[]){"every", "all", "herself",
                                                                    "himself", "themselves",
                                                                    "at", "most", NULL})))
            continue;
        /* whose: a child's word in the four before, and no "i" nearer */
        int child = 0;
        for (size_t b = i > 4 ? i - 4 : 0; b < i; b++) {
            if (one_of(w[b], (const char *const[]){"she", "shes", "he", "hes", "they",
                                                    "theyre", "son", "daughter", "boy", "girl",
                                                    "child", "kid", NULL}))
                child = 1;
            else if (one_of(w[b], self))
                child = 0;
        }
        if (!child) continue;
        child_pronouns(w, nw, i, &obj, &subj, &poss);
        const char *how = one_of(w[i], (const char *const[]){"crying", "sobbing", "tears",
                                                              NULL})
                              ? "upset" : w[i];
        snprintf(out, n, "It is hard to see %s so %.16s, and wanting to help %s through it is "
                         "exactly right.", obj, how, strcmp(obj, "your child") == 0 ? "them" : obj);
        return 1;
    }
    return 0;
}

/* The line for what the question carries of feeling: a loss first,
 * then the parent's own feeling or struggle, then a child's hurt the
 * parent watches; NULL when it carries none (a plain question gets no
 * formula line). The line is a constant or is written into buf. Pure. */
static const char *feeling_line(const char *q, size_t len, char *buf, size_t n)
{
    char t[1024];
    cue_text(q, len, t, sizeof t);
    if (loss_line(t, buf, n)) return buf;
    const char *f = parent_feeling(q, len);
    if (f) return f;
    if (child_hurt_line(t, buf, n)) return buf;
    return NULL;
}

/* The heading of the steps, shaped by what was asked: ideas for a
 * request for ideas, ways in for a question about how to talk about
 * something, things to try otherwise. */
static const char *steps_noun(const char *q, size_t len)
{
    static const char *const ideas[] = {" ideas ", " idea ", " suggestions ", " activities ",
                                        " things to do ", " what can we do ", " ideas pls ",
                                        " fun ", NULL};
    static const char *const talk[] = {" talk to ", " talk about ", " how do i explain ",
                                       " how to explain ", " how do i tell ", " how to tell ",
                                       " bring up ", " have the talk ", " the sex talk ",
                                       " have a conversation ", " what do i say ",
                                       " what should i say ", " how do we explain ",
                                       " how do we tell ", " how do i talk ", NULL};
    char t[1024];
    cue_text(q, len, t, sizeof t);
    if (has_cue(t, ideas)) return "ideas";
    if (has_cue(t, talk)) return "ways to go about it";
    return "things";
}

/* The heading of the steps for "things": the same "Three things to try"
 * on every answer is the same shape every time (blind rubric 2026-12-04),
 * so the wording is one of a few, picked by the question's bytes (the
 * same question, the same heading). A question asking for information
 * gets a heading that puts its answer to use; one asking for help, one
 * that says where to begin. agebuf is " with your 7-year-old" or "". */
static unsigned question_hash(const char *q, size_t len)
{
    unsigned h = 2166136261u;                    /* FNV-1a over the letters and digits */
    for (size_t i = 0; i < len; i++)
        if (isalnum((unsigned char)q[i])) h = (h ^ (unsigned char)tolower((unsigned char)q[i])) * 16777619u;
    return h;
}

static void steps_heading(struct strbuf *b, const char *q, size_t len, int info, size_t nsteps,
                          const char *agebuf)
{
    const char *count = nsteps == 3 ? "Three" : nsteps == 2 ? "Two" : "One";
    unsigned v = question_hash(q, len) % 3;
    if (nsteps == 1)
        strbuf_printf(b, "One thing to try%s:\n", agebuf);
    else if (info && v == 0)
        strbuf_printf(b, "Putting it into practice%s:\n", agebuf);
    else if (info && v == 1)
        strbuf_printf(b, "Making it work%s:\n", agebuf);
    else if (v == 0)
        strbuf_printf(b, "Where to start%s:\n", agebuf);
    else if (v == 1)
        strbuf_printf(b, "What tends to help%s:\n", agebuf);
    else
        strbuf_printf(b, "%s things to try%s:\n", count, agebuf);
}

/* ---------- yes/no questions ---------- */

/* Words that open a yes/no question. */
static const char *const yn_starts[] = {
    " is ", " are ", " am ", " was ", " can ", " could ", " should ", " shall ", " do ",
    " does ", " did ", " will ", " would ", " has ", " have ", " must ", " may ", " might ",
    " isnt ", " arent ", " cant ", " shouldnt ", " doesnt ", " dont ", " wont ", " ok ",
    " okay ", " bad idea ", " red flag ", " normal ", NULL};
/* Openings that are requests, not yes/no questions ("can you tell me how"). */
static const char *const yn_requests[] = {
    " can you ", " could you ", " would you ", " will you ", " do you know ", " do you have ",
    " can i get some ", " is there a way ", " is there any way ", " are there any ", NULL};
/* Leading words skipped before the opening word. */
static const char *const yn_skip[] = {"so", "and", "but", "also", "ok", "okay", "honestly",
                                      "realistically", "seriously", "sorry", "hi", "hello",
                                      "please", "then", "like", "um", "well", NULL};

/* Words after "or" that keep a yes/no question one ("... or is that too
 * much", "... or will it cause nipple confusion", "... or not"): the
 * alternative is the question asked again. Any other word makes it a
 * choice ("should I ignore a tantrum or comfort them"), which no yes or
 * no answers. */
static const char *const yn_or_keeps[] = {
    "is", "are", "am", "was", "will", "would", "does", "do", "did", "should", "can", "could",
    "has", "have", "not", "it", "that", "this", "he", "she", "they", "we", "i", "am", "isnt",
    "wont", "doesnt", "shouldnt", "just", "should", "maybe", "something", "anything", "no",
    NULL};

/* 1 when a clause (lower-cased cue text) asks to choose between two
 * things to do: " or " followed by a word other than yn_or_keeps. */
static int clause_is_choice(const char *c)
{
    for (const char *o = strstr(c, " or "); o; o = strstr(o + 1, " or ")) {
        const char *w = o + 4;
        size_t l = strcspn(w, " ");
        int keeps = l == 0;
        for (int k = 0; !keeps && yn_or_keeps[k]; k++)
            keeps = strlen(yn_or_keeps[k]) == l && strncmp(w, yn_or_keeps[k], l) == 0;
        if (!keeps) return 1;
    }
    return 0;
}

/* c past its leading filler words (yn_skip: " so", " honestly", ...);
 * c is lower-cased cue text with a space before each word. Pure. */
static const char *skip_filler(const char *c)
{
    for (;;) {
        int skipped = 0;
        for (int k = 0; yn_skip[k]; k++) {
            size_t l = strlen(yn_skip[k]);
            if (c[0] == ' ' && strncmp(c + 1, yn_skip[k], l) == 0 && c[1 + l] == ' ') {
                c += 1 + l;
                skipped = 1;
                break;
            }
        }
        if (!skipped) return c;
    }
}

/* 1 when c begins with one of list's entries (NULL-terminated). Pure. */
static int opens_with_any(const char *c, const char *const *list)
{
    for (int k = 0; list[k]; k++)
        if (strncmp(c, list[k], strlen(list[k])) == 0) return 1;
    return 0;
}

/* 1 when a clause (lower-cased cue text) opens like a yes/no question. */
static int clause_is_yes_no(const char *c)
{
    if (clause_is_choice(c)) return 0;
    c = skip_filler(c);
    return !opens_with_any(c, yn_requests) && opens_with_any(c, yn_starts);
}

/* 0: no yes/no question; 1: one by its opening words; 2: one by the forum
 * shape (a judging word at the end), which only a definite yes or no
 * answers (a sentence with a condition, "take off bulky coats before
 * buckling", is no "It depends." to "puffy coat in car seat ok?"). */
static int yes_no_shape(const char *q, size_t len)
{
    size_t start = 0, qend = len;
    char buf[512];
    /* the first sentence that ends in '?', or the whole question */
    for (size_t i = 0; i < len; i++) {
        if (q[i] == '.' || q[i] == '!' || q[i] == '\n') start = i + 1;
        else if (q[i] == '?') { qend = i; break; }
    }
    if (qend == len) start = 0;
    if (qend <= start) return 0;
    cue_text(q + start, qend - start, buf, sizeof buf);
    if (clause_is_yes_no(buf)) return 1;
    /* the forum shape "smelly cord stump normal?", "3 naps at 6 months
     * ok?": a question that ends in a word judging it and opens with no
     * question word of its own */
    if (qend < len && !clause_is_choice(buf)) {
        static const char *const tails[] = {" normal ", " ok ", " okay ", " safe ", " fine ",
                                            " bad ", " common ", " typical ", " alright ",
                                            " healthy ", " harmful ", " dangerous ", NULL};
        static const char *const wh[] = {" what ", " how ", " why ", " when ", " where ",
                                         " which ", " who ", " whats ", " hows ", NULL};
        size_t bl = strlen(buf);
        int tail = 0, opens_wh = 0;
        for (int k = 0; tails[k]; k++) {
            size_t tl = strlen(tails[k]);
            tail |= bl >= tl && strcmp(buf + bl - tl, tails[k]) == 0;
        }
        for (int k = 0; wh[k]; k++) opens_wh |= strncmp(buf, wh[k], strlen(wh[k])) == 0;
        if (tail && !opens_wh) return 2;
    }
    /* "...when he gets stuck, should I finish his words?" */
    for (size_t i = qend; i > start; i--)
        if (q[i - 1] == ',') {
            cue_text(q + i, qend - i, buf, sizeof buf);
            return clause_is_yes_no(buf);
        }
    return 0;
}

/* 1 when the question opens by asking for information ("what should I
 * ask at the parent-teacher meeting", "how often should a 6 yo have a
 * bath", "which sunscreen"), not for help with something that is
 * happening ("what do I do when she bites", "how do I stop..."): its
 * answer opens on the fact asked for, since a topic's warm opening line
 * ("School worries can weigh on the whole family") rarely fits such a
 * question (rubric review 2026-12-03). Filler words at the start are
 * skipped. Pure. */
static int asks_info(const char *q, size_t len)
{
    static const char *const starts[] = {" what ", " whats ", " which ", " when ", " where ",
                                         " who ", " how much ", " how many ", " how often ",
                                         " how long ", " how old ", " how early ", " how late ",
                                         " at what ", " from what ", " by what ", NULL};
    static const char *const helps[] = {" what do i do ", " what can i do ", " what should i do ",
                                        " what do we do ", " what can we do ", " what should we do ",
                                        " what to do ", " what else ", " what am i doing ",
                                        " what is wrong ", " whats wrong ", " what happened ",
                                        NULL};
    char t[512];
    const char *c = t;
    cue_text(q, len, t, sizeof t);
    c = skip_filler(c);
    return !opens_with_any(c, helps) && opens_with_any(c, starts);
}

int grounded_is_yes_no(const char *q, size_t len)
{
    return yes_no_shape(q, len) != 0;
}

/* What the passage says, read from its answering sentence. */
static const char *const cue_no[] = {
    " never ", " do not ", " dont ", " should not ", " shouldnt ", " avoid ", " not safe ",
    " unsafe ", " not recommended ", " no safe ", " isnt safe ", " not needed ", " no need ",
    " not necessary ", " not a good idea ", " is not a ", " are not a ", " not advised ",
    " wait until ", " too young ", NULL};
/* The no that says a thing is not needed ("you do not need to
 * deep-clean the house"): to a question whether it is needed (q_need),
 * "No, there is no need.", not "best not to"; to another question ("can
 * we catch up on missed shots?", "does not need to restart") no answer. */
static const char *const cue_no_need[] = {
    " no need ", " not needed ", " not necessary ", " do not need ", " dont need ",
    " does not need ", " doesnt need ", " do not have to ", " dont have to ", " unnecessary ",
    NULL};
/* A question whether something is needed. */
static const char *const q_need[] = {" have to ", " need ", " needed ", " necessary ", " must ",
                                     " required ", " essential ", NULL};
static const char *const cue_common[] = {
    " common ", " normal ", " most children ", " many children ", " most toddlers ",
    " many toddlers ", " most kids ", " many kids ", " most babies ", " many babies ",
    " expected ", " phase ", " most teens ", " many teens ", " part of growing ", NULL};
/* How often, not how common: "usually around 3 to 4 weeks" says when, so
 * these count only in a clause about the question. */
static const char *const cue_often[] = {" typical ", " typically ", " usually ", " often ", NULL};
/* A question about a child who does NOT do something ("is it normal he
 * isn't walking"): "most children walk by 15 months" does not answer it
 * with a yes. */
static const char *const q_negated[] = {" not ", " isnt ", " doesnt ", " dont ", " cant ",
                                        " wont ", " never ", " hasnt ", " havent ",
                                        " arent ", " didnt ", " still not ", NULL};
static const char *const cue_ok[] = {" is safe ", " are safe ", " fine ", " okay ", " ok ",
                                     " recommended ", NULL};
static const char *const cue_if[] = {" if ", " when ", " unless ", " until ", " once ",
                                     " depends ", " as long as ", " provided ", " before ", " under ",
                                     NULL};
/* What the question asks: is it normal, is it bad, or may I. */
static const char *const q_normal[] = {" normal ", " common ", " typical ", " usual ",
                                       " a phase ", " do all ", " do most ", NULL};
static const char *const q_bad[] = {" bad ", " wrong ", " harmful ", " dangerous ", " risk ",
                                    " risky ", " a problem ", " too young ", " too old ",
                                    " too much ", " too early ", " too late ", " worry ",
                                    " worried ", " worrying ", " concern ", " overreacting ",
                                    " big deal ", " red flag ", " terrible ", " damage ",
                                    " damaging ", " cruel ", NULL};

static const char *verdict_of(const char *q, size_t len, const char *sentence, int age);

static int says_common(const char *q, size_t qlen, const char *sentence)
{
    char qt[1024], st[1024];
    cue_text(q, qlen, qt, sizeof qt);
    cue_text(sentence, strlen(sentence), st, sizeof st);
    return has_cue(qt, q_normal) && has_cue(st, cue_common) && !has_cue(qt, q_negated);
}

const char *grounded_verdict(const char *q, size_t len, const char *sentence)
{
    return verdict_for_age(q, len, sentence, -1);
}

/* grounded_verdict for a child of a known age (months; -1: unknown): a
 * rule for an age range the child is in is no condition ("avoid screens
 * before 18 months" to "is it ok for my 10 month old to watch tv" is a
 * no, not "it depends"), and a rule for an age range the child is not in
 * says no no (compose43). */
static const char *verdict_for_age(const char *q, size_t len, const char *sentence, int age)
{
    int shape = yes_no_shape(q, len);
    const char *v = shape ? verdict_of(q, len, sentence, age) : NULL;
    if (shape == 2 && v && strcmp(v, "It depends.") == 0) return NULL;
    return v;
}

static const char *verdict_of(const char *q, size_t len, const char *sentence, int age)
{
    char qt[1024], st[1024];
    int no, no_need, common, ok, cond, no_for_age = 0;
    cue_text(q, len, qt, sizeof qt);
    cue_text(sentence, strlen(sentence), st, sizeof st);
    if (strncmp(st, " yes ", 5) == 0 || strncmp(st, " no ", 4) == 0)
        return "";                               /* the passage answers yes or no itself */
    /* Cues of yes and no count only in a clause about the question: one
     * that shares a content word with it ("do not use oil of lemon
     * eucalyptus" says nothing about sunscreen). */
    no = no_need = ok = 0;
    /* a condition holds for the whole sentence, unless it sits in a
     * reason or a description ("..., because lice die within a day or two
     * once they are off a head", "a class, which teaches what to do if a
     * baby stops breathing"): that is no condition on the answer */
    {
        char head[1024];
        const char *cut = NULL;
        static const char *const asides[] = {" because ", " which ", " who ", " so that ",
                                             " since ", NULL};
        for (int k = 0; asides[k]; k++) {
            const char *a = strstr(st, asides[k]);
            if (a && (!cut || a < cut)) cut = a;
        }
        snprintf(head, sizeof head, "%.*s ", cut ? (int)(cut - st) : (int)strlen(st), st);
        cond = has_cue(head, cue_if);
    }
    common = has_cue(st, cue_common);            /* and "most children do" answers "is it normal" */
    {
        struct wordset qw;
        char *qs = xstrndup(q, len);
        size_t sl = strlen(sentence), from = 0;
        words_of(qs, &qw);
        free(qs);
        while (from < sl) {
            size_t to = from;
            while (to < sl && !strchr(",;:", sentence[to])) to++;
            char clause[1024], ct[1024];
            struct wordset cw;
            snprintf(clause, sizeof clause, "%.*s", (int)(to - from), sentence + from);
            words_of(clause, &cw);
            if (overlap(&qw, &cw) > 0) {
                int af = age >= 0 ? age_fit(clause, strlen(clause), age) : 0;
                cue_text(clause, strlen(clause), ct, sizeof ct);
                if (af > 0 && has_cue(ct, cue_no)) no_for_age = 1;
                if (af < 0 && has_cue(ct, cue_no)) {   /* another age's rule */
                    from = to + 1;
                    continue;
                }
                no |= has_cue(ct, cue_no);
                no_need |= has_cue(ct, cue_no_need);
                ok |= has_cue(ct, cue_ok);
                common |= has_cue(ct, cue_often);
            }
            from = to + 1;
        }
    }
    if (common && has_cue(qt, q_negated)) common = 0;
    /* "some tenderness is common, but pain through the whole feed means
     * the latch needs adjusting": what is common is only half the
     * sentence, and "Usually not." to "is her latch wrong?" says the
     * opposite of its other half (rubric review 2026-12-03) */
    static const char *const contrast[] = {" but ", " however ", " although ", NULL};
    if (has_cue(qt, q_bad)) {                    /* "is it bad to...", "should I worry" */
        if (no && (!cond || no_for_age)) return "Yes, it is best avoided.";
        if (common && !has_cue(st, contrast)) return "Usually not.";
        if (common) return NULL;
        return cond ? "It depends." : NULL;
    }
    if (has_cue(qt, q_normal)) {                 /* "is it normal that..." */
        if (common) return "Usually, yes.";
        return cond ? "It depends." : NULL;
    }
    /* "can I", "should I", "is it ok to": a rule with a condition ("avoid
     * cow's milk before 12 months") depends on it */
    if (no_for_age && !no_need) return "No, it is best not to.";
    if (cond) return "It depends.";
    /* "do I have to...", "do we need...": the not-needed no answers it */
    if (no_need && has_cue(qt, q_need)) return "No, there is no need.";
    if (no) return "No, it is best not to.";
    if (ok) return "Yes, usually.";
    return NULL;
}

/* ---------- a number asked about, against the passage's guide ---------- */

/* One amount in a text: its value, its unit (normalised: "oz", "ml",
 * "hour", "minute", "nap", "word", "time", "feed", "month", "year",
 * "week", "night"), and what the text says of it: a range's upper end
 * (hi > lo), "more than" (kind 1), "fewer than" / "under" (kind -1). */
struct amount { double lo, hi; char unit[8], per[8]; int kind; };

static int unit_of(const char *w, size_t l, char *out, size_t n)
{
    static const struct { const char *pre; const char *unit; } u[] = {
        {"oz", "oz"}, {"ounce", "oz"}, {"ml", "ml"}, {"hour", "hour"}, {"hr", "hour"},
        {"minute", "minute"}, {"min", "minute"}, {"nap", "nap"}, {"word", "word"},
        {"times", "time"}, {"feed", "feed"}, {"bottle", "feed"}, {"month", "month"},
        {"mo", "month"}, {"year", "year"}, {"yr", "year"}, {"yo", "year"}, {"week", "week"},
        {"wk", "week"}, {"night", "night"}};
    for (size_t k = 0; k < sizeof u / sizeof u[0]; k++) {
        size_t pl = strlen(u[k].pre);
        if (l >= pl && strncasecmp(w, u[k].pre, pl) == 0 &&
            (l == pl || strchr("sS", w[pl]) || pl >= 3)) {
            snprintf(out, n, "%s", u[k].unit);
            return 1;
        }
    }
    return 0;
}

/* The amounts of s with a unit ("35oz", "6 to 8 ounces", "more than 32
 * ounces", "fewer than about 50 words"), at most max. Pure. */
static size_t amounts_of(const char *s, struct amount *a, size_t max)
{
    size_t n = 0, l = strlen(s);
    for (size_t i = 0; i < l && n < max;) {
        if (!isdigit((unsigned char)s[i]) || (i > 0 && isalnum((unsigned char)s[i - 1]))) {
            i++;
            continue;
        }
        size_t start = i;
        char *end;
        double v = strtod(s + i, &end), hi = v;
        i = (size_t)(end - s);
        /* "6 to 8", "6-8", "6 or 7", "between 8 and 13" */
        size_t j = i;
        while (j < l && s[j] == ' ') j++;
        if (j < l && (s[j] == '-' || strncmp(s + j, "to ", 3) == 0 || strncmp(s + j, "or ", 3) == 0 ||
                      strncmp(s + j, "and ", 4) == 0)) {
            size_t k = j + (s[j] == '-' ? 1 : s[j] == 'a' ? 4 : 3);
            while (k < l && s[k] == ' ') k++;
            if (k < l && isdigit((unsigned char)s[k])) {
                hi = strtod(s + k, &end);
                i = (size_t)(end - s);
            }
        }
        /* an opening bracket's second unit ("4 ounces (120 ml)") is the same amount */
        j = i;
        while (j < l && s[j] == ' ') j++;
        size_t wl = 0;
        while (j + wl < l && isalpha((unsigned char)s[j + wl])) wl++;
        struct amount am = {v, hi, "", "", 0};
        if (!wl || !unit_of(s + j, wl, am.unit, sizeof am.unit)) continue;
        i = j + wl;
        /* its rate: "a day", "per feed", "each night" (past a bracket) */
        {
            size_t r = i;
            while (r < l && s[r] == ' ') r++;
            if (r < l && s[r] == '(') {
                while (r < l && s[r] != ')') r++;
                if (r < l) r++;
                while (r < l && s[r] == ' ') r++;
            }
            static const char *const per[] = {"a ", "per ", "each ", "every ", NULL};
            for (int k = 0; per[k]; k++) {
                size_t pl = strlen(per[k]);
                if (strncasecmp(s + r, per[k], pl) != 0) continue;
                size_t w0 = r + pl, w1 = w0;
                while (w1 < l && isalpha((unsigned char)s[w1])) w1++;
                if (w1 - w0 >= 3 && w1 - w0 < sizeof am.per) {
                    snprintf(am.per, sizeof am.per, "%.*s", (int)(w1 - w0), s + w0);
                    for (char *c = am.per; *c; c++) *c = (char)tolower((unsigned char)*c);
                    if (strcmp(am.per, "bottle") == 0) strcpy(am.per, "feed");
                }
                break;
            }
        }
        /* what comes before: "more than", "over", "fewer than", "under" */
        char before[40];
        size_t b0 = start > 30 ? start - 30 : 0;
        snprintf(before, sizeof before, "%.*s", (int)(start - b0), s + b0);
        for (char *c = before; *c; c++) *c = (char)tolower((unsigned char)*c);
        if (strstr(before, "more than ") || strstr(before, "over ") || strstr(before, "above ") ||
            strstr(before, "at most "))
            am.kind = 1;
        else if (strstr(before, "fewer than ") || strstr(before, "less than ") ||
                 strstr(before, "under ") || strstr(before, "at least "))
            am.kind = -1;
        a[n++] = am;
    }
    return n;
}

/* For a question that gives a number and asks whether it is normal, too
 * much or too little ("35oz a day, is that too much formula", "only says
 * about 10 words, is that behind?"): the passage's guide for the same
 * unit, read from the answering sentence or the help line, said first
 * ("That is more than the usual guide of about 32 oz a day."). Writes the
 * line and returns 1, or 0 when the passage gives no guide in that unit.
 * Pure. */
static int compare_line(const char *q, size_t qlen, const char *sent, const char *help,
                        int age, char *out, size_t n)
{
    static const char *const asks[] = {" too ", " normal ", " enough ", " behind ", " ok ",
                                       " okay ", " a lot ", " a problem ", " worry ", " bad ",
                                       " early ", " late ", " little ", " much ", " many ",
                                       " typical ", NULL};
    char qt[1024], *qs;
    struct amount qa[4], ga[16];
    size_t nq, ng = 0;
    cue_text(q, qlen, qt, sizeof qt);
    if (!has_cue(qt, asks)) return 0;
    qs = xstrndup(q, qlen);
    nq = amounts_of(qs, qa, 4);
    free(qs);
    /* a guide for another age ("fewer than 50 words by age 2" for a
     * 1-year-old) is no guide */
    if (sent && age_fit(sent, strlen(sent), age) >= 0) ng = amounts_of(sent, ga, 16);
    if (help && age_fit(help, strlen(help), age) >= 0) ng += amounts_of(help, ga + ng, 16 - ng);
    for (size_t i = 0; i < nq; i++) {
        /* an age is the child's, not the amount asked about */
        if (!strcmp(qa[i].unit, "month") || !strcmp(qa[i].unit, "year") ||
            !strcmp(qa[i].unit, "week"))
            continue;
        double v = qa[i].lo;
        const char *u = qa[i].unit;
        const char *shown = !strcmp(u, "time") ? "times" : !strcmp(u, "oz") ? "oz"
                            : !strcmp(u, "ml") ? "ml" : NULL;
        char unit_txt[24];
        snprintf(unit_txt, sizeof unit_txt, "%s%s", shown ? shown : u, shown ? "" : "s");
        for (size_t k = 0; k < ng; k++) {
            const struct amount *g = &ga[k];
            /* the same unit at the same rate: 35 oz a day is not 6 to 8 oz a feed */
            if (strcmp(g->unit, u) != 0 || strcmp(g->per, qa[i].per) != 0) continue;
            if (g->per[0]) {
                size_t ul = strlen(unit_txt);
                snprintf(unit_txt + ul, sizeof unit_txt - ul, " a %s", g->per);
            }
            if (g->kind == 1 && g->hi == g->lo) {
                if (v > g->lo)
                    snprintf(out, n, "That is more than the usual upper limit of about %g %s.", g->lo,
                             unit_txt);
                else
                    snprintf(out, n, "That is within the usual upper limit of about %g %s.",
                             g->lo, unit_txt);
                return 1;
            }
            if (g->kind == -1 && g->hi == g->lo) {
                if (v < g->lo)
                    snprintf(out, n, "That is below the usual guide of at least %g %s.", g->lo,
                             unit_txt);
                else
                    snprintf(out, n, "That meets the usual guide of at least %g %s.",
                             g->lo, unit_txt);
                return 1;
            }
            if (g->hi > g->lo) {
                if (v > g->hi)
                    snprintf(out, n, "That is more than the usual range of %g to %g %s.", g->lo,
                             g->hi, unit_txt);
                else if (v < g->lo)
                    snprintf(out, n, "That is less than the usual range of %g to %g %s.", g->lo,
                             g->hi, unit_txt);
                else
                    snprintf(out, n, "That is within the usual range of %g to %g %s.", g->lo,
                             g->hi, unit_txt);
                return 1;
            }
        }
    }
    return 0;
}

/* Strips one trailing '.' so a [n] marker can go before the full stop. */
static int trailing_period(const char *s)
{
    size_t l = strlen(s);
    return l && (s[l - 1] == '.' || s[l - 1] == '!' || s[l - 1] == '?');
}

/* One part of the question and what answers it: the whole question, or
 * for a question in parts (kb_hit.part) each part in the order asked, with
 * its own best passage. */
struct part_plan {
    size_t u;                                   /* its passage: an index into used */
    size_t st, en;                              /* its bytes of the question */
    struct wordset qw;                          /* the part's words */
    int yes_no, want_number;
    const char *verdict;                        /* its yes or no (grounded_verdict), or NULL */
    char sent[1024];                            /* its answering sentence */
};

/* How many of the words qw a passage's about-fields (title, keywords,
 * example asks, topic labels) hold. */
static size_t about_overlap(const struct kb *kb, const struct kb_passage *p,
                            const struct wordset *qw)
{
    int found[64] = {0};
    size_t n = 0;
    for (size_t f = 0; f < 1 + p->nkeywords + p->nasks + p->ntopics; f++) {
        const char *s = f == 0 ? p->title
                        : f <= p->nkeywords ? p->keywords[f - 1]
                        : f <= p->nkeywords + p->nasks ? p->asks[f - 1 - p->nkeywords]
                        : kb_topic_label(kb, p->topics[f - 1 - p->nkeywords - p->nasks]);
        struct wordset fw;
        if (!s) continue;
        words_of(s, &fw);
        for (size_t i = 0; i < qw->n; i++)
            for (size_t k = 0; !found[i] && k < fw.n; k++)
                if (strcmp(qw->w[i], fw.w[k]) == 0) found[i] = 1;
    }
    for (size_t i = 0; i < qw->n; i++) n += (size_t)found[i];
    return n;
}

/* Appends s with the [n] marker before its final stop. */
static void cited(struct strbuf *b, const char *s, int no)
{
    if (trailing_period(s))
        strbuf_printf(b, "%.*s [%d]%c", (int)strlen(s) - 1, s, no, s[strlen(s) - 1]);
    else
        strbuf_printf(b, "%s [%d]", s, no);
}

/* A copy of hits with hits[i] first at hits[0]'s score and the rest in
 * their order (the caller frees it): the passage that answers the asking
 * part or sentence leads. */
static struct kb_hit *hits_lead_with(const struct kb_hit *hits, size_t nhits, size_t i)
{
    struct kb_hit *own = xmalloc(nhits * sizeof *own);
    own[0] = hits[i];
    own[0].score = hits[0].score;
    for (size_t k = 0, o = 1; k < nhits; k++) if (k != i) own[o++] = hits[k];
    return own;
}

void grounded_compose(const struct kb *kb, const char *question, size_t len,
                      const struct kb_hit *hits, size_t nhits, int age_months,
                      char **text, json_t **citations)
{
    struct pick picks[64], chosen[MAX_STEPS];
    struct part_plan parts[KB_MAX_PARTS];
    size_t np = 0, nchosen = 0, used[MAX_USED], nused = 0, nparts = 0;
    size_t pst[KB_MAX_PARTS], pen[KB_MAX_PARTS], npt;
    int cite_no[MAX_USED] = {0}, next_no = 1, multi = 0;
    struct wordset qw, tried;
    struct strbuf b = {0};
    char *q = xstrndup(question, len), agebuf[48];
    json_t *cit = json_array();
    struct kb_hit *own = NULL;                  /* hits reordered, when they are */

    if (nhits == 0) {
        *text = xstrdup(no_match_text);
        *citations = cit;
        free(q);
        return;
    }
    words_of(q, &qw);
    tried_words(q, len, &tried);
    minus_words(&qw, &tried);
    /* A question in parts whose parts have passages of their own (kb_hit.part):
     * each part is answered, in the order asked, from its own passage, and
     * the steps come from those passages only (the whole question's best
     * passage may answer neither: "drop their naps" found vitamin D drops). */
    npt = kb_split_parts(q, len, pst, pen);
    /* A question with one asking part and the rest story ("how long can a
     * newborn be in a car seat? we have a 4 hour drive"): the asking
     * part's own passage answers, ahead of one the story's words found. */
    if (npt >= 2) {
        size_t asking = 0, ask_k = 0;
        for (size_t k = 0; k < npt; k++)
            if (kb_part_asks(q, len, pst[k], pen[k])) { asking++; ask_k = k + 1; }
        for (size_t i = 1; asking == 1 && i < nhits; i++) {
            if (hits[i].part != (int)ask_k) continue;
            /* only when its about-fields hold more of the asking part's
             * words than the whole question's best passage does: "when
             * should I start potty training? 2 yo shows zero interest"
             * keeps its readiness passage */
            char *pt = xstrndup(q + pst[ask_k - 1], pen[ask_k - 1] - pst[ask_k - 1]);
            struct wordset pw;
            words_of(pt, &pw);
            free(pt);
            if (about_overlap(kb, hits[i].p, &pw) <= about_overlap(kb, hits[0].p, &pw)) break;
            hits = own = hits_lead_with(hits, nhits, i);
            break;
        }
    }
    /* One sentence of the question asks and the rest tell ("my 9 year
     * old's grandma died. should he go to the funeral"): when the best
     * passage's title holds none of the asking sentence's key words while
     * a close passage on the same subject names what is asked in its
     * title, that one answers (the story's words found how grieving children
     * behave, beside "Should my child go to the funeral"; compose43). */
    if (!own && nhits > 1) {
        size_t sst[8], sen[8], ns = 0, asking = 0, ask_s = 0;
        for (size_t i = 0, b0 = 0; i <= len && ns < 8; i++)
            if (i == len || ((q[i] == '.' || q[i] == '?' || q[i] == '!') && i + 1 < len &&
                             q[i + 1] == ' ')) {
                size_t e = i < len ? i + 1 : len;
                while (b0 < e && q[b0] == ' ') b0++;
                if (e > b0) { sst[ns] = b0; sen[ns] = e; ns++; }
                b0 = e;
            }
        for (size_t k = 0; k < ns; k++)
            if (kb_part_asks(q, len, sst[k], sen[k])) { asking++; ask_s = k; }
        if (ns >= 2 && asking == 1) {
            char *pt = xstrndup(q + sst[ask_s], sen[ask_s] - sst[ask_s]);
            struct wordset pw, tw;
            words_of(pt, &pw);
            free(pt);
            words_of(hits[0].p->title, &tw);
            for (size_t i = 1; key_overlap_distinct(&pw, &tw) == 0 && i < nhits; i++) {
                const struct kb_passage *p = hits[i].p;
                /* the same subject: the best passage's first topic */
                if (hits[i].part != 0 || !p->ntopics || !hits[0].p->ntopics ||
                    strcmp(p->topics[0], hits[0].p->topics[0]) != 0 ||
                    hits[i].score < hits[0].score * 0.5 ||
                    (age_months >= 0 && (age_months < p->age_lo || age_months > p->age_hi)))
                    continue;
                struct wordset iw;
                words_of(p->title, &iw);
                if (key_overlap_distinct(&pw, &iw) == 0) continue;
                hits = own = hits_lead_with(hits, nhits, i);
                break;
            }
        }
    }
    for (size_t k = 1; k <= npt && nused < MAX_USED; k++)
        for (size_t i = 0; i < nhits; i++) {
            if (hits[i].part != (int)k) continue;
            /* a part that tells ("... car seat? we have a 4 hour drive")
             * is the story, not a question of its own */
            if (!kb_part_asks(q, len, pst[k - 1], pen[k - 1])) break;
            char *pt = xstrndup(q + pst[k - 1], pen[k - 1] - pst[k - 1]);
            struct wordset pw;
            int seen = 0;
            words_of(pt, &pw);
            /* the whole question's best passage answers the part when its
             * about-fields hold more of the part's words ("kids should be
             * doing 60 minutes a day?" alone found a milestones passage) */
            size_t h = about_overlap(kb, hits[0].p, &pw) > about_overlap(kb, hits[i].p, &pw)
                           ? 0 : i;
            for (size_t u = 0; u < nused; u++) seen |= hits[used[u]].p == hits[h].p;
            if (!seen) {
                struct part_plan *pp = &parts[nparts++];
                pp->u = nused;
                pp->st = pst[k - 1];
                pp->en = pen[k - 1];
                pp->qw = pw;
                pp->yes_no = grounded_is_yes_no(pt, strlen(pt));
                pp->want_number = asks_for_number(pt);
                minus_words(&pp->qw, &tried);
                best_sentence(hits[h].p->body, &pp->qw, pp->want_number, pp->yes_no ? pt : NULL,
                              strlen(pt), age_months, &tried, pp->sent, sizeof pp->sent);
                pp->verdict = pp->yes_no ? verdict_for_age(pt, strlen(pt), pp->sent, age_months) : NULL;
                used[nused++] = h;
            }
            free(pt);
            break;
        }
    multi = nparts >= 2;
    /* One question about a child of a known age whose best passage
     * answers for another age only ("babies of 4 to 12 months need 12 to
     * 16 hours" for a 2-week-old, "from about age 6" for a 3-year-old):
     * a close passage on the same topic whose answering sentence fits the
     * age leads instead (rubric review 2026-12-03). The order of the
     * others is kept. */
    if (!multi && age_months >= 0 && nhits > 1) {
        char s0[1024];
        const struct kb_passage *p0 = hits[0].p;
        best_sentence(p0->body, &qw, asks_for_number(q), grounded_is_yes_no(q, len) ? q : NULL,
                      len, age_months, &tried, s0, sizeof s0);
        if (age_fit(s0, strlen(s0), age_months) < 0)
            for (size_t i = 1; i < nhits; i++) {
                const struct kb_passage *p = hits[i].p;
                char si[1024];
                if (!shares_topic(p0, p) || hits[i].score < hits[0].score * 0.5 ||
                    age_months < p->age_lo || age_months > p->age_hi)
                    continue;
                best_sentence(p->body, &qw, asks_for_number(q),
                              grounded_is_yes_no(q, len) ? q : NULL, len, age_months, &tried, si,
                              sizeof si);
                if (age_fit(si, strlen(si), age_months) < 0) continue;
                struct kb_hit *re = xmalloc(nhits * sizeof *re);
                re[0] = hits[i];
                re[0].score = hits[0].score;
                for (size_t k = 0, o = 1; k < nhits; k++) if (k != i) re[o++] = hits[k];
                free(own);
                own = re;
                hits = own;
                break;
            }
    }
    if (!multi) {
        /* One question: the best passage and any close to it. Steps come
         * only from passages on the question's topic (sharing one with the
         * best passage) or from a part's own best passage (one part with a
         * passage of its own, the rest told), and, when the child's age is
         * known, only from passages for that age. */
        nused = 0;
        for (size_t i = 0; i < nhits && nused < MAX_USED; i++) {
            const struct kb_passage *p = hits[i].p;
            int on_topic = shares_topic(hits[0].p, p);
            int fits_age = age_months < 0 || (age_months >= p->age_lo && age_months <= p->age_hi);
            /* with no age given, a passage for ages the best one does not
             * cover at all ("milestones at 2 and 4 months" beside "at 4
             * and 5 years") is for another child (rubric review
             * 2026-12-03) */
            if (age_months < 0 && (p->age_lo > hits[0].p->age_hi || p->age_hi < hits[0].p->age_lo))
                fits_age = 0;
            int asked = hits[i].part > 0 && (size_t)hits[i].part <= npt &&
                        kb_part_asks(q, len, pst[hits[i].part - 1], pen[hits[i].part - 1]);
            if (i == 0 || (fits_age && ((on_topic && hits[i].score >= hits[0].score * 0.5) ||
                                        asked)))
                used[nused++] = i;
        }
        /* The orienting sentence: the best passage's sentence that answers
         * this question (an amount, age or limit first). */
        nparts = 1;
        parts[0].u = 0;
        parts[0].st = 0;
        parts[0].en = len;
        parts[0].qw = qw;
        parts[0].yes_no = grounded_is_yes_no(q, len);
        parts[0].want_number = asks_for_number(q);
        best_sentence(hits[0].p->body, &qw, parts[0].want_number, parts[0].yes_no ? q : NULL,
                      len, age_months, &tried, parts[0].sent, sizeof parts[0].sent);
        parts[0].verdict = parts[0].yes_no ? verdict_for_age(q, len, parts[0].sent, age_months) : NULL;
        /* A yes/no question whose answering sentence gives no yes or no
         * (or only "it depends"), while one of the passage's own steps is
         * about more of what was asked and opens on a no: that step answers
         * ("is it safe for my baby to sleep on her side?" is answered by
         * "Avoid side sleeping, because babies can roll onto their
         * tummy", not by "It depends. Put your baby on their back ...
         * until their first birthday"; compose43). It is then no step. */
        if (parts[0].yes_no && (!parts[0].verdict || strcmp(parts[0].verdict, "It depends.") == 0)) {
            const struct kb_passage *p0 = hits[0].p;
            struct wordset sw0;
            words_of(parts[0].sent, &sw0);
            size_t best_k = p0->nsteps, best_ov = key_overlap_distinct(&qw, &sw0);
            const char *best_v = NULL;
            for (size_t k = 0; k < p0->nsteps; k++) {
                struct wordset kw;
                words_of(p0->steps[k], &kw);
                size_t ov = key_overlap_distinct(&qw, &kw);
                if (ov < 2 || ov <= best_ov) continue;
                if (age_fit(p0->steps[k], strlen(p0->steps[k]), age_months) < 0) continue;
                /* only a step that opens on its no ("Avoid side sleeping"):
                 * "Role-play opening a present you don't like" holds a
                 * "don't" that answers nothing */
                static const char *const opens_no[] = {"Avoid ", "Never ", "Do not ", "Don't ",
                                                       "Don\xe2\x80\x99t ", NULL};
                int opens = 0;
                for (int o = 0; opens_no[o] && !opens; o++)
                    opens = strncmp(p0->steps[k], opens_no[o], strlen(opens_no[o])) == 0;
                if (!opens) continue;
                const char *v = verdict_for_age(q, len, p0->steps[k], age_months);
                if (!v || !*v || strcmp(v, "It depends.") == 0) continue;
                best_k = k;
                best_ov = ov;
                best_v = v;
            }
            if (best_k < p0->nsteps && strlen(p0->steps[best_k]) < sizeof parts[0].sent) {
                snprintf(parts[0].sent, sizeof parts[0].sent, "%s", p0->steps[best_k]);
                parts[0].verdict = best_v;
            }
        }
    }
    /* The first part (the whole question, or the part asked first) sets the
     * opening. A question that asks for an amount, an age or a limit,
     * answered by a sentence that gives one, gets that fact first
     * (best_sentence). A yes/no question gets the passage's yes, no or
     * "usually" first; only a line for what the question carries of
     * feeling comes before. */
    const struct part_plan *lead = &parts[0];
    const char *verdict = lead->verdict;
    /* a number the parent gives, against the passage's own guide: said
     * first, in place of a stock yes or no ("is 35oz too much?") */
    char compare[160];
    if (compare_line(q + lead->st, lead->en - lead->st, lead->sent, hits[used[lead->u]].p->help,
                     age_months, compare, sizeof compare)) {
        verdict = compare;
    }
    int talk_q = strcmp(steps_noun(q, len), "ways to go about it") == 0;
    struct wordset lead_w;                      /* the answering sentence's words */
    words_of(lead->sent, &lead_w);
    for (size_t u = 0; u < nused; u++) {
        const struct kb_passage *p = hits[used[u]].p;
        /* a part's passage is scored on the part's words */
        const struct part_plan *pp = NULL;
        for (size_t k = 0; k < nparts; k++) if (parts[k].u == u) pp = &parts[k];
        const struct wordset *w = pp ? &pp->qw : &qw;
        int want = pp ? pp->want_number : parts[0].want_number;
        for (size_t k = 0; k < p->nsteps && np < 64; k++) {
            struct wordset sw;
            words_of(p->steps[k], &sw);
            /* a weaker passage's step must be about something asked:
             * "offer to show him how to shave" shares no word with "how
             * do I have the sex talk", nor with the answer's sentence,
             * from a passage whose about-fields hold fewer than two of the
             * question's words ("screams ... colic" keeps the soothing
             * passage's steps): it goes last */
            int off_q = !multi && u > 0 && key_overlap(w, &sw) == 0 &&
                        key_overlap(&lead_w, &sw) < 2;
            /* a weaker passage whose own subject (its first topic) is
             * another, drawn on through a topic it only touches: its step
             * must share two of the question's key words, one is chance
             * ("help your child return it, with an apology to the friend"
             * from a stealing passage for a child with no friends; "a seat
             * for your child under 2" from a flying passage for a booster
             * question; compose43) */
            if (!multi && u > 0 && p->ntopics && hits[used[0]].p->ntopics &&
                strcmp(p->topics[0], hits[used[0]].p->topics[0]) != 0 &&
                key_overlap_distinct(w, &sw) < 2)
                off_q = 1;
            /* (session 13: also from a passage of the same first topic:
             * "let children say no to hugs" from a consent passage shares
             * nothing with a 12-year-old's boyfriend, nor "wash the
             * repellent off with soap and water" with a sunscreen question
             * beyond one word of its answer) */
            /* a step for another age is no step for this child either */
            int step_fit = age_fit(p->steps[k], strlen(p->steps[k]), age_months);
            int other_age = step_fit < 0;
            /* Passage rank dominates (each part's passage ranks first for
             * its part); words shared with the question and an early
             * position in the passage's list break the tie. */
            double rank = multi ? 1.0 : hits[used[u]].score / hits[0].score;
            double s = rank * 10.0 + (double)overlap(w, &sw) * 1.5 - (double)k * 0.4;
            /* the amount, age or limit asked for: a step that gives one */
            if (want && gives_quantity(p->steps[k], strlen(p->steps[k]))) s += 1.5;
            /* a step for another age ("keep babies under 6 months out of
             * direct sun" for a 3-year-old) goes last */
            if (step_fit < 0) s -= 6.0;
            /* a step framed for starting at an age long past ("from
             * about 6 months" for a 14-month-old) is taken, like another
             * age's, only to make up two (compose45) */
            if (step_fit > 0 &&
                age_started_long_ago(p->steps[k], strlen(p->steps[k]), age_months)) {
                s -= 2.0;
                other_age = 1;
            }
            /* a step the parent has already tried goes last */
            if (tried.n && key_overlap(&tried, &sw)) s -= 6.0;
            /* and one tied to nothing asked is taken only to make up the
             * three when nothing else is left */
            if (off_q) s -= 20.0;
            /* asked how to talk about something: a step that quotes what
             * to say comes first among its passage's (compose42) */
            if (talk_q && (strchr(p->steps[k], '"') || strstr(p->steps[k], "\xe2\x80\x9c")))
                s += 2.0;
            picks[np++] = (struct pick){u, p->steps[k], s, off_q || other_age};
        }
    }
    qsort(picks, np, sizeof picks[0], cmp_pick);
    /* Take the best steps, never two that say nearly the same thing (nor
     * one that says an answering sentence again), and at most two from one
     * passage when another passage is nearly as good; a question in parts
     * gets its best step for each part first. */
    int strong_other = multi;
    for (size_t u = 1; u < nused; u++)
        if (hits[used[u]].score >= hits[0].score * 0.8) strong_other = 1;
    for (int pass = multi ? -1 : 0; pass < 2 && nchosen < MAX_STEPS; pass++) {
        size_t want_u = 0;
        for (size_t i = 0; i < np && nchosen < MAX_STEPS; i++) {
            size_t same = 0, dup = 0;
            if (pass < 0 && picks[i].passage != want_u) continue;
            for (size_t k = 0; k < nparts; k++)
                if (similar(parts[k].sent, picks[i].text) ||
                    repeats_sentence(parts[k].sent, picks[i].text))
                    dup = 1;
            for (size_t c = 0; c < nchosen; c++) {
                if (chosen[c].text == picks[i].text || similar_steps(chosen[c].text, picks[i].text))
                    dup = 1;
                if (chosen[c].passage == picks[i].passage) same++;
            }
            if (dup || (pass < 0 && same) || (pass == 0 && same >= 2 && strong_other)) continue;
            /* one tied to nothing asked, or for another age, only to make
             * up two: two steps that fit read better than three where one
             * drifts to another subject or age (rubric review 2026-12-03) */
            if (picks[i].off && (pass == 0 || nchosen >= 2)) continue;
            chosen[nchosen++] = picks[i];
            if (pass < 0) {                          /* the next part's passage */
                if (++want_u >= nused) break;
                i = (size_t)-1;
            }
        }
    }
    /* A question in parts lists its steps in the order of its parts. */
    for (size_t c = 1; multi && c < nchosen; c++)
        for (size_t d = c; d > 0 && chosen[d - 1].passage > chosen[d].passage; d--) {
            struct pick t = chosen[d];
            chosen[d] = chosen[d - 1];
            chosen[d - 1] = t;
        }
    /* Number citations in order of first use: the answering sentences
     * first (the best passage's, or each part's in order), then the steps.
     * Two passages from one page are one source: the number of the first
     * (a list of sources that names one URL twice reads as padding). */
    for (size_t c = 0; c < nparts + nchosen; c++) {
        size_t u = c < nparts ? parts[c].u : chosen[c - nparts].passage;
        if (cite_no[u]) continue;
        for (size_t k = 0; k < nused && !cite_no[u]; k++)
            if (k != u && cite_no[k] && hits[used[k]].p->url && hits[used[u]].p->url &&
                strcmp(hits[used[k]].p->url, hits[used[u]].p->url) == 0)
                cite_no[u] = cite_no[k];
        if (!cite_no[u]) cite_no[u] = next_no++;
    }

    const struct kb_passage *best = hits[used[0]].p;
    {
        /* what the question carries of feeling (a loss, the parent's own
         * feeling or struggle, a child's hurt) is answered first, in one
         * short line, also ahead of a yes, a no or the number asked for:
         * "how long should she be awake ... i feel like im getting it
         * wrong" went unanswered as a feeling (blind rubric 2026-12-04,
         * compose45). A question with none gets no line: a topic's one
         * opening line ("School worries can weigh on the whole family")
         * is the same for every question on the topic, and blind reviewers
         * marked it stock and often off the question (compose42,
         * 2026-12-04; kb_topic_opener is kept for others). */
        char fbuf[256];
        const char *feel = feeling_line(q, len, fbuf, sizeof fbuf);
        if (feel) strbuf_printf(&b, "%s\n\n", feel);
    }
    /* "It depends." said first reads robotic (blind rubric 2026-12-04,
     * four times): the answering sentence says what it depends on ("once
     * they can climb out", "if the school agrees"), so it opens by itself
     * (compose45). grounded_verdict still reads it as "It depends." */
    if (verdict && strcmp(verdict, "It depends.") == 0) verdict = "";
    if (verdict && *verdict) strbuf_printf(&b, "%s ", verdict);

    for (size_t k = 0; k < nparts; k++) {
        /* a later yes/no part gets its own yes or no first too */
        if (k > 0 && parts[k].verdict && *parts[k].verdict &&
            strcmp(parts[k].verdict, "It depends.") != 0)
            strbuf_printf(&b, "%s ", parts[k].verdict);
        cited(&b, parts[k].sent, cite_no[parts[k].u]);
        strbuf_printf(&b, "\n\n");
    }
    /* The child's age is said back only when this question states it as a
     * number and the passage is for it: never an age read from a stage
     * word ("teen" is not "your 15-year-old") or carried from elsewhere. */
    int steps_fit = 1;                           /* and every step's passage is for it */
    for (size_t c = 0; c < nchosen; c++) {
        const struct kb_passage *p = hits[used[chosen[c].passage]].p;
        if (age_months < p->age_lo || age_months > p->age_hi) steps_fit = 0;
    }
    age_phrase(age_months >= 0 && kb_stated_age(q, len) == age_months && steps_fit &&
                       age_months >= best->age_lo && age_months <= best->age_hi
                   ? age_months : -1, agebuf, sizeof agebuf);
    {
        const char *noun = steps_noun(q, len);
        int ways = strcmp(noun, "things") != 0 && strcmp(noun, "ideas") != 0;
        const char *count = nchosen == 3 ? "Three" : nchosen == 2 ? "Two" : "One";
        if (ways)                                /* "Three ways to go about it with your 12-year-old:" */
            strbuf_printf(&b, "%s %s%s:\n", count, nchosen == 1 ? "way to go about it" : noun,
                          agebuf);
        else if (strcmp(noun, "ideas") == 0)
            strbuf_printf(&b, "%s %s to try%s:\n", count, nchosen == 1 ? "idea" : noun, agebuf);
        else
            steps_heading(&b, q, len, asks_info(q, len), nchosen, agebuf);
    }
    for (size_t c = 0; c < nchosen; c++) {
        strbuf_printf(&b, "%zu. ", c + 1);
        cited(&b, chosen[c].text, cite_no[chosen[c].passage]);
        strbuf_printf(&b, "\n");
    }
    /* When to get help: from the first used passage (by citation number)
     * that has a line, so it is cited with a number already in the text;
     * only the topic's own passage (or a part's), never another topic's
     * warning. */
    for (int no = 1; no < next_no; no++) {
        for (size_t u = 0; u < nused; u++) {
            const struct kb_passage *p = hits[used[u]].p;
            if (cite_no[u] != no || !p->help || !(multi || shares_topic(best, p))) continue;
            strbuf_printf(&b, "\n**When to get help:** ");
            cited(&b, p->help, no);
            no = next_no;
            break;
        }
    }
    /* Citations, in number order; a number two passages share (one page)
     * is listed once, as its first passage. */
    for (int no = 1; no < next_no; no++)
        for (size_t u = 0; u < nused; u++) {
            const struct kb_passage *p = hits[used[u]].p;
            if (cite_no[u] != no) continue;
            json_array_append_new(cit, json_pack("{s:i, s:s, s:s, s:s}", "id", no,
                                                 "source", p->source_short, "title", p->title,
                                                 "url", p->url));
            break;
        }
    /* trim the trailing newline of the list when there is no help line */
    while (b.len && b.s[b.len - 1] == '\n') b.s[--b.len] = '\0';
    *text = b.s;
    *citations = cit;
    free(own);
    free(q);
}

size_t grounded_next_chunk(const char *text, size_t len, size_t off)
{
    size_t i = off;
    while (i < len && !isspace((unsigned char)text[i])) i++;
    while (i < len && isspace((unsigned char)text[i])) i++;
    return i - off;
}

/* ---------- streaming ---------- */

struct grounded {
    struct event_base *base;
    const struct kb *kb;
    int pace_ms;
};

struct gjob {
    const struct engine_request *rq;
    char *text;
    size_t len, off;
    json_t *citations;
    struct event *timer;
    int pace_ms;
};

static void gjob_free(struct gjob *j)
{
    if (!j) return;
    if (j->timer) event_free(j->timer);
    free(j->text);
    json_decref(j->citations);
    free(j);
}

static void gjob_tick(evutil_socket_t fd, short what, void *arg)
{
    struct gjob *j = arg;
    /* One chunk per tick at a pace; at pace 0 the first chunk goes alone
     * (so the loop writes it to the socket before the rest is produced),
     * then everything else at once. */
    int all = j->pace_ms == 0 && j->off > 0;
    do {
        size_t n = grounded_next_chunk(j->text, j->len, j->off);
        if (n == 0) break;
        j->rq->on_chunk(j->rq->ctx, j->text + j->off, n);
        j->off += n;
    } while (all);
    if (j->off < j->len) {
        struct timeval tv = {j->pace_ms / 1000, (j->pace_ms % 1000) * 1000};
        evtimer_add(j->timer, &tv);
        return;
    }
    json_t *cit = j->citations;
    const struct engine_request *rq = j->rq;
    j->citations = NULL;
    gjob_free(j);
    rq->on_done(rq->ctx, ENGINE_COMPLETE, NULL, cit, NULL);
}

static int grounded_start(struct engine *e, const struct engine_request *rq, void **job)
{
    struct grounded *g = e->state;
    struct gjob *j = xcalloc(1, sizeof *j);
    struct timeval now = {0, 0};
    j->rq = rq;
    j->pace_ms = g->pace_ms;
    grounded_compose(g->kb, rq->question, rq->question_len, rq->hits, rq->nhits,
                     rq->age_months, &j->text, &j->citations);
    if (rq->preface && *rq->preface) {     /* lite mode: its notice first */
        size_t pl = strlen(rq->preface), tl = strlen(j->text);
        char *both = xmalloc(pl + tl + 1);
        memcpy(both, rq->preface, pl);
        memcpy(both + pl, j->text, tl + 1);
        free(j->text);
        j->text = both;
    }
    j->len = strlen(j->text);
    j->timer = evtimer_new(g->base, gjob_tick, j);
    evtimer_add(j->timer, &now);
    *job = j;
    return 0;
}

static void grounded_cancel(struct engine *e, void *job)
{
    gjob_free(job);
}

static int grounded_ready(struct engine *e)
{
    struct grounded *g = e->state;
    return g->kb && kb_count(g->kb) > 0;
}

static void grounded_destroy(struct engine *e)
{
    free(e->state);
    free(e);
}

struct engine *engine_grounded_new(struct event_base *base, const struct kb *kb, int pace_ms)
{
    struct engine *e = xcalloc(1, sizeof *e);
    struct grounded *g = xcalloc(1, sizeof *g);
    g->base = base;
    g->kb = kb;
    g->pace_ms = pace_ms;
    e->name = "grounded";
    e->reads_english = 1;
    e->state = g;
    e->start = grounded_start;
    e->cancel = grounded_cancel;
    e->ready = grounded_ready;
    e->destroy = grounded_destroy;
    return e;
}
