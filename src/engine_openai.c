/* engine_openai.c — the OpenAI-compatible streaming engine.
 *
 * One answer is one job: POST {base}/chat/completions with stream:true
 * (body built by prompt_request_json: system prompt, numbered passages, the
 * session's recent turns, the question), parse the text/event-stream reply
 * with upsse_, pass each content delta through the look-behind filter
 * (filter_: sentence-level dose check, out-of-range [n] removed) and
 * hand what it releases to the request's on_chunk at once. The engine only
 * answers: history comes in the request, budgets and lite mode are the
 * turn's (turn.c), and it reports through the request's callbacks.
 *
 * I/O is libcurl's multi-socket API on coachd's libevent loop (curlev.c,
 * hiperfifo-style). No threads, no blocking calls. A job's own timer
 * enforces the first-token, stall and total timeouts and the retry backoff;
 * curl enforces the connect timeout. Cancel removes the easy handle from the
 * multi (closing the connection) and frees the job at once — or, when it
 * arrives from inside one of curl's callbacks, right after curl returns.
 *
 * Faults: a non-2xx status is never relayed; connect errors, 429 and 5xx
 * are retried once before the first token (Retry-After up to 10 s, else
 * 1 s; from CURLINFO_RETRY_AFTER), never after. Every failure ends with
 * on_done(ENGINE_INCOMPLETE) and a message fit for a parent; the log gets
 * one category line ("coachd: upstream: timeout (stall)"), never the key,
 * the URL, curl's error text or the question. Design notes:
 * docs/openai.md. */
#include "engine_openai.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "curlev.h"
#include "engine.h"
#include "kb.h"
#include "filter.h"
#include "metrics.h"
#include "prompt.h"
#include "safety.h"
#include "upsse.h"
#include "jtext.h"
#include "util.h"

#define OA_MAX_RESPONSE (256u * 1024u)    /* upstream bytes per attempt */
#define OA_MAX_ERROR_BODY (16u * 1024u)   /* of a non-2xx reply, then abort */
#define OA_MAX_PROMPT (64 * 1024)
#define OA_HISTORY_MSGS 20                /* asked of the turn (engine.history_msgs) */
#define OA_HISTORY_CHARS (1500u * 4u)     /* ~1,500 tokens at 4 chars/token */
#define OA_RETRY_CAP_MS 10000L
#define OA_BACKOFF_MS 1000L

enum oa_fail {
    F_NONE, F_CONNECT, F_NETWORK, F_TIMEOUT_FIRST, F_TIMEOUT_STALL, F_TIMEOUT_TOTAL,
    F_RATE, F_HTTP, F_CUT, F_UPSTREAM, F_MALFORMED, F_TOO_LARGE, F_EMPTY, F_LENGTH, F_TLS
};

struct oa;

struct oa_job {
    struct oa *oa;
    const struct engine_request *rq;    /* NULL once cancelled */
    const struct kb_hit *hits;          /* the request's, valid until done/cancel */
    size_t nhits;
    CURL *easy;
    struct curlev_req creq;             /* the easy's CURLOPT_PRIVATE */
    int in_multi;
    char *body;
    size_t body_len;
    struct upsse *parser;
    struct filter *filter;
    struct event *timer;                /* watchdog, backoff */
    int attempt, backoff;
    uint64_t attempt_ms, last_byte_ms, retry_at_ms, deadline_ms;
    size_t bytes, err_bytes, delta_bytes;
    char err_head[1024];           /* the start of a non-2xx body, for its type */
    int compat;                    /* PROMPT_COMPAT_* this job's body uses */
    int got_delta, saw_done, saw_finish, got_usage;
    int got_thought;               /* reasoning deltas: the model is working */
    int cut_length;                /* finish_reason "length": max_tokens hit */
    long prompt_tokens, completion_tokens;
    enum oa_fail fail;
    int cancelled, busy;
    struct oa_job *prev, *next;
};

