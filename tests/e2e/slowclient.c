/* slowclient.c — a test client that asks for a stream and then does not
 * read it: its receive buffer is set tiny before connecting, it sleeps, and
 * only then drains what the server sent. It prints one JSON line:
 * {"bytes":N,"done":0|1,"eof":0|1,"last_id":"..."} (the id of the last
 * complete event) so a test can tell a
 * stream that was cut (the server dropped a client that could not keep up)
 * from one that was delivered whole. With SLOWCLIENT_OUT=FILE the raw
 * response (headers and chunked body) is also written to FILE.
 * usage: slowclient PORT PATH HOLD_MS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CAP (4 * 1024 * 1024)

int main(int argc, char **argv)
{
    struct sockaddr_in sa = {0};
    int fd, rcv = 2048, eof = 0;
    char req[1024], *buf;
    size_t n = 0;
    struct timespec hold;
    long ms;

    if (argc != 4) {
        fprintf(stderr, "usage: slowclient PORT PATH HOLD_MS\n");
        return 2;
    }
    ms = atol(argv[3]);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        perror("connect");
        return 1;
    }
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", argv[2]);
    if (write(fd, req, strlen(req)) < 0) return 1;
    hold.tv_sec = ms / 1000;
    hold.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&hold, NULL);
    buf = malloc(CAP + 1);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t r;
        if (poll(&p, 1, 3000) <= 0) break;          /* quiet for 3 s: stop */
        r = read(fd, buf + n, CAP - n);
        if (r <= 0) {
            eof = 1;
            break;
        }
        n += (size_t)r;
        if (n == CAP) break;
    }
    buf[n] = '\0';
    /* the id of the last whole event: a client that is dropped may get the
     * last frame cut anywhere, and an SSE client never dispatches (or
     * remembers the id of) an event that did not end with a blank line */
    const char *last = NULL;
    for (const char *p = strstr(buf, "\nid: "); p; p = strstr(p + 1, "\nid: "))
        if (strstr(p + 1, "\n\n")) last = p + 5;
    char id[128] = "";
    if (last) {
        size_t l = strcspn(last, "\n");
        if (l < sizeof id) {
            memcpy(id, last, l);
            id[l] = '\0';
        }
    }
    if (getenv("SLOWCLIENT_DUMP")) fwrite(buf, 1, n, stderr);
    if (getenv("SLOWCLIENT_OUT")) {
        FILE *f = fopen(getenv("SLOWCLIENT_OUT"), "wb");
        if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) return 1;
    }
    printf("{\"bytes\":%zu,\"done\":%d,\"eof\":%d,\"last_id\":\"%s\"}\n", n,
           strstr(buf, "\"done\":true") != NULL, eof, id);
    free(buf);
    close(fd);
    return 0;
}
