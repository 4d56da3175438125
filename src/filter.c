/* filter.c — the one output filter: what a parent is shown of a model's
 * answer, driven by the output part of the safety policy.
 *
 * The filter is the one place model text is delayed, and only while a
 * number could still turn out to be a dose. A parent sees the answer word
 * by word: each delta goes out at once up to its last whole word, and a
 * trailing fragment too unless it could still grow into a number word
 * ("tw") or is an unfinished [n] marker. A dose needs an amount, and what
 * comes before a number mostly says whether it can be one: with no amount
 * cue before it in its sentence (a dose verb, a dose noun, a medicine, "a"
 * right before it, nothing at all), or right after "age"/"by"/"until"...,
 * or as digits beginning a line (a list's "1.", a heading's "**0–6
 * weeks"), or as a clock time, money, a share ("40%") or a number joined
 * to a word that counts it ("3-year-old"), a number goes out at once, and
 * so do the words after it up to one that would complete a dose (a unit, a
 * word that makes the sentence held, one after which a continuation of the
 * policy would and would not have before the number: "3 times" + "a day
 * ibuprofen"; never after money, a share, a count or a closing mark:
 * "£3 a week", "1. A useful"), and so does the second number of its
 * range ("aged 8 to 12"); from
 * there the sentence waits for its end, so what a parent sees of a held
 * sentence is a number at most, never its unit or medicine. At any other
 * number (digits or a number word, as the safety policy reads them; not a
 * "2." list number starting a sentence) the filter asks whether the
 * sentence so far, with one of the policy's continuations after it ("mg",
 * "ml ibuprofen", "hours ibuprofen"), would be held. While one would, the
 * number and the words after it wait; when none would ("3 years", "10
 * minutes of play"), they go out at once; when the sentence so far is
 * itself held, the rest waits for its end. That wait has a bound when a
 * word counts the number ("3 times", "10 minutes of"): the next few
 * words, FILTER_MAYBE_WORDS, then it goes out and each later word is
 * checked; it ends at once when the sentence lacks only a medicine,
 * wherever it would stand ("every 2 hours"), or at a word that counts
 * among a group ("one of the best"). Every complete sentence — the
 * released head kept in ctx plus the waiting rest — then passes the dose
 * check (safety_output_hold); a held sentence loses everything not yet
 * shown, which is replaced by "… " and the referral line, once per answer.
 * Out-of-range [n] markers are removed before anything is released, and the
 * numbers of released markers are the answer's citations. A waiting run may
 * not end for a long time (a list without full stops, a language without
 * blanks): after FILTER_LONG_RUN bytes it is released at a word boundary —
 * never right after a word with a digit, never inside a [..] marker —
 * unless it has a digit followed by a dose unit; then it waits for its end,
 * up to FILTER_HARD_CAP bytes, and is checked whole. The released head of
 * an unfinished sentence is kept (FILTER_CTX_MAX bytes) for that check. */
#include "filter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safety.h"
#include "text.h"
#include "util.h"

/* ---------- citation markers ---------- */

#define MARK_MAX_NUMS 16

struct marker {
    size_t len;                        /* bytes of the whole marker */
    size_t nnum;
    unsigned num[MARK_MAX_NUMS];
    size_t at[MARK_MAX_NUMS], nlen[MARK_MAX_NUMS];   /* offsets of the numbers */
    size_t sep[MARK_MAX_NUMS];         /* offset of the separator before each */
};

/* Parses a marker at s[0] == '['. Returns 1 and fills m, else 0. */
static int parse_marker(const char *s, size_t len, struct marker *m)
{
    size_t i = 1;
    m->nnum = 0;
    for (;;) {
        size_t d = 0, sep = i;
        unsigned v = 0;
        if (m->nnum) {
            if (i >= len || s[i] != ',') return 0;
            i++;
            while (i < len && s[i] == ' ') i++;
        }
        while (i + d < len && d < 4 && isdigit((unsigned char)s[i + d])) v = v * 10 + (unsigned)(s[i + d++] - '0');
        if (d == 0 || d > 3 || m->nnum == MARK_MAX_NUMS) return 0;
        m->sep[m->nnum] = sep;
        m->at[m->nnum] = i;
        m->nlen[m->nnum] = d;
        m->num[m->nnum++] = v;
        i += d;
        if (i < len && s[i] == ']') {
            m->len = i + 1;
            return 1;
        }
    }
}

/* after_blank: what was shown before in[0] ends with a blank, or nothing
 * was, so a marker dropped there takes the blank after it. */
static size_t fix_markers(const char *in, size_t len, size_t nsources, char *out,
                          uint64_t *cited, int after_blank)
{
    size_t i = 0, o = 0;
    struct marker m;

    if (nsources > FILTER_MAX_SOURCES) nsources = FILTER_MAX_SOURCES;
    while (i < len) {
        if (in[i] != '[' || !parse_marker(in + i, len - i, &m)) {
            out[o++] = in[i++];
            continue;
        }
        size_t kept = 0, end = i + m.len;
        uint64_t seen = 0;
        for (size_t k = 0; k < m.nnum; k++) {
            unsigned v = m.num[k];
            if (v < 1 || v > nsources || (seen & FILTER_BIT(v))) continue;
            seen |= FILTER_BIT(v);
            if (kept == 0) {
                out[o++] = '[';
            } else {               /* the separator that preceded it */
                memcpy(out + o, in + i + m.sep[k], m.at[k] - m.sep[k]);
                o += m.at[k] - m.sep[k];
            }
            memcpy(out + o, in + i + m.at[k], m.nlen[k]);
            o += m.nlen[k];
            kept++;
        }
        if (kept) {
            out[o++] = ']';
            if (cited) *cited |= seen;
        } else if (o > 0 && out[o - 1] == ' ' && !(end < len && in[end] == '[')) {
            o--;                   /* "rhythm [9]." -> "rhythm." */
        } else if ((o == 0 ? after_blank : out[o - 1] == '\n') && end < len && in[end] == ' ') {
            end++;                 /* "[9] Keep" at a line start -> "Keep" */
        }
        i = end;
    }
    return o;
}

size_t filter_fix_markers(const char *in, size_t len, size_t nsources, char *out,
                         uint64_t *cited)
{
    return fix_markers(in, len, nsources, out, cited, 1);
}