struct oa {
    struct event_base *base;
    const struct safety_policy *policy;
    struct curlev *curl;
    struct curl_slist *headers;         /* shared by every transfer; holds the key */
    char *url;
    char *prompt;                       /* the file; prompt_body points into it */
    const char *prompt_body;
    char version[64];
    const char *model;
    int max_tokens;
    double temperature;
    long connect_ms, first_ms, stall_ms, total_ms;
    int ready;
    int compat;                         /* PROMPT_COMPAT_* learned from 400s */
    size_t deferred;                    /* cancelled jobs not yet freed */
    struct oa_job *jobs;
};

static void job_end(struct oa_job *j, enum engine_status st, enum oa_fail why);
static void transfer_done(struct oa_job *j, CURLcode res);

/* ---------- jobs: lifetime ---------- */

static void job_link(struct oa *oa, struct oa_job *j)
{
    j->next = oa->jobs;
    if (oa->jobs) oa->jobs->prev = j;
    oa->jobs = j;
}

static void job_detach_transfer(struct oa_job *j)
{
    if (j->easy && j->in_multi) curlev_remove(j->oa->curl, j->easy);
    j->in_multi = 0;
}

static void job_destroy(struct oa_job *j)
{
    struct oa *oa = j->oa;
    if (j->cancelled && oa->deferred) oa->deferred--;
    if (j->prev) j->prev->next = j->next;
    else oa->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    job_detach_transfer(j);
    if (j->easy) curl_easy_cleanup(j->easy);
    if (j->timer) event_free(j->timer);
    upsse_free(j->parser);
    filter_free(j->filter);
    free(j->body);
    free(j);
}

/* Frees jobs cancelled while curl or the job itself was busy (the walk
 * only happens when there is one: it runs after every socket event). */
static void sweep(struct oa *oa)
{
    if (oa->deferred == 0) return;
    for (struct oa_job *j = oa->jobs, *nx; j; j = nx) {
        nx = j->next;
        if (j->cancelled && !j->busy) job_destroy(j);
    }
}

static void sweep_cb(void *arg) { sweep(arg); }

