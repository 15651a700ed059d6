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
 *    operation the session asks for - each client has one in flight, plus,
 *    during an FTP transfer, a poll on its control connection (conn.h: its
 *    EOF or an ABOR fails the transfer; the data poll is then cancelled).
 * 4. A deadline passed: the operation in flight is cancelled, and its
 *    completion (-ECANCELED) expires the session or fails the data action.
 *    An ACT_DELAY submits nothing: the timer alone ends it. Nor does an
 *    ACT_OFFLOAD: its job goes to the process's worker thread (offload.c), and
 *    a poll on the loop's wake fd brings the connection back.
 * Out of descriptors, the accept is not re-armed for ACCEPT_PAUSE_MS (a
 * multishot accept that failed would fail again at once, forever).
 * On stop, clients waiting for a request are shut down: their pending recv
 * completes with 0 and the connection closes.
 * Buffers: a recv in flight holds none. It picks one from a ring of
 * buffers the loop provides to the kernel (io_uring_register_buf_ring) when
 * its bytes arrive; they are copied into the session's input and the
 * buffer goes back to the ring at once. So an idle client waiting for its
 * next request costs no buffer (kernels before 5.19: a buffer from the
 * loop's free list per recv in flight).
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
 */
#include "model.h"

#include "bufpool.h"
#include "filecache.h"
#include "fsroot.h"

#include <errno.h>
#include <liburing.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING_ENTRIES 1024
#define FILE_CHUNK (64 * 1024)
#define RECV_BUFS 1024     /* provided buffers (a power of two) ... */
#define RECV_BUF_SIZE 4096 /* ... of this size: a request head fits in one or a few */
#define RECV_GROUP 0

/* the low two bits of user_data: which operation of the connection completed */
enum op {
    OP_RECV = 0,
    OP_SEND = 1,
    OP_DATA = 2,   /* a poll for the FTP data action in u->sent */
    OP_CONTROL = 3 /* a poll on the control connection during a transfer */
};

/* Bytes a multishot recv brought while the session's input was full: they
 * go in when it empties (and the recv is cancelled meanwhile: backpressure). */
struct spill {
    char *buf; /* malloc'ed, or NULL */
    size_t len, off;
    bool eof; /* the recv ended (EOF, error) behind these bytes */
};

struct uconn {
    struct evconn *ev;   /* session, input, clocks, timer */
    bool pending;        /* the main operation (a send, a data poll) is in flight */
    enum op pending_op;  /* ... which one */
    bool recv_armed;     /* a recv is in the kernel (multishot: until a completion
                            without IORING_CQE_F_MORE) */
    bool recv_cancelled; /* ... and its cancel was submitted */
    struct spill spill;
    bool control_poll;  /* an OP_CONTROL is in flight */
    bool cancelled;     /* the main operation was cancelled: its deadline passed */
    bool fail_transfer; /* the control connection ended or aborted the transfer */
    bool closing;       /* over: freed once nothing is in flight */
    struct action sent; /* the ACT_WRITE / ACT_SENDFILE being sent, or the data action */
    char *chunk;        /* FILE_CHUNK bytes while a file chunk is sent, else NULL */
    char *recv_buf;     /* RECV_BUF_SIZE bytes while a recv is in flight without a ring */
};

/* The buffers recvs pick from: a ring shared with the kernel, then the
 * buffers themselves, in one mapping. */
struct recv_ring {
    struct io_uring_buf_ring *br; /* NULL: none (an old kernel) */
    char *bufs;
    size_t map_len;
};

/* user_data of the listener's, the stop pipe's and the offload wake fd's operations */
static char tag_accept, tag_stop, tag_offload;

struct uloop {
    const struct model_ctx *m;
    struct io_uring ring;
    struct evtimers conns; /* every connection, by deadline */
    struct recv_ring recv;
    bool stopping, multishot;
    bool recv_multishot;       /* one recv per connection, armed until it ends (see the top) */
    bool accept_armed;         /* an accept is in the kernel */
    uint64_t accept_resume_ms; /* out of fds: accepting pauses until then (0: not) */
    struct offload *off;       /* its port to the ACT_OFFLOAD worker (NULL: jobs run here) */
    struct filecache *files;   /* the root's open-file cache (NULL: no root) */
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
    l->accept_armed = true;
}

static void *tag_of(struct uconn *u, enum op op)
{
    return (void *)((uintptr_t)u | op);
}

/* Cancels an operation by its user_data; the cancel's own completion is
 * ignored (user_data NULL). */
static void cancel(struct uloop *l, void *tag)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_cancel(sqe, tag, 0);
    io_uring_sqe_set_data(sqe, NULL);
}