int filter_has_dose(const struct filter_rules *r, const char *s, size_t len)
{
    if (!r || !r->dose_unit) return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) continue;
        size_t j = i + 1, w, gap = 0;
        while (j < len && (isdigit((unsigned char)s[j]) ||
                           ((s[j] == '.' || s[j] == ',') && j + 1 < len &&
                            isdigit((unsigned char)s[j + 1]))))
            j++;
        while (j < len && (s[j] == ' ' || s[j] == '-') && gap < 2) j++, gap++;
        w = j;
        while (w < len && (isalpha((unsigned char)s[w]) || (unsigned char)s[w] >= 0x80)) w++;
        if (w > j && r->dose_unit(r->ctx, s + j, w - j, 0)) return 1;
        i = j - 1 > i ? j - 1 : i;
    }
    return 0;
}

/* ---------- the rules of a safety policy ---------- */

static int policy_hold(void *ctx, const char *s, size_t len)
{
    return safety_output_hold(ctx, s, len);
}

static int policy_number(void *ctx, const char *w, size_t len, int partial)
{
    return safety_output_number(ctx, w, len, partial);
}

static int policy_dose_unit(void *ctx, const char *w, size_t len, int partial)
{
    return safety_output_dose_unit(ctx, w, len, partial);
}

struct filter_rules filter_rules_of(const struct safety_policy *p)
{
    struct filter_rules r = {0};
    const struct safety_filter_words *w = safety_output_filter_words(p);
    r.hold = policy_hold;
    r.number = policy_number;
    r.dose_unit = policy_dose_unit;
    r.ncontinuations = safety_output_continuations(p, &r.continuations);
    r.nrange_words = safety_output_range_words(p, &r.range_words);
    r.nnot_dose_words = safety_output_not_dose_words(p, &r.not_dose_words, &r.window);
    if (w) r.words = *w;
    r.referral = safety_output_referral(p);
    r.ctx = (void *)p;
    return r;
}

/* ---------- the look-behind filter ---------- */

struct filter {
    size_t nsources;
    struct filter_rules r;
    const char *referral;     /* r.referral or "" */
    int referral_sent;
    filter_emit_fn emit;
    void *emit_ctx;
    struct strbuf pend;          /* received, not yet released */
    struct strbuf ctx;           /* released head of the unfinished sentence */
    struct strbuf run;           /* the head before the loose number run */
    int ctx_held;             /* that head's sentence was already held */
    int dose_wait;            /* the unfinished sentence reads as a dose:
                               * the rest waits for its end */
    int loose;                /* the head ends with a number that could not
                               * be an amount (and range words, markers):
                               * the next words are checked for a dose; 2:
                               * then a fragment that may still go on */
    int watch;                /* a wait ended at its bound: every word
                               * is checked until the sentence ends */
    int open_end;             /* the head ends "...days.": the next byte says
                               * whether its sentence ended there */
    int line_head;            /* the unfinished sentence began a line */
    int share;                /* with loose: its number is no amount (money,
                               * a share, "3-year-old") or its phrase closed
                               * ("1.", "(10–11):"): no continuation makes
                               * the words after it a dose */
    int range_open;           /* with loose: the last word was a range word
                               * ("aged 8 to"): the next number is the
                               * range's second, no amount either */
    int think;                /* THINK_*: a leading <think>...</think> */
    struct strbuf thought;       /* inside it: the last bytes, for a split </think> */
    struct strbuf out;           /* released by the current call */
    struct strbuf scratch;
    uint64_t cited;
    size_t released, held;
    char last;                /* last byte released */
};

struct filter *filter_new_rules(const struct filter_rules *rules, size_t nsources,
                                filter_emit_fn emit_fn, void *emit_ctx)
{
    struct filter *f = xcalloc(1, sizeof *f);
    f->nsources = nsources > FILTER_MAX_SOURCES ? FILTER_MAX_SOURCES : nsources;
    if (rules) f->r = *rules;
    f->referral = f->r.referral ? f->r.referral : "";
    f->emit = emit_fn;
    f->emit_ctx = emit_ctx;
    return f;
}

struct filter *filter_new(const struct safety_policy *policy, size_t nsources,
                          filter_emit_fn emit_fn, void *emit_ctx)
{
    struct filter_rules r = filter_rules_of(policy);
    return filter_new_rules(&r, nsources, emit_fn, emit_ctx);
}

void filter_free(struct filter *f)
{
    if (!f) return;
    free(f->pend.s);
    free(f->ctx.s);
    free(f->run.s);
    free(f->out.s);
    free(f->scratch.s);
    free(f->thought.s);
    free(f);
}

uint64_t filter_cited(const struct filter *f) { return f->cited; }
size_t filter_released(const struct filter *f) { return f->released; }
size_t filter_held(const struct filter *f) { return f->held; }
size_t filter_pending(const struct filter *f) { return f->pend.len; }

static void out_add(struct filter *f, const char *s, size_t n)
{
    if (n == 0) return;
    strbuf_add(&f->out, s, n);
    f->released += n;
    f->last = s[n - 1];
}

/* The blanks after a dropped sentence keep the layout (a list's newline)
 * without doubling a blank already released. */
static void out_blanks(struct filter *f, const char *s, size_t n)
{
    if (n == 0) return;
    if (memchr(s, '\n', n) ? f->last == '\n' : isspace((unsigned char)f->last)) return;
    out_add(f, s, n);
}

/* Keeps the last FILTER_CTX_MAX bytes of the released head, cut at a UTF-8
 * character start. */
static void ctx_add(struct filter *f, const char *s, size_t n)
{
    strbuf_add(&f->ctx, s, n);
    if (f->ctx.len > FILTER_CTX_MAX) {
        size_t drop = f->ctx.len - FILTER_CTX_MAX;
        while (drop < f->ctx.len && ((unsigned char)f->ctx.s[drop] & 0xC0) == 0x80) drop++;
        memmove(f->ctx.s, f->ctx.s + drop, f->ctx.len - drop);
        f->ctx.len -= drop;
        f->ctx.s[f->ctx.len] = '\0';
    }
}

static int check_holds(struct filter *f, const char *s, size_t n)
{
    if (!f->r.hold) return 0;
    f->scratch.len = 0;
    if (f->ctx.len) strbuf_add(&f->scratch, f->ctx.s, f->ctx.len);
    strbuf_add(&f->scratch, s, n);
    return f->r.hold(f->r.ctx, f->scratch.s, f->scratch.len) != 0;
}

/* release() flags: the piece ends its sentence; hold it without asking (an
 * unterminated dose-like tail); release it unchecked (number-free words,
 * checked with the whole sentence at its end). */
#define REL_COMPLETE  1
#define REL_HOLD      2
#define REL_UNCHECKED 4

