/* relay.c — the openai engine's pure policy, kept apart from the sockets so
 * it can be table-tested: what the model is sent (request body, numbered
 * passages, a history trimmed to a budget) and what the parent is shown
 * (the look-behind filter).
 *
 * The filter is the one place model text is delayed, and only from a
 * sentence's first number on. A parent sees the answer word by word: each
 * delta goes out at once up to its last whole word, and a trailing fragment
 * too unless it could still grow into a number word ("tw") or is an
 * unfinished [n] marker. A dose needs an amount, so from the sentence's first
 * number (digits or a number word, as the safety policy reads them; not a
 * "2." list number starting a sentence) the rest waits for its end.
 * Every complete sentence — the released head kept in ctx plus the waiting
 * rest — then passes the dose check (safety_output_hold through the hold
 * callback); a held sentence loses everything not yet shown, which is
 * replaced by "… " and the referral line, once per answer. Out-of-range [n]
 * markers are removed before anything is released, and the numbers of
 * released markers are the answer's citations. A waiting run may not end
 * for a long time (a list without full stops, a language without blanks):
 * after RELAY_LONG_RUN bytes it is released at a word boundary — never right
 * after a word with a digit, never inside a [..] marker — unless it has a
 * digit followed by a dose unit; then it waits for its end, up to
 * RELAY_HARD_CAP bytes, and is checked whole. The released head of an
 * unfinished sentence is kept (RELAY_CTX_MAX bytes) for that check. */
#include "relay.h"
#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"


/* ---------- request ---------- */

char *relay_passages_text(const struct kb_hit *hits, size_t n, int age_months)
{
    struct strbuf b = {0};
    char num[64];

    if (n == 0) {
        strbuf_str(&b, "No vetted passage matched this question. Say that you do not have "
                    "vetted guidance on it, do not cite anything, and suggest the child's "
                    "doctor or health visitor when it concerns health.");
    } else {
        strbuf_str(&b, "Vetted passages for this question. Use only these, and cite them "
                    "by number as [n]:\n");
    }
    for (size_t i = 0; i < n; i++) {
        const struct kb_passage *p = hits[i].p;
        snprintf(num, sizeof num, "\n[%zu] ", i + 1);
        strbuf_str(&b, num);
        strbuf_str(&b, p->title);
        strbuf_str(&b, " (source: ");
        strbuf_str(&b, p->source ? p->source : p->source_short);
        strbuf_str(&b, ")\n");
        strbuf_str(&b, p->body);
        strbuf_str(&b, "\n");
        if (p->nsteps) strbuf_str(&b, "Steps:\n");
        for (size_t k = 0; k < p->nsteps; k++) {
            strbuf_str(&b, "- ");
            strbuf_str(&b, p->steps[k]);
            strbuf_str(&b, "\n");
        }
        if (p->help) {
            strbuf_str(&b, "When to get help: ");
            strbuf_str(&b, p->help);
            strbuf_str(&b, "\n");
        }
    }
    if (age_months >= 0) {
        snprintf(num, sizeof num, "\nThe child's age, from the question: %d month%s.",
                 age_months, age_months == 1 ? "" : "s");
        strbuf_str(&b, num);
    }
    return b.s;
}

json_t *relay_request_json(const struct relay_request *r)
{
    json_t *msgs = json_array(), *m;
    char *passages = relay_passages_text(r->hits, r->nhits, r->age_months);
    struct strbuf sys = {0};
    size_t i;

    /* One system message: several chat templates (some Mistral and Gemma
     * templates under llama.cpp's --jinja, for example) refuse a second. */
    if (r->system_prompt && *r->system_prompt) {
        size_t n = strlen(r->system_prompt);
        while (n && (r->system_prompt[n - 1] == '\n' || r->system_prompt[n - 1] == ' ')) n--;
        strbuf_add(&sys, r->system_prompt, n);
        strbuf_str(&sys, "\n\n");
    }
    strbuf_str(&sys, passages);
    free(passages);
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", sys.s));
    free(sys.s);
    json_array_foreach(r->history, i, m) json_array_append(msgs, m);
    json_array_append_new(msgs, json_pack("{s:s, s:s%}", "role", "user", "content",
                                          r->question, r->question_len));
    json_t *req = json_pack("{s:s, s:b, s:{s:b}, s:i, s:f, s:o}", "model", r->model, "stream", 1,
                            "stream_options", "include_usage", 1, "max_tokens", r->max_tokens,
                            "temperature", r->temperature, "messages", msgs);
    relay_request_compat(req, r->compat);
    return req;
}

