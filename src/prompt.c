/* prompt.c — what the openai engine sends a model: the request body, the
 * numbered passages, a history trimmed to a budget and the system prompt's
 * version line; and the citations of what it answered. Pure (see
 * prompt.h); the text the model sends back goes through filter.c. */
#include "prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter.h"
#include "util.h"

/* ---------- request ---------- */

char *prompt_passages_text(const struct kb_hit *hits, size_t n, int age_months)
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

json_t *prompt_request_json(const struct prompt_request *r)
{
    json_t *msgs = json_array(), *m;
    char *passages = prompt_passages_text(r->hits, r->nhits, r->age_months);
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
    prompt_request_compat(req, r->compat);
    return req;
}

void prompt_request_compat(json_t *req, int compat)
{
    json_t *max = json_object_get(req, "max_tokens");
    if ((compat & PROMPT_COMPAT_MAX_COMPLETION_TOKENS) && max) {
        json_object_set(req, "max_completion_tokens", max);
        json_object_del(req, "max_tokens");
    }
    if (compat & PROMPT_COMPAT_NO_TEMPERATURE) json_object_del(req, "temperature");
}

int prompt_upstream_error(const char *body, size_t len, char *kind, size_t cap)
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
        if (strcmp(param, "max_tokens") == 0) bit = PROMPT_COMPAT_MAX_COMPLETION_TOKENS;
        else if (strcmp(param, "temperature") == 0) bit = PROMPT_COMPAT_NO_TEMPERATURE;
    }
    json_decref(root);
    return bit;
}

json_t *prompt_history_trim(const json_t *history, size_t max_chars)
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
            len = filter_fix_markers(json_string_value(c), len, 0, fixed, NULL);
            json_array_append_new(out, json_pack("{s:s, s:s%}", "role", role, "content",
                                                 fixed, len));
            free(fixed);
        } else {
            json_array_append_new(out, json_pack("{s:s, s:O}", "role", role, "content", c));
        }
    }
    return out;
}

int prompt_split(const char *text, char *version, size_t vlen, const char **body)
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

/* ---------- citations ---------- */

json_t *prompt_citations(const struct kb_hit *hits, size_t nhits, uint64_t cited)
{
    json_t *arr = json_array();
    if (nhits > FILTER_MAX_SOURCES) nhits = FILTER_MAX_SOURCES;
    for (size_t n = 1; n <= nhits; n++) {
        const struct kb_passage *p = hits[n - 1].p;
        if (cited && !(cited & FILTER_BIT(n))) continue;
        json_array_append_new(arr, json_pack("{s:i, s:s?, s:s?, s:s?}", "id", (int)n, "source",
                                             p->source_short, "title", p->title, "url", p->url));
    }
    return arr;
}
