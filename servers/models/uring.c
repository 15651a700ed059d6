/* uring.c - io_uring completions (liburing), one thread.
 *
 * Readiness models ask "can I read?" and then read; here the read itself is
 * submitted and the kernel reports when it is done.
 *
 * 1. main.c created the listener; submit a multishot accept on it (one
 *    submission, a completion per client; re-armed if the kernel ends it, or
 *    single-shot accepts on kernels without it) and a poll on the stop pipe.
 * 2. Wait for completions, at most until the earliest connection deadline
 *    (evtimers.c, as the event loops) or the end of an accept pause.
 * 3. Accept done: start the client's session. Recv done: feed the bytes.
 *    Send done: tell the session how much went. Then submit the next
 *    operation the session asks for - each client has one in flight (a
 *    send, or an FTP data poll) besides its recv, plus, during an FTP
 *    transfer, a poll on its control connection (conn.h: its EOF or an ABOR
 *    fails the transfer; the data poll is then cancelled). HTTP and echo
 *    arm one multishot recv per connection: it stays in the kernel across
 *    requests and brings each one's bytes without a new submission, recv
 *    attempt or poll arming (bytes that come while the session's input is
 *    full wait in a spill, and the recv is cancelled until they are taken
 *    in). FTP keeps one recv at a time, armed when the session asks for
 *    input: it reads its control connection itself during a transfer.
 *    What a turn submits (sends, recvs) goes to the kernel with the next
 *    wait, in one io_uring_enter.
 * 4. A deadline passed: a send or data poll in flight is cancelled, and its
 *    completion (-ECANCELED) expires the session or fails the data action;
 *    a session waiting for input expires at once (its recv stays armed
 *    until the session ends: finish() cancels it, and the connection is
 *    freed at its last completion).
 *    An ACT_DELAY submits nothing: the timer alone ends it. Nor does an
 *    ACT_OFFLOAD: its job goes to the process's worker thread (offload.c), and
 *    a poll on the loop's wake fd brings the connection back.
 * Out of descriptors, the accept is not re-armed for ACCEPT_PAUSE_MS (a
 * multishot accept that failed would fail again at once, forever).
 * On stop, clients waiting for a request are shut down: their pending recv
 * completes with 0 and the connection closes.
 * Buffers: a recv in the kernel holds none. It picks one from a ring of
 * buffers the loop provides to the kernel (io_uring_register_buf_ring) when
 * its bytes arrive; they are copied into the session's input and the
 * buffer goes back to the ring at once. So an idle client waiting for its
 * next request costs no buffer (uring_recv.c: the recvs, the ring, the
 * spill).
 * File bodies: io_uring has no sendfile, so a chunk is pread() from the page
 * cache into a buffer from the loop's free list and sent from there.
 * The FTP data channel is connio.c's and datachan.c's, as for every model:
 * its sockets are non-blocking, and where one would block, a poll on it
 * goes through the ring and its completion runs the same step again.
 * The open-file cache's freshness check (filecache.h: a read of its inotify
 * fd before a lookup) runs once per batch of completions, not per request:
 * a recv's bytes were copied before its completion was posted, the batch is
 * what was posted when the wait returned, and the cache drains at the
 * batch's first lookup, after that. A change that returned before a
 * client sent a request queued its event before the request's bytes came,
 * so before that drain: no request gets bytes older than the change. The
 * order of completions within the ring is not relied on (a multishot poll
 * of the inotify fd would be: docs/study.md says why that is not exact).
 * Under load a batch holds many requests (~16-25 with 64 busy clients), so
 * the check costs a fraction of a syscall per request.
 */
#include "uring.h"

#include "bufpool.h"
#include "filecache.h"
#include "fsroot.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING_ENTRIES 1024
#define FILE_CHUNK (64 * 1024)

/* user_data of the listener's, the stop pipe's and the offload wake fd's operations */
static char tag_accept, tag_stop, tag_offload;

