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

/* As nginx's ngx_epoll_add_connection: a socket is registered once, for
 * both directions, edge-triggered, and stays so until the loop forgets it;
 * a connection switching between reading and writing costs no epoll_ctl().
 * Edge-triggered is safe because evconn_run() reads and writes until EAGAIN
 * before it waits; the loop drops the direction it does not wait for. */
static int ep_set(void *p, int fd, int mask, int old)
{
    struct ep *e = p;
    if (!mask) {
        epoll_ctl(e->fd, EPOLL_CTL_DEL, fd, NULL); /* EBADF: closed already, and gone */
        return 0;
    }
    if (old) return 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.fd = fd};
    return epoll_ctl(e->fd, EPOLL_CTL_ADD, fd, &ev);
}

static int ep_wait(void *p, struct fired_event *out, int max, int timeout_ms)
{
    struct ep *e = p;
    if (max > (int)(sizeof e->ev / sizeof e->ev[0])) max = (int)(sizeof e->ev / sizeof e->ev[0]);
    int n = epoll_wait(e->fd, e->ev, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t r = e->ev[i].events;
        out[i].fd = e->ev[i].data.fd;
        out[i].mask = (r & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? POLL_IN : 0) |
                      (r & (EPOLLOUT | EPOLLHUP | EPOLLERR) ? POLL_OUT : 0) |
                      (r & (EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? POLL_HUP : 0);
    }
    return n;
}

const struct poller epoll_poller = {
    .name = "epoll",
    .create = ep_create,
    .destroy = ep_destroy,
    .set = ep_set,
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
    .cap = CAP_FDS,
};
