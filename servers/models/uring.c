/* uring.c - io_uring completions (liburing), one thread.
 *
 * Readiness models ask "can I read?" and then read; here the read itself is
 * submitted and the kernel reports when it is done.
 *
 * 1. main.c created the listener; submit a multishot accept on it (one
 *    submission, a completion per client; re-armed if the kernel ends it, or
 *    single-shot accepts on kernels without it) and a poll on the stop pipe.
 * 2. Wait for completions, at most until the oldest idle client is due.
 * 3. Accept done: start the client's session. Recv done: feed the bytes.
 *    Send done: tell the session how much went. Then submit the next
 *    operation the session asks for - each client has at most one in flight.
 * 4. Idle clients (and, on stop, clients waiting for a request) are shut
 *    down: their pending recv completes with 0 and the connection closes.
 * File bodies: io_uring has no sendfile, so a chunk is pread() from the page
 * cache into the connection's buffer and sent from there.
 * The FTP data channel is datachan.c's, as for every model: its sockets are
 * non-blocking, and where one would block, a poll on it goes through the ring
 * and its completion runs the same step again.
 */
#include "model.h"

#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING_ENTRIES 1024
#define FILE_CHUNK (64 * 1024)

/* the low two bits of user_data: which operation of the connection completed */
enum op { OP_RECV = 0, OP_SEND = 1, OP_DATA = 2 /* a poll for the FTP data action in u->sent */ };

struct uconn {
    struct evconn *ev;  /* session, input buffer, idle-list links */
    bool pending;       /* an operation is in flight: the kernel owns a buffer */
    bool closing;       /* shut down; free when the pending operation completes */
    struct action sent; /* the ACT_WRITE / ACT_SENDFILE being sent, or the data action */
    char chunk[FILE_CHUNK];
};

static char tag_accept, tag_stop; /* user_data of the listener's and stop pipe's operations */

struct uloop {
    const struct model_ctx *m;
    struct io_uring ring;
    struct evlist conns;
    bool stopping, multishot;
};

static struct io_uring_sqe *get_sqe(struct uloop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) { /* the submission queue is full: hand it to the kernel first */
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

static void submit_accept(struct uloop *l)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (l->multishot)
        io_uring_prep_multishot_accept(sqe, l->m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, l->m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, &tag_accept);
}

static void submit_op(struct uloop *l, struct uconn *u, enum op op, const void *buf, size_t len)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (op == OP_RECV)
        io_uring_prep_recv(sqe, u->ev->fd, (void *)buf, len, 0);
    else
        io_uring_prep_send(sqe, u->ev->fd, buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)u | op);
    u->pending = true;
}

/* Runs the FTP data action a (datachan.c) as far as it goes without
 * blocking. true: it waits for a poll on the ring; false: it is done. */
static bool step_data(struct uloop *l, struct uconn *u, const struct action *a)
{
    struct evconn *c = u->ev;
    struct dc_step st = datachan_step(&c->dc, a, l->stopping);
    if (st.status == DC_DONE) {
        session_done(c->session, a, st.result);
        return false;
    }
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_poll_add(sqe, st.fd, st.status == DC_WAIT_IN ? POLLIN : POLLOUT);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)u | OP_DATA);
    u->sent = *a;
    u->pending = true;
    return true;
}

static void free_conn(struct uloop *l, struct uconn *u)
{
    evlist_remove(&l->conns, u->ev);
    evconn_free(u->ev);
    free(u);
}

/* Moves the session on until it needs the kernel (or is over). */
static void advance(struct uloop *l, struct uconn *u)
{
    struct evconn *c = u->ev;
    while (!u->pending) {
        struct action a;
        session_next(c->session, &a);
        if (a.kind == ACT_READ && c->in_off < c->in_have) {
            size_t n = session_feed(c->session, c->in + c->in_off, c->in_have - c->in_off);
            c->in_off += n;
            if (n == 0) break; /* a session asking for input must take some */
        } else if (a.kind == ACT_READ) {
            if (c->eof || l->stopping || u->closing) break;
            submit_op(l, u, OP_RECV, c->in, sizeof c->in);
            c->want = EV_WANT_READ;
            return;
        } else if (a.kind == ACT_WRITE) {
            u->sent = a;
            submit_op(l, u, OP_SEND, a.buf, a.len);
            c->want = EV_WANT_WRITE;
            return;
        } else if (a.kind == ACT_SENDFILE) {
            size_t want = a.count < sizeof u->chunk ? a.count : sizeof u->chunk;
            ssize_t n = pread(a.fd, u->chunk, want, a.off);
            if (n <= 0) {
                session_done(c->session, &a, -1); /* unreadable or shrank */
                continue;
            }
            u->sent = a;
            submit_op(l, u, OP_SEND, u->chunk, (size_t)n);
            c->want = EV_WANT_WRITE;
            return;
        } else if (!datachan_action(a.kind)) {
            break; /* ACT_CLOSE */
        } else if (step_data(l, u, &a)) {
            return;
        }
    }
    if (!u->pending) free_conn(l, u);
}

static void on_conn_done(struct uloop *l, struct uconn *u, enum op op, int res, uint64_t now)
{
    struct evconn *c = u->ev;
    u->pending = false;
    if (u->closing) {
        free_conn(l, u);
        return;
    }
    if (res > 0) evlist_touch(&l->conns, c, now);
    if (op == OP_DATA) {
        if (res < 0) /* the poll failed: so does the action */
            session_done(c->session, &u->sent, -1);
        else if (step_data(l, u, &u->sent))
            return;
    } else if (op == OP_RECV) {
        if (res > 0) {
            c->in_have = (size_t)res;
            c->in_off = 0;
        } else if (res == 0) {
            c->eof = true;
            session_feed(c->session, NULL, 0);
        } else if (res != -EINTR && res != -EAGAIN) {
            free_conn(l, u);
            return;
        }
    } else if (res != -EINTR && res != -EAGAIN) {
        session_done(c->session, &u->sent, res > 0 ? res : -1);
    }
    advance(l, u);
}

