/* main.c — coachd's entry point: the server, `coachd ask` and
 * `coachd kb check`.
 *
 * Start-up order: configuration, safety policy, knowledge base, database
 * (with crash recovery), engine, HTTP. Any failure stops start-up with a
 * message naming the file and problem. Shutdown (SIGTERM/SIGINT): stop
 * accepting, let running turns finish for up to --shutdown-s seconds, stop
 * the rest (their partial answers are saved as 'stopped'), close every
 * connection and the database, exit 0. */
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api.h"
#include "budget.h"
#include "config.h"
#include "convo.h"
#include "dbfault.h"
#include "engine.h"
#include "engine_grounded.h"
#include "engine_openai.h"
#include "events.h"
#include "http.h"
#include "kb.h"
#include "ratelimit.h"
#include "safety.h"
#include "sse.h"
#include "store.h"
#include "store_pg.h"
#include "turn.h"
#include "util.h"

static struct {
    struct event_base *base;
    struct http_server *http;
    struct api_ctx api;
    struct event *drain_ev;
    uint64_t drain_deadline;
    int draining;
} app;

static int load_kb(const struct config *cfg, struct kb **kb, int verbose)
{
    struct kb_problems pr = {0};
    int rc = kb_load(cfg->kb_dirs, cfg->n_kb_dirs, kb, &pr);
    for (size_t i = 0; i < pr.n; i++) fprintf(stderr, "%s\n", pr.items[i]);
    if (rc) fprintf(stderr, "coachd: the knowledge base has %zu problem%s (see above); "
                    "run `coachd kb check` after fixing them\n", pr.n, pr.n == 1 ? "" : "s");
    else if (verbose)
        fprintf(stderr, "coachd: knowledge base: %zu passages, %zu topics\n", kb_count(*kb),
                kb_topic_count(*kb));
    kb_problems_free(&pr);
    return rc;
}

