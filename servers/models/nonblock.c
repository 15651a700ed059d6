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

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>

struct entry {
    int fd;
    void *ptr;
};

struct nb {
    int stop_fd;
    struct entry *e;
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
    free(s->e);
    free(s);
}

static int find(const struct nb *s, int fd)
{
    for (int i = 0; i < s->n; i++)
        if (s->e[i].fd == fd) return i;
    return -1;
}

static int nb_add(void *p, int fd, int events, void *ptr)
{
    struct nb *s = p;
    (void)events; /* everything is tried every round anyway */
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 64;
        struct entry *e = realloc(s->e, (size_t)cap * sizeof *e);
        if (!e) return -1;
        s->e = e;
        s->cap = cap;
    }
    s->e[s->n++] = (struct entry){fd, ptr};
    return 0;
}

static int nb_modify(void *p, int fd, int events, void *ptr)
{
    struct nb *s = p;
    (void)events;
    int i = find(s, fd);
    if (i < 0) {
        errno = ENOENT;
        return -1;
    }
    s->e[i].ptr = ptr;
    return 0;
}

static void nb_remove(void *p, int fd)
{
    struct nb *s = p;
    int i = find(s, fd);
    if (i >= 0) s->e[i] = s->e[--s->n];
}

static bool stop_pending(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) > 0;
}

/* Reports every fd as ready, without asking the kernel; timeout_ms is ignored
 * on purpose: the busy loop never waits. */
static int nb_wait(void *p, struct poll_event *out, int max, int timeout_ms)
{
    struct nb *s = p;
    (void)timeout_ms;
    sched_yield();
    int got = 0;
    for (int k = 0; k < s->n && got < max; k++) {
        struct entry *e = &s->e[(s->next + k) % s->n];
        if (e->fd == s->stop_fd && !stop_pending(e->fd)) continue;
        out[got++] = (struct poll_event){.ptr = e->ptr, .events = POLL_IN | POLL_OUT};
    }
    s->next = s->n ? (s->next + 1) % s->n : 0;
    return got;
}

static const struct poller nonblock_poller = {
    .name = "nonblock",
    .create = nb_create,
    .destroy = nb_destroy,
    .add = nb_add,
    .modify = nb_modify,
    .remove = nb_remove,
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
};
