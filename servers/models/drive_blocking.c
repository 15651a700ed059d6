/* drive_blocking.c - the connection loop of the blocking-style models.
 *
 * The seeds' handle(client) function, done properly: read what the client
 * sent, feed it to the session, perform what the session asks (write bytes,
 * send a file range, the FTP data channel's actions, wait a delay, run an
 * offloaded job, close),
 * repeat. What is done once a socket is ready is connio.c's, as for every
 * driver; here is only the waiting. It goes through an io table, so the same
 * loop blocks a process or thread (io_blocking) or yields a coroutine. The
 * socket itself is non-blocking so a wait can always time out: each wait's
 * timeout is what is left until the deadline of the timeout that runs
 * (conn.h), which then expires the session. */
#include "model.h"
#include "platform.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

static enum wait_result io_blocking_wait(const struct model_ctx *m, int fd, short events,
                                         int control_fd, int timeout_ms, bool watch_stop)
{
    return wait_fds(m, fd, events, control_fd, timeout_ms, watch_stop);
}

const struct io io_blocking = {.wait = io_blocking_wait};

struct blocking_conn {
    const struct model_ctx *m;
    const struct io *io;
    struct connio c;
};

/* The poll() timeout while waiting to perform `waiting`. */
static int timeout_for(const struct blocking_conn *b, enum action_kind waiting)
{
    return ms_until(connio_deadline(&b->c, b->m, waiting), monotonic_ms());
}

/* ACT_READ: feed what is buffered, else wait for and read more.
 * Returns false when the connection is over. */
static bool do_read(struct blocking_conn *b)
{
    for (;;) {
        enum io_result r = connio_read(&b->c, monotonic_ms());
        if (r != IO_BLOCKED) return r == IO_PROGRESS;
        /* between requests (or mid-head) a stop ends the connection here */
        enum wait_result w = b->io->wait(b->m, b->c.fd, POLLIN, -1, timeout_for(b, ACT_READ), true);
        if (w == WAIT_TIMEOUT) {
            connio_expire(&b->c, ACT_READ, monotonic_ms());
            return true;
        }
        if (w != WAIT_READY) return false;
        connio_readable(&b->c, false); /* level-triggered, or the wait keeps an EOF ready */
    }
}

/* ACT_WRITE / ACT_SENDFILE: one send, waiting while the socket is full.
 * An in-flight answer is finished even after a stop was asked. */
static bool do_send(struct blocking_conn *b, const struct action *a)
{
    for (;;) {
        enum io_result r = connio_send(&b->c, a, monotonic_ms());
        if (r != IO_BLOCKED) return r == IO_PROGRESS;
        enum wait_result w =
            b->io->wait(b->m, b->c.fd, POLLOUT, -1, timeout_for(b, a->kind), false);
        if (w == WAIT_TIMEOUT) {
            connio_expire(&b->c, a->kind, monotonic_ms());
            return true;
        }
        if (w != WAIT_READY) {
            connio_done(&b->c, a, -1, monotonic_ms());
            return false;
        }
    }
}

/* The FTP data-channel actions, waiting while a socket would block (and,
 * in a transfer, on the control connection too); a stop ends only the wait
 * for a data connection not yet made. The session decides what a failure
 * means, so the connection goes on. */
static bool do_data(struct blocking_conn *b, const struct action *a)
{
    bool control_ready = false;
    for (;;) {
        struct dc_step st = connio_data(&b->c, a, false, control_ready, monotonic_ms());
        if (st.status == DC_DONE) return true;
        short events = st.status == DC_WAIT_IN ? POLLIN : POLLOUT;
        enum wait_result w = b->io->wait(b->m, st.fd, events, st.watch_control ? b->c.fd : -1,
                                         timeout_for(b, a->kind), st.stoppable);
        control_ready = w == WAIT_CONTROL;
        if (w == WAIT_TIMEOUT) {
            connio_data_timed_out(&b->c, a, monotonic_ms());
            return true;
        }
        if (w != WAIT_READY && w != WAIT_CONTROL) {
            connio_done(&b->c, a, -1, monotonic_ms()); /* stopped or failed */
            return true;
        }
    }
}

/* ACT_DELAY: the connection is left alone; only a stop ends it early. */
static bool do_delay(struct blocking_conn *b, const struct action *a)
{
    int ms = a->delay_ms > INT_MAX ? INT_MAX : (int)a->delay_ms;
    enum wait_result w = b->io->wait(b->m, b->m->stop_fd, POLLIN, -1, ms, false);
    connio_done(&b->c, a, w == WAIT_TIMEOUT ? 0 : -1, monotonic_ms());
    return true;
}

/* A job on the process's worker (offload.c), this thread waiting for it:
 * the worker runs below the connections' priority, so a login's hash does
 * not take the CPU from the other connections' answers. With no worker, or
 * its queue full: here, as before. The job cannot be stopped halfway; a
 * stop is seen at the next read, as after any answer. */
static void offload_and_wait(const struct model_ctx *m, void (*fn)(void *), void *arg)
{
    struct offload *port = offload_new(m->offload);
    struct offload_job j = {.fn = fn, .arg = arg};
    if (!port || offload_submit(port, &j) < 0) {
        offload_free(port);
        fn(arg);
        return;
    }
    struct pollfd p = {.fd = offload_fd(port), .events = POLLIN};
    while (!offload_done(port)) /* not a stop's wait: the job is work in flight */
        if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    offload_free(port); /* waits for the job if poll failed */
}

/* ACT_OFFLOAD: this connection has a thread or process of its own; the
 * coroutines' io hands the job to the worker and yields to the others. */
static bool do_offload(struct blocking_conn *b, const struct action *a)
{
    if (b->io->offload)
        b->io->offload(b->m, a->job, a->job_arg);
    else if (SM_LINUX) /* where the worker's priority is lower: else it buys nothing */
        offload_and_wait(b->m, a->job, a->job_arg);
    else
        a->job(a->job_arg);
    connio_done(&b->c, a, 0, monotonic_ms());
    return true;
}

void drive_blocking(const struct model_ctx *m, const struct io *io, int fd, const char *peer)
{
    struct blocking_conn *b = malloc(sizeof *b);
    struct session *s = session_new(m->proto, m->server, peer);
    if (!b || !s) {
        model_error("out of memory for %s", peer);
        free(b);
        session_free(s);
        close(fd);
        return;
    }
    b->m = m;
    b->io = io;
    connio_init(&b->c, m, fd, s, monotonic_ms());
    for (bool more = true; more;) {
        struct action a;
        session_next(s, &a);
        if (connio_expired_again(&b->c, a.kind)) break;
        switch (a.kind) {
        case ACT_READ:
            more = do_read(b);
            break;
        case ACT_WRITE:
        case ACT_SENDFILE:
            more = do_send(b, &a);
            break;
        case ACT_DELAY:
            more = do_delay(b, &a);
            break;
        case ACT_OFFLOAD:
            more = do_offload(b, &a);
            break;
        case ACT_CLOSE:
            more = false;
            break;
        default:
            more = datachan_action(a.kind) && do_data(b, &a);
            break;
        }
    }
    connio_close(&b->c);
    free(b);
}