struct io_uring_sqe *uring_sqe(struct uloop *l)
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
    struct io_uring_sqe *sqe = uring_sqe(l);
    if (l->multishot)
        io_uring_prep_multishot_accept(sqe, l->m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, l->m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, &tag_accept);
    l->accept_armed = true;
}

/* Cancels an operation by its user_data; the cancel's own completion is
 * ignored (user_data NULL). */
void uring_cancel(struct uloop *l, void *tag)
{
    struct io_uring_sqe *sqe = uring_sqe(l);
    io_uring_prep_cancel(sqe, tag, 0);
    io_uring_sqe_set_data(sqe, NULL);
}

static struct io_uring_sqe *submit_send(struct uloop *l, struct uconn *u, const void *buf,
                                        size_t len)
{
    struct io_uring_sqe *sqe = uring_sqe(l);
    io_uring_prep_send(sqe, u->ev->io.fd, buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, uring_tag(u, OP_SEND));
    u->pending = true;
    u->pending_op = OP_SEND;
    return sqe;
}

static void submit_poll(struct uloop *l, struct uconn *u, enum op op, int fd, unsigned events)
{
    struct io_uring_sqe *sqe = uring_sqe(l);
    io_uring_prep_poll_add(sqe, fd, events);
    io_uring_sqe_set_data(sqe, uring_tag(u, op));
}

/* Runs the FTP data action a as far as it goes without blocking. true: it
 * waits for a poll on the ring; false: it is done. */
static bool step_data(struct uloop *l, struct uconn *u, const struct action *a, uint64_t now)
{
    struct evconn *c = u->ev;
    struct dc_step st = connio_data(&c->io, a, l->stopping, false, now);
    if (st.status == DC_DONE) return false;
    submit_poll(l, u, OP_DATA, st.fd, st.status == DC_WAIT_IN ? POLLIN : POLLOUT);
    u->sent = *a;
    u->pending = true;
    u->pending_op = OP_DATA;
    if (st.watch_control && !u->control_poll) {
        submit_poll(l, u, OP_CONTROL, c->io.fd, POLLIN);
        u->control_poll = true;
    }
    return true;
}

static void free_conn(struct uloop *l, struct uconn *u)
{
    free(u->spill.buf);
    bufpool_put(u->chunk, FILE_CHUNK);
    bufpool_put(u->recv_buf, RECV_BUF_SIZE);
    evtimers_remove(&l->conns, u->ev);
    evconn_free(u->ev);
    free(u);
}

/* A closing connection is freed once nothing of it is in the kernel. */
static void free_if_idle(struct uloop *l, struct uconn *u)
{
    if (!u->control_poll && !u->recv_armed) free_conn(l, u);
}

/* The session is over: free the connection once nothing is in flight (no
 * send or data poll is: the session asked for the close). */
static void finish(struct uloop *l, struct uconn *u)
{
    u->closing = true;
    if (u->control_poll) uring_cancel(l, uring_tag(u, OP_CONTROL));
    uring_recv_cancel(l, u);
    if (!u->control_poll && !u->recv_armed) {
        free_conn(l, u);
        return;
    }
    u->ev->deadline_ms = NO_DEADLINE;
    evtimers_update(&l->conns, u->ev);
}

/* One action: submits what it needs (EV_WANT_READ/WRITE), waits for the
 * timer (EV_WANT_TIMER), goes on (EV_WANT_AGAIN) or ends (EV_WANT_CLOSE). */
