/* test_config.c — settings: defaults, COACH_* environment, flags (which win
 * over the environment), the comma-separated COACH_KB list and repeated
 * --kb flags, and strict rejection of bad values and unknown flags.
 *
 * config_load sets optind from its `first` argument itself; every call here
 * builds a fresh argv. The variables each test sets are unset in teardown,
 * so a failing test cannot leak settings into the next one. stderr (the
 * error messages) and stdout (--help) go to /dev/null during each
 * config_load call only, so cmocka's own reports stay visible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config.c"

static const char *const all_env[] = {
    "COACH_PORT", "COACH_BIND", "COACH_DB", "COACH_ENGINE", "COACH_PACE_MS", "COACH_KB",
    "COACH_WEB", "COACH_POLICY", "COACH_LOCALE", "COACH_MAX_CONNECTIONS", "COACH_GRACE_S",
    "COACH_SHUTDOWN_S", "COACH_MODEL", "COACH_PROMPT", "COACH_MAX_TOKENS",
    "COACH_TEMPERATURE", "COACH_CONNECT_TIMEOUT_S", "COACH_FIRST_TOKEN_TIMEOUT_S",
    "COACH_STALL_TIMEOUT_S", "COACH_TOTAL_TIMEOUT_S", "COACH_SESSION_TOKEN_BUDGET",
    "COACH_DAILY_TOKEN_BUDGET", "COACH_QUIET", "COACH_PING_S", "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof all_env / sizeof all_env[0]; i++) unsetenv(all_env[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

/* COACH_KB's copy "lives for the process" (config.c strdup()s it and keeps
 * pointers into it). When its first entry is non-empty, kb_dirs[0] is the
 * start of that copy; tests free it so the leak checker stays quiet. */
static void free_env_kb(struct config *c)
{
    free((void *)c->kb_dirs[0]);
}

/* Calls config_load with stdout and stderr sent to /dev/null. */
static int quiet_load(struct config *cfg, int argc, char **argv, int first)
{
    int out = dup(STDOUT_FILENO), err = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    int rc;
    assert_true(out >= 0 && err >= 0 && null >= 0);
    fflush(stdout);
    fflush(stderr);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
    optind = 0;
    rc = config_load(cfg, argc, argv, first);
    fflush(stdout);
    fflush(stderr);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    close(out);
    close(err);
    return rc;
}

/* Loads with argv = {"coachd", args..., NULL}. */
#define LOAD(cfg, ...) load(cfg, (const char *[]){"coachd", __VA_ARGS__, NULL})
static int load(struct config *cfg, const char **args)
{
    char *argv[32];
    int argc = 0;
    for (; args[argc]; argc++) {
        assert_true(argc < 31);
        argv[argc] = (char *)args[argc];
    }
    argv[argc] = NULL;
    return quiet_load(cfg, argc, argv, 1);
}

static int load_none(struct config *cfg)
{
    char *argv[] = {"coachd", NULL};
    return quiet_load(cfg, 1, argv, 1);
}

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    memset(&c, 0xAB, sizeof c);
    assert_int_equal(load_none(&c), 0);
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.bind, "127.0.0.1");
    assert_string_equal(c.engine, "grounded");
    assert_int_equal(c.n_kb_dirs, 1);
    assert_string_equal(c.kb_dirs[0], "kb");
    assert_int_equal(c.pace_ms, 25);
    assert_string_equal(c.locale, "US");
    assert_string_equal(c.db_path, "./coach.db");
    assert_string_equal(c.web_dir, "web");
    assert_string_equal(c.policy_path, "policy/safety.json");
    assert_int_equal(c.max_connections, 0);   /* derived from RLIMIT_NOFILE in http.c */
    assert_int_equal(c.grace_s, 30);
    assert_int_equal(c.shutdown_s, 10);
    assert_int_equal(c.ping_s, 15);
    assert_string_equal(c.openai_base_url, "https://api.openai.com/v1");
    assert_null(c.openai_api_key);
    assert_string_equal(c.model, "gpt-4o-mini");
    assert_int_equal(c.max_tokens, 700);
    assert_true(c.temperature > 0.29 && c.temperature < 0.31);
    assert_int_equal(c.session_token_budget, 50000);
    assert_int_equal(c.daily_token_budget, 2000000);
    assert_int_equal(c.quiet, 0);
}

static void test_flags(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(LOAD(&c, "--port", "9090", "--bind", "0.0.0.0", "--engine", "openai",
                          "--pace-ms", "0", "--locale", "UK", "--db", "/tmp/x.db",
                          "--temperature", "1.5", "--max-tokens", "16", "--quiet",
                          "--ping-s", "3", "--grace-s", "0", "--model", "llama3",
                          "--daily-token-budget", "0"), 0);
    assert_int_equal(c.port, 9090);
    assert_string_equal(c.bind, "0.0.0.0");
    assert_string_equal(c.engine, "openai");
    assert_int_equal(c.pace_ms, 0);
    assert_string_equal(c.locale, "UK");
    assert_string_equal(c.db_path, "/tmp/x.db");
    assert_true(c.temperature > 1.49 && c.temperature < 1.51);
    assert_int_equal(c.max_tokens, 16);
    assert_int_equal(c.quiet, 1);
    assert_int_equal(c.ping_s, 3);
    assert_int_equal(c.grace_s, 0);
    assert_string_equal(c.model, "llama3");
    assert_int_equal(c.daily_token_budget, 0);
    /* untouched settings keep their defaults */
    assert_int_equal(c.shutdown_s, 10);
    assert_string_equal(c.kb_dirs[0], "kb");
}

