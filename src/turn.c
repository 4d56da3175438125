/* turn.c — turns, their event logs and their subscribers.
 *
 * Lifecycle: turn_create commits the question (store_turn_begin), then on
 * the next loop iteration runs the pipeline: the safety layer first (a
 * refusal is the first event and no retrieval or engine runs), then
 * retrieval, then the engine. Every event is appended to the log as a ready
 * SSE frame and fanned out to the listeners. finish() appends the final
 * done event to the log but holds it back, and queues the turn for saving;
 * the save runs once per loop iteration for every turn that ended in it,
 * in one transaction (a third of the cost of one commit each), and only then
 * is done delivered, so a client never sees done for an answer that is not
 * yet in the database. The event batches, the saves and the lease tick go
 * through store.h's off-the-loop calls: on PostgreSQL they run on the
 * store's worker thread and their results come back later, on the loop
 * (looked up by message id, since a turn may be gone by then); at most one
 * event batch is on its way at a time, so batches stay in order. Then the
 * linger timer starts; when it fires the
 * turn is freed. One timer serves the running turn's grace period (no
 * listener for grace_ms -> stopped) and the finished turn's linger. */
#include "turn.h"

#include <event2/event.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "convo.h"
#include "kb.h"
#include "metrics.h"
#include "safety.h"
#include "store.h"
#include "util.h"

#define TURN_MAX_ANSWER (64 * 1024)
#define TURN_HITS 5
/* A failed save is retried after 250 ms, doubling up to 8 s, for as long as
 * the turn is in memory (its words stay there until the save succeeds). */
#define SAVE_RETRY_MIN_MS 250
#define SAVE_RETRY_MAX_MS 8000

/* Shown events are appended to the database in batches: at most this long
 * after the first unsaved one, one statement for every turn (store.h). A
 * failed batch is retried after FLUSH_RETRY_MS. */
#define FLUSH_MS 5
#define FLUSH_RETRY_MS 250
/* A mirror (a turn running on another instance, followed here) re-reads
 * the database this often besides on every NOTIFY, so a missed one or its
 * owner's death is seen. */
#define MIRROR_POLL_MS 1000

enum save_rc { SAVE_OK, SAVE_GONE, SAVE_FAILED };

/* Sent, without an event id (it is not part of the answer's log), to the
 * listeners of an answer whose save failed, and to anyone who subscribes
 * while it keeps failing. done follows once a retry succeeds. */
static const char save_failed_frame[] =
    "data: {\"type\":\"error\",\"code\":\"save_failed\",\"retrying\":true,"
    "\"message\":\"This answer could not be saved yet. The coach keeps trying, "
    "and it will be marked finished here once it is saved.\"}\n\n";

static const char lite_preface[] =
    "*The coach is in lite mode today:* this answer comes straight from the vetted "
    "guides, without the AI model.\n\n";

struct turn {
    char msg_id[32], user_msg_id[32], session_id[72];
    char *question;
    char *english;                       /* the English reading of a question in another
                                            language (safety.h), or NULL; owned */
    size_t qlen;
    int ended;                           /* finish() ran: saving or saved */
    int finished;                        /* saved, done delivered */
    int cancelled;
    enum turn_status status;
    enum save_rc save_rc;                /* the last save attempt */
    int save_attempts;                   /* failed saves so far */

    char **frames;
    size_t *frame_len, nframes, cap;
    size_t nvisible;                     /* frames listeners may see */
    json_t *citations;                   /* held between finish and save */
    struct turn *save_next;              /* pending-save list */
    json_t *log;                         /* event data strings, saved for replay */

    struct strbuf answer;                /* the text so far */
    struct strbuf chunk_json;            /* scratch for one chunk's JSON */
    json_t *refusal;
    json_t *triage;                 /* notice sent before the answer, or NULL */
    struct kb_hit hits[TURN_HITS];
    size_t nhits;
    int nomatch;                         /* answered with the honest no-match */

    void *job;                           /* engine job while running */
    struct engine *job_engine;           /* whose job: env.engine or env.lite */
    struct engine_request rq;            /* the job's request (owned here) */
    json_t *history;                     /* rq.history */
    struct event *start_ev;              /* runs the pipeline once */
    struct event *timer;                 /* grace while running, linger after */
    struct turn_listener *listeners;
    size_t nlisteners;
    int overflow;                        /* answer hit TURN_MAX_ANSWER */
    long prompt_tokens, completion_tokens;
    const char *prompt_version;
    const char *engine_name;             /* NULL: the configured engine */
    double created_s;                    /* metrics_now() at turn_create */

    size_t nflushed;                     /* frames stored by store_events_append */
    int dirty;                           /* on the to_flush list */
    struct turn *flush_next;
    int mirror;                          /* runs on another instance: frames come from
                                            the database (mirror_pull), not an engine */
    int pulling;                         /* a mirror_pull is on the store's pool */
    json_t *prehist;                     /* the session's history, read with the
                                            question's commit (turn_history) */
    long tokens_session, tokens_today;   /* read with it too, for the budget
                                            (today's -1: not read, the cache holds) */
    int want_daily;                      /* today's sum is due (budget_daily_due) */

    struct turn *prev, *next;            /* all turns */
};

static struct turn_env env;
static void *registry;                   /* tsearch tree keyed by msg_id */
static struct turn *all_turns;
static struct turn *to_save;             /* ended, waiting for the batch save */
static struct event *save_ev;
static struct turn *to_flush;            /* shown events not yet stored */
static struct event *flush_ev;           /* FLUSH_MS after the first */
static struct event *lease_ev;           /* renew and sweep leases, prune events */
static int flush_busy;                   /* an event batch is on its way */
static int tick_busy;                    /* a lease tick is on its way */
/* the batch on its way: which turns, stored up to which frame */
struct flush_rec {
    char msg_id[32];
    size_t upto;
};
static struct flush_rec *flush_recs;
static size_t nflush_recs, flush_recs_cap;

static void save_pending(evutil_socket_t fd, short what, void *arg);
static void flush_events(evutil_socket_t fd, short what, void *arg);
static void lease_tick(evutil_socket_t fd, short what, void *arg);

static int cmp_turn(const void *a, const void *b)
{
    return strcmp(((const struct turn *)a)->msg_id, ((const struct turn *)b)->msg_id);
}

