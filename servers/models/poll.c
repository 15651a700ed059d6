/* poll.c - the poll() poller: one pollfd array, O(n) scan per wait.
 *
 * The array stays dense: removing an fd moves the last entry into its hole
 * (compacting on close), and slot_of[fd] finds an fd's entry in O(1). */
#include "evloop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

struct pl {
    struct pollfd *fds;
    void **ptrs;      /* ptrs[i] belongs to fds[i] */
    int n, cap, ptr_cap;
    int *slot_of;     /* fd -> index in fds, -1 if absent */
    int slot_cap;
    int scan_from;    /* where the next wait starts reporting (fairness) */
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
    free(s->ptrs);
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
    while (ncap < need) ncap *= 2;
    void *a = realloc(*arr, (size_t)ncap * elem);
    if (!a) return -1;
    *arr = a;
    *cap = ncap;
    return 0;
}

static int pl_add(void *p, int fd, int events, void *ptr)
{
    struct pl *s = p;
    int old = s->slot_cap;
    if (grow((void **)&s->slot_of, &s->slot_cap, fd + 1, sizeof(int)) < 0) return -1;
    for (int i = old; i < s->slot_cap; i++) s->slot_of[i] = -1;
    if (grow((void **)&s->fds, &s->cap, s->n + 1, sizeof(struct pollfd)) < 0) return -1;
    if (grow((void **)&s->ptrs, &s->ptr_cap, s->n + 1, sizeof(void *)) < 0) return -1;
    s->fds[s->n] = (struct pollfd){.fd = fd, .events = to_poll(events)};
    s->ptrs[s->n] = ptr;
    s->slot_of[fd] = s->n++;
    return 0;
}

static int pl_modify(void *p, int fd, int events, void *ptr)
{
    struct pl *s = p;
    if (fd >= s->slot_cap || s->slot_of[fd] < 0) {
        errno = ENOENT;
        return -1;
    }
    int i = s->slot_of[fd];
    s->fds[i].events = to_poll(events);
    s->ptrs[i] = ptr;
    return 0;
}

static void pl_remove(void *p, int fd)
{
    struct pl *s = p;
    if (fd >= s->slot_cap || s->slot_of[fd] < 0) return;
    int i = s->slot_of[fd], last = --s->n;
    s->fds[i] = s->fds[last];
    s->ptrs[i] = s->ptrs[last];
    if (i != last) s->slot_of[s->fds[i].fd] = i;
    s->slot_of[fd] = -1;
}

static int pl_wait(void *p, struct poll_event *out, int max, int timeout_ms)
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
        out[got].ptr = s->ptrs[i];
        out[got].events = (r & (POLLIN | POLLHUP | POLLERR | POLLNVAL) ? POLL_IN : 0) |
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
    .add = pl_add,
    .modify = pl_modify,
    .remove = pl_remove,
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
};