/* ---- the provided buffers ---- */

static void recv_ring_setup(struct uloop *l)
{
    struct recv_ring *r = &l->recv;
    size_t ring_len = RECV_BUFS * sizeof(struct io_uring_buf);
    size_t len = ring_len + (size_t)RECV_BUFS * RECV_BUF_SIZE;
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uintptr_t)map, .ring_entries = RECV_BUFS, .bgid = RECV_GROUP};
    if (io_uring_register_buf_ring(&l->ring, &reg, 0) < 0) {
        munmap(map, len); /* before 5.19: a buffer per recv instead */
        return;
    }
    r->br = map;
    r->bufs = (char *)map + ring_len;
    r->map_len = len;
    io_uring_buf_ring_init(r->br);
    for (unsigned i = 0; i < RECV_BUFS; i++)
        io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * RECV_BUF_SIZE, RECV_BUF_SIZE,
                              (unsigned short)i, io_uring_buf_ring_mask(RECV_BUFS), (int)i);
    io_uring_buf_ring_advance(r->br, RECV_BUFS);
}

static void recv_ring_free(struct uloop *l)
{
    if (!l->recv.br) return;
    io_uring_unregister_buf_ring(&l->ring, RECV_GROUP);
    munmap(l->recv.br, l->recv.map_len);
}

static void cancel_recv(struct uloop *l, struct uconn *u)
{
    if (!u->recv_armed || u->recv_cancelled) return;
    cancel(l, tag_of(u, OP_RECV));
    u->recv_cancelled = true;
}

/* n bytes into the session's input, or behind it into the spill (and the
 * recv stops until the spill is taken in: a client that sends and never
 * reads waits in its socket buffer, as with one recv at a time). */
static void take_bytes(struct uloop *l, struct uconn *u, const char *buf, size_t n)
{
    struct spill *sp = &u->spill;
    if (sp->off == sp->len) {
        size_t k = connio_append(&u->ev->io, buf, n);
        buf += k;
        n -= k;
    }
    if (n == 0) return;
    char *grown = realloc(sp->buf, sp->len + n);
    if (!grown) {
        sp->eof = true; /* out of memory: the connection ends */
        return;
    }
    memcpy(grown + sp->len, buf, n);
    sp->buf = grown;
    sp->len += n;
    cancel_recv(l, u);
}

/* The end of input (EOF or an error), after what is spilled. */
static void take_eof(struct uconn *u)
{
    if (u->spill.off < u->spill.len)
        u->spill.eof = true;
    else
        connio_received(&u->ev->io, NULL, 0);
}

/* The session's input is empty: the spill's bytes (or its EOF) go in.
 * false: nothing was spilled. */
static bool unspill(struct uconn *u)
{
    struct spill *sp = &u->spill;
    if (sp->off < sp->len) {
        sp->off += connio_append(&u->ev->io, sp->buf + sp->off, sp->len - sp->off);
        if (sp->off < sp->len) return true;
    } else if (!sp->eof) {
        return false;
    }
    free(sp->buf);
    sp->buf = NULL;
    sp->len = sp->off = 0;
    if (sp->eof) connio_received(&u->ev->io, NULL, 0);
    sp->eof = false;
    return true;
}

