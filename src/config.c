/* config.c — parses flags and COACH_* environment variables into a
 * struct config. Every flag has an environment twin so that containers and
 * systemd units can configure coachd without a wrapper script; `--help`
 * prints them all. Validation is strict: a bad number or unknown engine
 * stops start-up with a message rather than running on a surprise. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_PORT = 256, OPT_BIND, OPT_DB, OPT_ENGINE, OPT_PACE, OPT_KB, OPT_WEB,
    OPT_POLICY, OPT_LOCALE, OPT_MAXCONN, OPT_GRACE, OPT_SHUTDOWN, OPT_MODEL,
    OPT_PROMPT, OPT_MAXTOK, OPT_TEMP, OPT_CONNTO, OPT_FIRSTTO, OPT_STALLTO,
    OPT_TOTALTO, OPT_SBUDGET, OPT_DBUDGET, OPT_QUIET, OPT_PING, OPT_SBUF, OPT_QPM,
    OPT_SPH, OPT_MPS, OPT_TRUSTPROXY, OPT_HELP
};

static const struct option long_opts[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"db", required_argument, NULL, OPT_DB},
    {"engine", required_argument, NULL, OPT_ENGINE},
    {"pace-ms", required_argument, NULL, OPT_PACE},
    {"kb", required_argument, NULL, OPT_KB},
    {"web", required_argument, NULL, OPT_WEB},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"locale", required_argument, NULL, OPT_LOCALE},
    {"max-connections", required_argument, NULL, OPT_MAXCONN},
    {"grace-s", required_argument, NULL, OPT_GRACE},
    {"shutdown-s", required_argument, NULL, OPT_SHUTDOWN},
    {"model", required_argument, NULL, OPT_MODEL},
    {"prompt", required_argument, NULL, OPT_PROMPT},
    {"max-tokens", required_argument, NULL, OPT_MAXTOK},
    {"temperature", required_argument, NULL, OPT_TEMP},
    {"connect-timeout-s", required_argument, NULL, OPT_CONNTO},
    {"first-token-timeout-s", required_argument, NULL, OPT_FIRSTTO},
    {"stall-timeout-s", required_argument, NULL, OPT_STALLTO},
    {"total-timeout-s", required_argument, NULL, OPT_TOTALTO},
    {"session-token-budget", required_argument, NULL, OPT_SBUDGET},
    {"daily-token-budget", required_argument, NULL, OPT_DBUDGET},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"ping-s", required_argument, NULL, OPT_PING},
    {"stream-buffer-kb", required_argument, NULL, OPT_SBUF},
    {"max-questions-per-minute", required_argument, NULL, OPT_QPM},
    {"max-sessions-per-hour", required_argument, NULL, OPT_SPH},
    {"max-messages-per-session", required_argument, NULL, OPT_MPS},
    {"trust-proxy", no_argument, NULL, OPT_TRUSTPROXY},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}
};

void config_usage(FILE *out)
{
    fputs(
"usage: coachd [serve] [options]    serve the coach\n"
"       coachd ask \"question\" [options]   print one answer and its citations\n"
"       coachd kb check [DIR...]     validate knowledge-base directories\n"
"       coachd help                  this text\n"
"\n"
"Server (environment variable in brackets):\n"
"  --port N                 TCP port (COACH_PORT, default 8080)\n"
"  --bind ADDR              address to listen on (COACH_BIND, default 127.0.0.1)\n"
"  --db PATH|URL            SQLite database file, or a PostgreSQL URI or conninfo\n"
"                           (postgresql://user@host:port/db) (COACH_DB, default ./coach.db)\n"
"  --engine NAME            grounded | openai (COACH_ENGINE, default grounded)\n"
"  --pace-ms N              grounded engine: ms between word chunks, 0 = as fast\n"
"                           as possible (COACH_PACE_MS, default 25)\n"
"  --kb DIR                 knowledge-base directory; repeat for several\n"
"                           (COACH_KB, comma-separated; default ./kb)\n"
"  --web DIR                static files of the chat page (COACH_WEB, default ./web)\n"
"  --policy PATH            safety policy file (COACH_POLICY, default\n"
"                           ./policy/safety.json)\n"
"  --locale CODE            US | UK: emergency numbers and hotlines\n"
"                           (COACH_LOCALE, default US)\n"
"  --max-connections N      concurrent connections before 503\n"
"                           (COACH_MAX_CONNECTIONS, default (RLIMIT_NOFILE - 32) / 2)\n"
"  --grace-s N              cancel a turn nobody has watched for N s\n"
"                           (COACH_GRACE_S, default 30)\n"
"  --shutdown-s N           on SIGTERM, let turns finish for N s\n"
"                           (COACH_SHUTDOWN_S, default 10)\n"
"  --ping-s N               send ': ping' on a stream quiet for N s\n"
"                           (COACH_PING_S, default 15)\n"
"  --stream-buffer-kb N     unsent output per stream before a client that\n"
"                           does not keep up is dropped (it can resume)\n"
"                           (COACH_STREAM_BUFFER_KB, default 256)\n"
"  --quiet                  no access log (COACH_QUIET=1)\n"
"\n"
"Limits (beyond one: 429 with Retry-After):\n"
"  --max-questions-per-minute N  per client address and per session\n"
"                           (COACH_MAX_QUESTIONS_PER_MINUTE, default 20)\n"
"  --max-sessions-per-hour N new sessions per client address\n"
"                           (COACH_MAX_SESSIONS_PER_HOUR, default 30)\n"
"  --max-messages-per-session N  messages a session holds, questions and\n"
"                           answers (COACH_MAX_MESSAGES_PER_SESSION, default 400)\n"
"  --trust-proxy            the client address is the last one in\n"
"                           X-Forwarded-For (COACH_TRUST_PROXY=1); only behind\n"
"                           a proxy that sets it\n"
"\n"
"OpenAI-compatible engine (--engine openai):\n"
"  OPENAI_BASE_URL          API base (default https://api.openai.com/v1);\n"
"                           Ollama: http://127.0.0.1:11434/v1\n"
"  OPENAI_API_KEY           bearer key (optional for local servers; never logged)\n"
"  --model NAME             model (COACH_MODEL, default gpt-4o-mini)\n"
"  --prompt PATH            system prompt file (COACH_PROMPT,\n"
"                           default ./prompts/system.md)\n"
"  --max-tokens N           (COACH_MAX_TOKENS, default 700)\n"
"  --temperature X          (COACH_TEMPERATURE, default 0.3)\n"
"  --connect-timeout-s N    (COACH_CONNECT_TIMEOUT_S, default 5)\n"
"  --first-token-timeout-s N (COACH_FIRST_TOKEN_TIMEOUT_S, default 20)\n"
"  --stall-timeout-s N      (COACH_STALL_TIMEOUT_S, default 30)\n"
"  --total-timeout-s N      (COACH_TOTAL_TIMEOUT_S, default 120)\n"
"  --session-token-budget N tokens per session before lite mode\n"
"                           (COACH_SESSION_TOKEN_BUDGET, default 50000, 0 = none)\n"
"  --daily-token-budget N   tokens per day before lite mode\n"
"                           (COACH_DAILY_TOKEN_BUDGET, default 2000000, 0 = none)\n"
"\n"
"  --help                   this text\n", out);
}

static int parse_long(const char *name, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "coachd: %s must be a whole number from %ld to %ld (got '%s')\n",
                name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *name, const char *s, long lo, long hi, int *out)
{
    long v;
    if (parse_long(name, s, lo, hi, &v)) return -1;
    *out = (int)v;
    return 0;
}

static int add_kb_dirs(struct config *cfg, const char *list, int from_env)
{
    /* The environment form is comma-separated; flags repeat. */
    if (!from_env) {
        if (cfg->n_kb_dirs >= CONFIG_MAX_KB_DIRS) {
            fprintf(stderr, "coachd: at most %d --kb directories\n", CONFIG_MAX_KB_DIRS);
            return -1;
        }
        cfg->kb_dirs[cfg->n_kb_dirs++] = list;
        return 0;
    }
    char *copy = strdup(list), *save = NULL;   /* lives for the process */
    if (!copy) return -1;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok) continue;
        if (cfg->n_kb_dirs >= CONFIG_MAX_KB_DIRS) {
            fprintf(stderr, "coachd: at most %d knowledge-base directories\n", CONFIG_MAX_KB_DIRS);
            return -1;
        }
        cfg->kb_dirs[cfg->n_kb_dirs++] = tok;
    }
    return 0;
}