/* One piece of text: a whole sentence, the rest of one, or its head. */
static void release(struct filter *f, const char *s, size_t n, int flags)
{
    char *fixed = xmalloc(n + 1);
    uint64_t cited = 0;
    size_t fl = fix_markers(s, n, f->nsources, fixed, &cited,
                            f->released == 0 || isspace((unsigned char)f->last)), ws = fl;
    int complete = flags & REL_COMPLETE;

    while (ws > 0 && isspace((unsigned char)fixed[ws - 1])) ws--;   /* trailing blanks */
    if (f->ctx.len == 0) f->line_head = f->released == 0 || f->last == '\n';
    if (!f->ctx_held && ((flags & REL_HOLD) ||
                         (!(flags & REL_UNCHECKED) && check_holds(f, fixed, fl)))) {
        size_t lead = 0;                  /* leading blanks: ". Give" held */
        while (lead < ws && isspace((unsigned char)fixed[lead])) lead++;
        out_blanks(f, fixed, lead);
        f->held++;
        f->ctx_held = 1;
        if (f->ctx.len) {                 /* its head is out: mark the cut */
            if (!isspace((unsigned char)f->last)) out_add(f, " ", 1);
            out_add(f, "\xE2\x80\xA6 ", 4);
        }
        if (!f->referral_sent && *f->referral) {
            out_add(f, f->referral, strlen(f->referral));
            f->referral_sent = 1;
        }
        out_blanks(f, fixed + ws, fl - ws);
    } else if (f->ctx_held) {
        out_blanks(f, fixed + ws, fl - ws);    /* the rest of a held sentence */
    } else {
        out_add(f, fixed, fl);
        f->cited |= cited;
        if (!complete) ctx_add(f, fixed, fl);
    }
    if (complete) {
        f->ctx.len = 0;
        f->ctx_held = 0;
        f->dose_wait = 0;
        f->loose = 0;
        f->watch = 0;
    }
    free(fixed);
}

/* Releases every sentence in pend[0..end), end being a boundary. */
static void release_sentences(struct filter *f, size_t end)
{
    size_t at = 0;
    while (at < end) {
        size_t e = text_sentence_end(f->pend.s, end, at);
        if (e == 0 || e > end) e = end;
        release(f, f->pend.s + at, e - at, REL_COMPLETE);
        at = e;
    }
}

static void pend_shift(struct filter *f, size_t n)
{
    memmove(f->pend.s, f->pend.s + n, f->pend.len - n);
    f->pend.len -= n;
    f->pend.s[f->pend.len] = '\0';
}

/* The last index just past a blank where a long run may be cut: not inside
 * a [..] opened in the last 16 bytes, not right after a word with a digit.
 * 0 when there is none. */
static size_t word_cut(const char *s, size_t len)
{
    size_t best = 0, open_at = 0;
    int open = 0, digit = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '[') open = 1, open_at = i;
        else if (c == ']') open = 0;
        if (c == ' ' || c == '\t') {
            if (!(open && i - open_at < 16) && !digit && i > 0) best = i + 1;
            digit = 0;
        } else if (isdigit((unsigned char)c)) {
            digit = 1;
        }
    }
    return best;
}

static size_t last_end(const char *s, size_t len)
{
    size_t at = 0, e, last = 0;
    while ((e = text_sentence_end(s, len, at)) != 0) last = at = e;
    return last;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The length of a [n] marker starting at s (as parse_marker reads them),
 * -1 when s[0..len) may still become one, 0 when it cannot. */
static long marker_ahead(const char *s, size_t len)
{
    size_t i = 1, d, n = 0;
    for (;;) {
        if (n) {
            if (i >= len) return -1;
            if (s[i] != ',') return 0;
            for (i++; i < len && s[i] == ' '; i++) {}
        }
        for (d = 0; i + d < len && d < 4 && isdigit((unsigned char)s[i + d]); d++) {}
        if (i + d >= len) return d <= 3 ? -1 : 0;
        if (d == 0 || d > 3 || n == MARK_MAX_NUMS) return 0;
        n++;
        i += d;
        if (s[i] == ']') return (long)i + 1;
    }
}

/* 1 when the word w ends with a marker that keeps a number ("[1]" of two
 * sources), so nothing after it changes how it is shown. */
static int kept_marker_end(const struct filter *f, const char *w, size_t n)
{
    struct marker m;
    size_t at = n;
    while (at > 0 && w[at - 1] != '[') at--;
    if (at == 0 || !parse_marker(w + at - 1, n - at + 1, &m) || m.len != n - at + 1) return 0;
    for (size_t k = 0; k < m.nnum; k++)
        if (m.num[k] >= 1 && m.num[k] <= f->nsources) return 1;
    return 0;
}

/* 1 when the word s[0..n), first in its sentence, is a list number: "2.",
 * "10)", "**3.**". */
static int list_number(const char *s, size_t n)
{
    size_t i = 0, d = 0;
    while (i < n && s[i] == '*') i++;
    while (i < n && isdigit((unsigned char)s[i])) i++, d++;
    if (d == 0 || d > 2 || i >= n || (s[i] != '.' && s[i] != ')')) return 0;
    for (i++; i < n && s[i] == '*'; i++) {}
    return i == n;
}

/* 1 when the word w (markers blanked out) is, or with partial may become, a
 * number. */
static int word_number(struct filter *f, const char *w, size_t n, int partial)
{
    double v;
    if (f->r.number) return f->r.number(f->r.ctx, w, n, partial);
    return text_number(w, n, &v) || (partial && text_number_prefix(w, n));
}

static int terminated(const char *s, size_t n);

/* 1 when the fragment w, the last thing received, may still grow into a
 * number, a dose unit or a word of a continuation ("m" -> "mg", "ti" ->
 * "times"), so what it is cannot be known yet. */
static int may_grow(struct filter *f, const char *w, size_t n)
{
    if (n >= 64 || word_number(f, w, n, 1)) return 1;
    if (f->r.dose_unit && f->r.dose_unit(f->r.ctx, w, n, 1)) return 1;
    for (size_t i = 0; i < f->r.ncontinuations; i++) {
        const char *c = f->r.continuations[i];
        while (*c) {
            size_t cl = strcspn(c, " ");
            if (cl > n && strncasecmp(c, w, n) == 0) return 1;
            c += cl;
            c += strspn(c, " ");
        }
    }
    return 0;
}

/* 1 when w[0..n) has no letter or digit (a dash, a bullet). */
static int blank_word(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isalnum((unsigned char)w[i]) || (unsigned char)w[i] >= 0x80) return 0;
    return 1;
}

/* 1 when w, punctuation around it left out, is one of list[0..n). */
static int listed(const char *const *list, size_t n, const char *w, size_t len)
{
    while (len && ispunct((unsigned char)w[len - 1])) len--;
    while (len && ispunct((unsigned char)*w)) w++, len--;
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], w, len) == 0) return 1;
    return 0;
}