static int load_policy(const struct config *cfg, struct safety_policy **p)
{
    char err[512];
    if (safety_policy_load(cfg->policy_path, cfg->locale, p, err, sizeof err)) {
        fprintf(stderr, "coachd: safety policy: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---------- coachd kb check ---------- */

static int cmd_kb_check(int argc, char **argv)
{
    const char *dirs[CONFIG_MAX_KB_DIRS];
    size_t n = 0;
    struct kb *kb = NULL;
    struct kb_problems pr = {0};
    int rc;
    for (int i = 3; i < argc && n < CONFIG_MAX_KB_DIRS; i++) dirs[n++] = argv[i];
    if (n == 0) {
        const char *env = getenv("COACH_KB");
        dirs[n++] = env && *env ? env : "kb";
    }
    rc = kb_load(dirs, n, &kb, &pr);
    for (size_t i = 0; i < pr.n; i++) printf("%s\n", pr.items[i]);
    if (rc == 0) {
        size_t checked = 0, index_pages = 0, noasks = 0;
        for (size_t i = 0; i < kb_count(kb); i++) {
            const struct kb_passage *p = kb_get(kb, i);
            if (p->url_checked) checked++;
            else printf("%s: unchecked url %s\n", p->file, p->url);
            if (kb_url_is_index(p->url)) {
                index_pages++;
                printf("%s: url is an index page, not a page for this claim: %s\n", p->file, p->url);
            }
            if (p->nasks < 3) noasks++;
        }
        printf("kb: urls: %zu checked, %zu unchecked, %zu index pages; %zu passages with "
               "fewer than 3 asks\n", checked, kb_count(kb) - checked, index_pages, noasks);
        printf("kb: ok: %zu passages, %zu topics\n", kb_count(kb), kb_topic_count(kb));
    }
    else
        printf("kb: %zu problem%s\n", pr.n, pr.n == 1 ? "" : "s");
    kb_problems_free(&pr);
    kb_free(kb);
    return rc ? 1 : 0;
}

/* ---------- coachd ask ---------- */

/* `coachd ask` runs the server's pipeline (turn.c: safety -> retrieval ->
 * engine -> citations -> save) on a loop of its own, with the grounded
 * engine and a throw-away database, and prints what a subscriber saw. */
struct ask_out {
    struct event_base *base;
    struct strbuf text;
    json_t *refusal, *citations;
    json_t *triage;             /* the triage notice, if any */
    int nomatch;
};

static void ask_on_event(void *arg, const char *frame, size_t len)
{
    struct ask_out *o = arg;
    const char *d = strstr(frame, "\ndata: ");
    json_t *j, *v;
    if (!d) return;
    d += 7;
    j = json_loadb(d, len - (size_t)(d - frame), JSON_DISABLE_EOF_CHECK, NULL);
    if ((v = json_object_get(j, "chunk"))) strbuf_add(&o->text, json_string_value(v), json_string_length(v));
    else if ((v = json_object_get(j, "done"))) {
        o->citations = json_incref(json_object_get(j, "citations"));
        o->nomatch = json_is_true(json_object_get(j, "nomatch"));
    } else if (json_object_get(j, "type") && strcmp(json_string_value(json_object_get(j, "type")), "triage") == 0)
        o->triage = json_incref(json_object_get(j, "data"));
    else if (json_object_get(j, "type") && strcmp(json_string_value(json_object_get(j, "type")), "refusal") == 0)
        o->refusal = json_incref(json_object_get(j, "data"));
    json_decref(j);
}

static void ask_on_end(void *arg)
{
    struct ask_out *o = arg;
    event_base_loopbreak(o->base);
}

static void ask_print(const struct ask_out *o)
{
    json_t *res, *ci;
    size_t i;
    if (o->triage)
        printf("[triage: %s] %s\n", json_string_value(json_object_get(o->triage, "level")),
               json_string_value(json_object_get(o->triage, "message")));
    if (o->refusal) {
        printf("[refusal: %s]\n%s\n%s\n", json_string_value(json_object_get(o->refusal, "category")),
               json_string_value(json_object_get(o->refusal, "empathy")),
               json_string_value(json_object_get(o->refusal, "message")));
        json_array_foreach(json_object_get(o->refusal, "resources"), i, res)
            printf("- %s: %s %s\n", json_string_value(json_object_get(res, "name")),
                   json_string_value(json_object_get(res, "phone")) ?: "",
                   json_string_value(json_object_get(res, "url")) ?: "");
        return;
    }
    printf("%s%s\n", o->nomatch ? "[nomatch]\n" : "", o->text.s ? o->text.s : "");
    if (json_array_size(o->citations)) printf("\nSources:\n");
    json_array_foreach(o->citations, i, ci)
        printf("[%lld] %s: %s <%s>\n", json_integer_value(json_object_get(ci, "id")),
               json_string_value(json_object_get(ci, "source")),
               json_string_value(json_object_get(ci, "title")),
               json_string_value(json_object_get(ci, "url")));
}

static int cmd_ask(int argc, char **argv)
{
    struct config cfg;
    struct kb *kb = NULL;
    struct safety_policy *policy = NULL;
    struct store *store = NULL;
    struct engine *engine = NULL;
    struct ask_out o = {0};
    struct turn_listener l = {.on_event = ask_on_event, .on_end = ask_on_end, .arg = &o};
    char dir[] = "/tmp/coachd-ask-XXXXXX", db[64], sid[32], err[256];
    const char *q;
    struct turn *t;
    int rc = 2;

    if (argc < 3) {
        fputs("usage: coachd ask \"question\" [--kb DIR] [--policy PATH] [--locale US|UK]\n", stderr);
        return 2;
    }
    q = argv[2];
    if (config_load(&cfg, argc, argv, 3)) return 2;
    if (strcmp(cfg.engine, "grounded") != 0) {
        /* the openai engine streams through a turn on the server's loop */
        fprintf(stderr, "coachd ask: answers with the grounded composer only; to try the %s "
                "engine, start coachd --engine %s and ask through the page or "
                "GET /api/coach/stream/{session_id}?question=...\n", cfg.engine, cfg.engine);
        return 2;
    }
    if (load_policy(&cfg, &policy) || load_kb(&cfg, &kb, 0)) goto out;
    if (!mkdtemp(dir)) goto out;
    snprintf(db, sizeof db, "%s/ask.db", dir);
    o.base = event_base_new();
    if (!o.base || store_open(db, &store, err, sizeof err) ||
        util_random_id(sid, sizeof sid, 16) || store_session_create(store, sid, NULL, util_wall_ms()))
        goto out;
    engine = engine_grounded_new(o.base, kb, 0);
    turn_setup(&(struct turn_env){.base = o.base, .store = store, .kb = kb, .policy = policy,
                                  .engine = engine, .grace_ms = 60 * 1000, .linger_ms = 0});
    t = turn_create(sid, q, strlen(q));
    if (!t) goto out;
    if (turn_subscribe(t, &l, 0)) event_base_dispatch(o.base);
    ask_print(&o);
    rc = 0;
out:
    turn_free_all();
    if (engine) engine->destroy(engine);
    store_close(store);
    if (o.base) event_base_free(o.base);
    free(o.text.s);
    json_decref(o.refusal);
    json_decref(o.citations);
    json_decref(o.triage);
    kb_free(kb);
    safety_policy_free(policy);
    if (store || dir[sizeof dir - 2] != 'X') {
        static const char *const ext[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < 3; i++) {
            char f[80];
            snprintf(f, sizeof f, "%s%s", db, ext[i]);
            unlink(f);
        }
        rmdir(dir);
    }
    return rc;
}

/* ---------- server ---------- */

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    size_t running = turn_running_count();
    /* ended answers' saves may still be on the store's worker: their done
     * events follow once they are back */
    if ((running > 0 || store_async_pending(app.api.store) > 0) &&
        util_now_ms() < app.drain_deadline)
        return;
    if (running > 0) {
        fprintf(stderr, "coachd: shutdown deadline reached; stopping %zu answer%s\n", running,
                running == 1 ? "" : "s");
        turn_cancel_all();
    }
    /* Give the final events (done, stopped) a moment to reach the clients
     * before connections are closed. */
    struct timeval flush = {0, 300 * 1000};
    event_del(app.drain_ev);
    event_base_loopexit(app.base, &flush);
}

/* Another instance's notification (shared store): a deleted session
 * leaves memory here too; the rest is the turns'. */
static void on_notify(void *arg, const char *channel, const char *payload)
{
    if (channel && strcmp(channel, "coachd_deleted") == 0) {
        if (!util_id_valid(payload)) return;
        turn_drop_session(payload);
        events_deleted(payload);
        return;
    }
    if (channel && strcmp(channel, "coachd_session") == 0) {
        /* "session,message": a question asked on some instance; its tabs
         * here are told, unless it was asked here (announced already) */
        char sid[72], mid[72];
        size_t n = strcspn(payload, ",");
        struct turn *t;
        if (n >= sizeof sid || !payload[n] || strlen(payload + n + 1) >= sizeof mid) return;
        memcpy(sid, payload, n);
        sid[n] = '\0';
        snprintf(mid, sizeof mid, "%s", payload + n + 1);
        if (!util_id_valid(sid) || !util_id_valid(mid)) return;
        t = turn_find(mid);
        if (t && !turn_is_mirror(t)) return;
        events_message(sid, mid);
        return;
    }
    turn_notify(channel, payload);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    const struct config *cfg = arg;
    struct timeval tv = {0, 100 * 1000};
    if (app.draining) {                 /* second signal: stop now */
        turn_cancel_all();
        event_base_loopexit(app.base, NULL);
        return;
    }
    app.draining = 1;
    app.api.draining = 1;
    fprintf(stderr, "coachd: %s: finishing %zu running answer%s (up to %d s)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", turn_running_count(),
            turn_running_count() == 1 ? "" : "s", cfg->shutdown_s);
    http_stop_accepting(app.http);
    app.drain_deadline = util_now_ms() + (uint64_t)cfg->shutdown_s * 1000u;
    app.drain_ev = event_new(app.base, -1, EV_PERSIST, drain_tick, NULL);
    event_add(app.drain_ev, &tv);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int serve(int argc, char **argv, int first)
{
    struct config cfg;
    struct safety_policy *policy = NULL;
    struct kb *kb = NULL;
    struct store *store = NULL;
    struct engine *engine = NULL, *lite = NULL;
    struct budget *budget = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    char err[512];
    int rc = 2, fixed;

    rc = config_load(&cfg, argc, argv, first);
    if (rc) return rc < 0 ? 2 : 0;
    rc = 1;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    app.base = event_base_new();
    if (!app.base) goto out;
    if (load_policy(&cfg, &policy)) goto out;
    /* the other languages' dictionaries load on a thread of their own while
     * the rest starts (about 3.5 s for all): the loop never loads one */
    if (safety_policy_warm(policy))
        fprintf(stderr, "coachd: cannot start the dictionary loader; loading on first use\n");
    if (load_kb(&cfg, &kb, 1)) goto out;
    /* tests only: writes fail while the named file exists (dbfault.h) */
    if (getenv("COACHD_TEST_DB_FAULT") && dbfault_install(getenv("COACHD_TEST_DB_FAULT"))) {
        fprintf(stderr, "coachd: cannot install the test fault VFS\n");
        goto out;
    }
    if (store_open(cfg.db_path, &store, err, sizeof err)) {
        fprintf(stderr, "coachd: database: %s\n", err);
        goto out;
    }
    {
        char instance[24];
        if (util_random_id(instance, sizeof instance, 12)) goto out;
        store_set_owner(store, instance, STORE_LEASE_MS);
    }
    fixed = store_recover(store);
    if (fixed > 0)
        fprintf(stderr, "coachd: marked %d answer%s interrupted by a crash as incomplete\n", fixed,
                fixed == 1 ? "" : "s");
    if (strcmp(cfg.engine, "openai") == 0) {
        engine = engine_openai_new(app.base, &cfg, policy, err, sizeof err);
        if (!engine) {
            fprintf(stderr, "coachd: openai engine: %s\n", err);
            goto out;
        }
        /* lite mode: the grounded composer when the token budget is spent */
        lite = engine_grounded_new(app.base, kb, 0);
        budget = budget_new(store, cfg.session_token_budget, cfg.daily_token_budget);
    } else {
        engine = engine_grounded_new(app.base, kb, cfg.pace_ms);
    }
    turn_setup(&(struct turn_env){
        .base = app.base, .store = store, .kb = kb, .policy = policy, .engine = engine,
        .lite = lite, .budget = budget,
        .grace_ms = cfg.grace_s * 1000, .linger_ms = 60 * 1000,
    });
    /* PostgreSQL: the streaming path's writes and every reconnect go to
     * the store's worker thread from here on */
    if (store_async_start(store, app.base)) {
        fprintf(stderr, "coachd: database: cannot start the store's worker thread\n");
        goto out;
    }
    if (store_is_shared(store) && store_listen(store, app.base, on_notify, NULL))
        fprintf(stderr, "coachd: database: cannot listen for other instances yet; retrying\n");
    sse_init(app.base, cfg.ping_s * 1000, (size_t)cfg.stream_buffer_kb * 1024);
    events_init(app.base, cfg.ping_s * 1000);
    app.api = (struct api_ctx){.store = store, .kb = kb, .engine = engine, .policy = policy};
    /* 16,384 slots of about 90 bytes per table: the memory stays fixed
     * however many clients there are (ratelimit.h) */
    app.api.limits = (struct api_limits){
        .questions_by_addr = ratelimit_new(cfg.max_questions_per_minute, 60, 16384),
        .questions_by_session = ratelimit_new(cfg.max_questions_per_minute, 60, 16384),
        .sessions_by_addr = ratelimit_new(cfg.max_sessions_per_hour, 3600, 16384),
        .max_messages_per_session = cfg.max_messages_per_session,
        .trust_proxy = cfg.trust_proxy,
    };
    app.http = http_new(app.base, &(struct http_options){
                            .bind = cfg.bind, .port = cfg.port,
                            .max_connections = cfg.max_connections,
                            .web_dir = cfg.web_dir, .quiet = cfg.quiet},
                        api_handle, &app.api, err, sizeof err);
    if (!app.http) {
        fprintf(stderr, "coachd: %s\n", err);
        goto out;
    }
    app.api.http = app.http;
    sigterm = evsignal_new(app.base, SIGTERM, on_signal, &cfg);
    sigint = evsignal_new(app.base, SIGINT, on_signal, &cfg);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    /* a PostgreSQL conninfo may hold a password: name the backend only */
    fprintf(stderr, "coachd: engine %s, locale %s, database %s\n", engine->name, cfg.locale,
            store_pg_is_conninfo(cfg.db_path) ? "postgresql" : cfg.db_path);
    fprintf(stderr, "coachd: listening on http://%s:%d (up to %d connections)\n", cfg.bind,
            http_port(app.http), http_max_connections(app.http));
    event_base_dispatch(app.base);
    fprintf(stderr, "coachd: stopped\n");
    rc = 0;
out:
    if (sigterm) event_free(sigterm);
    if (sigint) event_free(sigint);
    if (app.drain_ev) event_free(app.drain_ev);
    /* requests still waiting on the store are answered while the HTTP
     * server that holds them stands */
    if (store) store_calls_stop(store);
    http_free(app.http);          /* closes streams */
    if (store) store_async_stop(store);   /* queued writes finish and call back */
    turn_free_all();
    sse_shutdown();
    events_shutdown();
    if (engine) engine->destroy(engine);
    if (lite) lite->destroy(lite);
    budget_free(budget);
    ratelimit_free(app.api.limits.questions_by_addr);
    ratelimit_free(app.api.limits.questions_by_session);
    ratelimit_free(app.api.limits.sessions_by_addr);
    store_close(store);
    kb_free(kb);
    safety_policy_free(policy);
    if (app.base) event_base_free(app.base);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "kb") == 0 && strcmp(argv[2], "check") == 0)
        return cmd_kb_check(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "ask") == 0) return cmd_ask(argc, argv);
    if (argc == 2 && strcmp(argv[1], "help") == 0) {
        config_usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "serve") == 0) return serve(argc, argv, 2);
    return serve(argc, argv, 1);
}
