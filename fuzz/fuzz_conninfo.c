/* fuzz_conninfo.c — libFuzzer driver for the --db classifier
 * (store_pg_is_conninfo in src/store_pg.c): any bytes as a --db value.
 * Checked: the answer is 0 or 1; it is 1 exactly for a postgres(ql)://
 * prefix or a leading run of lowercase letters and '_' then spaces then
 * '='; a value that starts with '/' or '.' (a path) is never PostgreSQL. */
#include "store_pg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[512];
    size_t i = 0;
    int rc, want;
    if (size >= sizeof in) return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    rc = store_pg_is_conninfo(in);
    if (rc != 0 && rc != 1) abort();
    while ((in[i] >= 'a' && in[i] <= 'z') || in[i] == '_') i++;
    want = strncmp(in, "postgresql://", 13) == 0 || strncmp(in, "postgres://", 11) == 0;
    if (!want && i > 0) {
        while (in[i] == ' ') i++;
        want = in[i] == '=';
    }
    if (rc != want) abort();
    if ((in[0] == '/' || in[0] == '.') && rc) abort();
    return 0;
}