void turn_setup(const struct turn_env *e)
{
    env = *e;
    if (save_ev) event_free(save_ev);
    save_ev = event_new(env.base, -1, 0, save_pending, NULL);
    if (flush_ev) event_free(flush_ev);
    flush_ev = evtimer_new(env.base, flush_events, NULL);
    if (lease_ev) event_free(lease_ev);
    lease_ev = NULL;
    flush_busy = tick_busy = 0;
    {
        /* leases (a shared store) and pruning the stored events of
         * finished answers (both) */
        struct timeval tv = {STORE_LEASE_RENEW_MS / 1000, (STORE_LEASE_RENEW_MS % 1000) * 1000};
        lease_ev = event_new(env.base, -1, EV_PERSIST, lease_tick, NULL);
        event_add(lease_ev, &tv);
    }
}

/* ---------- event ids and frames ---------- */

void turn_format_event_id(const char *message_id, size_t seq, char *out, size_t n)
{
    snprintf(out, n, "%s:%zu", message_id, seq);
}

int turn_parse_event_id(const char *id, char *message_id, size_t n, size_t *seq)
{
    const char *colon = id ? strrchr(id, ':') : NULL;
    char *end;
    unsigned long long v;
    size_t ml;
    if (!colon) return -1;
    for (const char *d = colon + 1; *d; d++)
        if (*d < '0' || *d > '9') return -1;   /* digits only: no sign, no space */
    ml = (size_t)(colon - id);
    if (ml == 0 || ml >= n) return -1;
    memcpy(message_id, id, ml);
    message_id[ml] = '\0';
    if (!util_id_valid(message_id) || !colon[1]) return -1;
    v = strtoull(colon + 1, &end, 10);
    if (*end || v > 10000000ULL) return -1;
    *seq = (size_t)v;
    return 0;
}

char *turn_frame(const char *message_id, size_t seq, const char *data, size_t *len)
{
    return turn_frame_n(message_id, seq, data, strlen(data), len);
}

/* Built with memcpy, not snprintf: this runs once per streamed token. */
char *turn_frame_n(const char *message_id, size_t seq, const char *data, size_t dl, size_t *len)
{
    char num[24];
    size_t ml = strlen(message_id), nl = 0, n;
    char *f, *w;
    do num[sizeof num - ++nl] = (char)('0' + seq % 10); while ((seq /= 10) && nl < sizeof num);
    n = 4 + ml + 1 + nl + 7 + dl + 2;           /* "id: " m ":" seq "\ndata: " data "\n\n" */
    f = w = xmalloc(n + 1);
    memcpy(w, "id: ", 4), w += 4;
    memcpy(w, message_id, ml), w += ml;
    *w++ = ':';
    memcpy(w, num + sizeof num - nl, nl), w += nl;
    memcpy(w, "\ndata: ", 7), w += 7;
    memcpy(w, data, dl), w += dl;
    memcpy(w, "\n\n", 3);                      /* with the terminating NUL */
    *len = n;
    return f;
}

/* ---------- registry ---------- */

static void registry_add(struct turn *t)
{
    tsearch(t, &registry, cmp_turn);
    t->next = all_turns;
    if (all_turns) all_turns->prev = t;
    all_turns = t;
}

static void unqueue_flush(struct turn *t)
{
    if (!t->dirty) return;
    for (struct turn **pp = &to_flush; *pp; pp = &(*pp)->flush_next) {
        if (*pp == t) {
            *pp = t->flush_next;
            break;
        }
    }
    t->dirty = 0;
    t->flush_next = NULL;
}

static void turn_free(struct turn *t)
{
    unqueue_flush(t);
    tdelete(t, &registry, cmp_turn);
    if (t->prev) t->prev->next = t->next;
    else all_turns = t->next;
    if (t->next) t->next->prev = t->prev;
    if (t->job && t->job_engine) t->job_engine->cancel(t->job_engine, t->job);
    if (t->timer) event_free(t->timer);
    if (t->start_ev) event_free(t->start_ev);
    for (size_t i = 0; i < t->nframes; i++) free(t->frames[i]);
    free(t->frames);
    free(t->frame_len);
    json_decref(t->log);
    json_decref(t->history);
    json_decref(t->prehist);
    json_decref(t->refusal);
    json_decref(t->triage);
    json_decref(t->citations);
    free(t->answer.s);
    free(t->chunk_json.s);
    free(t->question);
    free(t->english);
    free(t);
}

struct turn *turn_find(const char *message_id)
{
    struct turn key;
    void *found;
    if (!message_id || strlen(message_id) >= sizeof key.msg_id) return NULL;
    strcpy(key.msg_id, message_id);
    found = tfind(&key, &registry, cmp_turn);
    return found ? *(struct turn **)found : NULL;
}

const char *turn_message_id(const struct turn *t) { return t->msg_id; }
const char *turn_session_id(const struct turn *t) { return t->session_id; }
const char *turn_question(const struct turn *t) { return t->question; }
int turn_is_finished(const struct turn *t) { return t->finished; }
int turn_is_mirror(const struct turn *t) { return t->mirror; }
size_t turn_event_count(const struct turn *t) { return t->nvisible; }

/* ---------- timers ---------- */

static void arm(struct turn *t, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t->timer, &tv);
}

static void queue_save(struct turn *t)
{
    t->save_next = to_save;
    to_save = t;
    if (save_ev) event_active(save_ev, 0, 0);
    else save_pending(-1, 0, NULL);       /* after turn_free_all: save now */
}

/* One timer per turn: grace while running, the save retry once ended,
 * linger once saved. */
static void mirror_timer(struct turn *t);

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct turn *t = arg;
    if (t->mirror && !t->finished) {
        mirror_timer(t);
        return;
    }
    if (t->finished) {
        if (t->nlisteners == 0) turn_free(t);
        else arm(t, env.linger_ms);      /* still replaying to someone */
        return;
    }
    if (t->ended) {
        queue_save(t);                   /* the last save failed: try again */
        return;
    }
    if (t->nlisteners == 0) turn_cancel(t);   /* nobody watched for grace_ms */
}

/* ---------- event log and fan-out ---------- */