static void arm(struct oa_job *j, uint64_t at_ms)
{
    uint64_t now = util_now_ms(), d = at_ms > now ? at_ms - now : 0;
    struct timeval tv = {(time_t)(d / 1000), (suseconds_t)((d % 1000) * 1000)};
    evtimer_add(j->timer, &tv);
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ---------- text out ---------- */

static void emit_cb(void *ctx, const char *s, size_t len)
{
    struct oa_job *j = ctx;
    if (j->rq) j->rq->on_chunk(j->rq->ctx, s, len);
}

static void on_sse(void *ctx, const struct upsse_event *ev)
{
    struct oa_job *j = ctx;
    if (!j->rq || j->fail) return;
    switch (ev->type) {
    case UPSSE_DELTA:
        j->got_delta = 1;
        j->delta_bytes += ev->len;
        filter_feed(j->filter, ev->text, ev->len);
        break;
    case UPSSE_REASONING:             /* never shown; counts as the first token */
        j->got_thought = 1;
        j->delta_bytes += ev->len;
        break;
    case UPSSE_FINISH:
        j->saw_finish = 1;
        j->cut_length = ev->len == 6 && memcmp(ev->text, "length", 6) == 0;
        break;
    case UPSSE_USAGE:
        j->got_usage = 1;
        j->prompt_tokens = ev->prompt_tokens;
        j->completion_tokens = ev->completion_tokens;
        break;
    case UPSSE_DONE:
        j->saw_done = 1;
        break;
    case UPSSE_ERROR:
        j->fail = ev->text && strncmp(ev->text, "malformed", 9) == 0 ? F_MALFORMED : F_UPSTREAM;
        break;
    }
}

/* ---------- curl callbacks (never call curl_multi_* or end a job here) ---------- */

static int status_ok(long s) { return s >= 200 && s < 300; }

static size_t on_write(char *buf, size_t size, size_t n, void *ud)
{
    struct oa_job *j = ud;
    size_t len = size * n;
    long status = 0;

    if (j->cancelled || j->fail) return 0;               /* aborts the transfer */
    j->last_byte_ms = util_now_ms();
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (!status_ok(status)) {                            /* never relayed */
        if (j->err_bytes < sizeof j->err_head - 1) {
            size_t room = sizeof j->err_head - 1 - j->err_bytes, k = len < room ? len : room;
            memcpy(j->err_head + j->err_bytes, buf, k);
            j->err_head[j->err_bytes + k] = '\0';
        }
        j->err_bytes += len;
        return j->err_bytes > OA_MAX_ERROR_BODY ? 0 : len;
    }
    j->bytes += len;
    if (j->bytes > OA_MAX_RESPONSE) {
        j->fail = F_TOO_LARGE;
        return 0;
    }
    if (upsse_feed(j->parser, buf, len) < 0 && !j->fail) j->fail = F_MALFORMED;
    return j->cancelled || j->fail ? 0 : len;
}

/* A transfer ended (curlev, after curl returned). */
static void on_transfer_done(void *arg, CURL *easy, CURLcode res)
{
    (void)easy;
    transfer_done(arg, res);
}

/* ---------- attempts, retries, faults ---------- */

static const char *fail_log(enum oa_fail f)
{
    switch (f) {
    case F_CONNECT: return "connect failed";
    case F_NETWORK: return "connection error";
    case F_TIMEOUT_FIRST: return "timeout (first token)";
    case F_TIMEOUT_STALL: return "timeout (stall)";
    case F_TIMEOUT_TOTAL: return "timeout (total)";
    case F_RATE: return "rate limited (429)";
    case F_HTTP: return "http error";
    case F_CUT: return "stream cut";
    case F_UPSTREAM: return "error event";
    case F_MALFORMED: return "malformed stream";
    case F_TOO_LARGE: return "response too large";
    case F_EMPTY: return "no answer text";
    case F_LENGTH: return "answer cut at --max-tokens";
    case F_TLS: return "TLS handshake or certificate check failed (an https URL to a plain "
                       "http server? is the ca-certificates package installed?)";
    case F_NONE: break;
    }
    return "error";
}

/* The label of coachd_upstream_errors_total for a fault (http is split
 * into http_4xx and http_5xx where the status is known). */
static const char *fail_kind(enum oa_fail f)
{
    static const char *const k[] = {
        [F_NONE] = "other", [F_CONNECT] = "connect", [F_NETWORK] = "network",
        [F_TIMEOUT_FIRST] = "timeout_first", [F_TIMEOUT_STALL] = "timeout_stall",
        [F_TIMEOUT_TOTAL] = "timeout_total", [F_RATE] = "rate_limited", [F_HTTP] = "http_4xx",
        [F_CUT] = "cut", [F_UPSTREAM] = "upstream_error", [F_MALFORMED] = "malformed",
        [F_TOO_LARGE] = "too_large", [F_EMPTY] = "empty", [F_LENGTH] = "length", [F_TLS] = "tls",
    };
    return (unsigned)f < sizeof k / sizeof k[0] && k[f] ? k[f] : "other";
}

static const char *fail_message(enum oa_fail f)
{
    switch (f) {
    case F_CONNECT: case F_NETWORK: case F_HTTP: case F_TLS:
        return "The coach could not reach its answer service. Please try again in a moment.";
    case F_TIMEOUT_FIRST: case F_TIMEOUT_STALL: case F_TIMEOUT_TOTAL:
        return "The coach took too long to answer. Please try again in a moment.";
    case F_RATE:
        return "The coach is very busy right now. Please try again in a minute.";
    case F_EMPTY:
        return "The coach could not answer this time. Please try again.";
    case F_LENGTH:
        return "This answer reached its length limit and stops here. Please try again, "
               "or ask a follow-up to hear more.";
    default:
        return "The answer was interrupted. Please try again.";
    }
}

static int attempt_start(struct oa_job *j)
{
    struct oa *oa = j->oa;
    uint64_t now = util_now_ms();
    j->attempt++;
    j->backoff = 0;
    j->attempt_ms = j->last_byte_ms = now;
    j->bytes = j->err_bytes = 0;
    j->err_head[0] = '\0';
    j->saw_done = j->saw_finish = j->got_usage = j->cut_length = j->got_thought = 0;
    upsse_free(j->parser);
    j->parser = upsse_new(on_sse, j, 0);
    /* curl's own total limit is a backstop a second after ours */
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS,
                     (long)(j->deadline_ms > now ? j->deadline_ms - now : 1) + 1000L);
    j->creq = (struct curlev_req){on_transfer_done, j};
    if (curlev_add(oa->curl, j->easy, &j->creq) != 0) return -1;
    j->in_multi = 1;
    arm(j, min_u64(now + (uint64_t)oa->first_ms, j->deadline_ms));
    return 0;
}