/* 1 when w is one of the policy's range words ("10 to 15 mg"). */
static int range_word(const struct filter *f, const char *w, size_t n)
{
    return listed(f->r.range_words, f->r.nrange_words, w, n);
}

/* What the unfinished sentence (its released head and pend[0..end)) is:
 * DOSE when it is held as it stands, MAYBE when one of the policy's
 * continuations after it would make it held, NO_DOSE when none would. */
enum { NO_DOSE, MAYBE, DOSE };

static int dose_ahead(struct filter *f, size_t end)
{
    size_t base;
    if (check_holds(f, f->pend.s, end)) return DOSE;
    base = f->scratch.len;
    for (size_t i = 0; i < f->r.ncontinuations; i++) {
        f->scratch.len = base;
        strbuf_add(&f->scratch, " ", 1);
        strbuf_str(&f->scratch, f->r.continuations[i]);
        if (f->r.hold(f->r.ctx, f->scratch.s, f->scratch.len)) return MAYBE;
    }
    return NO_DOSE;
}

/* 1 when the unfinished sentence (its released head and pend[0..end))
 * lacks only a medicine to be held, wherever the medicine stands: with the
 * policy's medicine continuation ("ibuprofen", a one-word continuation
 * that is no dose unit) before it, it is held ("every 3 hours"). Whatever
 * words come next, only a medicine can make it a dose. */
static int needs_only_medicine(struct filter *f, size_t end)
{
    for (size_t i = 0; i < f->r.ncontinuations; i++) {
        const char *c = f->r.continuations[i];
        if (strchr(c, ' ') || (f->r.dose_unit && f->r.dose_unit(f->r.ctx, c, strlen(c), 0)))
            continue;
        f->scratch.len = 0;
        strbuf_str(&f->scratch, c);
        strbuf_add(&f->scratch, " ", 1);
        if (f->ctx.len) strbuf_add(&f->scratch, f->ctx.s, f->ctx.len);
        strbuf_add(&f->scratch, f->pend.s, end);
        return f->r.hold(f->r.ctx, f->scratch.s, f->scratch.len) != 0;
    }
    return 0;
}

/* 1 when, after a released number, one of the policy's continuations
 * after pend[0..end) would make the sentence held and would not have after
 * the head before the number ("3 times" + "a day ibuprofen"; not "twice a
 * day for 2 minutes", held with "ibuprofen" as it was). */
static int run_ahead(struct filter *f, size_t end)
{
    for (size_t i = 0; i < f->r.ncontinuations; i++) {
        f->scratch.len = 0;
        if (f->ctx.len) strbuf_add(&f->scratch, f->ctx.s, f->ctx.len);
        strbuf_add(&f->scratch, f->pend.s, end);
        strbuf_add(&f->scratch, " ", 1);
        strbuf_str(&f->scratch, f->r.continuations[i]);
        if (!f->r.hold(f->r.ctx, f->scratch.s, f->scratch.len)) continue;
        f->scratch.len = 0;
        strbuf_add(&f->scratch, f->run.s ? f->run.s : "", f->run.len);
        strbuf_add(&f->scratch, " ", 1);
        strbuf_str(&f->scratch, f->r.continuations[i]);
        if (!f->r.hold(f->r.ctx, f->scratch.s, f->scratch.len)) return 1;
    }
    return 0;
}

/* The last word of the released head when pend goes on with it (no blank
 * between: "1" then "ml"), else 0. */
static size_t glued_tail(const struct filter *f, const char **w)
{
    size_t n = 0;
    if (f->ctx.len == 0 || f->pend.len == 0 || is_blank(f->pend.s[0])) return 0;
    while (n < f->ctx.len && !is_blank(f->ctx.s[f->ctx.len - 1 - n])) n++;
    *w = f->ctx.s + f->ctx.len - n;
    return n;
}

/* Where a number word's own text begins: after the markdown or bracket
 * marks before it ("**", "(", "_"). */
static size_t number_start(const char *w, size_t n)
{
    size_t i = 0;
    while (i < n && (w[i] == '*' || w[i] == '(' || w[i] == '_')) i++;
    return i;
}

/* The digits of a decimal number from w[*i] ("40", "2.5", "1,000": a '.'
 * or ',' only after a digit); advances *i past them and returns how many
 * bytes they took (0: none). */
static size_t decimal_digits(const char *w, size_t n, size_t *i)
{
    size_t d = 0;
    while (*i < n && (isdigit((unsigned char)w[*i]) || ((w[*i] == '.' || w[*i] == ',') && d)))
        (*i)++, d++;
    return d;
}

/* 1 when the word w (a number, as a whole) is a clock time: "7:30",
 * "**7:00**", "7:" — never an amount. */
static int clock_time(const char *w, size_t n)
{
    size_t i = number_start(w, n), d = 0;
    while (i < n && isdigit((unsigned char)w[i])) i++, d++;
    return d >= 1 && d <= 2 && i < n && w[i] == ':' && (i + 1 == n || isdigit((unsigned char)w[i + 1]));
}

/* 1 when the word w (a number, as a whole) is an amount of money ("£5",
 * "$10", "€2.50") or an ordinal ("1st", "20th", "3rd"): never an amount of
 * medicine, whatever came before it. */
static int money_or_ordinal(const char *w, size_t n)
{
    size_t i = number_start(w, n), d = 0;
    if (i < n && w[i] == '$') return 1;
    if (n - i >= 2 && (unsigned char)w[i] == 0xC2 && ((unsigned char)w[i + 1] == 0xA3 ||
                                                      (unsigned char)w[i + 1] == 0xA5))
        return 1;                                    /* £ ¥ */
    if (n - i >= 3 && memcmp(w + i, "\xE2\x82\xAC", 3) == 0) return 1;   /* € */
    while (i < n && isdigit((unsigned char)w[i])) i++, d++;
    if (d == 0 || n - i < 2) return 0;
    if (strncasecmp(w + i, "st", 2) && strncasecmp(w + i, "nd", 2) && strncasecmp(w + i, "rd", 2) &&
        strncasecmp(w + i, "th", 2))
        return 0;
    for (i += 2; i < n; i++)
        if (isalnum((unsigned char)w[i])) return 0;
    return 1;
}

/* 1 when the word w (a number, as a whole) is a share: "40%", "**5%**". */
static int percent(const char *w, size_t n)
{
    size_t i = number_start(w, n);
    if (decimal_digits(w, n, &i) == 0 || i >= n || w[i] != '%') return 0;
    for (i++; i < n; i++)
        if (isalnum((unsigned char)w[i]) || (unsigned char)w[i] >= 0x80) return 0;
    return 1;
}