/* Queues a turn whose shown events are not all stored yet. */
static void mark_dirty(struct turn *t)
{
    struct timeval tv = {0, FLUSH_MS * 1000};
    if (t->mirror || t->dirty) return;
    t->dirty = 1;
    t->flush_next = to_flush;
    to_flush = t;
    if (flush_ev && !evtimer_pending(flush_ev, NULL)) evtimer_add(flush_ev, &tv);
}

/* The batch came back: on success the turns it carried are stored up to
 * where it went; on failure they are queued again and retried after
 * FLUSH_RETRY_MS. Events shown meanwhile are already queued anew. */
static void flushed(void *arg, int kept)
{
    struct timeval retry = {0, FLUSH_RETRY_MS * 1000}, soon = {0, FLUSH_MS * 1000};
    int failed = kept < 0;
    flush_busy = 0;
    for (size_t i = 0; i < nflush_recs; i++) {
        struct turn *t = turn_find(flush_recs[i].msg_id);
        if (!t) continue;                       /* freed meanwhile */
        if (!failed) {
            if (flush_recs[i].upto > t->nflushed) t->nflushed = flush_recs[i].upto;
        } else if (!t->dirty && !t->mirror) {
            t->dirty = 1;
            t->flush_next = to_flush;
            to_flush = t;
        }
    }
    nflush_recs = 0;
    if (to_flush && flush_ev && !evtimer_pending(flush_ev, NULL))
        evtimer_add(flush_ev, failed ? &retry : &soon);
}

/* Stores every queued turn's shown, unstored events in one call. Only
 * visible events are stored: a done held back until its save is stored
 * once delivered, so no other instance sees done for an unsaved answer.
 * While a batch is on its way the next waits for it (flushed). */
static void flush_events(evutil_socket_t fd, short what, void *arg)
{
    struct store_event *ev = NULL;
    size_t n = 0, cap = 0;
    double t0 = metrics_now();
    if (!to_flush || flush_busy) return;
    nflush_recs = 0;
    while (to_flush) {
        struct turn *t = to_flush;
        to_flush = t->flush_next;
        t->flush_next = NULL;
        t->dirty = 0;
        if (nflush_recs == flush_recs_cap) {
            flush_recs_cap = flush_recs_cap ? flush_recs_cap * 2 : 64;
            flush_recs = xrealloc(flush_recs, flush_recs_cap * sizeof *flush_recs);
        }
        snprintf(flush_recs[nflush_recs].msg_id, sizeof flush_recs[nflush_recs].msg_id, "%s",
                 t->msg_id);
        flush_recs[nflush_recs++].upto = t->nvisible;
        if (t->finished) {
            /* saved already, with its whole log: no rows, only its id for
             * the NOTIFY, so a mirror reads the saved row (an answer made
             * in one loop iteration, e.g. at pace 0, is never stored twice) */
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                ev = xrealloc(ev, cap * sizeof *ev);
            }
            ev[n++] = (struct store_event){t->msg_id, 0, NULL, 0};
            continue;
        }
        for (size_t i = t->nflushed; i < t->nvisible; i++) {
            json_t *d = json_array_get(t->log, i);
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                ev = xrealloc(ev, cap * sizeof *ev);
            }
            ev[n++] = (struct store_event){t->msg_id, i + 1, json_string_value(d),
                                           json_string_length(d)};
        }
    }
    flush_busy = 1;
    store_events_append_async(env.store, ev, n, flushed, NULL);   /* copies ev */
    metrics_observe(METRICS_DB_SECONDS, metrics_now() - t0);
    free(ev);
}

static void ticked(void *arg, int fixed, int pruned)
{
    tick_busy = 0;
    if (fixed > 0)
        fprintf(stderr, "coachd: marked %d answer%s of a stopped instance as incomplete\n", fixed,
                fixed == 1 ? "" : "s");
}

/* This instance's live answers keep their leases, the answers of an
 * instance that died (lease run out) become incomplete (a shared store),
 * and the stored events of answers saved a while ago go (both). */
static void lease_tick(evutil_socket_t fd, short what, void *arg)
{
    if (tick_busy) return;                 /* the last one is still on its way */
    tick_busy = 1;
    store_tick_async(env.store, util_wall_ms(), ticked, NULL);
}

/* Appends an event, given as its JSON text, to the log; with deliver,
 * listeners get it now (and it becomes visible to new subscribers), else
 * it waits for deliver_held(). */
static void append_json_text(struct turn *t, const char *txt, size_t tl, int deliver)
{
    size_t seq = t->nframes + 1, len;
    if (t->nframes == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->frames = xrealloc(t->frames, t->cap * sizeof *t->frames);
        t->frame_len = xrealloc(t->frame_len, t->cap * sizeof *t->frame_len);
    }
    t->frames[t->nframes] = turn_frame_n(t->msg_id, seq, txt, tl, &len);
    t->frame_len[t->nframes] = len;
    t->nframes++;
    json_array_append_new(t->log, json_stringn_nocheck(txt, tl));
    if (!deliver) return;
    t->nvisible = t->nframes;
    mark_dirty(t);
    /* A listener may leave during its own call (a slow client is dropped),
     * so the next one is taken first. */
    for (struct turn_listener *l = t->listeners, *nx; l; l = nx) {
        nx = l->next_;
        if (seq > l->after_) l->on_event(l->arg, t->frames[seq - 1], len);
    }
}

/* The same for an event given as a JSON value (its reference is taken). */
static void append_event(struct turn *t, json_t *data, int deliver)
{
    char *txt;
    if (!data) return;    /* json_pack refused it (e.g. invalid UTF-8): drop */
    txt = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (txt) append_json_text(t, txt, strlen(txt), deliver);
    free(txt);
}

static int dump_to_strbuf(const char *buf, size_t size, void *data)
{
    strbuf_add(data, buf, size);
    return 0;
}

static void deliver_held(struct turn *t)
{
    for (size_t i = t->nvisible; i < t->nframes; i++) {
        t->nvisible = i + 1;
        mark_dirty(t);
        for (struct turn_listener *l = t->listeners, *nx; l; l = nx) {
            nx = l->next_;
            if (i + 1 > l->after_) l->on_event(l->arg, t->frames[i], t->frame_len[i]);
        }
    }
}

