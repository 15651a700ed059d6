/* listener.c - the listening socket: opening it, accepting (and pausing
 * when out of descriptors), refusing, and waiting for a client or a stop. */
#include "platform.h"
#if SM_LINUX
#define _GNU_SOURCE /* accept4 */
#endif
#include "model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG 511 /* nginx's default; the kernel caps it at somaxconn */

int set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int open_one(const struct addrinfo *ai, bool reuseport)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#ifdef SO_REUSEPORT
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) goto fail;
#else
    if (reuseport) {
        errno = ENOTSUP;
        goto fail;
    }
#endif
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) goto fail;
    if (listen(fd, LISTEN_BACKLOG) < 0) goto fail;
    if (set_nonblock_cloexec(fd) < 0) goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int listener_open(const char *host, const char *port, bool reuseport, struct sockaddr_storage *addr,
                  socklen_t *addrlen, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = open_one(ai, reuseport);
        saved = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%s: %s", host, port, strerror(saved));
        return -1;
    }
    *addrlen = sizeof *addr;
    if (getsockname(fd, (struct sockaddr *)addr, addrlen) < 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, outlen, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(out, outlen, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(out, outlen, "unknown");
    }
}

int listener_accept(int lfd, char *peer, size_t peerlen, struct peer_key *key)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
#if SM_LINUX
    int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(lfd, (struct sockaddr *)&ss, &len);
    if (fd >= 0 && set_nonblock_cloexec(fd) < 0) {
        close(fd);
        return -1;
    }
#endif
    if (fd < 0) return -1;
    /* Small answers go out at once: without this, an FTP 226 written right
     * after the data connection closed waits ~40 ms for the client's delayed
     * ACK (Nagle), and so do pipelined HTTP answers written in pieces. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    format_addr((struct sockaddr *)&ss, peer, peerlen);
    if (key) peer_key_of((struct sockaddr *)&ss, key);
    return fd;
}

static void send_refusal(int fd, const struct model_ctx *m)
{
    if (m->proto->refusal) {
        ssize_t n = send_bytes(fd, m->proto->refusal, strlen(m->proto->refusal));
        (void)n; /* best effort: a refused client gets no second chance */
    }
}

void refuse_client(int fd, const struct model_ctx *m, const char *peer)
{
    send_refusal(fd, m);
    model_info(m, "refused %s: over --max-conn %u", peer, m->max_conn);
    close(fd);
}

bool admit_per_ip(const struct model_ctx *m, int fd, const struct peer_key *key, const char *peer)
{
    if (peer_limit_enter(m->per_ip, key)) return true;
    send_refusal(fd, m);
    model_info(m, "refused %s: over --max-per-ip %u", peer, m->max_per_ip);
    close(fd);
    return false;
}

bool accept_out_of_fds(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

void accept_pause_log(int err)
{
    model_error("accept: %s; pausing accepts for %d ms", strerror(err), ACCEPT_PAUSE_MS);
}

int accept_or_pause(const struct model_ctx *m, char *peer, size_t peerlen, struct peer_key *key)
{
    int fd = listener_accept(m->listen_fd, peer, peerlen, key);
    if (fd >= 0 || !accept_out_of_fds(errno)) return fd;
    accept_pause_log(errno);
    wait_fd(m, m->stop_fd, POLLIN, ACCEPT_PAUSE_MS, false); /* a stop ends the pause */
    errno = EAGAIN;
    return -1;
}

bool stop_requested(const struct model_ctx *m)
{
    struct pollfd p = {.fd = m->stop_fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

enum wait_result wait_fds(const struct model_ctx *m, int fd, short events, int control_fd,
                          int timeout_ms, bool watch_stop)
{
    /* poll() skips an entry whose fd is negative */
    struct pollfd p[3] = {{.fd = fd, .events = events},
                          {.fd = control_fd, .events = POLLIN},
                          {.fd = watch_stop ? m->stop_fd : -1, .events = POLLIN}};
    for (;;) {
        int n = poll(p, 3, timeout_ms);
        if (n < 0 && errno == EINTR) continue; /* a signal: its handler wrote stop_fd */
        if (n < 0) return WAIT_ERROR;
        if (n == 0) return WAIT_TIMEOUT;
        if (p[1].revents) return WAIT_CONTROL; /* first: an abort wins over more data */
        return p[0].revents ? WAIT_READY : WAIT_STOP;
    }
}

enum wait_result wait_fd(const struct model_ctx *m, int fd, short events, int timeout_ms,
                         bool watch_stop)
{
    return wait_fds(m, fd, events, -1, timeout_ms, watch_stop);
}