void relay_request_compat(json_t *req, int compat)
{
    json_t *max = json_object_get(req, "max_tokens");
    if ((compat & RELAY_COMPAT_MAX_COMPLETION_TOKENS) && max) {
        json_object_set(req, "max_completion_tokens", max);
        json_object_del(req, "max_tokens");
    }
    if (compat & RELAY_COMPAT_NO_TEMPERATURE) json_object_del(req, "temperature");
}

int relay_upstream_error(const char *body, size_t len, char *kind, size_t cap)
{
    json_t *root = json_loadb(body, len, 0, NULL), *e = json_object_get(root, "error");
    const char *param = json_string_value(json_object_get(e, "param"));
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *k = json_string_value(json_object_get(e, "type"));
    int bit = 0;
    if (!k) k = code;
    kind[0] = '\0';
    if (k && *k && strlen(k) < cap && strspn(k, "abcdefghijklmnopqrstuvwxyz"
                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(k))
        snprintf(kind, cap, "%s", k);
    if (param && code && strncmp(code, "unsupported_", 12) == 0) {
        if (strcmp(param, "max_tokens") == 0) bit = RELAY_COMPAT_MAX_COMPLETION_TOKENS;
        else if (strcmp(param, "temperature") == 0) bit = RELAY_COMPAT_NO_TEMPERATURE;
    }
    json_decref(root);
    return bit;
}

json_t *relay_history_trim(const json_t *history, size_t max_chars)
{
    size_t n = json_array_size(history), start = n, total = 0;
    json_t *out = json_array();

    /* newest first until the budget is spent */
    while (start > 0) {
        json_t *c = json_object_get(json_array_get(history, start - 1), "content");
        size_t len = json_is_string(c) ? json_string_length(c) : 0;
        if (total + len > max_chars) break;
        total += len;
        start--;
    }
    for (size_t i = start; i < n; i++) {
        json_t *m = json_array_get(history, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        json_t *c = json_object_get(m, "content");
        if (!role || !json_is_string(c)) continue;
        if (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0) continue;
        if (json_array_size(out) == 0 && strcmp(role, "user") != 0) continue;
        if (strcmp(role, "assistant") == 0) {
            size_t len = json_string_length(c);
            char *fixed = xmalloc(len + 1);
            len = relay_fix_markers(json_string_value(c), len, 0, fixed, NULL);
            json_array_append_new(out, json_pack("{s:s, s:s%}", "role", role, "content",
                                                 fixed, len));
            free(fixed);
        } else {
            json_array_append_new(out, json_pack("{s:s, s:O}", "role", role, "content", c));
        }
    }
    return out;
}

int relay_prompt_split(const char *text, char *version, size_t vlen, const char **body)
{
    const char *p = text, *eol, *v;
    size_t n;

    snprintf(version, vlen, "unversioned");
    *body = text;
    if (strncasecmp(p, "version:", 8) != 0) return 0;
    eol = strchr(p, '\n');
    if (!eol) eol = p + strlen(p);
    v = p + 8;
    while (v < eol && (*v == ' ' || *v == '\t')) v++;
    n = (size_t)(eol - v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r')) n--;
    if (n == 0) return 0;
    if (n >= vlen) n = vlen - 1;
    memcpy(version, v, n);
    version[n] = '\0';
    *body = *eol ? eol + 1 : eol;
    while (**body == '\n' || **body == '\r') (*body)++;
    return 1;
}

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

    if (nsources > RELAY_MAX_SOURCES) nsources = RELAY_MAX_SOURCES;
    while (i < len) {
        if (in[i] != '[' || !parse_marker(in + i, len - i, &m)) {
            out[o++] = in[i++];
            continue;
        }
        size_t kept = 0, end = i + m.len;
        uint64_t seen = 0;
        for (size_t k = 0; k < m.nnum; k++) {
            unsigned v = m.num[k];
            if (v < 1 || v > nsources || (seen & RELAY_BIT(v))) continue;
            seen |= RELAY_BIT(v);
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

size_t relay_fix_markers(const char *in, size_t len, size_t nsources, char *out,
                         uint64_t *cited)
{
    return fix_markers(in, len, nsources, out, cited, 1);
}

/* ---------- sentences ---------- */

size_t relay_sentence_end(const char *s, size_t len, size_t from)
{
    return text_sentence_end(s, len, from);
}

static const char *const dose_units[] = {
    "ml", "millilitre", "milliliter", "mg", "milligram", "mcg", "\xC2\xB5g", "\xCE\xBCg",
    "microgram", "g", "gram", "tsp", "teaspoon", "tbsp", "tablespoon", "spoon", "spoonful",
    "tablet", "pill", "capsule", "drop", "cc", "iu", "unit", "puff", "dose", "sachet",
};

static int is_dose_unit(const char *w, size_t n)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t u = 0; u < sizeof dose_units / sizeof dose_units[0]; u++)
            if (strlen(dose_units[u]) == n && strncasecmp(w, dose_units[u], n) == 0) return 1;
        if (n < 2 || (w[n - 1] != 's' && w[n - 1] != 'S')) break;
        n--;                                               /* plural */
    }
    return 0;
}

int relay_has_dose(const char *s, size_t len)
{
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
        if (w > j && is_dose_unit(s + j, w - j)) return 1;
        i = j - 1 > i ? j - 1 : i;
    }
    return 0;
}

/* ---------- the look-behind filter ---------- */

struct relay_filter {
    size_t nsources;
    relay_hold_fn hold;
    relay_number_fn number;
    void *hold_ctx;
    const char *referral;
    int referral_sent;
    relay_emit_fn emit;
    void *emit_ctx;
    struct strbuf pend;          /* received, not yet released */
    struct strbuf ctx;           /* released head of the unfinished sentence */
    int ctx_held;             /* that head's sentence was already held */
    int open_end;             /* the head ends "...days.": the next byte says
                               * whether its sentence ended there */
    int think;                /* THINK_*: a leading <think>...</think> */
    struct strbuf thought;       /* inside it: the last bytes, for a split </think> */
    struct strbuf out;           /* released by the current call */
    struct strbuf scratch;
    uint64_t cited;
    size_t released, held;
    char last;                /* last byte released */
};

struct relay_filter *relay_filter_new(size_t nsources, relay_hold_fn hold_fn,
                                      relay_number_fn number_fn, void *hold_ctx,
                                      const char *referral, relay_emit_fn emit_fn,
                                      void *emit_ctx)
{
    struct relay_filter *f = xcalloc(1, sizeof *f);
    f->nsources = nsources > RELAY_MAX_SOURCES ? RELAY_MAX_SOURCES : nsources;
    f->hold = hold_fn;
    f->number = number_fn;
    f->hold_ctx = hold_ctx;
    f->referral = referral ? referral : "";
    f->emit = emit_fn;
    f->emit_ctx = emit_ctx;
    return f;
}

void relay_filter_free(struct relay_filter *f)
{
    if (!f) return;
    free(f->pend.s);
    free(f->ctx.s);
    free(f->out.s);
    free(f->scratch.s);
    free(f->thought.s);
    free(f);
}

uint64_t relay_filter_cited(const struct relay_filter *f) { return f->cited; }
size_t relay_filter_released(const struct relay_filter *f) { return f->released; }
size_t relay_filter_held(const struct relay_filter *f) { return f->held; }
size_t relay_filter_pending(const struct relay_filter *f) { return f->pend.len; }

static void out_add(struct relay_filter *f, const char *s, size_t n)
{
    if (n == 0) return;
    strbuf_add(&f->out, s, n);
    f->released += n;
    f->last = s[n - 1];
}

/* The blanks after a dropped sentence keep the layout (a list's newline)
 * without doubling a blank already released. */
static void out_blanks(struct relay_filter *f, const char *s, size_t n)
{
    if (n == 0) return;
    if (memchr(s, '\n', n) ? f->last == '\n' : isspace((unsigned char)f->last)) return;
    out_add(f, s, n);
}

/* Keeps the last RELAY_CTX_MAX bytes of the released head, cut at a UTF-8
 * character start. */
static void ctx_add(struct relay_filter *f, const char *s, size_t n)
{
    strbuf_add(&f->ctx, s, n);
    if (f->ctx.len > RELAY_CTX_MAX) {
        size_t drop = f->ctx.len - RELAY_CTX_MAX;
        while (drop < f->ctx.len && ((unsigned char)f->ctx.s[drop] & 0xC0) == 0x80) drop++;
        memmove(f->ctx.s, f->ctx.s + drop, f->ctx.len - drop);
        f->ctx.len -= drop;
        f->ctx.s[f->ctx.len] = '\0';
    }
}

static int check_holds(struct relay_filter *f, const char *s, size_t n)
{
    if (!f->hold) return 0;
    f->scratch.len = 0;
    if (f->ctx.len) strbuf_add(&f->scratch, f->ctx.s, f->ctx.len);
    strbuf_add(&f->scratch, s, n);
    return f->hold(f->hold_ctx, f->scratch.s, f->scratch.len) != 0;
}

/* release() flags: the piece ends its sentence; hold it without asking (an
 * unterminated dose-like tail); release it unchecked (number-free words,
 * checked with the whole sentence at its end). */
#define REL_COMPLETE  1
#define REL_HOLD      2
#define REL_UNCHECKED 4

/* One piece of text: a whole sentence, the rest of one, or its head. */
static void release(struct relay_filter *f, const char *s, size_t n, int flags)
{
    char *fixed = xmalloc(n + 1);
    uint64_t cited = 0;
    size_t fl = fix_markers(s, n, f->nsources, fixed, &cited,
                            f->released == 0 || isspace((unsigned char)f->last)), ws = fl;
    int complete = flags & REL_COMPLETE;

    while (ws > 0 && isspace((unsigned char)fixed[ws - 1])) ws--;   /* trailing blanks */
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
    }
    free(fixed);
}

