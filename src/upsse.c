/* upsse.c — incremental parser for OpenAI-compatible streaming responses.
 *
 * Two layers. The framing layer is the WHATWG event-stream state machine:
 * bytes are cut into lines (a line ends at CRLF, LF or CR; a CR that ends a
 * feed leaves `skip_lf` set so an LF opening the next feed is swallowed),
 * each line is a comment (":..."), a blank line (dispatch), or a
 * "field:value" pair with one optional space after the colon. Only `data`
 * (appended to the event's data buffer, joined with "\n"), `event` (whose
 * value "error" marks the event as an error) and the non-standard bare
 * `error` field (reported at once) mean anything; `id`, `retry` and unknown
 * fields are ignored. A UTF-8 BOM is stripped from the first line only.
 * The chunk layer runs at dispatch: "[DONE]" is DONE, anything else is
 * parsed as JSON and mapped to DELTA / REASONING / FINISH / USAGE / ERROR.
 *
 * The chunk JSON is parsed with cJSON, not the jansson used everywhere
 * else: this is the one parse per upstream token, and on a 240-byte OpenAI
 * chunk jansson costs about 48,000 instructions to cJSON's 14,000 (see
 * docs/upstream-sse.md). cJSON is more lenient than jansson, so parse_chunk()
 * first holds the input to jansson's rules where they differ: valid UTF-8
 * throughout, no \u0000 escape (cJSON strings end at their first NUL, so a
 * length would be lost), nothing but blanks after the value.
 *
 * A line arriving whole inside one feed is parsed straight from the
 * caller's buffer; only a line split across feeds is copied into `line`.
 * Both `line` and `data` are capped at max_line: going over is fatal and
 * the parser refuses all later input, so a hostile upstream can never make
 * it grow without bound. Nothing here logs: the text is a child's parent's
 * conversation. See docs/upstream-sse.md. */
#include "upsse.h"

#include "util.h"

#include <cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A byte buffer that refuses to grow past a cap (cf. curl's dynbuf). */
struct upsse_buf {
    char *p;
    size_t len, cap;
};

struct upsse {
    upsse_cb cb;
    void *ctx;
    size_t max;              /* cap for one line and for one event's data */
    struct upsse_buf line;   /* current line, when split across feeds */
    struct upsse_buf data;   /* data buffer of the pending event */
    int have_data;           /* a data field was seen in this event */
    int error_event;         /* "event: error" was seen in this event */
    int skip_lf;             /* the previous byte was a CR */
    int first_line;          /* the BOM check is still to be done */
    int dead;                /* fatal error, or finished: no more input */
};

static const char bom[3] = { '\xEF', '\xBB', '\xBF' };

/* Appends n bytes, growing by doubling; -1 (buffer untouched) when the
 * result would exceed max bytes. */
