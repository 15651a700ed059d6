/* uring.h - what the uring model's files share (uring.c: the loop and
 * the sessions; uring_recv.c: the recvs and their buffers). */
#ifndef SERVERMODELS_URING_H
#define SERVERMODELS_URING_H

#include "model.h"

#include <liburing.h>
#include <stdint.h>

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

struct io_uring_sqe *uring_sqe(struct uloop *l); /* submitting first if the queue is full */
/* Cancels an operation by its user_data; the cancel's own completion is
 * ignored (user_data NULL). */
void uring_cancel(struct uloop *l, void *tag);
/* A connection's operation's user_data: the low two bits say which. */
static inline void *uring_tag(struct uconn *u, enum op op)
{
    return (void *)((uintptr_t)u | op);
}

/* ---- uring_recv.c ---- */

/* The ring of provided buffers (none on kernels before 5.19: l->recv.br NULL). */
void uring_recv_setup(struct uloop *l);
void uring_recv_free(struct uloop *l);
/* A recv for u unless one is armed; false when out of memory. */
bool uring_recv_submit(struct uloop *l, struct uconn *u);
/* Cancels u's armed recv (once). */
void uring_recv_cancel(struct uloop *l, struct uconn *u);
/* A recv completed: its bytes (or its end) into u's input. */
void uring_received(struct uloop *l, struct uconn *u, int res, unsigned flags);
/* u's input is empty: the spilled bytes (or the EOF behind them) go in;
 * false when nothing was spilled. */
bool uring_recv_unspill(struct uconn *u);

#endif