static void test_flag_equals_form(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(LOAD(&c, "--port=1234", "--locale=UK"), 0);
    assert_int_equal(c.port, 1234);
    assert_string_equal(c.locale, "UK");
}

static void test_env(void **state)
{
    (void)state;
    struct config c;
    setenv("COACH_PORT", "7000", 1);
    setenv("COACH_ENGINE", "openai", 1);
    setenv("COACH_LOCALE", "UK", 1);
    setenv("COACH_PACE_MS", "5", 1);
    setenv("COACH_QUIET", "1", 1);
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1", 1);
    setenv("OPENAI_API_KEY", "sk-test", 1);
    setenv("COACH_BIND", "", 1);              /* empty: ignored */
    assert_int_equal(load_none(&c), 0);
    assert_int_equal(c.port, 7000);
    assert_string_equal(c.engine, "openai");
    assert_string_equal(c.locale, "UK");
    assert_int_equal(c.pace_ms, 5);
    assert_int_equal(c.quiet, 1);
    assert_string_equal(c.openai_base_url, "http://127.0.0.1:11434/v1");
    assert_string_equal(c.openai_api_key, "sk-test");
    assert_string_equal(c.bind, "127.0.0.1");

    setenv("COACH_QUIET", "0", 1);
    assert_int_equal(load_none(&c), 0);
    assert_int_equal(c.quiet, 0);
}

static void test_flags_override_env(void **state)
{
    (void)state;
    struct config c;
    setenv("COACH_PORT", "7000", 1);
    setenv("COACH_LOCALE", "UK", 1);
    setenv("COACH_ENGINE", "openai", 1);
    assert_int_equal(LOAD(&c, "--port", "7001", "--locale", "US"), 0);
    assert_int_equal(c.port, 7001);
    assert_string_equal(c.locale, "US");
    assert_string_equal(c.engine, "openai");       /* env kept where no flag */
}

static void test_env_kb_list(void **state)
{
    (void)state;
    struct config c;
    setenv("COACH_KB", "kb,extra/kb,,/srv/kb", 1);
    assert_int_equal(load_none(&c), 0);
    assert_int_equal(c.n_kb_dirs, 3);
    assert_string_equal(c.kb_dirs[0], "kb");
    assert_string_equal(c.kb_dirs[1], "extra/kb");
    assert_string_equal(c.kb_dirs[2], "/srv/kb");
    free_env_kb(&c);

    setenv("COACH_KB", "/only", 1);
    assert_int_equal(load_none(&c), 0);
    assert_int_equal(c.n_kb_dirs, 1);
    assert_string_equal(c.kb_dirs[0], "/only");
    free_env_kb(&c);
}

static void test_kb_flags_replace_env(void **state)
{
    (void)state;
    struct config c;
    setenv("COACH_KB", "envA,envB,envC", 1);
    assert_int_equal(LOAD(&c, "--kb", "flagdir"), 0);
    assert_int_equal(c.n_kb_dirs, 1);
    assert_string_equal(c.kb_dirs[0], "flagdir");
    /* The replaced entries still point into config.c's copy of COACH_KB:
     * "envB" starts 5 bytes ("envA" and its separator) after the copy. */
    assert_string_equal(c.kb_dirs[1], "envB");
    free((void *)(c.kb_dirs[1] - 5));
}

static void test_env_kb_too_many(void **state)
{
    (void)state;
    struct config c;
    setenv("COACH_KB", "a,b,c,d,e,f,g,h", 1);
    assert_int_equal(load_none(&c), 0);
    assert_int_equal(c.n_kb_dirs, CONFIG_MAX_KB_DIRS);
    assert_string_equal(c.kb_dirs[7], "h");
    free_env_kb(&c);
    setenv("COACH_KB", "a,b,c,d,e,f,g,h,i", 1);
    assert_int_equal(load_none(&c), -1);
    free_env_kb(&c);
}

static void test_kb_flags_replace_default(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(LOAD(&c, "--kb", "one", "--kb", "two", "--kb", "three"), 0);
    assert_int_equal(c.n_kb_dirs, 3);
    assert_string_equal(c.kb_dirs[0], "one");
    assert_string_equal(c.kb_dirs[1], "two");
    assert_string_equal(c.kb_dirs[2], "three");
    for (size_t i = 0; i < c.n_kb_dirs; i++) assert_string_not_equal(c.kb_dirs[i], "kb");

    assert_int_equal(LOAD(&c, "--kb", "1", "--kb", "2", "--kb", "3", "--kb", "4",
                          "--kb", "5", "--kb", "6", "--kb", "7", "--kb", "8"), 0);
    assert_int_equal(c.n_kb_dirs, 8);
    assert_int_equal(LOAD(&c, "--kb", "1", "--kb", "2", "--kb", "3", "--kb", "4",
                          "--kb", "5", "--kb", "6", "--kb", "7", "--kb", "8", "--kb", "9"), -1);
}