void turn_emit_chunk(struct turn *t, const char *text, size_t len)
{
    if (t->ended || len == 0) return;
    if (!util_utf8_valid(text, len)) return;   /* engines send whole characters */
    if (t->overflow || t->answer.len + len > TURN_MAX_ANSWER) {
        t->overflow = 1;                  /* the rest is dropped; saved as incomplete */
        return;
    }
    if (t->answer.len == 0) metrics_ttft(env.engine->name, metrics_now() - t->created_s);
    strbuf_add(&t->answer, text, len);
    /* {"chunk":"..."} with only the string through jansson's encoder: the
     * object json_pack would build costs more than the escaping. */
    json_t *js = json_stringn_nocheck(text, len);   /* checked above */
    strbuf_add(&t->chunk_json, "{\"chunk\":", 9);
    if (js && json_dump_callback(js, dump_to_strbuf, &t->chunk_json, JSON_ENCODE_ANY) == 0) {
        strbuf_add(&t->chunk_json, "}", 1);
        append_json_text(t, t->chunk_json.s, t->chunk_json.len, 1);
    }
    t->chunk_json.len = 0;
    json_decref(js);
}

static const char *status_name(enum turn_status s)
{
    return s == TURN_COMPLETE ? "complete" : s == TURN_STOPPED ? "stopped" : "incomplete";
}

/* Appends done (held back), and queues the turn for the batch save. */
static void finish(struct turn *t, enum turn_status status, json_t *citations)
{
    json_t *done;

    if (t->ended) {
        json_decref(citations);
        return;
    }
    if (!citations) citations = json_array();
    done = json_pack("{s:b, s:s, s:O}", "done", 1, "message_id", t->msg_id, "citations", citations);
    if (status == TURN_STOPPED) json_object_set_new(done, "stopped", json_true());
    if (t->nomatch) json_object_set_new(done, "nomatch", json_true());
    t->status = status;
    t->ended = 1;
    metrics_observe(METRICS_TURN_SECONDS, metrics_now() - t->created_s);
    t->job = NULL;
    t->citations = citations;
    append_event(t, done, 0);
    evtimer_del(t->timer);
    queue_save(t);
}

/* What store_turn_finish stores of a turn (borrowed from it). */
static void fill_result(struct turn *t, struct store_turn_result *r)
{
    *r = (struct store_turn_result){0};
    r->content = t->answer.s ? t->answer.s : "";
    r->status = status_name(t->status);
    r->citations = t->citations;
    r->refusal = t->refusal;
    r->triage = t->triage;
    r->events = t->log;
    r->engine = t->refusal ? "safety" : t->engine_name ? t->engine_name : env.engine->name;
    r->prompt_version = t->prompt_version;
    r->prompt_tokens = t->prompt_tokens;
    r->completion_tokens = t->completion_tokens;
}

/* The save failed (the disk is full, the database cannot be written): done
 * stays held, the listeners are told once (save_failed_frame) and stay
 * subscribed, and the save is tried again with a growing delay. */
static void save_failed(struct turn *t)
{
    int shift = t->save_attempts < 6 ? t->save_attempts : 6;
    int ms = SAVE_RETRY_MIN_MS << shift;
    if (ms > SAVE_RETRY_MAX_MS) ms = SAVE_RETRY_MAX_MS;
    if (t->save_attempts++ == 0) {
        for (struct turn_listener *l = t->listeners, *nx; l; l = nx) {
            nx = l->next_;
            l->on_event(l->arg, save_failed_frame, sizeof save_failed_frame - 1);
        }
    }
    arm(t, ms);
}

/* The save came back: delivers each saved turn's done event and ends its
 * listeners. A turn whose save failed keeps done held and is retried
 * (save_failed); one whose row is gone (its session was deleted
 * meanwhile) ends as before; one freed meanwhile is skipped. */
static void saved(void *arg, const char *const *ids, const int *rcs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct turn *t = turn_find(ids[i]);
        if (!t || !t->ended || t->finished) continue;
        t->save_rc = rcs[i] == 0 ? SAVE_OK : rcs[i] < 0 ? SAVE_FAILED : SAVE_GONE;
        if (t->save_rc == SAVE_FAILED) {
            save_failed(t);
            continue;
        }
        t->finished = 1;
        deliver_held(t);
        while (t->listeners) {
            struct turn_listener *l = t->listeners;
            turn_unsubscribe(t, l);
            l->on_end(l->arg);
        }
        arm(t, env.linger_ms);
    }
}

/* Saves every turn that ended since the last call in one transaction
 * (store_turns_finish_async copies what it needs); saved() goes on. */
static void save_pending(evutil_socket_t fd, short what, void *arg)
{
    struct turn *list = to_save;
    struct store_save *sv;
    size_t n = 0, i = 0;
    double t0 = metrics_now();
    to_save = NULL;
    if (!list) return;
    for (struct turn *t = list; t; t = t->save_next) n++;
    sv = xcalloc(n, sizeof *sv);
    while (list) {
        struct turn *t = list;
        list = t->save_next;
        t->save_next = NULL;
        sv[i].answer_msg_id = t->msg_id;
        fill_result(t, &sv[i].r);
        i++;
    }
    store_turns_finish_async(env.store, sv, n, util_wall_ms(), saved, NULL);
    metrics_observe(METRICS_DB_SECONDS, metrics_now() - t0);
    free(sv);
}

void turn_engine_done(struct turn *t, enum turn_status status, const char *error_msg,
                      json_t *citations, const struct turn_usage *usage)
{
    if (t->ended) {
        json_decref(citations);
        return;
    }
    t->job = NULL;
    if (usage) {
        budget_add(env.budget, usage->prompt_tokens + usage->completion_tokens);
        t->prompt_tokens = usage->prompt_tokens;
        t->completion_tokens = usage->completion_tokens;
        t->prompt_version = usage->prompt_version;
        t->engine_name = usage->engine;
        metrics_tokens(usage->prompt_tokens, usage->completion_tokens);
    }
    if (t->overflow && status == TURN_COMPLETE) {
        status = TURN_INCOMPLETE;
        error_msg = "This answer was too long and was cut short.";
    }
    if (status == TURN_INCOMPLETE)
        append_event(t, json_pack("{s:s, s:s}", "type", "error", "message",
                                  error_msg ? error_msg : "The coach could not finish this answer."), 1);
    finish(t, status, citations);
}