/* The bytes a recv got: into the session's input, and the buffer it
 * picked goes back to the ring. res 0 or an error: the input's end. */
static void received(struct uloop *l, struct uconn *u, int res, unsigned flags)
{
    struct recv_ring *r = &l->recv;
    const char *buf = u->recv_buf;
    if (r->br && (flags & IORING_CQE_F_BUFFER))
        buf = r->bufs + (size_t)(flags >> IORING_CQE_BUFFER_SHIFT) * RECV_BUF_SIZE;
    if (res > 0 && !u->closing)
        take_bytes(l, u, buf, (size_t)res);
    else if (res == 0 ||
             (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED && res != -ENOBUFS))
        take_eof(u); /* -ENOBUFS: the ring was empty when the bytes came: recv again */
    if (buf && buf != u->recv_buf) {
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        io_uring_buf_ring_add(r->br, (void *)buf, RECV_BUF_SIZE, (unsigned short)bid,
                              io_uring_buf_ring_mask(RECV_BUFS), 0);
        io_uring_buf_ring_advance(r->br, 1);
    }
    if (!u->recv_armed) {
        bufpool_put(u->recv_buf, RECV_BUF_SIZE);
        u->recv_buf = NULL;
    }
}

static struct io_uring_sqe *submit_send(struct uloop *l, struct uconn *u, const void *buf,
                                        size_t len)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_send(sqe, u->ev->io.fd, buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, tag_of(u, OP_SEND));
    u->pending = true;
    u->pending_op = OP_SEND;
    return sqe;
}

/* A recv, unless one is armed: the kernel picks its buffer from the ring
 * when bytes arrive; multishot, it stays armed and brings the next
 * request's bytes without a new submission. */
static bool submit_recv(struct uloop *l, struct uconn *u)
{
    if (u->recv_armed) return true; /* cancelled: its end re-arms it (on_recv) */
    struct io_uring_sqe *sqe = get_sqe(l);
    if (l->recv.br) {
        io_uring_prep_recv(sqe, u->ev->io.fd, NULL, l->recv_multishot ? 0 : RECV_BUF_SIZE, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = RECV_GROUP;
        if (l->recv_multishot) sqe->ioprio |= IORING_RECV_MULTISHOT;
    } else {
        if (!u->recv_buf && !(u->recv_buf = bufpool_get(RECV_BUF_SIZE))) return false;
        io_uring_prep_recv(sqe, u->ev->io.fd, u->recv_buf, RECV_BUF_SIZE, 0);
    }
    io_uring_sqe_set_data(sqe, tag_of(u, OP_RECV));
    u->recv_armed = true;
    return true;
}

static void submit_poll(struct uloop *l, struct uconn *u, enum op op, int fd, unsigned events)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_poll_add(sqe, fd, events);
    io_uring_sqe_set_data(sqe, tag_of(u, op));
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
    if (u->control_poll) cancel(l, tag_of(u, OP_CONTROL));
    cancel_recv(l, u);
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
            if (unspill(u)) return EV_WANT_AGAIN;
            if (l->stopping || !submit_recv(l, u)) return EV_WANT_CLOSE;
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
    received(l, u, res, flags);
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
        cancel(l, tag_of(u, OP_DATA));
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
    if (flags & IORING_CQE_F_MORE) cancel(l, &tag_accept); /* still armed: it would go on */
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
    if (l->accept_armed) cancel(l, &tag_accept);
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
            cancel(l, tag_of(u, u->pending_op));
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
    struct io_uring_sqe *sqe = get_sqe(l);
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
    recv_ring_setup(&l);
    if (!l.recv.br) l.recv_multishot = false; /* it needs the provided buffers */
    bufpool_cache(true);                      /* the loop's free list of I/O buffers */
    submit_accept(&l);
    struct io_uring_sqe *sqe = get_sqe(&l);
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
    recv_ring_free(&l);
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
