/* datachan.c - the FTP passive data channel (see datachan.h).
 *
 * 1. ACT_OPEN_PASSIVE: a non-blocking listener on the control connection's
 *    local address, on a random port (port 0 as the last resort).
 * 2. ACT_ACCEPT_DATA: accept the client's data connection, if it comes from
 *    the control connection's host; close the listener.
 * 3. ACT_TRANSFER_OUT / ACT_TRANSFER_IN: one send (a file range or bytes) or
 *    one recv written to the upload's file.
 * 4. ACT_CLOSE_DATA: close both.
 * A socket that would block returns DC_WAIT_IN / DC_WAIT_OUT to the driver. */
#include "datachan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"

#define DC_BUF 16384 /* ACT_TRANSFER_IN's buffer */

static struct dc_step done(ssize_t result)
{
    return (struct dc_step){.status = DC_DONE, .result = result, .fd = -1};
}

static struct dc_step wait_for(enum dc_status status, int fd, bool stoppable)
{
    return (struct dc_step){.status = status, .fd = fd, .stoppable = stoppable};
}

static bool would_block(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK;
}

static void close_fds(struct datachan *d)
{
    if (d->pasv_fd >= 0) close(d->pasv_fd);
    if (d->data_fd >= 0) close(d->data_fd);
    d->pasv_fd = d->data_fd = -1;
}

/* ---- 1. the passive listener ---- */

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
}