int turn_subscribe(struct turn *t, struct turn_listener *l, size_t from)
{
    /* a mirror may be behind what the reader saw on the owning instance
     * (its batch is a few ms from the database): frames up to from are
     * not sent again when they arrive */
    l->after_ = from;
    for (size_t i = from; i < t->nvisible; i++) l->on_event(l->arg, t->frames[i], t->frame_len[i]);
    if (t->finished) {
        l->on_end(l->arg);
        return 0;
    }
    if (t->ended && t->save_attempts > 0)      /* still not saved */
        l->on_event(l->arg, save_failed_frame, sizeof save_failed_frame - 1);
    l->prev_ = NULL;
    l->next_ = t->listeners;
    if (t->listeners) t->listeners->prev_ = l;
    t->listeners = l;
    t->nlisteners++;
    if (t->mirror) arm(t, MIRROR_POLL_MS);
    else if (!t->ended) evtimer_del(t->timer);  /* someone is watching again (an
                                                   ended turn's timer is the save retry) */
    return 1;
}

void turn_unsubscribe(struct turn *t, struct turn_listener *l)
{
    if (l->prev_) l->prev_->next_ = l->next_;
    else if (t->listeners == l) t->listeners = l->next_;
    else return;                           /* not subscribed */
    if (l->next_) l->next_->prev_ = l->prev_;
    l->prev_ = l->next_ = NULL;
    t->nlisteners--;
    if (t->nlisteners == 0 && !t->ended && !t->mirror) arm(t, env.grace_ms);
}

void turn_cancel(struct turn *t)
{
    if (t->mirror) {                       /* its instance stops it */
        if (!t->ended) store_notify(env.store, "coachd_stop", t->msg_id);
        return;
    }
    if (t->ended) return;
    t->cancelled = 1;
    if (t->job) {
        t->job_engine->cancel(t->job_engine, t->job);
        t->job = NULL;
    }
    finish(t, TURN_STOPPED, NULL);
}

void turn_cancel_session(const char *session_id)
{
    for (struct turn *t = all_turns; t; t = t->next)
        if (strcmp(t->session_id, session_id) == 0) turn_cancel(t);
}

static void unqueue_save(struct turn *t)
{
    for (struct turn **pp = &to_save; *pp; pp = &(*pp)->save_next) {
        if (*pp == t) {
            *pp = t->save_next;
            break;
        }
    }
    t->save_next = NULL;
}

void turn_drop_session(const char *session_id)
{
    for (struct turn *t = all_turns, *nx; t; t = nx) {
        nx = t->next;
        if (strcmp(t->session_id, session_id) != 0) continue;
        t->ended = 1;                /* an engine callback during its cancel is ignored */
        unqueue_save(t);
        while (t->listeners) {
            struct turn_listener *l = t->listeners;
            turn_unsubscribe(t, l);
            l->on_end(l->arg);
        }
        turn_free(t);                /* cancels the engine job */
    }
}

size_t turn_running_count(void)
{
    size_t n = 0;
    for (struct turn *t = all_turns; t; t = t->next) n += !t->ended && !t->mirror;
    return n;
}

void turn_cancel_all(void)
{
    for (struct turn *t = all_turns; t; t = t->next)
        if (!t->mirror) turn_cancel(t);    /* another instance's answers go on */
}

void turn_free_all(void)
{
    /* answers whose save kept failing get one last try */
    for (struct turn *t = all_turns; t; t = t->next) {
        if (!t->ended || t->finished || t->save_attempts == 0) continue;
        evtimer_del(t->timer);
        unqueue_save(t);
        t->save_next = to_save;
        to_save = t;
    }
    save_pending(-1, 0, NULL);            /* nothing ended is left unsaved */
    flush_events(-1, 0, NULL);
    while (all_turns) turn_free(all_turns);
    if (save_ev) event_free(save_ev);
    save_ev = NULL;
    if (flush_ev) event_free(flush_ev);
    flush_ev = NULL;
    if (lease_ev) event_free(lease_ev);
    lease_ev = NULL;
    free(flush_recs);
    flush_recs = NULL;
    nflush_recs = flush_recs_cap = 0;
}

/* The newest max_msgs of the history read at the question's commit. */
json_t *turn_history(const struct turn *t, int max_msgs)
{
    json_t *out = json_array();
    size_t n = json_array_size(t->prehist);
    size_t from = max_msgs >= 0 && n > (size_t)max_msgs ? n - (size_t)max_msgs : 0;
    for (size_t i = from; i < n; i++) json_array_append(out, json_array_get(t->prehist, i));
    return out;
}

/* ---------- mirrors: answers running on another instance ----------
 * A reader on this instance of an answer that another instance runs (its
 * row is pending in a shared store) gets a mirror turn: the stored events,
 * then each new batch when that instance's NOTIFY names it (or the poll
 * timer fires), by event number, so in order with no gap and no repeat.
 * Listeners, Last-Event-ID and replay work on it as on a local turn. It
 * ends at done, or when the row stops being pending without one (its
 * instance died and the lease sweep marked it incomplete), and it is
 * forgotten when nobody reads it. A stop is sent to the owner. */

/* Appends stored events; returns 1 when one of them was done. */
static int mirror_append(struct turn *t, json_t *events)
{
    size_t i;
    json_t *d;
    int done = 0;
    json_array_foreach(events, i, d) {
        const char *txt = json_string_value(d);
        json_t *j;
        if (!txt) continue;
        append_json_text(t, txt, json_string_length(d), 1);
        j = json_loads(txt, 0, NULL);
        done = done || json_is_true(json_object_get(j, "done"));
        json_decref(j);
    }
    return done;
}

static void mirror_end(struct turn *t)
{
    t->ended = t->finished = 1;
    while (t->listeners) {
        struct turn_listener *l = t->listeners;
        turn_unsubscribe(t, l);
        l->on_end(l->arg);
    }
    arm(t, env.linger_ms);
}

/* What a mirror_pull read, on the store's pool: the stored events after
 * from; when there are none, the row (has it stopped being pending?). */