/* 1 when the word w (a number, as a whole or in part) joins a number to a
 * word that counts it: "3-year-old", "5-minute", "10-min" (the policy's
 * not_dose_words, never a dose unit or, while it may grow, the beginning
 * of one). Not a frequency word: "a 12-hour dose" may be one, as "every 2
 * hours" may be. */
static int count_compound(const struct filter *f, const char *w, size_t n, int partial)
{
    size_t i = number_start(w, n), ls;
    if (decimal_digits(w, n, &i) == 0 || i >= n || w[i] != '-') return 0;
    for (ls = ++i; i < n && isalpha((unsigned char)w[i]); i++) {}
    if (i == ls || !listed(f->r.not_dose_words, f->r.nnot_dose_words, w + ls, i - ls) ||
        listed(f->r.words.frequency_words, f->r.words.nfrequency_words, w + ls, i - ls))
        return 0;
    if (f->r.dose_unit && f->r.dose_unit(f->r.ctx, w + ls, i - ls, partial && i == n)) return 0;
    return 1;
}

/* 1 when the word w (a number, as a whole or, with partial, in part) can
 * be no amount of medicine, whatever came before it: a clock time, money,
 * an ordinal, a share, a count compound. No continuation makes it one. */
static int no_amount(const struct filter *f, const char *w, size_t n, int partial)
{
    return clock_time(w, n) || money_or_ordinal(w, n) || percent(w, n) ||
           count_compound(f, w, n, partial);
}

/* 1 when the word w (a number) ends its phrase: a closing mark after it
 * ("1.", "2)", "(10–11):**", "2023,"), so nothing after it reads with it. */
static int closed_number(const char *w, size_t n)
{
    while (n && (w[n - 1] == '*' || w[n - 1] == '_')) n--;
    return n > 1 && strchr(".):;,", w[n - 1]) != NULL;
}

/* 1 when what comes before a number may make it an amount: the sentence
 * so far (the released head but its last glue bytes, then pend[0..end))
 * has no letter or digit yet, or names a medicine, or has a word of
 * amount_cues, or one of amount_cues_near among its last FILTER_CUE_NEAR
 * words, or ends with a word of amount_cues_before; 0 when it has none,
 * or it ends with one of not_amount_after and names no medicine. Always 1
 * without amount_cues. */
static int amount_cue(struct filter *f, size_t glue, size_t end)
{
    const char *s;
    size_t n, i, st, words = 0, last = 0, last_n = 0, prev = 0, prev_n = 0;
    int cue = 0, any = 0;

    if (!f->r.words.amount_cues) return 1;
    f->scratch.len = 0;
    strbuf_add(&f->scratch, f->ctx.s ? f->ctx.s : "", f->ctx.len - glue);
    strbuf_add(&f->scratch, f->pend.s, end);
    n = f->scratch.len;
    strbuf_str(&f->scratch, " 5 ml");            /* held only with a medicine */
    if (f->r.hold(f->r.ctx, f->scratch.s, f->scratch.len)) return 1;
    s = f->scratch.s;
    /* the words from the last one back */
    for (i = n; i > 0 && !cue; ) {
        while (i > 0 && is_blank(s[i - 1])) i--;
        for (st = i; st > 0 && !is_blank(s[st - 1]); st--) {}
        if (st == i) break;
        for (size_t k = st; k < i; k++) any |= isalnum((unsigned char)s[k]);
        if (words == 0) last = st, last_n = i - st;
        if (words == 1) prev = st, prev_n = i - st;
        words++;
        cue = listed(f->r.words.amount_cues, f->r.words.namount_cues, s + st, i - st) ||
              (words <= FILTER_CUE_NEAR &&
               listed(f->r.words.amount_cues_near, f->r.words.namount_cues_near, s + st, i - st));
        i = st;
    }
    for (; i > 0 && !any; i--) any |= isalnum((unsigned char)s[i - 1]);
    if (!any) return 1;                          /* its first word */
    if (listed(f->r.words.not_amount_after, f->r.words.nnot_amount_after, s + last, last_n)) return 0;
    if (cue) return 1;
    /* "for a 5 year old": a cue right before it after one of
     * not_amount_after is none ("take a 5 ml" still is) */
    if (prev_n && listed(f->r.words.not_amount_after, f->r.words.nnot_amount_after, s + prev, prev_n)) return 0;
    return listed(f->r.words.amount_cues_before, f->r.words.namount_cues_before, s + last, last_n);
}

/* 1 when the word w (markers blanked out), a number as a whole or in
 * part, is digits with ASCII punctuation or dashes only ("1.", "10)",
 * "**0–", "2023") and begins a line: the sentence began one and has no
 * letter or digit before it (the released head but its last glue bytes,
 * then pend[0..end)). A list number or a heading's range; like a number
 * nothing makes an amount it goes out at once and the words after it are
 * checked, so a held sentence shows a number at most ("5 … "). Always 0
 * without amount_cues, as every number then waits. */
static int line_number(const struct filter *f, const char *w, size_t n, size_t glue, size_t end)
{
    int digit = 0;
    if (!f->r.words.amount_cues) return 0;
    for (size_t i = 0; i < n; ) {
        unsigned char c = (unsigned char)w[i];
        if (isdigit(c)) {
            digit = 1;
            i++;
        } else if (c < 0x80 && (ispunct(c) || c == ' ')) {
            i++;
        } else if (n - i >= 3 && c == 0xE2 && (unsigned char)w[i + 1] == 0x80 &&
                   ((unsigned char)w[i + 2] == 0x93 || (unsigned char)w[i + 2] == 0x94)) {
            i += 3;                                  /* – — */
        } else {
            return 0;
        }
    }
    if (!digit || !(f->ctx.len ? f->line_head : f->released == 0 || f->last == '\n')) return 0;
    for (size_t i = 0; i < f->ctx.len - glue; i++)
        if (isalnum((unsigned char)f->ctx.s[i]) || (unsigned char)f->ctx.s[i] >= 0x80) return 0;
    for (size_t i = 0; i < end; i++)
        if (isalnum((unsigned char)f->pend.s[i]) || (unsigned char)f->pend.s[i] >= 0x80) return 0;
    return 1;
}

/* 1 when the word w counts the number before it and is no frequency
 * ("20–30 minutes", "2 weeks"; not "3 times", "2 hours"): what it counts
 * cannot be a dose, so only a later word could make one (the watch). */
