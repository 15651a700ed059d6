/* drive_blocking.c - the connection loop of the blocking-style models.
 *
 * The seeds' handle(client) function, done properly: read what the client
 * sent, feed it to the session, perform what the session asks (write bytes,
 * send a file range, close), repeat. Waiting goes through an io table, so the
 * same loop blocks a process or thread (io_blocking) or yields a coroutine.
 * The socket itself is non-blocking so a wait can always time out. */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

static int io_blocking_wait(const struct model_ctx *m, int fd, short events, int timeout_ms,
                            bool watch_stop)
{
    return wait_fd(m, fd, events, timeout_ms, watch_stop);
}

const struct io io_blocking = {.wait = io_blocking_wait};

struct blocking_conn {
    const struct model_ctx *m;
    const struct io *io;
    int fd;
    struct session *s;
    bool eof;
    size_t have, off; /* unconsumed input: in[off..have) */
    char in[16384];
    int pasv_fd, data_fd; /* FTP data channel: listener, connection (-1: none) */
    char xfer[16384];     /* ACT_TRANSFER_IN's buffer (in[] may hold commands) */
};

static int idle_ms(const struct model_ctx *m)
{
    return m->idle_timeout_ms ? (int)m->idle_timeout_ms : -1;
}

/* ACT_READ: feed what is buffered, else wait for and read more.
 * Returns false when the connection is over. */
static bool do_read(struct blocking_conn *c)
{
    if (c->off < c->have) {
        size_t n = session_feed(c->s, c->in + c->off, c->have - c->off);
        c->off += n;
        return n > 0; /* a session asking for input must take some */
    }
    if (c->eof) return false; /* it asked again after EOF: nothing more to say */
    for (;;) {
        ssize_t n = read(c->fd, c->in, sizeof c->in);
        if (n > 0) {
            c->have = (size_t)n;
            c->off = 0;
            return true;
        }
        if (n == 0) {
            c->eof = true;
            session_feed(c->s, NULL, 0);
            return true;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
        /* idle between requests: a stop ends the connection here */
        if (c->io->wait(c->m, c->fd, POLLIN, idle_ms(c->m), true) != 1) return false;
    }
}

/* ACT_WRITE / ACT_SENDFILE: one send, waiting while the socket is full.
 * An in-flight answer is finished even after a stop was asked. */
static bool do_send(struct blocking_conn *c, const struct action *a)
{
    for (;;) {
        ssize_t n = a->kind == ACT_WRITE ? send_bytes(c->fd, a->buf, a->len)
                                         : send_file_range(c->fd, a->fd, a->off, a->count);
        if (n > 0) {
            session_done(c->s, a, n);
            return true;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->io->wait(c->m, c->fd, POLLOUT, idle_ms(c->m), false) == 1) continue;
        }
        session_done(c->s, a, -1); /* error, timeout, or a file that shrank (0) */
        return false;
    }
}

static void close_data(struct blocking_conn *c)
{
    if (c->pasv_fd >= 0) close(c->pasv_fd);
    if (c->data_fd >= 0) close(c->data_fd);
    c->pasv_fd = c->data_fd = -1;
}

/* Waits for fd; false on timeout or error (or a stop, if watch_stop). */
static bool wait_data(struct blocking_conn *c, int fd, short events, bool watch_stop)
{
    return c->io->wait(c->m, fd, events, idle_ms(c->m), watch_stop) == 1;
}

static ssize_t accept_data(struct blocking_conn *c)
{
    while (c->pasv_fd >= 0) {
        int fd = data_accept(c->pasv_fd, c->fd);
        if (fd >= 0) {
            close(c->pasv_fd);
            c->pasv_fd = -1;
            c->data_fd = fd;
            return 0;
        }
        if (errno == EINTR) continue;
        /* a data connection not yet made is not work in flight: a stop ends it */
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_data(c, c->pasv_fd, POLLIN, true))
            break;
    }
    return -1;
}

static ssize_t transfer(struct blocking_conn *c, const struct action *a)
{
    if (c->data_fd < 0) return -1;
    for (;;) {
        ssize_t n;
        short ev = POLLOUT;
        if (a->kind == ACT_TRANSFER_IN) {
            n = recv_to_file(c->data_fd, a->fd, c->xfer, sizeof c->xfer);
            ev = POLLIN;
        } else if (a->fd >= 0) {
            n = send_file_range(c->data_fd, a->fd, a->off, a->count);
            if (n == 0) return -1; /* the file shrank */
        } else {
            n = send_bytes(c->data_fd, a->buf, a->len);
        }
        if (n >= 0) return n;
        if (n == -1 && errno == EINTR) continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            wait_data(c, c->data_fd, ev, false))
            continue;
        return -1;
    }
}

/* The FTP data-channel actions (conn.h). The session decides what a
 * failure means, so the connection goes on either way. */
static bool do_data(struct blocking_conn *c, const struct action *a)
{
    ssize_t result;
    switch (a->kind) {
    case ACT_OPEN_PASSIVE:
        close_data(c);
        c->pasv_fd = data_listen(c->fd, a->ip_out, a->ip_out_len);
        result = c->pasv_fd < 0 ? -1 : data_port(c->pasv_fd);
        break;
    case ACT_ACCEPT_DATA: result = accept_data(c); break;
    case ACT_CLOSE_DATA:
        close_data(c);
        result = 0;
        break;
    default: result = transfer(c, a); break;
    }
    session_done(c->s, a, result);
    return true;
}

void drive_blocking(const struct model_ctx *m, const struct io *io, int fd, const char *peer)
{
    struct blocking_conn *c = malloc(sizeof *c);
    struct session *s = session_new(m->proto, m->server, peer);
    if (!c || !s) {
        model_error("out of memory for %s", peer);
        free(c);
        session_free(s);
        close(fd);
        return;
    }
    c->m = m;
    c->io = io;
    c->fd = fd;
    c->s = s;
    c->eof = false;
    c->have = c->off = 0;
    c->pasv_fd = c->data_fd = -1;
    for (bool more = true; more;) {
        struct action a;
        session_next(s, &a);
        switch (a.kind) {
        case ACT_READ: more = do_read(c); break;
        case ACT_WRITE:
        case ACT_SENDFILE: more = do_send(c, &a); break;
        case ACT_OPEN_PASSIVE:
        case ACT_ACCEPT_DATA:
        case ACT_TRANSFER_OUT:
        case ACT_TRANSFER_IN:
        case ACT_CLOSE_DATA: more = do_data(c, &a); break;
        default: more = false; break; /* ACT_CLOSE */
        }
    }
    close_data(c);
    session_free(s);
    free(c);
    close(fd);
}
