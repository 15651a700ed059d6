/* epoll.c - the epoll poller (Linux): edge-triggered, O(ready) per wait.
 * The loop itself is evloop.c; this file only translates its requests. */
#include "evloop.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct ep {
    int fd;
    struct epoll_event ev[256];
};

static void *ep_create(const struct model_ctx *m)
{
    (void)m;
    struct ep *e = malloc(sizeof *e);
    if (!e) return NULL;
    e->fd = epoll_create1(EPOLL_CLOEXEC);
    if (e->fd < 0) {
        free(e);
        return NULL;
    }
    return e;
}

static void ep_destroy(void *p)
{
    struct ep *e = p;
    close(e->fd);
    free(e);
}

/* Edge-triggered: evconn_run() reads and writes until EAGAIN, so a
 * readiness edge is never lost. */
static int ep_ctl(struct ep *e, int op, int fd, int events, void *ptr)
{
    struct epoll_event ev = {.events = EPOLLET, .data.ptr = ptr};
    if (events & POLL_IN) ev.events |= EPOLLIN;
    if (events & POLL_OUT) ev.events |= EPOLLOUT;
    return epoll_ctl(e->fd, op, fd, &ev);
}

static int ep_add(void *p, int fd, int events, void *ptr)
{
    return ep_ctl(p, EPOLL_CTL_ADD, fd, events, ptr);
}

static int ep_modify(void *p, int fd, int events, void *ptr)
{
    return ep_ctl(p, EPOLL_CTL_MOD, fd, events, ptr);
}

static void ep_remove(void *p, int fd)
{
    struct ep *e = p;
    epoll_ctl(e->fd, EPOLL_CTL_DEL, fd, NULL);
}

static int ep_wait(void *p, struct poll_event *out, int max, int timeout_ms)
{
    struct ep *e = p;
    if (max > (int)(sizeof e->ev / sizeof e->ev[0])) max = (int)(sizeof e->ev / sizeof e->ev[0]);
    int n = epoll_wait(e->fd, e->ev, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t r = e->ev[i].events;
        out[i].ptr = e->ev[i].data.ptr;
        out[i].events = (r & (EPOLLIN | EPOLLHUP | EPOLLERR) ? POLL_IN : 0) |
                        (r & (EPOLLOUT | EPOLLHUP | EPOLLERR) ? POLL_OUT : 0);
    }
    return n;
}

const struct poller epoll_poller = {
    .name = "epoll",
    .create = ep_create,
    .destroy = ep_destroy,
    .add = ep_add,
    .modify = ep_modify,
    .remove = ep_remove,
    .wait = ep_wait,
};

static int epoll_run(const struct model_ctx *m)
{
    return evloop_run(m, m->listen_fd, &epoll_poller, NULL);
}

const struct model model_epoll = {
    .name = "epoll",
    .summary = "one loop, edge-triggered epoll",
    .run = epoll_run,
};