static enum ev_want step(struct uloop *l, struct uconn *u, const struct action *a, uint64_t now)
{
    struct evconn *c = u->ev;
    switch (a->kind) {
    case ACT_READ:
        switch (connio_feed(&c->io, now)) {
        case IO_PROGRESS:
            return EV_WANT_AGAIN;
        case IO_OVER:
            return EV_WANT_CLOSE;
        default:
            if (uring_recv_unspill(u)) return EV_WANT_AGAIN;
            if (l->stopping || !uring_recv_submit(l, u)) return EV_WANT_CLOSE;
            return EV_WANT_READ;
        }
    case ACT_WRITE:
        u->sent = *a;
        struct io_uring_sqe *sqe = submit_send(l, u, a->buf, a->len);
        if (a->more) sqe->msg_flags |= MSG_MORE; /* headers wait for the body's first chunk */
        return EV_WANT_WRITE;
    case ACT_SENDFILE: {
        size_t want = a->count < FILE_CHUNK ? a->count : FILE_CHUNK;
        if (!u->chunk && !(u->chunk = bufpool_get(FILE_CHUNK))) return EV_WANT_CLOSE;
        ssize_t n = pread(a->fd, u->chunk, want, a->off);
        if (n <= 0) {
            connio_done(&c->io, a, -1, now); /* unreadable or shrank */
            return EV_WANT_AGAIN;
        }
        u->sent = *a;
        submit_send(l, u, u->chunk, (size_t)n);
        return EV_WANT_WRITE;
    }
    case ACT_DELAY:
        return evconn_delay(c, a, l->stopping, now);
    case ACT_OFFLOAD:
        return evconn_offload(c, a, now);
    default:
        if (!datachan_action(a->kind)) return EV_WANT_CLOSE; /* ACT_CLOSE */
        return step_data(l, u, a, now) ? EV_WANT_READ : EV_WANT_AGAIN;
    }
}

/* Sets the deadline of what c waits for now. */
static void arm_deadline(struct uloop *l, struct evconn *c)
{
    if (c->want == EV_WANT_TIMER)
        c->deadline_ms = c->delay_until_ms;
    else if (c->want == EV_WANT_JOB && c->timed_out) /* passed: it expires after the job */
        c->deadline_ms = NO_DEADLINE;
    else
        c->deadline_ms = connio_deadline(&c->io, l->m, c->waiting);
    evtimers_update(&l->conns, c);
}

/* Moves the session on until it needs the kernel or the timer (or is
 * over), then sets the deadline of what it waits for. */
static void advance(struct uloop *l, struct uconn *u, uint64_t now)
{
    struct evconn *c = u->ev;
    enum ev_want w = EV_WANT_AGAIN;
    while (w == EV_WANT_AGAIN) {
        struct action a;
        session_next(c->io.s, &a);
        c->waiting = a.kind;
        w = connio_expired_again(&c->io, a.kind) ? EV_WANT_CLOSE : step(l, u, &a, now);
    }
    c->want = w;
    if (w == EV_WANT_CLOSE) {
        finish(l, u);
        return;
    }
    arm_deadline(l, c);
}

/* A recv completed. The session goes on if it waits for input; else the
 * bytes wait in its input (a multishot recv brings them while an answer is
 * being sent). */
static void on_recv(struct uloop *l, struct uconn *u, int res, unsigned flags, uint64_t now)
{
    if (!(flags & IORING_CQE_F_MORE)) u->recv_armed = u->recv_cancelled = false;
    if (res == -EINVAL && l->recv_multishot && !(flags & IORING_CQE_F_MORE)) {
        l->recv_multishot = false; /* a kernel without multishot recv (before 6.0) */
        res = -EAGAIN;
    }
    uring_received(l, u, res, flags);
    if (u->closing) {
        free_if_idle(l, u);
        return;
    }
    struct evconn *c = u->ev;
    if (c->want == EV_WANT_READ && c->waiting == ACT_READ && !u->pending) advance(l, u, now);
}

/* The main operation was cancelled because its deadline passed. */
static void timed_out(struct uloop *l, struct uconn *u, enum op op, uint64_t now)
{
    struct evconn *c = u->ev;
    if (op == OP_DATA)
        connio_data_timed_out(&c->io, &u->sent, now);
    else
        connio_expire(&c->io, c->waiting, now);
}

/* The control connection is readable during a transfer. */
static void on_control(struct uloop *l, struct uconn *u, uint64_t now)
{
    bool in_transfer = u->pending && u->pending_op == OP_DATA &&
                       (u->sent.kind == ACT_TRANSFER_IN || u->sent.kind == ACT_TRANSFER_OUT);
    if (!in_transfer) return; /* over already: the next recv gets the bytes */
    if (!connio_control_ok(&u->ev->io, now)) {
        u->fail_transfer = true;
        uring_cancel(l, uring_tag(u, OP_DATA));
    } else if (!u->ev->io.eof) {
        submit_poll(l, u, OP_CONTROL, u->ev->io.fd, POLLIN);
        u->control_poll = true;
    }
}