static int counts_only(const struct filter *f, const char *w, size_t n)
{
    return f->r.words.frequency_words && listed(f->r.not_dose_words, f->r.nnot_dose_words, w, n) &&
           !listed(f->r.words.frequency_words, f->r.words.nfrequency_words, w, n);
}

/* 1 when the word before pend[end] (in pend, or the released head but its
 * last glue bytes) is an amount cue of any kind ("Try", "give", "a"), so a
 * number word growing there would be read as an amount. */
static int cue_before(struct filter *f, size_t glue, size_t end)
{
    size_t i, st;
    f->scratch.len = 0;
    strbuf_add(&f->scratch, f->ctx.s ? f->ctx.s : "", f->ctx.len - glue);
    strbuf_add(&f->scratch, f->pend.s, end);
    for (i = f->scratch.len; i > 0 && is_blank(f->scratch.s[i - 1]); i--) {}
    for (st = i; st > 0 && !is_blank(f->scratch.s[st - 1]); st--) {}
    if (st == i) return 1;                       /* its first word */
    return listed(f->r.words.amount_cues, f->r.words.namount_cues, f->scratch.s + st, i - st) ||
           listed(f->r.words.amount_cues_near, f->r.words.namount_cues_near, f->scratch.s + st, i - st) ||
           listed(f->r.words.amount_cues_before, f->r.words.namount_cues_before, f->scratch.s + st, i - st);
}

/* 1 when the words from a released number through pend[ws..end) complete
 * a dose: the sentence so far is held, or the last word is a dose unit, or
 * a digit is followed by one ("1" then "ml"). */
static int completes_dose(struct filter *f, size_t ws, size_t end)
{
    const char *w = f->pend.s + ws;
    size_t n = end - ws, from;
    while (n && ispunct((unsigned char)w[n - 1])) n--;
    while (n && ispunct((unsigned char)*w)) w++, n--;
    if (f->r.dose_unit && n && f->r.dose_unit(f->r.ctx, w, n, 0)) return 1;
    if (check_holds(f, f->pend.s, end)) return 1;
    f->scratch.len = 0;
    from = f->ctx.len > 32 ? f->ctx.len - 32 : 0;
    strbuf_add(&f->scratch, f->ctx.s ? f->ctx.s + from : "", f->ctx.len - from);
    strbuf_add(&f->scratch, f->pend.s, end);
    return filter_has_dose(&f->r, f->scratch.s, f->scratch.len);
}

/* Releases the unfinished sentence in pend word by word: a word is
 * released with the blanks before it, and a final fragment only when it
 * cannot grow into a number or a marker. A number that what came before
 * cannot make an amount (amount_cue) goes out at once, and so do the
 * words after it, up to one that completes a dose (completes_dose): from
 * there the sentence waits for its end. At any other number the words
 * wait while they could still become a dose and go out together as soon
 * as they cannot (dose_ahead); once the sentence reads as a dose the rest
 * waits for its end. Without a hold callback only unfinished markers
 * wait. */
