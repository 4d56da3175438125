/* config.h — coachd's settings: defaults, environment, command-line flags.
 *
 * Precedence is defaults < environment (COACH_*) < flags. The struct is
 * filled once at start-up and then read-only; strings point into argv,
 * the environment or static storage and are never freed. */
#ifndef COACH_CONFIG_H
#define COACH_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_MAX_KB_DIRS 8

struct config {
    const char *bind;
    int port;
    const char *db_path;
    const char *engine;            /* "grounded" | "openai" */
    int pace_ms;                   /* grounded engine: delay between chunks */
    const char *kb_dirs[CONFIG_MAX_KB_DIRS];
    size_t n_kb_dirs;
    const char *web_dir;
    const char *policy_path;
    const char *locale;            /* "US" | "UK" */
    int max_connections;
    int grace_s;                   /* turn cancelled when unwatched this long */
    int shutdown_s;                /* graceful-shutdown deadline */
    int ping_s;                    /* ': ping' after this many quiet seconds */
    int stream_buffer_kb;          /* unsent output before a slow client is dropped */
    /* openai engine */
    const char *openai_base_url;
    const char *openai_api_key;    /* never logged */
    const char *model;
    const char *prompt_path;
    int max_tokens;
    double temperature;
    int connect_timeout_s, first_token_timeout_s, stall_timeout_s, total_timeout_s;
    long session_token_budget, daily_token_budget;
    int quiet;                     /* no access log */
    /* limits (429 beyond them) */
    int max_questions_per_minute;  /* per client address and per session */
    int max_sessions_per_hour;     /* new sessions per client address */
    int max_messages_per_session;  /* questions and answers a session holds */
    int trust_proxy;               /* client address from X-Forwarded-For */
};

/* Fills cfg from defaults and the environment, then argv (argv[first..]).
 * Returns 0, 1 when --help was printed (exit 0), or -1 after printing an
 * error to stderr (exit 2). */
int config_load(struct config *cfg, int argc, char **argv, int first);

void config_usage(FILE *out);

#endif