/* Releases every sentence in pend[0..end), end being a boundary. */
static void release_sentences(struct relay_filter *f, size_t end)
{
    size_t at = 0;
    while (at < end) {
        size_t e = relay_sentence_end(f->pend.s, end, at);
        if (e == 0 || e > end) e = end;
        release(f, f->pend.s + at, e - at, REL_COMPLETE);
        at = e;
    }
}

static void pend_shift(struct relay_filter *f, size_t n)
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
    while ((e = relay_sentence_end(s, len, at)) != 0) last = at = e;
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
static int word_number(struct relay_filter *f, const char *w, size_t n, int partial)
{
    if (f->number) return f->number(f->hold_ctx, w, n, partial);
    for (size_t i = 0; i < n; i++)
        if (isdigit((unsigned char)w[i])) return 1;
    return 0;
}

static int terminated(const char *s, size_t n);

/* Releases the unfinished sentence in pend word by word, up to its first
 * number or an unfinished marker: a word is released with the blanks before
 * it, and a final fragment only when it cannot grow into a number or a
 * marker. Without a hold callback only unfinished markers wait. */
static void release_words(struct relay_filter *f)
{
    const char *p = f->pend.s;
    size_t len = f->pend.len, at = 0, cut = 0;

    while (at < len) {
        size_t ws = at, we;
        int first;
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
         * the blank before it goes when it is dropped */
        if (we == len && p[we - 1] == ']') break;
        if (f->hold && !(first && list_number(p + ws, we - ws))) {
            char word[64];
            size_t wn = 0;
            int partial = we == len;
            for (size_t i = ws; i < we && wn < sizeof word; ) {
                long m = p[i] == '[' ? marker_ahead(p + i, we - i) : 0;
                if (m > 0) { word[wn++] = ' '; i += (size_t)m; continue; }
                word[wn++] = p[i++];
            }
            /* a word too long to copy is not read for a number: wait */
            if (wn == sizeof word || word_number(f, word, wn, partial)) break;
        }
        cut = at = we;
    }
done:
    if (cut == 0) return;
    release(f, p, cut, REL_UNCHECKED);
    f->open_end = cut == len && terminated(p, cut);
    pend_shift(f, cut);
}