static void on_conn_done(struct uloop *l, struct uconn *u, enum op op, int res, unsigned flags,
                         uint64_t now)
{
    struct evconn *c = u->ev;
    if (op == OP_CONTROL) {
        u->control_poll = false;
        if (u->closing)
            free_if_idle(l, u);
        else
            on_control(l, u, now);
        return;
    }
    if (op == OP_RECV) {
        on_recv(l, u, res, flags, now);
        return;
    }
    u->pending = false;
    bool was_cancelled = u->cancelled, fail = u->fail_transfer;
    u->cancelled = u->fail_transfer = false;
    if (fail && op == OP_DATA) {
        connio_done(&c->io, &u->sent, -1, now);
    } else if (was_cancelled && res == -ECANCELED) {
        timed_out(l, u, op, now);
    } else if (op == OP_DATA) {
        if (res < 0) /* the poll failed: so does the action */
            connio_done(&c->io, &u->sent, -1, now);
        else if (step_data(l, u, &u->sent, now)) {
            arm_deadline(l, c); /* waits again, perhaps for something else */
            return;
        }
    } else {
        if (u->chunk) { /* a file chunk went (or failed): its buffer goes back */
            bufpool_put(u->chunk, FILE_CHUNK);
            u->chunk = NULL;
        }
        if (res != -EINTR && res != -EAGAIN) connio_done(&c->io, &u->sent, res > 0 ? res : -1, now);
    }
    advance(l, u, now);
}

/* Out of descriptors: no accept for a while (see the top). */
static void pause_accepts(struct uloop *l, int err, unsigned flags, uint64_t now)
{
    accept_pause_log(err);
    l->accept_resume_ms = now + ACCEPT_PAUSE_MS;
    if (flags & IORING_CQE_F_MORE) uring_cancel(l, &tag_accept); /* still armed: it would go on */
}

static void on_accept(struct uloop *l, int res, unsigned flags, uint64_t now)
{
    const struct model_ctx *m = l->m;
    if (!(flags & IORING_CQE_F_MORE)) l->accept_armed = false;
    if (res < 0) {
        if (res == -EINVAL && l->multishot) { /* an old kernel: single-shot accepts */
            l->multishot = false;
        } else if (accept_out_of_fds(-res)) {
            pause_accepts(l, -res, flags, now);
            return;
        } else if (res != -ECANCELED && res != -EAGAIN && res != -ECONNABORTED) {
            model_error("uring: accept: %s", strerror(-res));
        }
    }
    if (!l->stopping && !l->accept_resume_ms && !l->accept_armed) submit_accept(l); /* re-arm */
    if (res < 0) return;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char peer[64] = "?";
    struct peer_key key = {{0}};
    int one = 1; /* as listener_accept() does: see there */
    setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblock_cloexec(res); /* connio.c reads it directly during a transfer */
    if (getpeername(res, (struct sockaddr *)&ss, &len) == 0) {
        format_addr((struct sockaddr *)&ss, peer, sizeof peer);
        peer_key_of((struct sockaddr *)&ss, &key);
    }
    if (l->stopping || (m->max_conn && l->conns.count >= m->max_conn)) {
        refuse_client(res, m, peer);
        return;
    }
    if (!admit_per_ip(m, res, &key, peer)) return;
    struct uconn *u = calloc(1, sizeof *u);
    if (u) u->ev = evconn_new(m, res, peer, now);
    if (!u || !u->ev || evtimers_add(&l->conns, u->ev) < 0) {
        model_error("out of memory for %s", peer);
        if (u && u->ev)
            evconn_free(u->ev); /* closes res */
        else
            close(res);
        peer_limit_leave(m->per_ip, &key);
        free(u);
        return;
    }
    u->ev->peer = key;
    u->ev->peer_counted = true;
    u->ev->owner = u;
    u->ev->offload = l->off;
    advance(l, u, now);
}