static void on_accept(struct uloop *l, int res, unsigned flags, uint64_t now)
{
    const struct model_ctx *m = l->m;
    if (!l->stopping && !(flags & IORING_CQE_F_MORE)) submit_accept(l); /* re-arm */
    if (res < 0) {
        if (res == -EINVAL && l->multishot) { /* an old kernel: single-shot accepts */
            l->multishot = false;
            submit_accept(l);
        } else if (res != -ECANCELED && res != -EAGAIN && res != -ECONNABORTED) {
            model_error("uring: accept: %s", strerror(-res));
        }
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char peer[64] = "?";
    int one = 1; /* as listener_accept() does: see there */
    setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (getpeername(res, (struct sockaddr *)&ss, &len) == 0)
        format_addr((struct sockaddr *)&ss, peer, sizeof peer);
    if (l->stopping || (m->max_conn && l->conns.count >= m->max_conn)) {
        refuse_client(res, m, peer);
        return;
    }
    struct uconn *u = calloc(1, sizeof *u);
    if (u) u->ev = evconn_new(m, res, peer);
    if (!u || !u->ev) {
        model_error("out of memory for %s", peer);
        free(u);
        close(res);
        return;
    }
    u->ev->last_active_ms = now;
    evlist_add(&l->conns, u->ev);
    advance(l, u);
}

/* Shuts an idle client down: the recv every idle client has in flight
 * completes with 0, and the connection closes the usual way. */
static void shut(struct uloop *l, struct evconn *c, uint64_t now)
{
    shutdown(c->fd, SHUT_RDWR);
    if (c->dc.pasv_fd >= 0) shutdown(c->dc.pasv_fd, SHUT_RDWR); /* ends a pending poll */
    if (c->dc.data_fd >= 0) shutdown(c->dc.data_fd, SHUT_RDWR);
    evlist_touch(&l->conns, c, now + 3600 * 1000); /* not again before it completes */
}

static void begin_stop(struct uloop *l, uint64_t now)
{
    l->stopping = true;
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_cancel(sqe, &tag_accept, 0);
    io_uring_sqe_set_data(sqe, NULL);
    /* clients waiting for a request close now (their recv completes with 0);
     * the others finish. No evlist_touch here: it would reorder the list
     * under this walk. */
    for (struct evconn *c = l->conns.head; c; c = c->next) {
        if (c->want == EV_WANT_READ) shutdown(c->fd, SHUT_RDWR);
        /* a data connection not yet made is not work in flight either */
        if (c->dc.pasv_fd >= 0) shutdown(c->dc.pasv_fd, SHUT_RDWR);
    }
    (void)now;
}

static void expire_idle(struct uloop *l, uint64_t now)
{
    while (evlist_next_timeout(&l->conns, l->m, now) == 0)
        shut(l, l->conns.head, now);
}

static void handle(struct uloop *l, struct io_uring_cqe *cqe, uint64_t now)
{
    void *data = io_uring_cqe_get_data(cqe);
    if (data == &tag_accept) {
        on_accept(l, cqe->res, cqe->flags, now);
    } else if (data == &tag_stop) {
        if (!l->stopping) begin_stop(l, now);
    } else if (data) {
        uint64_t v = io_uring_cqe_get_data64(cqe);
        on_conn_done(l, (struct uconn *)(uintptr_t)(v & ~(uint64_t)3), (enum op)(v & 3), cqe->res,
                     now);
    }
}

static int uring_run(const struct model_ctx *m)
{
    struct uloop l = {.m = m, .multishot = true};
    int rc = io_uring_queue_init(RING_ENTRIES, &l.ring, 0);
    if (rc < 0) {
        model_error("uring: io_uring_queue_init: %s", strerror(-rc));
        return -1;
    }
    submit_accept(&l);
    struct io_uring_sqe *sqe = get_sqe(&l);
    io_uring_prep_poll_add(sqe, m->stop_fd, POLLIN);
    io_uring_sqe_set_data(sqe, &tag_stop);

    while (!l.stopping || l.conns.count > 0) {
        int t = evlist_next_timeout(&l.conns, m, monotonic_ms());
        struct __kernel_timespec ts = {.tv_sec = t / 1000, .tv_nsec = (t % 1000) * 1000000L};
        struct io_uring_cqe *cqe;
        rc = io_uring_submit_and_wait_timeout(&l.ring, &cqe, 1, t < 0 ? NULL : &ts, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR) {
            model_error("uring: wait: %s", strerror(-rc));
            break;
        }
        uint64_t now = monotonic_ms();
        unsigned head, n = 0;
        io_uring_for_each_cqe(&l.ring, head, cqe)
        {
            handle(&l, cqe, now);
            n++;
        }
        io_uring_cq_advance(&l.ring, n);
        expire_idle(&l, now);
    }
    close(m->listen_fd);
    io_uring_queue_exit(&l.ring);
    return rc < 0 && rc != -ETIME && rc != -EINTR ? -1 : 0;
}

const struct model model_uring = {
    .name = "uring",
    .summary = "io_uring completions (liburing), multishot accept, one thread",
    .run = uring_run,
};
