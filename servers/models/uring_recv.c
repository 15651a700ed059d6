/* uring_recv.c - the uring model's recvs (uring.c): the ring of buffers
 * provided to the kernel, one recv per connection (multishot for HTTP and
 * echo: armed until it ends), and where its bytes go.
 *
 * A recv in the kernel holds no buffer: it picks one from the ring when
 * bytes arrive, they are copied into the session's input and the buffer
 * goes back at once (kernels before 5.19: a buffer from the loop's free
 * list per recv in flight). A multishot recv brings bytes whenever they
 * come, also while an answer is being sent: they go behind the session's
 * unconsumed input, and what does not fit into a spill, taken in when the
 * input empties; meanwhile the recv is cancelled, so a client that only
 * sends waits in its socket buffer (TCP's window), as with one recv at a
 * time. */
#include "uring.h"

#include "bufpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void uring_recv_setup(struct uloop *l)
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

void uring_recv_free(struct uloop *l)
{
    if (!l->recv.br) return;
    io_uring_unregister_buf_ring(&l->ring, RECV_GROUP);
    munmap(l->recv.br, l->recv.map_len);
}

void uring_recv_cancel(struct uloop *l, struct uconn *u)
{
    if (!u->recv_armed || u->recv_cancelled) return;
    uring_cancel(l, uring_tag(u, OP_RECV));
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
    uring_recv_cancel(l, u);
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
bool uring_recv_unspill(struct uconn *u)
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
void uring_received(struct uloop *l, struct uconn *u, int res, unsigned flags)
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

/* A recv, unless one is armed: the kernel picks its buffer from the ring
 * when bytes arrive; multishot, it stays armed and brings the next
 * request's bytes without a new submission. */
bool uring_recv_submit(struct uloop *l, struct uconn *u)
{
    if (u->recv_armed) return true; /* cancelled: its end re-arms it (on_recv) */
    struct io_uring_sqe *sqe = uring_sqe(l);
    if (l->recv.br) {
        io_uring_prep_recv(sqe, u->ev->io.fd, NULL, l->recv_multishot ? 0 : RECV_BUF_SIZE, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = RECV_GROUP;
        if (l->recv_multishot) sqe->ioprio |= IORING_RECV_MULTISHOT;
    } else {
        if (!u->recv_buf && !(u->recv_buf = bufpool_get(RECV_BUF_SIZE))) return false;
        io_uring_prep_recv(sqe, u->ev->io.fd, u->recv_buf, RECV_BUF_SIZE, 0);
    }
    io_uring_sqe_set_data(sqe, uring_tag(u, OP_RECV));
    u->recv_armed = true;
    return true;
}