/* The reply's Retry-After (delta-seconds or an HTTP date; libcurl reads
 * both) in ms, capped at OA_RETRY_CAP_MS; OA_BACKOFF_MS without one. */
static long retry_after_ms(struct oa_job *j)
{
    curl_off_t secs = 0;
    struct curl_header *h;
    if (curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &secs) != CURLE_OK) secs = 0;
    if (secs > 0) return secs >= OA_RETRY_CAP_MS / 1000 ? OA_RETRY_CAP_MS : (long)secs * 1000;
    /* 0 is also what libcurl says without the header */
    return curl_easy_header(j->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK
               ? 0 : OA_BACKOFF_MS;
}

/* Before the first token, once: connect errors, 429 and 5xx. Returns 1 when
 * a retry was scheduled. */
static int maybe_retry(struct oa_job *j, enum oa_fail why, long status)
{
    uint64_t now = util_now_ms();
    long delay;
    if (j->attempt > 1 || j->got_delta) return 0;
    if (!(why == F_CONNECT || why == F_NETWORK || why == F_RATE || (why == F_HTTP && status >= 500)))
        return 0;
    delay = retry_after_ms(j);
    if (now + (uint64_t)delay >= j->deadline_ms) return 0;
    job_detach_transfer(j);
    if (why == F_HTTP || why == F_RATE)
        fprintf(stderr, "coachd: upstream: http %ld, retrying in %ld ms\n", status, delay);
    else
        fprintf(stderr, "coachd: upstream: %s, retrying in %ld ms\n", fail_log(why), delay);
    j->backoff = 1;
    j->retry_at_ms = now + (uint64_t)delay;
    arm(j, j->retry_at_ms);
    return 1;
}

static enum oa_fail classify(struct oa_job *j, CURLcode res)
{
    curl_off_t connect_us = 0;
    switch (res) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return F_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(j->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
        return connect_us == 0 ? F_CONNECT : F_TIMEOUT_TOTAL;
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_CERTPROBLEM:
        return F_TLS;
    default:
        return j->bytes || j->err_bytes ? F_CUT : F_NETWORK;
    }
}

/* An HTTP 400 that names a parameter this model does not take (OpenAI's
 * gpt-5 and o-series: max_tokens, temperature): rewrites the body, learns it
 * for every later answer, and asks again at once. bit: what the error body
 * asked for (prompt_upstream_error). Returns 1 when it did; each variant is
 * tried once per job. */
static int maybe_adapt(struct oa_job *j, long status, int bit)
{
    struct oa *oa = j->oa;
    json_t *req;
    char *body;

    if (status != 400 || !bit || (j->compat & bit) || j->got_delta) return 0;
    req = json_loads(j->body, 0, NULL);
    if (!req) return 0;
    j->compat |= bit;
    oa->compat |= bit;
    prompt_request_compat(req, j->compat);
    body = jtext_dump(req, NULL);
    json_decref(req);
    if (!body) return 0;
    free(j->body);
    j->body = body;
    j->body_len = strlen(body);
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    fprintf(stderr, "coachd: upstream: http 400: the model takes no %s; asking again %s\n",
            bit == PROMPT_COMPAT_NO_TEMPERATURE ? "temperature" : "max_tokens",
            bit == PROMPT_COMPAT_NO_TEMPERATURE ? "without it" : "with max_completion_tokens");
    j->attempt--;                      /* not a fault: keep the one retry */
    return attempt_start(j) == 0;
}