/* One table drives both the environment and the flag of each numeric
 * setting, so the two can never disagree on ranges. */
static int apply(struct config *cfg, int opt, const char *v, int from_env)
{
    switch (opt) {
    case OPT_PORT: return parse_int("port", v, 0, 65535, &cfg->port);
    case OPT_BIND: cfg->bind = v; return 0;
    case OPT_DB: cfg->db_path = v; return 0;
    case OPT_ENGINE:
        if (strcmp(v, "grounded") && strcmp(v, "openai")) {
            fprintf(stderr, "coachd: engine must be 'grounded' or 'openai' (got '%s')\n", v);
            return -1;
        }
        cfg->engine = v;
        return 0;
    case OPT_PACE: return parse_int("pace-ms", v, 0, 5000, &cfg->pace_ms);
    case OPT_KB: return add_kb_dirs(cfg, v, from_env);
    case OPT_WEB: cfg->web_dir = v; return 0;
    case OPT_POLICY: cfg->policy_path = v; return 0;
    case OPT_LOCALE:
        if (strcmp(v, "US") && strcmp(v, "UK")) {
            fprintf(stderr, "coachd: locale must be US or UK (got '%s')\n", v);
            return -1;
        }
        cfg->locale = v;
        return 0;
    case OPT_MAXCONN: return parse_int("max-connections", v, 1, 1000000, &cfg->max_connections);
    case OPT_GRACE: return parse_int("grace-s", v, 0, 86400, &cfg->grace_s);
    case OPT_SHUTDOWN: return parse_int("shutdown-s", v, 0, 3600, &cfg->shutdown_s);
    case OPT_MODEL: cfg->model = v; return 0;
    case OPT_PROMPT: cfg->prompt_path = v; return 0;
    case OPT_MAXTOK: return parse_int("max-tokens", v, 16, 32768, &cfg->max_tokens);
    case OPT_TEMP: {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || d < 0 || d > 2) {
            fprintf(stderr, "coachd: temperature must be a number from 0 to 2 (got '%s')\n", v);
            return -1;
        }
        cfg->temperature = d;
        return 0;
    }
    case OPT_CONNTO: return parse_int("connect-timeout-s", v, 1, 600, &cfg->connect_timeout_s);
    case OPT_FIRSTTO: return parse_int("first-token-timeout-s", v, 1, 600, &cfg->first_token_timeout_s);
    case OPT_STALLTO: return parse_int("stall-timeout-s", v, 1, 600, &cfg->stall_timeout_s);
    case OPT_TOTALTO: return parse_int("total-timeout-s", v, 1, 3600, &cfg->total_timeout_s);
    case OPT_SBUDGET: return parse_long("session-token-budget", v, 0, 1000000000L, &cfg->session_token_budget);
    case OPT_DBUDGET: return parse_long("daily-token-budget", v, 0, 100000000000L, &cfg->daily_token_budget);
    case OPT_PING: return parse_int("ping-s", v, 1, 3600, &cfg->ping_s);
    case OPT_SBUF: return parse_int("stream-buffer-kb", v, 1, 65536, &cfg->stream_buffer_kb);
    case OPT_QUIET: cfg->quiet = (v && strcmp(v, "0") != 0); return 0;
    case OPT_QPM: return parse_int("max-questions-per-minute", v, 1, 1000000, &cfg->max_questions_per_minute);
    case OPT_SPH: return parse_int("max-sessions-per-hour", v, 1, 1000000, &cfg->max_sessions_per_hour);
    case OPT_MPS: return parse_int("max-messages-per-session", v, 2, 1000000, &cfg->max_messages_per_session);
    case OPT_TRUSTPROXY: cfg->trust_proxy = (v && strcmp(v, "0") != 0); return 0;
    }
    return -1;
}