struct pull_call {
    char msg_id[32];
    size_t from;
    int rc;                                /* events_since: 0 or -1 */
    json_t *since;
    int found;                             /* store_answer_events */
    char sid[80], status[32];
    json_t *events;
};

static void pull_run(struct store *view, void *arg)
{
    struct pull_call *p = arg;
    p->rc = store_events_since(view, p->msg_id, p->from, &p->since);
    if (p->rc != 0 || json_array_size(p->since) > 0) return;
    p->found = store_answer_events(view, p->msg_id, p->sid, sizeof p->sid, p->status,
                                   sizeof p->status, &p->events);
}

/* Back on the loop: applies what was read when the mirror still stands
 * where it stood (by id: it may have been freed meanwhile). */
static void pull_done(void *arg, int how)
{
    struct pull_call *p = arg;
    struct turn *t;
    if (how == STORE_CALL_TIMEOUT) return;  /* STORE_CALL_LATE follows */
    t = turn_find(p->msg_id);
    if (t && t->mirror) t->pulling = 0;
    if (how == STORE_CALL_DONE && p->rc == 0 && t && t->mirror && !t->finished &&
        t->nframes == p->from) {
        if (json_array_size(p->since) > 0) {
            if (mirror_append(t, p->since)) mirror_end(t);
        } else if (p->found == 0) {
            turn_drop_session(t->session_id);   /* its row is gone: deleted */
        } else if (p->found > 0 && strcmp(p->status, "pending") != 0) {
            /* finished or swept: the saved log may hold events not seen yet */
            json_t *rest = json_array();
            for (size_t i = t->nframes; i < json_array_size(p->events); i++)
                json_array_append(rest, json_array_get(p->events, i));
            mirror_append(t, rest);
            json_decref(rest);
            mirror_end(t);
        }
    }
    json_decref(p->since);
    json_decref(p->events);
    free(p);
}

/* Reads what is new for a mirror, off the loop; one read at a time. */
static void mirror_pull(struct turn *t)
{
    struct pull_call *p;
    if (t->finished || t->pulling) return;
    p = xcalloc(1, sizeof *p);
    snprintf(p->msg_id, sizeof p->msg_id, "%s", t->msg_id);
    p->from = t->nframes;
    t->pulling = 1;
    store_call(env.store, t->session_id, pull_run, pull_done, p);
}

static void mirror_timer(struct turn *t)
{
    if (t->nlisteners == 0) {              /* nobody reads it: a reconnect makes a new one */
        turn_free(t);
        return;
    }
    if (!t->finished) arm(t, MIRROR_POLL_MS);
    mirror_pull(t);                        /* may free t (SQLite: in the call) */
}

static struct turn *mirror_create(const char *message_id, const char *session_id, json_t *events)
{
    struct turn *t = xcalloc(1, sizeof *t);
    snprintf(t->msg_id, sizeof t->msg_id, "%s", message_id);
    snprintf(t->session_id, sizeof t->session_id, "%.*s", (int)sizeof t->session_id - 1,
             session_id);                  /* ids are util_id_valid: far shorter */
    t->mirror = 1;
    t->log = json_array();
    t->created_s = metrics_now();
    t->timer = evtimer_new(env.base, timer_cb, t);
    registry_add(t);
    if (mirror_append(t, events)) mirror_end(t);
    else arm(t, MIRROR_POLL_MS);
    return t;
}

void turn_notify(const char *channel, const char *payload)
{
    if (!channel) {                        /* the listener reconnected: re-read all */
        for (struct turn *t = all_turns, *nx; t; t = nx) {
            nx = t->next;
            if (t->mirror) mirror_pull(t);
        }
        return;
    }
    if (strcmp(channel, "coachd_events") == 0) {
        const char *p = payload;
        while (p && *p) {
            char id[32];
            size_t n = strcspn(p, ",");
            struct turn *t;
            if (n < sizeof id) {
                memcpy(id, p, n);
                id[n] = '\0';
                t = turn_find(id);
                if (t && t->mirror) mirror_pull(t);
            }
            p += n;
            if (*p == ',') p++;
        }
    } else if (strcmp(channel, "coachd_stop") == 0) {
        struct turn *t = turn_find(payload);
        if (t && !t->mirror) turn_cancel(t);
    }
}

/* ---------- opening an answer for a reader ---------- */

static void replay_clear(struct turn_replay *r)
{
    json_decref(r->events);
    memset(r, 0, sizeof *r);
}

int turn_open_mem(const char *message_id, size_t from, const char *session,
                  struct turn_replay *r)
{
    struct turn *t = turn_find(message_id);
    memset(r, 0, sizeof *r);
    if (!t || (session && strcmp(t->session_id, session) != 0)) return TURN_ASK_STORE;
    if (t->finished && from >= t->nvisible) return 0;
    r->live = t;
    r->from = from > t->nvisible && !t->mirror ? t->nvisible : from;  /* see turn_subscribe */
    return 1;
}

void turn_stored_read(struct store *view, const char *message_id, struct turn_stored *s)
{
    memset(s, 0, sizeof *s);
    s->found = store_answer_events(view, message_id, s->sid, sizeof s->sid, s->status,
                                   sizeof s->status, &s->events);
    /* a pending row in a shared store runs on another instance: its events */
    if (s->found > 0 && strcmp(s->status, "pending") == 0 && store_is_shared(view))
        s->since_rc = store_events_since(view, message_id, 0, &s->since);
}

void turn_stored_clear(struct turn_stored *s)
{
    json_decref(s->events);
    json_decref(s->since);
    memset(s, 0, sizeof *s);
}

