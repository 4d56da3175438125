/* url.h — the one URL check (see url.c), for the knowledge base's source
 * links, the safety policy's resource links and the openai engine's base
 * URL. Built on libcurl's URL parser (curl_url), so coachd reads a URL the
 * way libcurl will fetch it. Pure: nothing is fetched or resolved. */
#ifndef COACH_URL_H
#define COACH_URL_H

enum {
    URL_HTTPS_ONLY = 1,     /* https:// only (else http:// too) */
    URL_DOTTED_HOST = 2     /* the host has a dot inside it ("nhs.uk") */
};

/* 1 when u is an absolute http(s) URL libcurl accepts, with a host, no
 * blank, control byte, quote, '<', '>' or '\', and what flags ask for;
 * else 0. */
int url_valid(const char *u, int flags);

#endif