static void begin_stop(struct uloop *l, uint64_t now)
{
    l->stopping = true;
    if (l->accept_armed) uring_cancel(l, &tag_accept);
    /* clients waiting for a request close now (their recv completes with
     * 0), and so do delays; the others finish. advance() may free or move a
     * connection in the heap, so the delays are collected first. */
    size_t n = 0;
    struct uconn **delayed = malloc(l->conns.count * sizeof *delayed + 1);
    for (size_t i = 0; i < l->conns.count; i++) {
        struct evconn *c = l->conns.heap[i];
        if (c->want == EV_WANT_READ && c->waiting == ACT_READ) shutdown(c->io.fd, SHUT_RDWR);
        /* a data connection not yet made is not work in flight either */
        if (c->io.dc.pasv_fd >= 0) shutdown(c->io.dc.pasv_fd, SHUT_RDWR);
        if (c->want == EV_WANT_TIMER && delayed) delayed[n++] = c->owner;
    }
    for (size_t i = 0; i < n; i++)
        advance(l, delayed[i], now);
    free(delayed); /* out of memory: the delays end on their own */
}

/* Connections whose deadline passed: a delay ends; an operation in flight
 * is cancelled, and its completion does the rest (timed_out()). */
static void expire_due(struct uloop *l, uint64_t now)
{
    struct evconn *c;
    while ((c = evtimers_due(&l->conns, now))) {
        struct uconn *u = c->owner;
        c->deadline_ms = NO_DEADLINE; /* not again before what it starts completes */
        evtimers_update(&l->conns, c);
        if (c->want == EV_WANT_TIMER) {
            advance(l, u, now);
        } else if (c->want == EV_WANT_JOB) {
            evconn_timeout(c); /* acted on when the job is over */
        } else if (u->pending && !u->cancelled) {
            u->cancelled = true;
            uring_cancel(l, uring_tag(u, u->pending_op));
        } else if (!u->pending && c->want == EV_WANT_READ) {
            /* waiting for a request: its recv stays armed (finish()
             * cancels it if the session ends) */
            connio_expire(&c->io, c->waiting, now);
            advance(l, u, now);
        }
    }
    if (l->accept_resume_ms && now >= l->accept_resume_ms) {
        l->accept_resume_ms = 0;
        if (!l->stopping && !l->accept_armed) submit_accept(l);
    }
}

/* A poll on the offload worker's wake fd (while the loop runs). */
static void submit_offload_poll(struct uloop *l)
{
    struct io_uring_sqe *sqe = uring_sqe(l);
    io_uring_prep_poll_add(sqe, offload_fd(l->off), POLLIN);
    io_uring_sqe_set_data(sqe, &tag_offload);
}

/* The worker finished jobs: their connections go on (a connection waiting
 * for its job is never freed, so each owner is alive). */
__attribute__((cold, noinline)) static void jobs_done(struct uloop *l, uint64_t now)
{
    struct offload_job *j = offload_done(l->off);
    while (j) {
        struct offload_job *next = j->next;
        struct evconn *c = j->owner;
        c->job_done = true;
        advance(l, c->owner, now);
        j = next;
    }
    submit_offload_poll(l);
}

static void handle(struct uloop *l, struct io_uring_cqe *cqe, uint64_t now)
{
    void *data = io_uring_cqe_get_data(cqe);
    if (data == &tag_accept) {
        on_accept(l, cqe->res, cqe->flags, now);
    } else if (data == &tag_stop) {
        if (!l->stopping) begin_stop(l, now);
    } else if (data == &tag_offload) { /* rare: a login's hash came back */
        jobs_done(l, now);
    } else if (data) {
        uintptr_t v = (uintptr_t)data;
        on_conn_done(l, (struct uconn *)(v & ~(uintptr_t)3), (enum op)(v & 3), cqe->res, cqe->flags,
                     now);
    }
}

