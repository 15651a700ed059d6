/* listener.c - the listening socket, accepting, refusing, waiting, logging. */
#ifdef __linux__
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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_BACKLOG 511 /* nginx's default; the kernel caps it at somaxconn */

static int set_nonblock_cloexec(int fd)
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

int listener_accept(int lfd, char *peer, size_t peerlen)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
#ifdef __linux__
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
    return fd;
}

void refuse_client(int fd, const struct model_ctx *m, const char *peer)
{
    if (m->proto->refusal) {
        ssize_t n = send_bytes(fd, m->proto->refusal, strlen(m->proto->refusal));
        (void)n; /* best effort: a refused client gets no second chance */
    }
    model_info(m, "refused %s: over --max-conn %u", peer, m->max_conn);
    close(fd);
}

bool stop_requested(const struct model_ctx *m)
{
    struct pollfd p = {.fd = m->stop_fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

int wait_fd(const struct model_ctx *m, int fd, short events, int timeout_ms, bool watch_stop)
{
    struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = m->stop_fd, .events = POLLIN}};
    for (;;) {
        int n = poll(p, watch_stop ? 2 : 1, timeout_ms);
        if (n < 0 && errno == EINTR) continue; /* a signal: its handler wrote stop_fd */
        if (n < 0) return -1;
        if (n == 0) return 0;
        if (p[0].revents) return 1;
        return 2;
    }
}

static void vlog(const char *fmt, va_list ap)
{
    char line[512];
    int n = snprintf(line, sizeof line, "refserver[%ld]: ", (long)getpid());
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len); /* one write: lines never interleave */
    (void)w;
}

void model_info(const struct model_ctx *m, const char *fmt, ...)
{
    if (m->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void model_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

/* ---- FTP passive data channel ---- */

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return false;
}

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

/* Every transfer binds a fresh data port, so loopback fills with TIME_WAIT
 * sockets, and the kernel's own search for a free port (bind to port 0)
 * walks past all of them: EPSV took 6-8 ms here with 20k in TIME_WAIT. As
 * vsftpd does, try a few random ports first (one lookup each; SO_REUSEADDR
 * lets a listener share a port with TIME_WAIT leftovers), then port 0. */
static int bind_data_port(int fd, struct sockaddr_storage *ss, socklen_t len)
{
    enum { LOW = 32768, HIGH = 60999, TRIES = 8 };
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t x = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)fd;
    for (int i = 0; i < TRIES; i++) {
        x ^= x << 13; /* xorshift32: spread, not secrecy */
        x ^= x >> 17;
        x ^= x << 5;
        set_port(ss, LOW + x % (HIGH - LOW + 1));
        if (bind(fd, (struct sockaddr *)ss, len) == 0) return 0;
        if (errno != EADDRINUSE && errno != EACCES) return -1;
    }
    set_port(ss, 0);
    return bind(fd, (struct sockaddr *)ss, len);
}

int data_listen(int control_fd, char *ip_out, size_t ip_len)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(control_fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = 0;
    else if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = 0;
    else {
        errno = EAFNOSUPPORT;
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind_data_port(fd, &ss, len) < 0 || listen(fd, 1) < 0 ||
        set_nonblock_cloexec(fd) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    const void *addr = ss.ss_family == AF_INET
                           ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                           : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (!inet_ntop(ss.ss_family, addr, ip_out, (socklen_t)ip_len)) {
        close(fd);
        return -1;
    }
    return fd;
}

int data_port(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(lfd, (struct sockaddr *)&ss, &len) < 0) return -1;
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int data_peer_ok(int data_fd, int control_fd)
{
    struct sockaddr_storage data_peer, control_peer;
    socklen_t a = sizeof data_peer, b = sizeof control_peer;
    if (getpeername(data_fd, (struct sockaddr *)&data_peer, &a) < 0 ||
        getpeername(control_fd, (struct sockaddr *)&control_peer, &b) < 0)
        return -1; /* reset before we got to it: the transfer fails at once */
    if (same_ip(&data_peer, &control_peer)) return 1;
    /* someone else raced for the port (a data-channel hijack): refuse it */
    char peer[64];
    format_addr((struct sockaddr *)&data_peer, peer, sizeof peer);
    model_error("data connection from %s refused: not the control connection's host", peer);
    return 0;
}

int data_accept(int lfd, int control_fd)
{
    for (;;) {
        char peer[64];
        int fd = listener_accept(lfd, peer, sizeof peer);
        if (fd < 0) return -1;
        int ok = data_peer_ok(fd, control_fd);
        if (ok > 0) return fd;
        close(fd);
        if (ok < 0) {
            errno = ECONNRESET;
            return -1;
        }
    }
}

ssize_t recv_to_file(int sock, int file_fd, char *buf, size_t cap)
{
    ssize_t n = recv(sock, buf, cap, 0);
    if (n <= 0) return n;
    for (ssize_t done = 0; done < n;) {
        ssize_t w = write(file_fd, buf + done, (size_t)(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -2; /* the file failed, not the socket */
        }
        done += w;
    }
    return n;
}