static void test_bad_values(void **state)
{
    (void)state;
    static const char *const bad[][3] = {
        {"--port", "70000"}, {"--port", "-1"}, {"--port", "80x"}, {"--port", ""},
        {"--port", "99999999999999999999"},
        {"--engine", "foo"}, {"--engine", "Grounded"},
        {"--locale", "FR"}, {"--locale", "us"},
        {"--pace-ms", "-1"}, {"--pace-ms", "5001"},
        {"--temperature", "3"}, {"--temperature", "-0.1"}, {"--temperature", "warm"},
        {"--temperature", "1.0x"},
        {"--max-tokens", "15"}, {"--max-connections", "0"}, {"--ping-s", "0"},
        {"--connect-timeout-s", "601"}, {"--total-timeout-s", "0"},
        {"--session-token-budget", "-5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct config c;
        const char *args[] = {"coachd", bad[i][0], bad[i][1], NULL};
        if (load(&c, args) != -1) fail_msg("accepted %s '%s'", bad[i][0], bad[i][1]);
    }
}

static void test_bad_env_values(void **state)
{
    (void)state;
    struct config c;
    setenv("COACH_PORT", "70000", 1);
    assert_int_equal(load_none(&c), -1);
    unsetenv("COACH_PORT");
    setenv("COACH_ENGINE", "foo", 1);
    assert_int_equal(load_none(&c), -1);
    unsetenv("COACH_ENGINE");
    setenv("COACH_TEMPERATURE", "3", 1);
    assert_int_equal(load_none(&c), -1);
    unsetenv("COACH_TEMPERATURE");
    assert_int_equal(load_none(&c), 0);
}

static void test_edges_accepted(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(LOAD(&c, "--port", "0", "--pace-ms", "5000", "--temperature", "0"), 0);
    assert_int_equal(c.port, 0);
    assert_int_equal(c.pace_ms, 5000);
    assert_true(c.temperature == 0.0);
    assert_int_equal(LOAD(&c, "--port", "65535", "--temperature", "2"), 0);
    assert_int_equal(c.port, 65535);
    assert_true(c.temperature == 2.0);
}

static void test_unknown_and_missing(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(LOAD(&c, "--nope"), -1);
    assert_int_equal(LOAD(&c, "--port"), -1);              /* missing argument */
    assert_int_equal(LOAD(&c, "-p", "80"), -1);            /* no short options */
    assert_int_equal(LOAD(&c, "--quiet=1"), -1);           /* takes no argument */
    /* after an error, a good parse works again */
    assert_int_equal(LOAD(&c, "--port", "81"), 0);
    assert_int_equal(c.port, 81);
}

static void test_help(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(LOAD(&c, "--help"), 1);
    assert_int_equal(LOAD(&c, "--port", "1", "--help", "--port", "70000"), 1);
}

static void test_stray_argument_rejected(void **state)
{
    (void)state;
    /* `coachd help`, `coachd serve` or a bare question once started the
     * server with the word ignored */
    struct config c;
    assert_int_equal(LOAD(&c, "help"), -1);
    assert_int_equal(LOAD(&c, "--port", "81", "serve"), -1);
    assert_int_equal(LOAD(&c, "how do I handle bedtime?"), -1);
    char *argv[] = {"coachd", "ask", "question", "--locale", "UK", "extra", NULL};
    assert_int_equal(quiet_load(&c, 6, argv, 3), -1);
}

static void test_first_skips_subcommand(void **state)
{
    (void)state;
    /* `coachd ask "question" --flags`: main passes first = 3 */
    struct config c;
    char *argv[] = {"coachd", "ask", "--engine=foo", "--locale", "UK", NULL};
    /* argv[2] is the question; parsed as a flag it would be rejected */
    assert_int_equal(quiet_load(&c, 5, argv, 3), 0);
    assert_string_equal(c.locale, "UK");
    assert_int_equal(c.port, 8080);
}

static void test_usage_mentions_every_flag(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_usage(f);
    fclose(f);
    for (size_t i = 0; long_opts[i].name; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", long_opts[i].name);
        if (!strstr(buf, flag)) fail_msg("usage does not mention %s", flag);
    }
    for (size_t i = 0; i < sizeof env_map / sizeof env_map[0]; i++)
        if (!strstr(buf, env_map[i].env)) fail_msg("usage does not mention %s", env_map[i].env);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_equals_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_override_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_kb_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kb_flags_replace_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_kb_too_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kb_flags_replace_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_env_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stray_argument_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_skips_subcommand, setup, teardown),
        cmocka_unit_test(test_usage_mentions_every_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