static void release_words(struct filter *f)
{
    const char *p = f->pend.s;
    size_t len = f->pend.len, at = 0, cut = 0;
    int waiting = 0;                             /* from a number on */
    unsigned after = 0;                          /* words since it */
    unsigned maybe = 0;                          /* ... that may make a dose */
    int bounded = 0;                             /* the wait has a bound */
    int loose = f->loose, loose_cut = f->loose;  /* after a released number */

    if (f->dose_wait) return;
    while (at < len) {
        size_t ws = at, we;
        int first, d;
        while (ws < len && is_blank(p[ws])) ws++;
        if (ws == len) break;                    /* blanks go with the next word */
        first = at == 0 && f->ctx.len == 0;      /* the sentence's first word */
        /* the word, markers included: a [n] may hold a blank ("[1, 2]") */
        we = ws;
        while (we < len && !is_blank(p[we])) {
            if (p[we] == '[') {
                long m = marker_ahead(p + we, len - we);
                if (m < 0) goto done;                /* "[1" may still close */
                if (m > 0) { we += (size_t)m; continue; }
            }
            we++;
        }
        /* "[9]" as the last thing: a "[1]" right after it decides whether
         * the blank before it goes when it is dropped (a kept one goes) */
        if (we == len && p[we - 1] == ']' && !kept_marker_end(f, p + ws, we - ws)) break;
        /* a word that is no number but has one with a unit in it
         * ("[28g", "(5mg") reads as a dose: the rest waits for its end
         * (fuzz/fuzz_filter.c found "5 [28g" shown before the referral) */
        if (f->r.hold && filter_has_dose(&f->r, p + ws, we - ws)) {
            f->dose_wait = 1;
            break;
        }
        if (!waiting && f->r.hold && !(first && list_number(p + ws, we - ws))) {
            char word[64];
            size_t wn = 0, glue = 0, i;
            const char *g = NULL;
            int partial = we == len, num, blank = 1;   /* blank: no letter, digit */
            after = 0;
            if (loose == 2 && ws > at)
                loose = 0;                       /* the fragment was a word */
            if (ws == 0) glue = glued_tail(f, &g);   /* "for" then "ty" */
            if (glue >= sizeof word) break;
            for (i = 0; i < glue; ) {
                long m = g[i] == '[' ? marker_ahead(g + i, glue - i) : 0;
                if (m > 0) { word[wn++] = ' '; i += (size_t)m; continue; }
                word[wn++] = g[i++];
            }
            for (i = ws; i < we && wn < sizeof word; ) {
                long m = p[i] == '[' ? marker_ahead(p + i, we - i) : 0;
                if (m > 0) { word[wn++] = ' '; i += (size_t)m; continue; }
                if (isalnum((unsigned char)p[i]) || (unsigned char)p[i] >= 0x80) blank = 0;
                word[wn++] = p[i++];
            }
            /* a word too long to copy is not read for a number: wait */
            if (wn == sizeof word) break;
            num = word_number(f, word, wn, 0);
            if ((num || (!loose && word_number(f, word, wn, partial))) &&
                ((num && (no_amount(f, word, wn, partial) || (loose && f->range_open))) ||
                 line_number(f, word, wn, glue, ws) || !amount_cue(f, glue, ws))) {
                /* no amount can be meant: out now, unless it is one */
                /* "5" then "ml5": a unit before it counts too */
                if (num && (filter_has_dose(&f->r, word, wn) || completes_dose(f, ws, we))) {
                    f->dose_wait = 1;
                    break;
                }
                if (num && !loose) {             /* the head before the run */
                    f->run.len = 0;
                    strbuf_add(&f->run, f->ctx.s ? f->ctx.s : "", f->ctx.len - glue);
                    strbuf_add(&f->run, p, ws);
                }
                /* "1)" starting a line is a list number: the run ends */
                if (num) {
                    loose = 1;
                    f->share = no_amount(f, word, wn, partial) || closed_number(word, wn);
                    f->range_open = 0;
                }
                cut = at = we;
                loose_cut = loose;
                continue;
            }
            /* after a wait that ended at its bound, a word that makes
             * the sentence held starts the wait for its end */
            if (f->watch && !num && !blank && check_holds(f, f->pend.s, we)) {
                f->dose_wait = 1;
                break;
            }
            if (loose && !num) {
                /* after a released number: a marker or "to" keeps the run
                 * open; a word goes out unless it completes a dose, or one
                 * of the policy's continuations after it would (then it
                 * waits as after any number), or it is a fragment that may
                 * grow into a unit; a fragment that went out keeps the run
                 * open, so "su" then "ppository" is read as one word */
                if (!blank) f->range_open = range_word(f, p + ws, we - ws);
                if (!blank && !f->range_open) {
                    if (partial && f->r.dose_unit && f->r.dose_unit(f->r.ctx, p + ws, we - ws, 1))
                        break;
                    loose = partial ? 2 : 0;
                    if (completes_dose(f, ws, we)) {
                        f->dose_wait = 1;
                        break;
                    }
                    if (!money_or_ordinal(p + ws, we - ws) && run_ahead(f, we)) {
                        /* after money, a share, a count or a closed
                         * phrase ("40% of"), "20–30 minutes", "every 3
                         * hours": only a later word could make a dose (a
                         * medicine, wherever it stands), and each is
                         * checked from here ("40% of parents say:
                         * Melatonin") */
                        if (f->share || counts_only(f, p + ws, we - ws) || needs_only_medicine(f, we)) {
                            f->watch = 1;
                        } else {
                            waiting = 1;
                            after = 1;
                            /* "3 times": a count, bounded; "2 sprays": not */
                            bounded = f->r.words.frequency_words &&
                                      listed(f->r.not_dose_words, f->r.nnot_dose_words, p + ws, we - ws);
                            maybe = (unsigned)bounded;
                            at = we;
                            continue;
                        }
                    }
                }
                cut = at = we;
                loose_cut = loose;
                continue;
            }
            if (word_number(f, word, wn, partial)) {
                /* "For" may become "Four", but is a word of its own
                 * (prefix_words), first in its sentence or after a word
                 * that is no amount cue ("a week for"; not "Try on"): it
                 * shows no amount, and the rest ("ty") is read with it
                 * as one word (glued_tail) */
                if (partial && (first || !cue_before(f, glue, ws)) &&
                    listed(f->r.words.prefix_words, f->r.words.nprefix_words, word, wn)) {
                    cut = at = we;
                    loose_cut = loose;
                    continue;
                }
                if (partial) break;              /* "5" may become "50" or "5ml" */
                waiting = 1;
                loose = 0;
            }
        }
        if (waiting) {
            /* a fragment that may grow into a unit ("m" -> "mg") waits */
            if (we == len && may_grow(f, p + ws, we - ws)) break;
            /* "10 to": a range; the number after it decides */
            d = range_word(f, p + ws, we - ws) ? MAYBE : dose_ahead(f, we);
            /* "one chewable tablet": a unit a word or two after the number
             * makes an amount; "3 years" cannot be one, nor can a phrase
             * that ended ("one starts,") */
            if (d != DOSE && f->r.dose_unit && f->r.dose_unit(f->r.ctx, p + ws, we - ws, 0))
                d = DOSE;
            else if (d == NO_DOSE && ++after <= f->r.window && !ispunct((unsigned char)p[we - 1]) &&
                     !listed(f->r.not_dose_words, f->r.nnot_dose_words, p + ws, we - ws))
                d = MAYBE;
            if (d == DOSE) {
                f->dose_wait = 1;
                break;
            }
            /* the next few words could still make it a dose, no more:
             * after FILTER_MAYBE_WORDS words that only may ("every 2 hours
             * and after swimming"), or at a word that counts the number
             * ("5% of children"), it goes out, and from there only what
             * would newly make a dose waits (the run starts here) */
            if (d == MAYBE && f->r.words.frequency_words && !blank_word(p + ws, we - ws) &&
                !range_word(f, p + ws, we - ws) && !word_number(f, p + ws, we - ws, 0)) {
                int counted = listed(f->r.not_dose_words, f->r.nnot_dose_words, p + ws, we - ws);
                if (counted) bounded = 1;
                if (counted && !listed(f->r.words.frequency_words, f->r.words.nfrequency_words, p + ws, we - ws))
                    maybe = FILTER_MAYBE_WORDS;
                else if (bounded && needs_only_medicine(f, we))
                    maybe = FILTER_MAYBE_WORDS;  /* "every 3 hours": the watch finds it */
                else if (bounded)
                    maybe++;
            }
            if (d == MAYBE && maybe >= FILTER_MAYBE_WORDS && filter_has_dose(&f->r, p + cut, we - cut)) {
                f->dose_wait = 1;                /* "4 times a day, 5ml of": a dose */
                break;
            }
            if (d == MAYBE && maybe >= FILTER_MAYBE_WORDS) {
                f->run.len = 0;
                strbuf_add(&f->run, f->ctx.s ? f->ctx.s : "", f->ctx.len);
                strbuf_add(&f->run, p, we);
                f->watch = 1;
                loose = 1;
                f->share = 0;
                f->range_open = 0;
                waiting = 0;
                maybe = 0;
                bounded = 0;
                cut = at = we;
                loose_cut = loose;
                continue;
            }
            at = we;
            if (d == MAYBE) continue;            /* cut stays before the number */
            waiting = 0;
            maybe = 0;
            bounded = 0;
        }
        cut = at = we;
        loose_cut = loose;
    }
done:
    if (cut == 0) return;
    release(f, p, cut, REL_UNCHECKED);
    f->loose = loose_cut;
    f->open_end = cut == len && terminated(p, cut);
    pend_shift(f, cut);
}

/* A sentence all shown (its words had no amount) still gets its check: a
 * hold rule that needs no number ("mg per kg", "twice daily" with a
 * medicine) adds the referral after it. Then the head is forgotten, as
 * after a complete sentence. */
static void check_shown_sentence(struct filter *f)
{
    if (f->ctx.len && f->r.hold && !f->ctx_held && check_holds(f, "", 0)) {
        f->held++;
        if (!f->referral_sent && *f->referral) {
            out_add(f, " ", 1);
            out_add(f, f->referral, strlen(f->referral));
            f->referral_sent = 1;
        }
    }
    f->ctx.len = 0;
    f->ctx_held = 0;
    f->dose_wait = 0;
    f->loose = 0;
    f->watch = 0;
}

