/* floor_listen.h - the floors' listener (floor.c, floor_uring.c): a
 * non-blocking TCP socket on 127.0.0.1:PORT (0: any), its port printed as
 * "listening on 127.0.0.1:P" for ci/bench-server. -1 on failure. */
#ifndef FLOOR_LISTEN_H
#define FLOOR_LISTEN_H

#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

static int listener(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    socklen_t len = sizeof a;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, len) || listen(fd, 1024) ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        return -1;
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

#endif