/* A transfer left the multi (curl reported it done). */
static void transfer_done(struct oa_job *j, CURLcode res)
{
    long status = 0;
    enum oa_fail why;
    char kind[64];
    int bit;

    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    job_detach_transfer(j);
    if (j->cancelled) {
        job_destroy(j);
        return;
    }
    if (status && !status_ok(status) && !j->fail) {
        bit = prompt_upstream_error(j->err_head, strlen(j->err_head), kind, sizeof kind);
        if (maybe_adapt(j, status, bit)) return;
        why = status == 429 ? F_RATE : F_HTTP;
        if (maybe_retry(j, why, status)) return;
        fprintf(stderr, "coachd: upstream: http %ld%s%s%s\n", status, *kind ? " " : "", kind,
                status == 401 || status == 403 ? " (check OPENAI_API_KEY)" : "");
        if (why == F_HTTP) metrics_upstream_error(status >= 500 ? "http_5xx" : "http_4xx");
        job_end(j, ENGINE_INCOMPLETE, why);
        return;
    }
    if (res != CURLE_OK && !j->fail) {
        why = classify(j, res);
        if (maybe_retry(j, why, status)) return;
        job_end(j, ENGINE_INCOMPLETE, why);
        return;
    }
    j->busy++;
    upsse_finish(j->parser);           /* a last event without its blank line */
    j->busy--;
    if (j->cancelled) {
        job_destroy(j);
        return;
    }
    if (j->fail) job_end(j, ENGINE_INCOMPLETE, j->fail);
    else if ((j->saw_done || j->saw_finish) && j->got_delta && j->cut_length)
        job_end(j, ENGINE_INCOMPLETE, F_LENGTH);
    else if ((j->saw_done || j->saw_finish) && j->got_delta) job_end(j, ENGINE_COMPLETE, F_NONE);
    else job_end(j, ENGINE_INCOMPLETE, j->got_delta ? F_CUT : F_EMPTY);
}

static void on_job_timer(evutil_socket_t fd, short what, void *arg)
{
    struct oa_job *j = arg;
    struct oa *oa = j->oa;
    uint64_t now = util_now_ms(), wd;

    (void)fd;
    (void)what;
    if (now >= j->deadline_ms) {
        job_end(j, ENGINE_INCOMPLETE, F_TIMEOUT_TOTAL);
        return;
    }
    if (j->backoff) {
        if (now < j->retry_at_ms) {
            arm(j, min_u64(j->retry_at_ms, j->deadline_ms));
        } else if (attempt_start(j) != 0) {
            job_end(j, ENGINE_INCOMPLETE, F_NETWORK);
        }
        return;
    }
    wd = j->got_delta || j->got_thought ? j->last_byte_ms + (uint64_t)oa->stall_ms
                                        : j->attempt_ms + (uint64_t)oa->first_ms;
    if (now >= wd) {
        job_end(j, ENGINE_INCOMPLETE,
                j->got_delta || j->got_thought ? F_TIMEOUT_STALL : F_TIMEOUT_FIRST);
        return;
    }
    arm(j, min_u64(wd, j->deadline_ms));   /* bytes came meanwhile: sleep on */
}

/* Ends the job: flushes the filter, builds citations and usage, frees the
 * job, then tells the turn. Never called from inside a curl callback. */
