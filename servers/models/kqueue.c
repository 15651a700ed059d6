/* kqueue.c - the kqueue poller (FreeBSD, macOS, the other BSDs).
 *
 * Built only where <sys/event.h> exists; the loop is evloop.c. Filters are
 * EV_CLEAR (edge-triggered, like epoll.c's EPOLLET): evconn_run() reads and
 * writes until EAGAIN. Only one filter per fd is enabled at a time, so an
 * fd yields at most one event per batch, as evloop.c expects. */
#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/event.h>
#include <sys/time.h>
#include <unistd.h>

struct kq {
    int fd;
    struct kevent ev[256];
};

static void *kq_create(const struct model_ctx *m)
{
    (void)m;
    struct kq *k = malloc(sizeof *k);
    if (!k) return NULL;
    k->fd = kqueue();
    if (k->fd < 0) {
        free(k);
        return NULL;
    }
    return k;
}

static void kq_destroy(void *p)
{
    struct kq *k = p;
    close(k->fd);
    free(k);
}

/* Enables the wanted filter and disables the other one. */
static int kq_set(struct kq *k, int fd, int events, void *ptr)
{
    struct kevent ch[2];
    unsigned short rd = (events & POLL_IN) ? EV_ENABLE : EV_DISABLE;
    unsigned short wr = (events & POLL_OUT) ? EV_ENABLE : EV_DISABLE;
    EV_SET(&ch[0], fd, EVFILT_READ, EV_ADD | EV_CLEAR | rd, 0, 0, ptr);
    EV_SET(&ch[1], fd, EVFILT_WRITE, EV_ADD | EV_CLEAR | wr, 0, 0, ptr);
    return kevent(k->fd, ch, 2, NULL, 0, NULL);
}

static int kq_add(void *p, int fd, int events, void *ptr)
{
    return kq_set(p, fd, events, ptr);
}

static int kq_modify(void *p, int fd, int events, void *ptr)
{
    return kq_set(p, fd, events, ptr);
}

static void kq_remove(void *p, int fd)
{
    struct kq *k = p;
    struct kevent ch[2];
    EV_SET(&ch[0], fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
    EV_SET(&ch[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, NULL);
    kevent(k->fd, ch, 2, NULL, 0, NULL); /* ENOENT for a filter never added is fine */
}

static int kq_wait(void *p, struct poll_event *out, int max, int timeout_ms)
{
    struct kq *k = p;
    if (max > (int)(sizeof k->ev / sizeof k->ev[0])) max = (int)(sizeof k->ev / sizeof k->ev[0]);
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    int n = kevent(k->fd, NULL, 0, k->ev, max, timeout_ms < 0 ? NULL : &ts);
    for (int i = 0; i < n; i++) {
        const struct kevent *e = &k->ev[i];
        out[i].ptr = e->udata;
        out[i].events = e->filter == EVFILT_WRITE ? POLL_OUT : POLL_IN;
        if (e->flags & (EV_EOF | EV_ERROR)) out[i].events = POLL_IN | POLL_OUT;
    }
    return n;
}

static const struct poller kqueue_poller = {
    .name = "kqueue",
    .create = kq_create,
    .destroy = kq_destroy,
    .add = kq_add,
    .modify = kq_modify,
    .remove = kq_remove,
    .wait = kq_wait,
};

static int kqueue_run(const struct model_ctx *m)
{
    return evloop_run(m, m->listen_fd, &kqueue_poller, NULL);
}

const struct model model_kqueue = {
    .name = "kqueue",
    .summary = "one loop, kqueue with EV_CLEAR (BSD, macOS)",
    .run = kqueue_run,
};
