/* nonblock.c - non-blocking sockets and no poller at all (the seeds' busy loop).
 *
 * 1. main.c created the listener (non-blocking).
 * 2. Round after round: try to accept; try every client's read or write.
 *    Whatever is not ready answers EAGAIN and is tried again next round.
 * 3. Nothing ever sleeps in the kernel waiting for readiness, so this model
 *    spins: it burns a whole core even when idle (bench reports its CPU).
 *    Between rounds it calls sched_yield() so other processes still run.
 * It is evloop.c with a "poller" that reports every fd as always ready; only
 * the stop pipe is checked for real (with a zero-timeout poll), else the
 * loop would stop at once. */
#include "evloop.h"

#include <poll.h>
#include <sched.h>
#include <stdlib.h>

struct nb {
    int stop_fd;
    int *fds; /* every fd watched, in no order */
    int n, cap;
    int next; /* round-robin start, so a full event array never starves anyone */
};

static void *nb_create(const struct model_ctx *m)
{
    struct nb *s = calloc(1, sizeof *s);
    if (s) s->stop_fd = m->stop_fd;
    return s;
}

static void nb_destroy(void *p)
{
    struct nb *s = p;
    free(s->fds);
    free(s);
}

static int find(const struct nb *s, int fd)
{
    for (int i = 0; i < s->n; i++)
        if (s->fds[i] == fd) return i;
    return -1;
}

/* Only whether an fd is watched matters: everything is tried every round. */
static int nb_set(void *p, int fd, int mask, int old)
{
    struct nb *s = p;
    if (!mask) {
        int i = find(s, fd);
        if (i >= 0) s->fds[i] = s->fds[--s->n];
        return 0;
    }
    if (old) return 0;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        int *fds = realloc(s->fds, (size_t)cap * sizeof *fds);
        if (!fds) return -1;
        s->fds = fds;
        s->cap = cap;
    }
    s->fds[s->n++] = fd;
    return 0;
}

static bool stop_pending(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0;
}

/* Reports every fd as ready, without asking the kernel; timeout_ms is ignored
 * on purpose: the busy loop never waits. */
static int nb_wait(void *p, struct fired_event *out, int max, int timeout_ms)
{
    struct nb *s = p;
    (void)timeout_ms;
    sched_yield();
    int got = 0;
    for (int k = 0; k < s->n && got < max; k++) {
        int fd = s->fds[(s->next + k) % s->n];
        if (fd == s->stop_fd && !stop_pending(fd)) continue;
        out[got++] = (struct fired_event){.fd = fd, .mask = POLL_IN | POLL_OUT};
    }
    s->next = s->n ? (s->next + 1) % s->n : 0;
    return got;
}

static const struct poller nonblock_poller = {
    .name = "nonblock",
    .create = nb_create,
    .destroy = nb_destroy,
    .set = nb_set,
    .wait = nb_wait,
};

static int nonblock_run(const struct model_ctx *m)
{
    return evloop_run(m, m->listen_fd, &nonblock_poller, NULL);
}

const struct model model_nonblock = {
    .name = "nonblock",
    .summary = "non-blocking sockets tried in a busy loop, no poller (spins a core)",
    .run = nonblock_run,
    .cap = CAP_FDS,
};
