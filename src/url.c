/* url.c — the one URL check. libcurl's parser (curl_url_set) decides what
 * a URL is: scheme, host, the characters a URL may hold. On top of it
 * coachd asks for http or https, a host, and none of the bytes that would
 * break out of the HTML or JSON the URL is shown in (quotes, '<', '>',
 * '\', blanks), which libcurl would otherwise pass through as typed. */
#include "url.h"

#include <curl/curl.h>
#include <string.h>
#include <strings.h>

int url_valid(const char *u, int flags)
{
    CURLU *h;
    char *scheme = NULL, *host = NULL;
    int ok = 0;
    size_t hl;

    if (!u) return 0;
    for (const char *c = u; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '"' || *c == '<' || *c == '>' || *c == '\\' ||
            *c == 0x7f)
            return 0;
    if (!(h = curl_url())) return 0;
    if (curl_url_set(h, CURLUPART_URL, u, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        goto out;
    /* the scheme as written: libcurl lowercases it, a file must not */
    if (strncmp(u, scheme, strlen(scheme)) != 0) goto out;
    if (strcmp(scheme, "https") != 0 && ((flags & URL_HTTPS_ONLY) || strcmp(scheme, "http") != 0))
        goto out;
    hl = strlen(host);
    if ((flags & URL_DOTTED_HOST) &&
        (!memchr(host, '.', hl) || host[0] == '.' || host[hl - 1] == '.'))
        goto out;
    ok = 1;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(h);
    return ok;
}
