/* reqhead.c — the strict request-head check (see reqhead.h).
 *
 * The head is read line by line (CRLF, or a bare LF); a CR anywhere else is
 * refused. The request line must be METHOD SP origin-form-target SP
 * HTTP/1.0|1.1 with single spaces and a method evhttp is configured to
 * accept (http.c); each field line must be a token, a colon with no space
 * before it, and a value of visible characters, spaces and tabs. A line
 * that starts with a space or tab (obsolete folding) is refused, as are two
 * Content-Length fields (equal or not), a Content-Length that is not plain
 * digits, Transfer-Encoding with Content-Length, and two Host fields.
 * Transfer-Encoding alone is 411: coachd reads request bodies by their
 * length only, so that a head's framing is always known here. */
#include "reqhead.h"

#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct span { const char *p; size_t len; };

static int refuse_head(struct reqhead *h, int status, const char *code, const char *message)
{
    h->status = status;
    h->code = code;
    h->message = message;
    return status;
}

static int bad(struct reqhead *h, const char *code, const char *message)
{
    return refuse_head(h, 400, code, message);
}

/* RFC 9110 tchar */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int span_is(struct span s, const char *lit)
{
    return s.len == strlen(lit) && strncasecmp(s.p, lit, s.len) == 0;
}

static struct span trim_ows(struct span s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) s.p++, s.len--;
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t')) s.len--;
    return s;
}

size_t reqhead_end(const char *p, size_t len, size_t *scan)
{
    size_t i = *scan;
    for (; i < len; i++) {
        if (p[i] != '\n') continue;
        if (i + 1 < len && p[i + 1] == '\n') return i + 2;
        if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n') return i + 3;
        if (i + 2 >= len) break;        /* the blank line may still be arriving */
    }
    *scan = i;
    return 0;
}

/* Takes the next line of [*p, end) without its line end; -1 on a stray CR. */
static int next_line(const char **p, const char *end, struct span *line)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n;
    if (!nl) nl = end;
    n = (size_t)(nl - *p);
    if (n && (*p)[n - 1] == '\r') n--;
    line->p = *p;
    line->len = n;
    *p = nl < end ? nl + 1 : end;
    return memchr(line->p, '\r', n) ? -1 : 0;
}