static int port_of(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
                                     : ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* A listening socket on ss's address and port (0: the kernel picks); -1
 * with errno. SO_REUSEADDR lets it share a port with TIME_WAIT leftovers of
 * earlier transfers; it also lets two sessions bind the same port at once,
 * and then the second listen() fails with EADDRINUSE. */
static int listen_on(struct sockaddr_storage *ss, socklen_t len, unsigned port)
{
    int fd = socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    set_port(ss, port);
    if (bind(fd, (struct sockaddr *)ss, len) == 0 && listen(fd, 1) == 0) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* The range random data ports come from: the kernel's ephemeral range, or
 * REFSERVER_TEST_DATA_PORTS=LOW-HIGH (tests: a tiny range makes sessions
 * collide on ports, as a loopback full of TIME_WAIT sockets does). */
static void data_port_range(unsigned *low, unsigned *high)
{
    *low = 32768;
    *high = 60999;
    const char *env = getenv("REFSERVER_TEST_DATA_PORTS");
    unsigned lo, hi;
    if (env && sscanf(env, "%u-%u", &lo, &hi) == 2 && lo > 0 && lo <= hi && hi <= 65535) {
        *low = lo;
        *high = hi;
    }
}

/* Every transfer binds a fresh data port, so loopback fills with TIME_WAIT
 * sockets, and the kernel's own search for a free port (bind to port 0)
 * walks past all of them: EPSV took 6-8 ms here with 20k in TIME_WAIT. As
 * vsftpd does, try a few random ports first (one lookup each), then port 0.
 * A port taken between bind and listen (EADDRINUSE from either) is one more
 * try, not a failed EPSV: that race answered 425 to loadgen's checked
 * RETRs under TIME_WAIT pressure (issue 8, item 10). */
static int listen_on_data_port(struct sockaddr_storage *ss, socklen_t len, int salt)
{
    enum { TRIES = 8 };
    unsigned low, high;
    data_port_range(&low, &high);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t x = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)salt;
    for (int i = 0; i < 2 * TRIES; i++) {
        x ^= x << 13; /* xorshift32: spread, not secrecy */
        x ^= x >> 17;
        x ^= x << 5;
        int fd = listen_on(ss, len, i < TRIES ? low + x % (high - low + 1) : 0);
        if (fd >= 0 || (errno != EADDRINUSE && errno != EACCES)) return fd;
    }
    return -1;
}

/* A listener on the control connection's local address; its IP as text goes
 * to ip_out, its port to *port. -1 with errno. */
static int data_listen(int control_fd, char *ip_out, size_t ip_len, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(control_fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    const void *addr = ss.ss_family == AF_INET
                           ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                           : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
    int fd = listen_on_data_port(&ss, len, control_fd);
    if (fd < 0) return -1;
    if (set_nonblock_cloexec(fd) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        !inet_ntop(ss.ss_family, addr, ip_out, (socklen_t)ip_len)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *port = port_of(&ss);
    return fd;
}

static struct dc_step open_passive(struct datachan *d, const struct action *a)
{
    close_fds(d);
    int port = -1;
    d->pasv_fd = data_listen(d->control_fd, a->ip_out, a->ip_out_len, &port);
    if (d->pasv_fd < 0) return done(-1);
    d->opened++;
    return done(port);
}

/* ---- 2. accepting, with the peer check ---- */

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, sizeof(struct in_addr)) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

enum peer_check { PEER_OK, PEER_OTHER_HOST, PEER_GONE };

static enum peer_check check_peer(int data_fd, int control_fd)
{
    struct sockaddr_storage data_peer, control_peer;
    socklen_t a = sizeof data_peer, b = sizeof control_peer;
    if (getpeername(data_fd, (struct sockaddr *)&data_peer, &a) < 0 ||
        getpeername(control_fd, (struct sockaddr *)&control_peer, &b) < 0)
        return PEER_GONE; /* reset before we got to it: the transfer fails at once */
    if (same_ip(&data_peer, &control_peer)) return PEER_OK;
    /* someone else raced for the port (a data-channel hijack): refuse it */
    char peer[64];
    format_addr((struct sockaddr *)&data_peer, peer, sizeof peer);
    model_error("data connection from %s refused: not the control connection's host", peer);
    return PEER_OTHER_HOST;
}

static struct dc_step accept_data(struct datachan *d, bool stopping)
{
    if (d->pasv_fd < 0) return done(-1);
    for (;;) {
        char peer[64];
        int fd = listener_accept(d->pasv_fd, peer, sizeof peer, NULL); /* TCP_NODELAY */
        if (fd < 0 && errno == EINTR) continue;
        if (fd < 0 && would_block(errno)) {
            /* a data connection not yet made is not work in flight: a stop ends it */
            return stopping ? done(-1) : wait_for(DC_WAIT_IN, d->pasv_fd, true);
        }
        if (fd < 0) return done(-1);
        enum peer_check ok = check_peer(fd, d->control_fd);
        if (ok != PEER_OK) close(fd);
        if (ok == PEER_OTHER_HOST) continue; /* go on waiting for the client */
        if (ok == PEER_GONE) return done(-1);
        close(d->pasv_fd);
        d->pasv_fd = -1;
        d->data_fd = fd;
        d->opened++;
        return done(0);
    }
}

/* ---- 3. transfers ---- */

static struct dc_step transfer_out(struct datachan *d, const struct action *a)
{
    if (d->data_fd < 0) return done(-1);
    for (;;) {
        ssize_t n = a->fd >= 0 ? send_file_range(d->data_fd, a->fd, a->off, a->count)
                               : send_bytes(d->data_fd, a->buf, a->len);
        if (n == 0 && a->fd >= 0) return done(-1); /* the file shrank */
        if (n >= 0) return done(n);
        if (errno == EINTR) continue;
        if (would_block(errno)) return wait_for(DC_WAIT_OUT, d->data_fd, false);
        return done(-1);
    }
}

/* All of buf to the upload's file; false when the file fails. */
static bool write_all(int fd, const char *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        off += (size_t)w;
    }
    return true;
}

/* One recv, all of it written to the file. Result: bytes moved, 0 on a clean
 * EOF (the only result that lets the session commit the upload), -1 when the
 * socket or the file fails. */
static struct dc_step transfer_in(struct datachan *d, const struct action *a)
{
    if (d->data_fd < 0) return done(-1);
    if (!d->buf && !(d->buf = malloc(DC_BUF))) return done(-1);
    for (;;) {
        ssize_t n = recv(d->data_fd, d->buf, DC_BUF, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && would_block(errno)) return wait_for(DC_WAIT_IN, d->data_fd, false);
        if (n <= 0) return done(n);
        return done(write_all(a->fd, d->buf, (size_t)n) ? n : -1);
    }
}

/* ---- the interface ---- */

void datachan_init(struct datachan *d, int control_fd)
{
    *d = (struct datachan){.control_fd = control_fd, .pasv_fd = -1, .data_fd = -1};
}

bool datachan_action(enum action_kind kind)
{
    return kind == ACT_OPEN_PASSIVE || kind == ACT_ACCEPT_DATA || kind == ACT_TRANSFER_OUT ||
           kind == ACT_TRANSFER_IN || kind == ACT_CLOSE_DATA;
}

struct dc_step datachan_step(struct datachan *d, const struct action *a, bool stopping)
{
    switch (a->kind) {
    case ACT_OPEN_PASSIVE:
        return open_passive(d, a);
    case ACT_ACCEPT_DATA:
        return accept_data(d, stopping);
    case ACT_TRANSFER_OUT:
        return transfer_out(d, a);
    case ACT_TRANSFER_IN:
        return transfer_in(d, a);
    case ACT_CLOSE_DATA:
        close_fds(d);
        return done(0);
    default:
        return done(-1);
    }
}

void datachan_close(struct datachan *d)
{
    close_fds(d);
    free(d->buf);
    d->buf = NULL;
}