/* After a head that ended "...days.", a blank ends its sentence unless the
 * '.' was not an end ("e.g."). The sentence, all shown, still gets its
 * check: its words had no number, so nothing is left to hide, but a hold
 * rule that needs none ("mg per kg") adds the referral after it. Then the
 * head is forgotten, as after a complete sentence. */
static void close_open_end(struct relay_filter *f)
{
    size_t from;
    if (!f->open_end || f->pend.len == 0) return;
    f->open_end = 0;
    if (!is_blank(f->pend.s[0]) || f->ctx.len == 0) return;
    f->scratch.len = 0;
    from = f->ctx.len > 64 ? f->ctx.len - 64 : 0;
    strbuf_add(&f->scratch, f->ctx.s + from, f->ctx.len - from);
    strbuf_add(&f->scratch, " ", 1);
    if (relay_sentence_end(f->scratch.s, f->scratch.len, 0) != f->scratch.len) return;
    if (f->hold && !f->ctx_held && check_holds(f, "", 0)) {
        f->held++;
        if (!f->referral_sent && *f->referral) {
            out_add(f, " ", 1);
            out_add(f, f->referral, strlen(f->referral));
            f->referral_sent = 1;
        }
    }
    f->ctx.len = 0;
    f->ctx_held = 0;
}