static void job_end(struct oa_job *j, enum engine_status st, enum oa_fail why)
{
    struct oa *oa = j->oa;
    const struct engine_request *rq = j->rq;
    json_t *cit = NULL;
    struct engine_usage u = {0, 0, oa->version};

    job_detach_transfer(j);
    j->busy++;
    filter_finish(j->filter);
    j->busy--;
    if (j->cancelled) {
        job_destroy(j);
        return;
    }
    if (st == ENGINE_COMPLETE && filter_released(j->filter) == 0) {
        st = ENGINE_INCOMPLETE;            /* e.g. only a <think> block came */
        why = F_EMPTY;
    }
    /* a whole answer that cited nothing rests on all it was given; a cut
     * one only on what it cited before the cut */
    if (st == ENGINE_COMPLETE || filter_cited(j->filter))
        cit = prompt_citations(j->hits, j->nhits, filter_cited(j->filter));
    /* Upstream counts when it sent them; else an estimate (4 chars/token) so
     * budgets still see the spend of cut answers. */
    if (j->got_usage && j->prompt_tokens >= 0) u.prompt_tokens = j->prompt_tokens;
    else if (j->bytes) u.prompt_tokens = (long)(j->body_len / 4);
    if (j->got_usage && j->completion_tokens >= 0) u.completion_tokens = j->completion_tokens;
    else u.completion_tokens = (long)((j->delta_bytes + 3) / 4);
    if (st != ENGINE_COMPLETE && why != F_HTTP && why != F_RATE)
        fprintf(stderr, "coachd: upstream: %s\n", fail_log(why));
    if (st != ENGINE_COMPLETE && why != F_HTTP) metrics_upstream_error(fail_kind(why));
    job_destroy(j);
    rq->on_done(rq->ctx, st, st == ENGINE_COMPLETE ? NULL : fail_message(why), cit, &u);
}

/* ---------- the engine interface ---------- */

static CURL *new_easy(struct oa *oa, struct oa_job *j)
{
    CURL *e = curl_easy_init();
    if (!e) return NULL;
    curl_easy_setopt(e, CURLOPT_URL, oa->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, oa->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "coachd");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, oa->connect_ms);
    return e;
}

static int oa_start(struct engine *e, const struct engine_request *rq, void **job)
{
    struct oa *oa = e->state;
    struct oa_job *j = xcalloc(1, sizeof *j);
    json_t *trimmed, *req;

    j->oa = oa;
    j->rq = rq;
    j->hits = rq->hits;
    j->nhits = rq->nhits;
    j->timer = evtimer_new(oa->base, on_job_timer, j);
    job_link(oa, j);
    trimmed = prompt_history_trim(rq->history, OA_HISTORY_CHARS);
    j->compat = oa->compat;
    req = prompt_request_json(&(struct prompt_request){
        .compat = j->compat, .model = oa->model, .max_tokens = oa->max_tokens, .temperature = oa->temperature,
        .system_prompt = oa->prompt_body, .hits = rq->hits, .nhits = rq->nhits,
        .age_months = rq->age_months, .history = trimmed,
        .question = rq->question, .question_len = rq->question_len});
    json_decref(trimmed);
    j->body = req ? jtext_dump(req, &j->body_len) : NULL;   /* 10-15 KB: see jtext.h */
    json_decref(req);
    if (!j->body) goto fail;
    j->filter = filter_new(oa->policy, rq->nhits, emit_cb, j);
    j->easy = new_easy(oa, j);
    j->deadline_ms = util_now_ms() + (uint64_t)oa->total_ms;
    if (!j->easy || attempt_start(j) != 0) goto fail;
    *job = j;
    return 0;
fail:
    fprintf(stderr, "coachd: upstream: could not start a request\n");
    metrics_upstream_error("start");
    job_destroy(j);
    return -1;
}

static void oa_cancel(struct engine *e, void *job)
{
    struct oa *oa = e->state;
    struct oa_job *j = job;
    if (!j) return;
    j->rq = NULL;
    j->cancelled = 1;
    oa->deferred++;
    if (curlev_busy(oa->curl) || j->busy) return;   /* freed as soon as curl returns */
    job_destroy(j);
}

static int oa_ready(struct engine *e)
{
    struct oa *oa = e->state;
    return oa->ready;
}

static void oa_destroy(struct engine *e)
{
    struct oa *oa = e->state;
    while (oa->jobs) job_destroy(oa->jobs);
    curlev_free(oa->curl);
    for (struct curl_slist *h = oa->headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));        /* the key */
    curl_slist_free_all(oa->headers);
    free(oa->url);
    free(oa->prompt);
    free(oa);
    free(e);
    curl_global_cleanup();
}