static int buf_append(struct upsse_buf *b, const char *s, size_t n, size_t max)
{
    if (n > max - b->len) return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        if (cap > max) cap = max;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Narrows s[0..*n) to its content without leading/trailing ASCII blanks. */
static const char *trim(const char *s, size_t *n)
{
    while (*n && is_space(s[0])) { s++; (*n)--; }
    while (*n && is_space(s[*n - 1])) (*n)--;
    return s;
}

static int slice_eq(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(s, lit, l) == 0;
}

static void emit(struct upsse *p, enum upsse_type type, const char *text, size_t len)
{
    struct upsse_event ev = { type, text, len, 0, 0 };
    p->cb(p->ctx, &ev);
}

static void emit_error(struct upsse *p, const char *msg)
{
    emit(p, UPSSE_ERROR, msg, strlen(msg));
}

/* 1 when the JSON text s[0..n) has a \u0000 escape. Backslash pairs are
 * stepped over whole, so an escaped backslash before "u0000" is not one. */
static int has_nul_escape(const char *s, size_t n)
{
    const char *e = s + n, *b;
    while ((b = memchr(s, '\\', (size_t)(e - s))) != NULL) {
        if (e - b >= 6 && memcmp(b + 1, "u0000", 5) == 0) return 1;
        s = b + 2;
        if (s >= e) break;
    }
    return 0;
}

/* Parses one JSON value from s[0..n) with jansson's strictness (see the
 * top of the file); NULL when it is not exactly one valid value. The
 * caller frees the result with cJSON_Delete(). */
static cJSON *parse_chunk(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *root;

    if (!util_utf8_valid(s, n) || has_nul_escape(s, n)) return NULL;
    root = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!root) return NULL;
    for (size_t rest = n - (size_t)(end - s); rest; rest--, end++)
        if (!is_space(*end)) {
            cJSON_Delete(root);
            return NULL;
        }
    return root;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* A non-empty string value's text, else NULL. */
static const char *text_of(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* The human-readable message of an error value: {"message":...} or a bare
 * string. NULL when there is none. Points into v. */
static const char *error_message_of(const cJSON *v)
{
    return text_of(cJSON_IsObject(v) ? field(v, "message") : v);
}

/* An error chunk: {"error":{"message":..}}, {"error":"..."}, or vLLM's
 * {"object":"error","message":..}. Returns 1 when root was one (and the
 * ERROR event has been emitted), else 0. */
static int chunk_error(struct upsse *p, const cJSON *root)
{
    const cJSON *err = field(root, "error");
    const char *msg, *obj;

    if (err && !cJSON_IsNull(err) && !cJSON_IsFalse(err)) {
        msg = error_message_of(err);
    } else {
        obj = text_of(field(root, "object"));
        if (!obj || strcmp(obj, "error") != 0) return 0;
        msg = error_message_of(root);
    }
    emit_error(p, msg ? msg : "upstream error");
    return 1;
}

/* A token count: a non-negative whole number, else -1 ("not reported"). */
static long count_of(const cJSON *v)
{
    double d;
    if (!cJSON_IsNumber(v)) return -1;
    d = v->valuedouble;
    if (!(d >= 0) || d > (double)LONG_MAX / 2 || d != (double)(long)d) return -1;
    return (long)d;
}

static void emit_text(struct upsse *p, enum upsse_type type, const char *text)
{
    if (text) emit(p, type, text, strlen(text));
}

/* Maps one parsed chunk to events, in the order REASONING, DELTA, FINISH,
 * USAGE. Unknown fields (timings, system_fingerprint, ...) are ignored. */
static void chunk_events(struct upsse *p, const cJSON *root)
{
    const cJSON *choices = field(root, "choices");
    const cJSON *usage = field(root, "usage");

    if (chunk_error(p, root)) return;
    if (cJSON_IsArray(choices) && choices->child) {
        const cJSON *c0 = choices->child;
        const cJSON *delta = field(c0, "delta");
        const cJSON *thought = field(delta, "reasoning_content");
        if (!cJSON_IsString(thought)) thought = field(delta, "reasoning");
        emit_text(p, UPSSE_REASONING, text_of(thought));
        emit_text(p, UPSSE_DELTA, text_of(field(delta, "content")));
        emit_text(p, UPSSE_FINISH, text_of(field(c0, "finish_reason")));
    }
    if (cJSON_IsObject(usage)) {
        struct upsse_event ev = { UPSSE_USAGE, NULL, 0, -1, -1 };
        ev.prompt_tokens = count_of(field(usage, "prompt_tokens"));
        ev.completion_tokens = count_of(field(usage, "completion_tokens"));
        p->cb(p->ctx, &ev);
    }
}

/* Reports an error whose message came as text (a bare "error:" field or the
 * data of an "event: error"): JSON carrying a message is unwrapped, plain
 * UTF-8 text is passed on as it is. */
static void error_text(struct upsse *p, const char *s, size_t n)
{
    cJSON *root;
    const char *msg = NULL;

    s = trim(s, &n);
    if (n == 0) {
        emit_error(p, "upstream error");
        return;
    }
    root = parse_chunk(s, n);
    if (root) {
        const cJSON *err = field(root, "error");
        msg = error_message_of(err ? err : root);
    }
    if (msg)
        emit_error(p, msg);
    else if (util_utf8_valid(s, n))
        emit(p, UPSSE_ERROR, s, n);
    else
        emit_error(p, "upstream error (message is not valid UTF-8)");
    cJSON_Delete(root);
}

/* The data of an ordinary event: [DONE], a JSON chunk, or junk. */
static void data_events(struct upsse *p, const char *s, size_t n)
{
    const char *t = s;
    size_t tn = n;
    cJSON *root;

    t = trim(t, &tn);
    if (tn == 0) return;                       /* "data:" keep-alive */
    if (slice_eq(t, tn, "[DONE]")) {
        emit(p, UPSSE_DONE, NULL, 0);
        return;
    }
    root = parse_chunk(s, n);
    if (!root)
        emit_error(p, "malformed JSON in upstream event");
    else if (!cJSON_IsObject(root))
        emit_error(p, "unexpected JSON value in upstream event");
    else
        chunk_events(p, root);
    cJSON_Delete(root);
}

/* 1 when an event left open at EOF is whole enough to dispatch. */
static int complete_at_eof(const struct upsse *p)
{
    size_t n = p->data.len;
    const char *s = trim(p->data.p, &n);
    cJSON *root;

    if (!p->have_data || n == 0) return 0;
    if (slice_eq(s, n, "[DONE]")) return 1;
    root = parse_chunk(s, n);
    cJSON_Delete(root);
    return root != NULL;
}

/* A blank line: dispatch the pending event and reset the event state. */
static void dispatch(struct upsse *p)
{
    if (p->error_event)
        error_text(p, p->data.p, p->have_data ? p->data.len : 0);
    else if (p->have_data)
        data_events(p, p->data.p, p->data.len);
    p->data.len = 0;
    p->have_data = 0;
    p->error_event = 0;
}

/* One line without its terminator. -1 when the event's data would grow
 * past the cap (fatal). */
static int process_line(struct upsse *p, const char *s, size_t n)
{
    const char *colon, *val = "";
    size_t fn = n, vn = 0;

    if (p->first_line) {
        p->first_line = 0;
        if (n >= sizeof bom && memcmp(s, bom, sizeof bom) == 0) {
            s += sizeof bom;
            n -= sizeof bom;
            fn = n;
        }
    }
    if (n == 0) {
        dispatch(p);
        return 0;
    }
    if (s[0] == ':') return 0;                 /* comment: ": ping" */
    colon = memchr(s, ':', n);
    if (colon) {
        fn = (size_t)(colon - s);
        val = colon + 1;
        vn = n - fn - 1;
        if (vn && val[0] == ' ') { val++; vn--; }
    }
    if (slice_eq(s, fn, "data")) {
        if (p->have_data && buf_append(&p->data, "\n", 1, p->max) < 0) return -1;
        if (buf_append(&p->data, val, vn, p->max) < 0) return -1;
        p->have_data = 1;
    } else if (slice_eq(s, fn, "event")) {
        p->error_event = slice_eq(val, vn, "error");
    } else if (slice_eq(s, fn, "error")) {
        error_text(p, val, vn);
    }
    return 0;
}

static int fatal(struct upsse *p)
{
    p->dead = 1;
    return -1;
}

struct upsse *upsse_new(upsse_cb cb, void *ctx, size_t max_line)
{
    struct upsse *p = xcalloc(1, sizeof *p);
    p->cb = cb;
    p->ctx = ctx;
    p->max = max_line ? max_line : UPSSE_DEFAULT_MAX_LINE;
    p->first_line = 1;
    return p;
}

int upsse_feed(struct upsse *p, const char *buf, size_t len)
{
    size_t i = 0;

    if (p->dead) return -1;
    if (len && p->skip_lf) {
        if (buf[0] == '\n') i = 1;
        p->skip_lf = 0;
    }
    while (i < len) {
        const char *ln = buf + i;
        size_t j = i, n;

        while (j < len && buf[j] != '\n' && buf[j] != '\r') j++;
        if (j == len) {                        /* unterminated: keep it */
            if (buf_append(&p->line, buf + i, len - i, p->max) < 0) return fatal(p);
            break;
        }
        n = j - i;
        if (p->line.len) {
            if (buf_append(&p->line, ln, n, p->max) < 0) return fatal(p);
            ln = p->line.p;
            n = p->line.len;
        } else if (n > p->max) {
            return fatal(p);
        }
        if (process_line(p, ln, n) < 0) return fatal(p);
        p->line.len = 0;
        if (buf[j] == '\r') {
            if (j + 1 == len) p->skip_lf = 1;
            else if (buf[j + 1] == '\n') j++;
        }
        i = j + 1;
    }
    return 0;
}

int upsse_finish(struct upsse *p)
{
    if (p->dead) return 0;
    p->dead = 1;
    if (p->line.len && process_line(p, p->line.p, p->line.len) < 0) return 0;
    p->line.len = 0;
    if ((p->have_data || p->error_event) && complete_at_eof(p)) dispatch(p);
    return 0;
}

void upsse_free(struct upsse *p)
{
    if (!p) return;
    free(p->line.p);
    free(p->data.p);
    free(p);
}