static int wait_ms(const struct uloop *l, uint64_t now)
{
    int t = evtimers_wait_ms(&l->conns, now);
    if (l->accept_resume_ms && !l->stopping) {
        int resume = ms_until(l->accept_resume_ms, now);
        if (t < 0 || resume < t) t = resume;
    }
    return t;
}

static int uring_run(const struct model_ctx *m)
{
    /* multishot recvs only where the session never reads its socket
     * itself (FTP reads the control connection during a transfer) */
    struct uloop l = {.m = m, .multishot = true, .recv_multishot = !m->proto->abort_requested};
    if (m->server && m->server->root) l.files = fsroot_cache(m->server->root);
    /* one thread submits and reaps (SINGLE_ISSUER), so completions can wait
     * for its next io_uring_enter instead of interrupting it as task work
     * (DEFER_TASKRUN, 6.1+): measurably less CPU per request; older kernels
     * refuse the flags, and get a plain ring */
    struct io_uring_params params = {.flags =
                                         IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
    int rc = io_uring_queue_init_params(RING_ENTRIES, &l.ring, &params);
    if (rc == -EINVAL) rc = io_uring_queue_init(RING_ENTRIES, &l.ring, 0);
    if (rc < 0) {
        model_error("uring: io_uring_queue_init: %s", strerror(-rc));
        return -1;
    }
    uring_recv_setup(&l);
    if (!l.recv.br) l.recv_multishot = false; /* it needs the provided buffers */
    bufpool_cache(true);                      /* the loop's free list of I/O buffers */
    submit_accept(&l);
    struct io_uring_sqe *sqe = uring_sqe(&l);
    io_uring_prep_poll_add(sqe, m->stop_fd, POLLIN);
    io_uring_sqe_set_data(sqe, &tag_stop);
    l.off = offload_new(m->offload); /* its worker starts at the first job; NULL: jobs run here */
    if (l.off) submit_offload_poll(&l);

    while (!l.stopping || l.conns.count > 0) {
        int t = wait_ms(&l, monotonic_ms());
        struct __kernel_timespec ts = {.tv_sec = t / 1000, .tv_nsec = (t % 1000) * 1000000L};
        struct io_uring_cqe *cqe;
        rc = io_uring_submit_and_wait_timeout(&l.ring, &cqe, 1, t < 0 ? NULL : &ts, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR) {
            model_error("uring: wait: %s", strerror(-rc));
            break;
        }
        uint64_t now = monotonic_ms();
        /* the batch: what was posted by now, and nothing posted while it is
         * handled (a submission of a full SQ can post more), so every byte
         * it brings was received before the cache's check (see the top) */
        unsigned head, n = 0, ready = io_uring_cq_ready(&l.ring);
        if (l.files) filecache_batch(l.files);
        io_uring_for_each_cqe(&l.ring, head, cqe)
        {
            if (n == ready) break;
            handle(&l, cqe, now);
            n++;
        }
        io_uring_cq_advance(&l.ring, n);
        expire_due(&l, now);
    }
    close(m->listen_fd);
    filecache_batch(NULL);
    uring_recv_free(&l);
    io_uring_queue_exit(&l.ring); /* before the wake fd closes: its poll goes with the ring */
    offload_free(l.off);
    bufpool_cache(false);
    evtimers_free(&l.conns);
    return rc < 0 && rc != -ETIME && rc != -EINTR ? -1 : 0;
}

/* Whether this kernel gives us a ring at all: built against liburing, the
 * model may still meet io_uring_setup's ENOSYS (qemu-user, make test-cross;
 * kernels built without it) or EPERM (kernel.io_uring_disabled, seccomp). */
static bool uring_usable(char *why, size_t whylen)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_setup: %s", strerror(-rc));
        return false;
    }
    io_uring_queue_exit(&ring);
    return true;
}

const struct model model_uring = {
    .name = "uring",
    .summary = "io_uring completions (liburing), multishot accept, one thread",
    .run = uring_run,
    .cap = CAP_FDS,
    .usable = uring_usable,
};