/* After a head that ended "...days.", a blank ends its sentence unless the
 * '.' was not an end ("e.g."). The sentence, all shown, still gets its
 * check: its words had no number, so nothing is left to hide, but a hold
 * rule that needs none ("mg per kg") adds the referral after it. Then the
 * head is forgotten, as after a complete sentence. */
static void close_open_end(struct filter *f)
{
    size_t from;
    if (!f->open_end || f->pend.len == 0) return;
    f->open_end = 0;
    if (!is_blank(f->pend.s[0]) || f->ctx.len == 0) return;
    f->scratch.len = 0;
    from = f->ctx.len > 64 ? f->ctx.len - 64 : 0;
    strbuf_add(&f->scratch, f->ctx.s + from, f->ctx.len - from);
    strbuf_add(&f->scratch, " ", 1);
    if (text_sentence_end(f->scratch.s, f->scratch.len, 0) != f->scratch.len) return;
    check_shown_sentence(f);
}

/* A thinking model served without a reasoning parser (Ollama and llama.cpp
 * with some templates) writes its thoughts into the content as a leading
 * "<think>...</think>". That block is never shown. */
enum { THINK_UNDECIDED, THINK_INSIDE, THINK_AFTER, THINK_TEXT };
#define THINK_OPEN "<think>"
#define THINK_CLOSE "</think>"

/* Takes new text while the answer may still start with, or is inside, a
 * think block; what is answer text goes to pend. */
static void think_feed(struct filter *f, const char *s, size_t len)
{
    size_t i = 0, rest, cl = strlen(THINK_CLOSE);
    const char *c;

    if (f->think == THINK_AFTER) {        /* the blanks after </think> go too */
        while (len && is_blank(*s)) s++, len--;
        if (len) {
            f->think = THINK_TEXT;
            strbuf_add(&f->pend, s, len);
        }
        return;
    }
    if (f->think == THINK_UNDECIDED) {
        if (len) strbuf_add(&f->pend, s, len);
        while (i < f->pend.len && is_blank(f->pend.s[i])) i++;
        rest = f->pend.len - i;
        if (rest == 0) return;
        if (rest < strlen(THINK_OPEN)) {
            if (memcmp(f->pend.s + i, THINK_OPEN, rest) != 0) f->think = THINK_TEXT;
            return;
        }
        if (memcmp(f->pend.s + i, THINK_OPEN, strlen(THINK_OPEN)) != 0) {
            f->think = THINK_TEXT;
            return;
        }
        f->think = THINK_INSIDE;
        f->thought.len = 0;
        strbuf_add(&f->thought, f->pend.s + i + strlen(THINK_OPEN), rest - strlen(THINK_OPEN));
        f->pend.len = 0;
    } else if (len) {
        strbuf_add(&f->thought, s, len);
    }
    c = memmem(f->thought.s, f->thought.len, THINK_CLOSE, cl);
    if (!c) {                              /* keep what may begin </think> */
        size_t keep = f->thought.len < cl ? f->thought.len : cl - 1;
        memmove(f->thought.s, f->thought.s + f->thought.len - keep, keep);
        f->thought.len = keep;
        return;
    }
    i = (size_t)(c - f->thought.s) + cl;
    f->think = THINK_AFTER;
    f->pend.len = 0;
    think_feed(f, f->thought.s + i, f->thought.len - i);
    f->thought.len = 0;
}

static void flush(struct filter *f)
{
    if (f->out.len && f->emit) f->emit(f->emit_ctx, f->out.s, f->out.len);
    f->out.len = 0;
}

void filter_feed(struct filter *f, const char *s, size_t len)
{
    size_t end, cut;
    if (f->think != THINK_TEXT) {
        think_feed(f, s, len);
        if (f->think != THINK_TEXT) return;   /* nothing to show yet */
    } else if (len) {
        strbuf_add(&f->pend, s, len);
    }
    close_open_end(f);
    while (f->pend.len) {
        end = last_end(f->pend.s, f->pend.len);
        if (end) {
            release_sentences(f, end);
            pend_shift(f, end);
            continue;
        }
        release_words(f);
        if (f->pend.len <= FILTER_LONG_RUN) break;
        if (filter_has_dose(&f->r, f->pend.s, f->pend.len)) {
            if (f->pend.len < FILTER_HARD_CAP) break;
            release(f, f->pend.s, f->pend.len, REL_COMPLETE);   /* checked whole */
            f->pend.len = 0;
            break;
        }
        cut = word_cut(f->pend.s, f->pend.len);
        if (cut == 0) {
            if (f->pend.len < FILTER_HARD_CAP) break;
            cut = f->pend.len;     /* no blank at all: the whole run (whole UTF-8) */
        }
        release(f, f->pend.s, cut, 0);
        pend_shift(f, cut);
        f->dose_wait = 0;              /* a long run is cut as it stands */
        f->loose = 0;
        f->watch = 0;
    }
    flush(f);
}

/* 1 when s ends (before blanks and closing marks) with a sentence
 * terminator; a final "[1]" is a marker, not a closing mark. */
static int terminated(const char *s, size_t n)
{
    while (n && isspace((unsigned char)s[n - 1])) n--;
    for (;;) {
        if (n && s[n - 1] && strchr(")\"'*_", s[n - 1])) n--;
        else if (n >= 3 && (unsigned char)s[n - 3] == 0xE2 && (unsigned char)s[n - 2] == 0x80 &&
                 ((unsigned char)s[n - 1] == 0x99 || (unsigned char)s[n - 1] == 0x9D)) n -= 3;
        else break;
    }
    if (n && s[n - 1] && strchr(".!?", s[n - 1])) return 1;
    return n >= 3 && ((unsigned char)s[n - 3] == 0xE3 || (unsigned char)s[n - 3] == 0xEF) &&
           text_sentence_end(s + n - 3, 3, 0) == 3;
}

void filter_finish(struct filter *f)
{
    if (f->think == THINK_INSIDE) f->pend.len = 0;   /* only thoughts came */
    f->think = THINK_TEXT;                           /* "<thi" at the end is text */
    filter_feed(f, NULL, 0);
    if (f->pend.len) {
        release(f, f->pend.s, f->pend.len,
                REL_COMPLETE | (f->r.hold && !terminated(f->pend.s, f->pend.len) &&
                                filter_has_dose(&f->r, f->pend.s, f->pend.len) ? REL_HOLD : 0));
        f->pend.len = 0;
    } else {
        check_shown_sentence(f);          /* the last sentence, all shown */
    }
    flush(f);
}

