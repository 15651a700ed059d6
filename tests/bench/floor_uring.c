/* floor_uring.c - the least an io_uring server can spend per keep-alive
 * request: floor.c's bar for io_uring (issue 20). NOT a server, NOT correct
 * HTTP: as floor.c, it counts the blank lines that end request heads and
 * answers each with the same 200 and the body given on the command line.
 * No file, no timers, no limits, no shutdown but a signal.
 *
 * One thread, one ring (SINGLE_ISSUER | DEFER_TASKRUN), every feature that
 * cuts work per request and none that costs any:
 * 1. a multishot accept: one submission, a completion per client;
 * 2. per client, one multishot recv from a ring of provided buffers: it
 *    stays armed across requests, each request's bytes come as one
 *    completion, and the buffer goes straight back to the ring;
 * 3. the answers are sent from constant memory with IOSQE_CQE_SKIP_SUCCESS:
 *    a send that went posts no completion at all;
 * 4. what a turn queued goes to the kernel with the next wait: one
 *    io_uring_enter per batch of completions.
 *
 *   floor_uring PORT BODY   (port 0: any; prints "listening on 127.0.0.1:P")
 */
#define _GNU_SOURCE /* memmem */
#include <liburing.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor_listen.h"

#define NBUFS 1024 /* provided buffers: a power of two */
#define BUF_SIZE 2048
#define MAX_ANSWERS 32 /* answers one send can carry (pipelined heads) */
#define TAG_ACCEPT (~(uint64_t)0)

static struct io_uring ring;
static struct io_uring_buf_ring *bufs;
static char *buf_mem;
static char answers[MAX_ANSWERS * 512]; /* the answer, MAX_ANSWERS times */
static size_t answer_len;

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) { /* full: hand the queue to the kernel first */
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void arm_recv(int fd)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_FIXED_FILE;
    sqe->buf_group = 0;
    io_uring_sqe_set_data64(sqe, (uint64_t)fd);
}

static void give_back(unsigned bid)
{
    io_uring_buf_ring_add(bufs, buf_mem + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(bufs, 1);
}

/* A recv completed on fd: one answer per "\r\n\r\n" in its bytes. */
static void on_recv(int fd, int res, unsigned flags)
{
    if (res <= 0) {
        if (res == -ENOBUFS) {
            arm_recv(fd); /* out of buffers for a moment: the bytes wait */
            return;
        }
        if (!(flags & IORING_CQE_F_MORE)) { /* EOF or an error: gone */
            struct io_uring_sqe *sqe = sqe_get();
            io_uring_prep_close_direct(sqe, (unsigned)fd);
            sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
            io_uring_sqe_set_data64(sqe, TAG_ACCEPT - 1);
        }
        return;
    }
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    const char *in = buf_mem + (size_t)bid * BUF_SIZE;
    size_t k = 0;
    for (const char *p = in; (p = memmem(p, (size_t)res - (size_t)(p - in), "\r\n\r\n", 4)); p += 4)
        k += k < MAX_ANSWERS;
    give_back(bid);
    if (k) {
        struct io_uring_sqe *sqe = sqe_get();
        io_uring_prep_send(sqe, fd, answers, k * answer_len, MSG_NOSIGNAL);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS | IOSQE_FIXED_FILE; /* a failure: ignored */
        io_uring_sqe_set_data64(sqe, TAG_ACCEPT - 1);
    }
    if (!(flags & IORING_CQE_F_MORE)) arm_recv(fd); /* the kernel ended it: again */
}

static void on_accept(int listen_fd, int res, unsigned flags)
{
    if (res >= 0) arm_recv(res); /* res: its slot in the ring's file table */
    if (!(flags & IORING_CQE_F_MORE)) {
        struct io_uring_sqe *sqe = sqe_get();
        io_uring_prep_multishot_accept_direct(sqe, listen_fd, NULL, NULL, 0);
        io_uring_sqe_set_data64(sqe, TAG_ACCEPT);
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 || strlen(argv[2]) > 400) {
        fprintf(stderr, "usage: floor_uring PORT BODY (at most 400 bytes)\n");
        return 2;
    }
    char one_answer[512];
    answer_len = (size_t)snprintf(one_answer, sizeof one_answer,
                                  "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                                  strlen(argv[2]), argv[2]);
    for (size_t i = 0; i < MAX_ANSWERS; i++)
        memcpy(answers + i * answer_len, one_answer, answer_len);
    struct io_uring_params params = {.flags =
                                         IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
    int lfd = listener(atoi(argv[1])), rc = io_uring_queue_init_params(4096, &ring, &params);
    /* the ring of provided buffers (liburing 2.3 has no io_uring_setup_buf_ring) */
    buf_mem = malloc((size_t)NBUFS * BUF_SIZE);
    bufs = mmap(NULL, NBUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)bufs, .ring_entries = NBUFS, .bgid = 0};
    if (lfd < 0 || rc < 0 || !buf_mem || bufs == MAP_FAILED ||
        (rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
        fprintf(stderr, "floor_uring: %s\n", strerror(rc < 0 ? -rc : errno));
        return 1;
    }
    io_uring_buf_ring_init(bufs);
    /* connections as fixed files (no file lookup per operation; TCP_NODELAY
     * comes from the listener), and the ring's own fd registered */
    int one = 1;
    setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((rc = io_uring_register_files_sparse(&ring, 4096)) < 0 ||
        (rc = io_uring_register_ring_fd(&ring)) < 0) {
        fprintf(stderr, "floor_uring: %s\n", strerror(-rc));
        return 1;
    }
    for (unsigned b = 0; b < NBUFS; b++)
        give_back(b);
    on_accept(lfd, -1, 0); /* arms the multishot accept */
    for (;;) {
        struct io_uring_cqe *cqe;
        unsigned head, n = 0;
        if (io_uring_submit_and_wait(&ring, 1) < 0 && errno != EINTR) continue;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            uint64_t tag = io_uring_cqe_get_data64(cqe);
            if (tag == TAG_ACCEPT)
                on_accept(lfd, cqe->res, cqe->flags);
            else if (tag < TAG_ACCEPT - 1)
                on_recv((int)tag, cqe->res, cqe->flags);
            n++;
        }
        io_uring_cq_advance(&ring, n);
    }
}