static const struct { const char *env; int opt; } env_map[] = {
    {"COACH_PORT", OPT_PORT}, {"COACH_BIND", OPT_BIND}, {"COACH_DB", OPT_DB},
    {"COACH_ENGINE", OPT_ENGINE}, {"COACH_PACE_MS", OPT_PACE}, {"COACH_KB", OPT_KB},
    {"COACH_WEB", OPT_WEB}, {"COACH_POLICY", OPT_POLICY}, {"COACH_LOCALE", OPT_LOCALE},
    {"COACH_MAX_CONNECTIONS", OPT_MAXCONN}, {"COACH_GRACE_S", OPT_GRACE},
    {"COACH_SHUTDOWN_S", OPT_SHUTDOWN}, {"COACH_MODEL", OPT_MODEL},
    {"COACH_PROMPT", OPT_PROMPT}, {"COACH_MAX_TOKENS", OPT_MAXTOK},
    {"COACH_TEMPERATURE", OPT_TEMP}, {"COACH_CONNECT_TIMEOUT_S", OPT_CONNTO},
    {"COACH_FIRST_TOKEN_TIMEOUT_S", OPT_FIRSTTO}, {"COACH_STALL_TIMEOUT_S", OPT_STALLTO},
    {"COACH_TOTAL_TIMEOUT_S", OPT_TOTALTO}, {"COACH_SESSION_TOKEN_BUDGET", OPT_SBUDGET},
    {"COACH_DAILY_TOKEN_BUDGET", OPT_DBUDGET}, {"COACH_QUIET", OPT_QUIET},
    {"COACH_PING_S", OPT_PING}, {"COACH_STREAM_BUFFER_KB", OPT_SBUF},
    {"COACH_MAX_QUESTIONS_PER_MINUTE", OPT_QPM}, {"COACH_MAX_SESSIONS_PER_HOUR", OPT_SPH},
    {"COACH_MAX_MESSAGES_PER_SESSION", OPT_MPS}, {"COACH_TRUST_PROXY", OPT_TRUSTPROXY},
};

