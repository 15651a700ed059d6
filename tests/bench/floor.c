/* floor.c - the least an epoll server can spend per keep-alive request: the
 * bar ci/bench-server measures every server against (issue 20). NOT a
 * server, NOT correct HTTP: it never parses a request, it counts the blank
 * lines that end request heads and answers each with the same 200 and the
 * body given on the command line. No file, no timers, no limits, no
 * shutdown but a signal.
 *
 * One thread, edge-triggered epoll, one read per wake-up (a short read
 * means the socket is empty: as refserver's loops, no read that can only
 * say EAGAIN), one send per read. A 64 KiB read holds every head a wrk
 * connection can have in flight.
 *
 *   floor PORT BODY      (port 0: any; prints "listening on 127.0.0.1:P")
 */
#define _GNU_SOURCE /* memmem, accept4 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floor_listen.h"

static char answer[512], out[64 * 1024], in[64 * 1024];
static size_t answer_len;

/* Bytes came: one answer per "\r\n\r\n" (a head split across two reads at
 * that very point is not seen: the floor does not care). */
static void serve(int fd)
{
    ssize_t n = read(fd, in, sizeof in);
    if (n <= 0) {
        close(fd); /* EOF, or an error: the client is gone (close leaves epoll) */
        return;
    }
    size_t len = 0;
    for (char *p = in; (p = memmem(p, (size_t)n - (size_t)(p - in), "\r\n\r\n", 4)); p += 4)
        if (len + answer_len <= sizeof out) {
            memcpy(out + len, answer, answer_len);
            len += answer_len;
        }
    if (len) send(fd, out, len, MSG_NOSIGNAL); /* a full socket buffer: the floor drops it */
}

int main(int argc, char **argv)
{
    if (argc != 3 || strlen(argv[2]) > 400) {
        fprintf(stderr, "usage: floor PORT BODY (at most 400 bytes)\n");
        return 2;
    }
    answer_len =
        (size_t)snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                         strlen(argv[2]), argv[2]);
    int lfd = listener(atoi(argv[1])), ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[256];
    if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
        perror("floor");
        return 1;
    }
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd != lfd) {
                serve(evs[i].data.fd);
                continue;
            }
            int c, one = 1;
            while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct epoll_event cev = {.events = EPOLLIN | EPOLLET, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
            }
        }
    }
}
