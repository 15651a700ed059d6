/* poll.c - the poll() poller: one pollfd array, O(n) scan per wait.
 *
 * The array stays dense: removing an fd moves the last entry into its hole
 * (compacting on close), and slot_of[fd] finds an fd's entry in O(1). */
#include "evloop.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct pl {
    struct pollfd *fds;
    int n, cap;
    int *slot_of; /* fd -> index in fds, -1 if absent */
    int slot_cap;
    int scan_from; /* where the next wait starts reporting (fairness) */
};

static void *pl_create(const struct model_ctx *m)
{
    (void)m;
    return calloc(1, sizeof(struct pl));
}

static void pl_destroy(void *p)
{
    struct pl *s = p;
    free(s->fds);
    free(s->slot_of);
    free(s);
}

static short to_poll(int events)
{
    return (short)((events & POLL_IN ? POLLIN : 0) | (events & POLL_OUT ? POLLOUT : 0));
}

/* Grows an array to hold at least need elements (doubling). */
static int grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *a = realloc(*arr, (size_t)ncap * elem);
    if (!a) return -1;
    *arr = a;
    *cap = ncap;
    return 0;
}

static void pl_remove(struct pl *s, int fd)
{
    if (fd >= s->slot_cap || s->slot_of[fd] < 0) return;
    int i = s->slot_of[fd], last = --s->n;
    s->fds[i] = s->fds[last];
    if (i != last) s->slot_of[s->fds[i].fd] = i;
    s->slot_of[fd] = -1;
}

static int pl_set(void *p, int fd, int mask, int old)
{
    struct pl *s = p;
    (void)old; /* slot_of knows */
    if (!mask) {
        pl_remove(s, fd);
        return 0;
    }
    int old_cap = s->slot_cap;
    if (grow((void **)&s->slot_of, &s->slot_cap, fd + 1, sizeof(int)) < 0) return -1;
    for (int i = old_cap; i < s->slot_cap; i++)
        s->slot_of[i] = -1;
    if (s->slot_of[fd] >= 0) {
        s->fds[s->slot_of[fd]].events = to_poll(mask);
        return 0;
    }
    if (grow((void **)&s->fds, &s->cap, s->n + 1, sizeof(struct pollfd)) < 0) return -1;
    s->fds[s->n] = (struct pollfd){.fd = fd, .events = to_poll(mask)};
    s->slot_of[fd] = s->n++;
    return 0;
}

static int pl_wait(void *p, struct fired_event *out, int max, int timeout_ms)
{
    struct pl *s = p;
    int ready = poll(s->fds, (nfds_t)s->n, timeout_ms);
    if (ready <= 0) return ready;
    /* the O(n) scan; start where the last one stopped so no fd starves */
    int got = 0;
    for (int k = 0; k < s->n && got < max && got < ready; k++) {
        int i = (s->scan_from + k) % s->n;
        short r = s->fds[i].revents;
        if (!r) continue;
        out[got].fd = s->fds[i].fd;
        out[got].mask = (r & (POLLIN | POLLHUP | POLLERR | POLLNVAL) ? POLL_IN : 0) |
                        (r & (POLLOUT | POLLHUP | POLLERR | POLLNVAL) ? POLL_OUT : 0);
        got++;
    }
    s->scan_from = s->n ? (s->scan_from + 1) % s->n : 0;
    return got;
}

static const struct poller poll_poller = {
    .name = "poll",
    .create = pl_create,
    .destroy = pl_destroy,
    .set = pl_set,
    .wait = pl_wait,
};

static int poll_run(const struct model_ctx *m)
{
    return evloop_run(m, m->listen_fd, &poll_poller, NULL);
}

const struct model model_poll = {
    .name = "poll",
    .summary = "one loop, a pollfd array scanned each wake-up",
    .run = poll_run,
    .cap = CAP_FDS,
};