static void set_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind = "127.0.0.1";
    cfg->port = 8080;
    cfg->db_path = "./coach.db";
    cfg->engine = "grounded";
    cfg->pace_ms = 25;
    cfg->web_dir = "web";
    cfg->policy_path = "policy/safety.json";
    cfg->locale = "US";
    cfg->max_connections = 0;     /* http_default_max_connections */
    cfg->grace_s = 30;
    cfg->shutdown_s = 10;
    cfg->ping_s = 15;
    cfg->stream_buffer_kb = 256;
    cfg->max_questions_per_minute = 20;
    cfg->max_sessions_per_hour = 30;
    cfg->max_messages_per_session = 400;
    cfg->openai_base_url = "https://api.openai.com/v1";
    cfg->model = "gpt-4o-mini";
    cfg->prompt_path = "prompts/system.md";
    cfg->max_tokens = 700;
    cfg->temperature = 0.3;
    cfg->connect_timeout_s = 5;
    cfg->first_token_timeout_s = 20;
    cfg->stall_timeout_s = 30;
    cfg->total_timeout_s = 120;
    cfg->session_token_budget = 50000;
    cfg->daily_token_budget = 2000000;
}

int config_load(struct config *cfg, int argc, char **argv, int first)
{
    int env_kb = 0;
    set_defaults(cfg);
    for (size_t i = 0; i < sizeof env_map / sizeof env_map[0]; i++) {
        const char *v = getenv(env_map[i].env);
        if (!v || !*v) continue;
        if (env_map[i].opt == OPT_KB) env_kb = 1;
        if (apply(cfg, env_map[i].opt, v, 1)) return -1;
    }
    if (getenv("OPENAI_BASE_URL") && *getenv("OPENAI_BASE_URL"))
        cfg->openai_base_url = getenv("OPENAI_BASE_URL");
    if (getenv("OPENAI_API_KEY") && *getenv("OPENAI_API_KEY"))
        cfg->openai_api_key = getenv("OPENAI_API_KEY");

    int saw_kb_flag = 0;
    optind = first;
    opterr = 1;
    for (;;) {
        int opt = getopt_long(argc, argv, "", long_opts, NULL);
        if (opt == -1) break;
        if (opt == OPT_HELP) {
            config_usage(stdout);
            return 1;
        }
        if (opt == '?') {
            fputs("coachd: see --help\n", stderr);
            return -1;
        }
        if (opt == OPT_KB && !saw_kb_flag) {
            cfg->n_kb_dirs = 0;    /* flags replace the environment/default */
            saw_kb_flag = 1;
            if (add_kb_dirs(cfg, optarg, 0)) return -1;
            continue;
        }
        if (opt == OPT_KB) {
            if (add_kb_dirs(cfg, optarg, 0)) return -1;
            continue;
        }
        if (apply(cfg, opt, opt == OPT_QUIET || opt == OPT_TRUSTPROXY ? "1" : optarg, 0)) return -1;
    }
    if (optind < argc) {
        /* `coachd serve`, `coachd help` or a question without `ask`: not
         * silently ignored (the word is not echoed: it may be a question) */
        fputs("coachd: unexpected argument; the commands are `coachd [serve] [options]`, "
              "`coachd ask \"question\" [options]` and `coachd kb check [DIR...]` "
              "(see --help)\n", stderr);
        return -1;
    }
    if (cfg->n_kb_dirs == 0 && !env_kb)
        cfg->kb_dirs[cfg->n_kb_dirs++] = "kb";
    if (cfg->n_kb_dirs == 0) {
        fputs("coachd: no knowledge-base directory given\n", stderr);
        return -1;
    }
    return 0;
}
