/* kqueue.c - the kqueue poller (FreeBSD, macOS, the other BSDs).
 *
 * Built only where <sys/event.h> exists; the loop is evloop.c. As epoll.c
 * does, an fd is registered once for both filters, EV_CLEAR (edge-triggered,
 * like EPOLLET), and stays so until the loop forgets it: evconn_run() reads
 * and writes until EAGAIN, and the loop drops the direction it does not
 * wait for. An fd may fire both filters in one batch: the loop handles each
 * event by fd, so that is two wake-ups, never a stale pointer. */
#include "evloop.h"

#include <stdint.h>
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

/* Both filters at once (the change list is applied in order; with no
 * event list, kevent() stops at the first change that fails). */
static int kq_change(struct kq *k, int fd, unsigned short flags)
{
    struct kevent ch[2]; /* udata 0: it is void * on some BSDs, intptr_t on others */
    EV_SET(&ch[0], (uintptr_t)fd, EVFILT_READ, flags, 0, 0, 0);
    EV_SET(&ch[1], (uintptr_t)fd, EVFILT_WRITE, flags, 0, 0, 0);
    return kevent(k->fd, ch, 2, NULL, 0, NULL);
}

static int kq_set(void *p, int fd, int mask, int old)
{
    struct kq *k = p;
    if (!mask) {
        kq_change(k, fd, EV_DELETE); /* EBADF: closed already, and gone */
        return 0;
    }
    if (old) return 0;
    return kq_change(k, fd, EV_ADD | EV_CLEAR);
}

static int kq_wait(void *p, struct fired_event *out, int max, int timeout_ms)
{
    struct kq *k = p;
    if (max > (int)(sizeof k->ev / sizeof k->ev[0])) max = (int)(sizeof k->ev / sizeof k->ev[0]);
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    int n = kevent(k->fd, NULL, 0, k->ev, max, timeout_ms < 0 ? NULL : &ts);
    for (int i = 0; i < n; i++) {
        const struct kevent *e = &k->ev[i];
        out[i].fd = (int)e->ident;
        out[i].mask = e->filter == EVFILT_WRITE ? POLL_OUT : POLL_IN;
        if (e->flags & (EV_EOF | EV_ERROR)) out[i].mask = POLL_IN | POLL_OUT | POLL_HUP;
    }
    return n;
}

static const struct poller kqueue_poller = {
    .name = "kqueue",
    .create = kq_create,
    .destroy = kq_destroy,
    .set = kq_set,
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
    .cap = CAP_FDS,
};
