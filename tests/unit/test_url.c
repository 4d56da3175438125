/* test_url.c — the one URL check (src/url.c) as a table: what the
 * knowledge base (URL_DOTTED_HOST) and the safety policy (URL_HTTPS_ONLY |
 * URL_DOTTED_HOST) accept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/url.c"

static void test_url_table(void **state)
{
    static const struct { const char *u; int kb, policy; } cases[] = {
        {"https://www.nhs.uk/conditions/baby/", 1, 1},
        {"http://www.aap.org/en/patient-care", 1, 0},
        {"https://healthychildren.org", 1, 1},
        {"https://www.cdc.gov:443/ncbddd/index.html", 1, 1},
        {"https://localhost/x", 0, 0},              /* no dot in the host */
        {"https://.nhs.uk/", 0, 0}, {"https://nhs.uk./", 0, 0},
        {"ftp://files.example.org/x", 0, 0}, {"file:///etc/passwd", 0, 0},
        {"www.nhs.uk/page", 0, 0},                  /* no scheme */
        {"https://", 0, 0}, {"", 0, 0}, {"HTTPS://www.nhs.uk/", 0, 0},
        {"https://www.nhs.uk/a page", 0, 0}, {"https://www.nhs.uk/\"x", 0, 0},
        {"https://www.nhs.uk/<script>", 0, 0}, {"https://www.nhs.uk/a\\b", 0, 0},
        {"https://www.nhs.uk/\ta", 0, 0}, {"https://ex ample.org/", 0, 0},
        {"https://exa_mple.org/", 1, 1},            /* libcurl's host syntax allows it */
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (url_valid(cases[i].u, URL_DOTTED_HOST) != cases[i].kb)
            fail_msg("kb: '%s' want %d", cases[i].u, cases[i].kb);
        if (url_valid(cases[i].u, URL_HTTPS_ONLY | URL_DOTTED_HOST) != cases[i].policy)
            fail_msg("policy: '%s' want %d", cases[i].u, cases[i].policy);
    }
    assert_int_equal(url_valid(NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_url_table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