static int check_request_line(struct span l, struct reqhead *h)
{
    static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"};
    const char *sp1 = memchr(l.p, ' ', l.len), *sp2;
    struct span m, target, version;
    char *uri;
    struct evhttp_uri *u;
    int known = 0;

    if (!sp1) return bad(h, "invalid_request_line", "The request line is malformed.");
    m = (struct span){l.p, (size_t)(sp1 - l.p)};
    sp2 = memchr(sp1 + 1, ' ', l.len - m.len - 1);
    if (!sp2 || !m.len) return bad(h, "invalid_request_line", "The request line is malformed.");
    target = (struct span){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
    version = (struct span){sp2 + 1, l.len - (size_t)(sp2 + 1 - l.p)};
    for (size_t i = 0; i < m.len; i++)
        if (!is_tchar((unsigned char)m.p[i]))
            return bad(h, "invalid_request_line", "The request line is malformed.");
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (m.len == strlen(methods[i]) && memcmp(m.p, methods[i], m.len) == 0) known = 1;
    if (version.len != 8 || memcmp(version.p, "HTTP/1.", 7) != 0 ||
        (version.p[7] != '0' && version.p[7] != '1')) {
        if (version.len == 8 && memcmp(version.p, "HTTP/", 5) == 0 && version.p[6] == '.' &&
            version.p[5] >= '0' && version.p[5] <= '9' && version.p[7] >= '0' && version.p[7] <= '9')
            return refuse_head(h, 505, "http_version_not_supported", "Use HTTP/1.1.");
        return bad(h, "invalid_request_line", "The request line is malformed.");
    }
    if (!target.len || target.p[0] != '/')
        return bad(h, "invalid_target", "The request target must be a path.");
    for (size_t i = 0; i < target.len; i++) {
        unsigned char c = (unsigned char)target.p[i];
        if (c <= 0x20 || c >= 0x7f) return bad(h, "invalid_target", "The request target must be a path.");
    }
    /* what evhttp itself will run on the target: it must not fail there */
    uri = xmalloc(target.len + 1);
    memcpy(uri, target.p, target.len);
    uri[target.len] = '\0';
    u = evhttp_uri_parse_with_flags(uri, EVHTTP_URI_NONCONFORMANT);
    free(uri);
    if (!u) return bad(h, "invalid_target", "The request target must be a path.");
    evhttp_uri_free(u);
    if (!known)
        return refuse_head(h, 501, "method_not_implemented", "That method is not supported.");
    /* evhttp reads no body for HEAD: a length there would frame a second request */
    h->status = span_is(m, "HEAD") ? -1 : 0;
    return 0;
}

static int check_field(struct span l, struct reqhead *h, int *n_cl, int *n_te, int *n_host,
                       int *too_large, size_t max_body)
{
    const char *colon = memchr(l.p, ':', l.len);
    struct span name, value;
    if (l.p[0] == ' ' || l.p[0] == '\t')
        return bad(h, "obsolete_line_folding", "Header lines may not be folded.");
    if (!colon || colon == l.p) return bad(h, "invalid_header", "A header line is malformed.");
    name = (struct span){l.p, (size_t)(colon - l.p)};
    for (size_t i = 0; i < name.len; i++)
        if (!is_tchar((unsigned char)name.p[i]))
            return bad(h, "invalid_header_name", "A header name is malformed.");
    value = trim_ows((struct span){colon + 1, l.len - name.len - 1});
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return bad(h, "invalid_header_value", "A header value has a control character.");
    }
    if (span_is(name, "Content-Length")) {
        size_t v = 0;
        if (++*n_cl > 1)
            return bad(h, "duplicate_content_length", "Send one Content-Length header.");
        if (!value.len || value.len > 18)
            return bad(h, "invalid_content_length", "Content-Length must be a number.");
        for (size_t i = 0; i < value.len; i++) {
            if (value.p[i] < '0' || value.p[i] > '9')
                return bad(h, "invalid_content_length", "Content-Length must be a number.");
            v = v * 10 + (size_t)(value.p[i] - '0');
        }
        if (v > max_body) *too_large = 1;
        h->content_length = v;
    } else if (span_is(name, "Transfer-Encoding")) {
        ++*n_te;
    } else if (span_is(name, "Host")) {
        if (++*n_host > 1) return bad(h, "duplicate_host", "Send one Host header.");
    } else if (span_is(name, "Expect")) {
        if (!span_is(value, "100-continue"))
            return refuse_head(h, 417, "expectation_failed", "Only Expect: 100-continue is supported.");
    }
    return 0;
}

int reqhead_check(const char *p, size_t len, size_t max_body, struct reqhead *h)
{
    const char *end = p + len;
    struct span l;
    int n_cl = 0, n_te = 0, n_host = 0, too_large = 0, head_method;

    memset(h, 0, sizeof *h);
    /* the head must end with its blank line: "\n\n" or "\n\r\n" (found by
     * the fuzzer: "...\r\n\r" was taken as ended by a blank line) */
    if (len < 2 || p[len - 1] != '\n' ||
        (p[len - 2] != '\n' && (len < 3 || p[len - 2] != '\r' || p[len - 3] != '\n')))
        return bad(h, "invalid_header", "The request head is not terminated.");
    if (next_line(&p, end, &l) || !l.len) return bad(h, "invalid_request_line", "The request line is malformed.");
    if (check_request_line(l, h)) return h->status;
    head_method = h->status == -1;
    h->status = 0;
    for (;;) {
        if (p >= end) return bad(h, "invalid_header", "The request head is not terminated.");
        if (next_line(&p, end, &l)) return bad(h, "invalid_header", "A header line has a stray CR.");
        if (!l.len) break;
        if (check_field(l, h, &n_cl, &n_te, &n_host, &too_large, max_body)) return h->status;
    }
    if (p != end) return bad(h, "invalid_header", "The request head has trailing bytes.");
    if (n_te && n_cl)
        return bad(h, "conflicting_framing", "Send Content-Length or Transfer-Encoding, not both.");
    if (n_te) return refuse_head(h, 411, "length_required", "Send the body with a Content-Length.");
    if (head_method && h->content_length)
        return bad(h, "unexpected_body", "A HEAD request has no body.");
    if (too_large)
        return refuse_head(h, 413, "body_too_large", "The request body is too large.");
    return 0;
}