int turn_open_stored(const char *message_id, size_t from, const char *session,
                     struct turn_stored *s, struct turn_replay *r)
{
    struct turn *t;
    int rc = turn_open_mem(message_id, from, session, r);   /* it may have come meanwhile */
    if (rc != TURN_ASK_STORE) {
        turn_stored_clear(s);
        return rc;
    }
    if (s->found <= 0 || (session && strcmp(s->sid, session) != 0)) {
        turn_stored_clear(s);
        return -1;
    }
    /* a pending row in a shared store runs on another instance: follow it */
    if (strcmp(s->status, "pending") == 0 && store_is_shared(env.store)) {
        if (s->since_rc != 0) {
            turn_stored_clear(s);
            return 0;
        }
        t = mirror_create(message_id, s->sid, s->since);
        turn_stored_clear(s);
        if (t->finished && from >= t->nvisible) return 0;
        r->live = t;
        r->from = from;                    /* may be ahead of the mirror: see turn_subscribe */
        return 1;
    }
    /* "pending" rows were lost in a crash (they become incomplete at
     * start-up): nothing more will come */
    if (strcmp(s->status, "pending") == 0 || from >= json_array_size(s->events)) {
        turn_stored_clear(s);
        return 0;
    }
    r->events = s->events;
    s->events = NULL;
    turn_stored_clear(s);
    snprintf(r->message_id, sizeof r->message_id, "%s", message_id);
    r->from = from;
    return 1;
}

int turn_open(const char *message_id, size_t from, const char *session, struct turn_replay *r)
{
    struct turn_stored s;
    int rc = turn_open_mem(message_id, from, session, r);
    if (rc != TURN_ASK_STORE) return rc;
    turn_stored_read(env.store, message_id, &s);
    return turn_open_stored(message_id, from, session, &s, r);
}

int turn_replay_deliver(struct turn_replay *r, struct turn_listener *l)
{
    if (r->live) {
        struct turn *t = r->live;
        size_t from = r->from;
        replay_clear(r);
        return turn_subscribe(t, l, from);
    }
    for (size_t i = r->from; i < json_array_size(r->events); i++) {
        const char *data = json_string_value(json_array_get(r->events, i));
        size_t len;
        char *frame;
        if (!data) continue;
        frame = turn_frame(r->message_id, i + 1, data, &len);
        l->on_event(l->arg, frame, len);
        free(frame);
    }
    replay_clear(r);
    l->on_end(l->arg);
    return 0;
}

int turn_stop_mem(const char *message_id, const char *session, char *status, size_t n)
{
    struct turn *t = turn_find(message_id);
    if (t && (!session || strcmp(t->session_id, session) == 0)) {
        turn_cancel(t);
        snprintf(status, n, "%s", t->mirror && !t->finished ? "stopped" : status_name(t->status));
        return 0;
    }
    return t ? -1 : TURN_ASK_STORE;        /* another session's answer, or not here */
}

int turn_stop_stored(const char *message_id, const char *session, struct turn_stored *s,
                     char *status, size_t n)
{
    int found = s->found;
    int rc = turn_stop_mem(message_id, session, status, n);   /* it may have come meanwhile */
    if (rc != TURN_ASK_STORE) {
        turn_stored_clear(s);
        return rc;
    }
    if (found > 0 && session && strcmp(s->sid, session) != 0) found = 0;
    if (found > 0) snprintf(status, n, "%s", s->status);
    /* running on another instance: it stops it and saves it as stopped */
    if (found > 0 && strcmp(s->status, "pending") == 0 && store_is_shared(env.store)) {
        store_notify(env.store, "coachd_stop", message_id);
        snprintf(status, n, "stopped");
    }
    turn_stored_clear(s);
    return found > 0 ? 0 : -1;
}

int turn_stop(const char *message_id, const char *session, char *status, size_t n)
{
    struct turn_stored s;
    int rc = turn_stop_mem(message_id, session, status, n);
    if (rc != TURN_ASK_STORE) return rc;
    turn_stored_read(env.store, message_id, &s);
    return turn_stop_stored(message_id, session, &s, status, n);
}

/* ---------- the pipeline ---------- */

/* convo hook (issue 14): the session's earlier questions, oldest first,
 * for reading this one in its conversation. Strings point into *hist. */
static size_t earlier_questions(struct turn *t, json_t **hist, const char **prev, size_t max)
{
    size_t n = 0, i;
    json_t *m;
    *hist = turn_history(t, 4 * CONVO_PREV_MAX);
    json_array_foreach(*hist, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *c = json_string_value(json_object_get(m, "content"));
        if (!role || !c || strcmp(role, "user") != 0) continue;
        if (n == max) {                        /* keep the newest max */
            memmove(prev, prev + 1, (max - 1) * sizeof *prev);
            n--;
        }
        prev[n++] = c;
    }
    return n;
}

/* convo hook (issue 14): small talk, a clarifying question or the honest
 * no-match, streamed as word chunks with no engine and no citation. */
static void reply_without_engine(struct turn *t, const char *text)
{
    size_t len = strlen(text), off = 0;
    while (off < len) {                        /* a word and its spaces */
        size_t n = 0;
        while (off + n < len && text[off + n] != ' ') n++;
        while (off + n < len && text[off + n] == ' ') n++;
        turn_emit_chunk(t, text + off, n);
        off += n;
    }
    t->engine_name = "convo";
    finish(t, TURN_COMPLETE, NULL);
}

/* How engines report (engine.h): straight into the turn. */
static void on_engine_chunk(void *ctx, const char *text, size_t len)
{
    turn_emit_chunk(ctx, text, len);
}

static void on_engine_done(void *ctx, enum engine_status status, const char *error_msg,
                           json_t *citations, const struct engine_usage *u)
{
    struct turn *t = ctx;
    struct turn_usage tu = {0, 0, NULL, t->engine_name};
    if (u) tu = (struct turn_usage){u->prompt_tokens, u->completion_tokens, u->prompt_version,
                                    t->engine_name};
    turn_engine_done(t, status == ENGINE_COMPLETE ? TURN_COMPLETE : TURN_INCOMPLETE, error_msg,
                     citations, u ? &tu : NULL);
}

/* Steps 1 and 2, safety and retrieval in the conversation (convo.h): the
 * plan is triage's decision, or small talk, a clarifying question, the
 * honest no-match, or the passages for the question read with the
 * session's earlier questions. A triage notice (urgent, prepare, net) goes
 * first, with a refusal or before the answer; a client that ignores it
 * still gets the rest. Returns 1 when the turn ended here. */