/* A thinking model served without a reasoning parser (Ollama and llama.cpp
 * with some templates) writes its thoughts into the content as a leading
 * "<think>...</think>". That block is never shown. */
enum { THINK_UNDECIDED, THINK_INSIDE, THINK_AFTER, THINK_TEXT };
#define THINK_OPEN "<think>"
#define THINK_CLOSE "</think>"

/* Takes new text while the answer may still start with, or is inside, a
 * think block; what is answer text goes to pend. */
static void think_feed(struct relay_filter *f, const char *s, size_t len)
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

static void flush(struct relay_filter *f)
{
    if (f->out.len && f->emit) f->emit(f->emit_ctx, f->out.s, f->out.len);
    f->out.len = 0;
}

void relay_filter_feed(struct relay_filter *f, const char *s, size_t len)
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
        if (f->pend.len <= RELAY_LONG_RUN) break;
        if (relay_has_dose(f->pend.s, f->pend.len)) {
            if (f->pend.len < RELAY_HARD_CAP) break;
            release(f, f->pend.s, f->pend.len, REL_COMPLETE);   /* checked whole */
            f->pend.len = 0;
            break;
        }
        cut = word_cut(f->pend.s, f->pend.len);
        if (cut == 0) {
            if (f->pend.len < RELAY_HARD_CAP) break;
            cut = f->pend.len;     /* no blank at all: the whole run (whole UTF-8) */
        }
        release(f, f->pend.s, cut, 0);
        pend_shift(f, cut);
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
           relay_sentence_end(s + n - 3, 3, 0) == 3;
}

void relay_filter_finish(struct relay_filter *f)
{
    if (f->think == THINK_INSIDE) f->pend.len = 0;   /* only thoughts came */
    f->think = THINK_TEXT;                           /* "<thi" at the end is text */
    relay_filter_feed(f, NULL, 0);
    if (f->pend.len) {
        release(f, f->pend.s, f->pend.len,
                REL_COMPLETE | (f->hold && !terminated(f->pend.s, f->pend.len) &&
                                relay_has_dose(f->pend.s, f->pend.len) ? REL_HOLD : 0));
        f->pend.len = 0;
    }
    flush(f);
}

/* ---------- faults, citations, budgets ---------- */

long relay_retry_after_ms(const char *value, time_t now, long cap_ms)
{
    const char *p = value;
    long ms;
    if (!p) return -1;
    while (*p == ' ' || *p == '\t') p++;
    if (isdigit((unsigned char)*p)) {
        long secs = 0;
        while (isdigit((unsigned char)*p)) {
            if (secs < 1000000) secs = secs * 10 + (*p - '0');
            p++;
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (*p) return -1;
        ms = secs * 1000;
    } else {
        struct tm tm;
        const char *end;
        time_t t;
        memset(&tm, 0, sizeof tm);
        end = strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!end) return -1;
        t = timegm(&tm);
        ms = t > now ? (long)(t - now) * 1000 : 0;
    }
    return ms > cap_ms ? cap_ms : ms;
}

json_t *relay_citations(const struct kb_hit *hits, size_t nhits, uint64_t cited)
{
    json_t *arr = json_array();
    if (nhits > RELAY_MAX_SOURCES) nhits = RELAY_MAX_SOURCES;
    for (size_t n = 1; n <= nhits; n++) {
        const struct kb_passage *p = hits[n - 1].p;
        if (cited && !(cited & RELAY_BIT(n))) continue;
        json_array_append_new(arr, json_pack("{s:i, s:s?, s:s?, s:s?}", "id", (int)n, "source",
                                             p->source_short, "title", p->title, "url", p->url));
    }
    return arr;
}

uint64_t relay_utc_midnight_ms(uint64_t wall_ms)
{
    return wall_ms - wall_ms % (86400u * 1000u);
}
