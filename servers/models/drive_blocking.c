/* drive_blocking.c - the connection loop of the blocking-style models.
 *
 * The seeds' handle(client) function, done properly: read what the client
 * sent, feed it to the session, perform what the session asks (write bytes,
 * send a file range, the FTP data channel's actions through datachan.c,
 * close), repeat. Waiting goes through an io table, so the same loop blocks
 * a process or thread (io_blocking) or yields a coroutine.
 * The socket itself is non-blocking so a wait can always time out. */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

static enum wait_result io_blocking_wait(const struct model_ctx *m, int fd, short events,
                                         int timeout_ms, bool watch_stop)
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
    struct datachan dc; /* FTP data channel */
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
        if (c->io->wait(c->m, c->fd, POLLIN, idle_ms(c->m), true) != WAIT_READY) return false;
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
            if (c->io->wait(c->m, c->fd, POLLOUT, idle_ms(c->m), false) == WAIT_READY) continue;
        }
        session_done(c->s, a, -1); /* error, timeout, or a file that shrank (0) */
        return false;
    }
}

/* The FTP data-channel actions (datachan.c), waiting while a socket would
 * block; a stop ends only the wait for a data connection not yet made. The
 * session decides what a failure means, so the connection goes on. */
static bool do_data(struct blocking_conn *c, const struct action *a)
{
    struct dc_step st;
    while ((st = datachan_step(&c->dc, a, false)).status != DC_DONE) {
        short events = st.status == DC_WAIT_IN ? POLLIN : POLLOUT;
        if (c->io->wait(c->m, st.fd, events, idle_ms(c->m), st.stoppable) != WAIT_READY) {
            st.result = -1; /* timed out, stopped or failed */
            break;
        }
    }
    session_done(c->s, a, st.result);
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
    datachan_init(&c->dc, fd);
    for (bool more = true; more;) {
        struct action a;
        session_next(s, &a);
        switch (a.kind) {
        case ACT_READ:
            more = do_read(c);
            break;
        case ACT_WRITE:
        case ACT_SENDFILE:
            more = do_send(c, &a);
            break;
        case ACT_CLOSE:
            more = false;
            break;
        default:
            more = datachan_action(a.kind) && do_data(c, &a);
            break;
        }
    }
    datachan_close(&c->dc);
    session_free(s);
    free(c);
    close(fd);
}