static int step_plan(struct turn *t, int *age)
{
    struct convo_plan *pl = xmalloc(sizeof *pl);
    const char *prev[CONVO_PREV_MAX];
    json_t *hist = NULL;
    size_t nprev = earlier_questions(t, &hist, prev, CONVO_PREV_MAX);
    double t_plan = metrics_now();

    convo_plan(env.kb, env.policy, t->question, t->qlen, prev, nprev, pl);
    if (pl->kind != CONVO_REFUSE)          /* a refusal retrieves nothing */
        metrics_observe(METRICS_RETRIEVAL_SECONDS, metrics_now() - t_plan);
    json_decref(hist);
    if ((t->triage = safety_notice_json(env.policy, &pl->verdict)) != NULL) {
        append_event(t, json_pack("{s:s, s:O}", "type", "triage", "data", t->triage), 1);
        metrics_triage(pl->verdict.notice);
    }
    if (pl->kind == CONVO_REFUSE) {
        json_t *r = safety_verdict_json(env.policy, &pl->verdict);
        const char *msg = json_string_value(json_object_get(r, "message"));
        const char *emp = json_string_value(json_object_get(r, "empathy"));
        metrics_refusal(safety_category_name(pl->category));
        strbuf_printf(&t->answer, "%s %s", emp ? emp : "", msg ? msg : "");
        t->refusal = json_incref(r);
        append_event(t, json_pack("{s:s, s:o}", "type", "refusal", "data", r), 1);
        finish(t, TURN_COMPLETE, NULL);
        free(pl);
        return 1;
    }
    if (pl->kind != CONVO_ANSWER) {
        t->nomatch = pl->kind == CONVO_NOMATCH;
        reply_without_engine(t, pl->reply);
        free(pl);
        return 1;
    }
    t->nhits = pl->nhits < TURN_HITS ? pl->nhits : TURN_HITS;
    memcpy(t->hits, pl->hits, t->nhits * sizeof t->hits[0]);
    if (pl->verdict.english[0])
        t->english = xstrdup(pl->verdict.english);
    *age = pl->age;
    free(pl);
    return 0;
}

/* Step 3, the engine: the configured one, or the grounded one in lite mode
 * when the token budget is spent. It reports through on_engine_chunk and
 * on_engine_done; the citations come with done and the save follows
 * (finish). */
static void step_engine(struct turn *t, int age)
{
    struct engine *e = env.engine;
    const char *preface = NULL;
    if (env.lite && budget_spent_known(env.budget, t->tokens_session, t->tokens_today)) {
        e = env.lite;
        preface = lite_preface;
        t->engine_name = "grounded-lite";
    }
    if (e->history_msgs > 0)
        t->history = turn_history(t, e->history_msgs);
    /* an engine that composes from the words it reads (the grounded one,
     * lite mode included) gets a question in another language as its
     * English reading; a model reads the question as written */
    const char *q = t->question;
    size_t qlen = t->qlen;
    if (t->english && e->reads_english) {
        q = t->english;
        qlen = strlen(q);
    }
    t->rq = (struct engine_request){
        .question = q, .question_len = qlen, .hits = t->hits, .nhits = t->nhits,
        .age_months = age, .history = t->history, .preface = preface,
        .on_chunk = on_engine_chunk, .on_done = on_engine_done, .ctx = t,
    };
    t->job_engine = e;
    if (e->start(e, &t->rq, &t->job) != 0) {
        t->job = NULL;
        turn_engine_done(t, TURN_INCOMPLETE, "The coach could not start an answer. Please try again.",
                         NULL, NULL);
    }
}

/* The pipeline: safety and retrieval (in the conversation) -> engine ->
 * citations -> save (the last two when the engine is done:
 * turn_engine_done, finish). */
static void run_pipeline(evutil_socket_t fd, short what, void *arg)
{
    struct turn *t = arg;
    int age = -1;

    if (t->ended) return;                  /* cancelled before it started */
    if (step_plan(t, &age)) return;
    step_engine(t, age);
}

struct turn *turn_prepare(const char *session_id, const char *question, size_t len)
{
    struct turn *t = xcalloc(1, sizeof *t);
    if (util_random_id(t->msg_id, sizeof t->msg_id, 16) ||
        util_random_id(t->user_msg_id, sizeof t->user_msg_id, 16) ||
        strlen(session_id) >= sizeof t->session_id) {
        free(t);
        return NULL;
    }
    snprintf(t->session_id, sizeof t->session_id, "%s", session_id);
    t->question = xstrndup(question, len);
    t->qlen = len;
    t->created_s = metrics_now();
    t->want_daily = env.lite && env.budget && budget_daily_due(env.budget);
    return t;
}

/* The most history any part of the pipeline reads (turn_history). */
static int history_wanted(void)
{
    int n = 4 * CONVO_PREV_MAX;
    if (env.engine && env.engine->history_msgs > n) n = env.engine->history_msgs;
    if (env.lite && env.lite->history_msgs > n) n = env.lite->history_msgs;
    return n;
}

int turn_begin_store(struct store *view, struct turn *t)
{
    if (store_turn_begin(view, t->session_id, t->user_msg_id, t->msg_id, t->question,
                         util_wall_ms()))
        return -1;
    /* what the pipeline will read, now, while off the loop */
    t->prehist = store_history(view, t->session_id, t->msg_id, history_wanted());
    if (env.lite && env.budget) {
        t->tokens_session = store_tokens_session(view, t->session_id);
        t->tokens_today = t->want_daily
                              ? store_tokens_since(view, util_utc_midnight_ms(util_wall_ms()))
                              : -1;
    }
    return 0;
}

void turn_discard(struct turn *t)
{
    json_decref(t->prehist);
    free(t->question);
    free(t);
}

void turn_launch(struct turn *t)
{
    struct timeval now = {0, 0};
    t->log = json_array();
    t->timer = evtimer_new(env.base, timer_cb, t);
    t->start_ev = evtimer_new(env.base, run_pipeline, t);
    evtimer_add(t->start_ev, &now);
    arm(t, env.grace_ms);                  /* until the first subscriber */
    registry_add(t);
}

struct turn *turn_create(const char *session_id, const char *question, size_t len)
{
    struct turn *t = turn_prepare(session_id, question, len);
    if (!t) return NULL;
    if (turn_begin_store(env.store, t)) {
        turn_discard(t);
        return NULL;
    }
    metrics_observe(METRICS_DB_SECONDS, metrics_now() - t->created_s);
    turn_launch(t);
    return t;
}