/* ---------- set-up ---------- */

/* {base}/chat/completions for an http(s) base URL with a host; -1 if the
 * base is not one. Never echoes the URL (it may hold credentials). */
static int make_url(const char *base, char **out, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    size_t n;
    int rc = -1;

    if (!u || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        snprintf(err, errlen, "OPENAI_BASE_URL is not a valid URL");
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        snprintf(err, errlen, "OPENAI_BASE_URL must start with http:// or https://");
        goto out;
    }
    n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    *out = xmalloc(n + sizeof "/chat/completions");
    memcpy(*out, base, n);
    memcpy(*out + n, "/chat/completions", sizeof "/chat/completions");
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static int load_prompt(struct oa *oa, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) {
        snprintf(err, errlen, "cannot read the system prompt %s: %s", path, strerror(errno));
        return -1;
    }
    oa->prompt = xmalloc(OA_MAX_PROMPT + 1);
    n = fread(oa->prompt, 1, OA_MAX_PROMPT + 1, f);
    fclose(f);
    if (n == 0 || n > OA_MAX_PROMPT || !util_utf8_valid(oa->prompt, n)) {
        snprintf(err, errlen, "the system prompt %s must be 1 byte to %d KiB of UTF-8 text",
                 path, OA_MAX_PROMPT / 1024);
        return -1;
    }
    oa->prompt[n] = '\0';
    prompt_split(oa->prompt, oa->version, sizeof oa->version, &oa->prompt_body);
    return 0;
}

static int make_headers(struct oa *oa, const char *key)
{
    char *auth = NULL;
    struct curl_slist *h = NULL, *t;
    const char *fixed[] = {"Content-Type: application/json", "Accept: text/event-stream",
                           "Expect:"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!(t = curl_slist_append(h, fixed[i]))) goto fail;
        h = t;
    }
    if (key && *key) {
        if (asprintf(&auth, "Authorization: Bearer %s", key) < 0) goto fail;
        t = curl_slist_append(h, auth);
        explicit_bzero(auth, strlen(auth));
        free(auth);
        if (!t) goto fail;
        h = t;
    }
    oa->headers = h;
    return 0;
fail:
    curl_slist_free_all(h);
    return -1;
}

struct engine *engine_openai_new(struct event_base *base, const struct config *cfg,
                                 const struct safety_policy *policy, char *err, size_t errlen)
{
    struct engine *e = xcalloc(1, sizeof *e);
    struct oa *oa = xcalloc(1, sizeof *oa);

    e->name = "openai";
    e->state = oa;
    e->history_msgs = OA_HISTORY_MSGS;
    e->start = oa_start;
    e->cancel = oa_cancel;
    e->ready = oa_ready;
    e->destroy = oa_destroy;
    oa->base = base;
    oa->policy = policy;
    oa->model = cfg->model;
    oa->max_tokens = cfg->max_tokens;
    oa->temperature = cfg->temperature;
    oa->connect_ms = cfg->connect_timeout_s * 1000L;
    oa->first_ms = cfg->first_token_timeout_s * 1000L;
    oa->stall_ms = cfg->stall_timeout_s * 1000L;
    oa->total_ms = cfg->total_timeout_s * 1000L;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not initialise");
        free(oa);
        free(e);
        return NULL;
    }
    if (make_url(cfg->openai_base_url, &oa->url, err, errlen) ||
        load_prompt(oa, cfg->prompt_path, err, errlen))
        goto fail;
    if (make_headers(oa, cfg->openai_api_key) ||
        !(oa->curl = curlev_new(base, sweep_cb, oa))) {
        snprintf(err, errlen, "libcurl could not initialise");
        goto fail;
    }
    oa->ready = 1;
    fprintf(stderr, "coachd: openai engine: model %s, prompt %s\n", oa->model, oa->version);
    return e;
fail:
    oa_destroy(e);
    return NULL;
}
