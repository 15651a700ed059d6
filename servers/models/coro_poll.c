/* coro_poll.c - the backends of coro_poll.h, one per platform.
 *
 * A short copy of what epoll.c, kqueue.c and poll.c do for evloop.c, with
 * the scheduler's semantics (add once; "want" only for level-triggered
 * poll): those backends are private to their models' files. */
#include "coro_poll.h"
#include "platform.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(CORO_FORCE_POLL)
#include <poll.h> /* the fallback, forced (its unit test) */
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__) ||                                                                      \
    defined(CORO_FORCE_KQUEUE) /* kqueue_typecheck; the test kqueue (tests/shim) */
#define CP_KQUEUE 1
#include <sys/event.h>
#include <sys/time.h>
#elif SM_LINUX
#define CP_EPOLL 1
#include <sys/epoll.h>
#else
#include <poll.h>
#endif
#if defined(CORO_FORCE_KQUEUE) && !defined(CP_KQUEUE)
#error "CORO_FORCE_KQUEUE needs no CORO_FORCE_POLL"
#endif

enum { CP_BATCH = 256 };

#if defined(CP_EPOLL)

struct cpoll {
    int fd;
    struct epoll_event ev[CP_BATCH];
};

const char *cpoll_name(void)
{
    return "epoll";
}

struct cpoll *cpoll_new(void)
{
    struct cpoll *p = malloc(sizeof *p);
    if (!p) return NULL;
    if ((p->fd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

int cpoll_add(struct cpoll *p, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
    if (epoll_ctl(p->fd, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
    return errno == EEXIST ? 1 : -1;
}

void cpoll_forget(struct cpoll *p, int fd)
{
    epoll_ctl(p->fd, EPOLL_CTL_DEL, fd, NULL); /* EBADF: closed, and gone already */
}

int cpoll_wait(struct cpoll *p, struct cp_event *out, int max, int timeout_ms)
{
    int n = epoll_wait(p->fd, p->ev, max < CP_BATCH ? max : CP_BATCH, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint32_t r = p->ev[i].events;
        out[i].fd = p->ev[i].data.fd;
        out[i].mask = (r & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? CP_IN : 0) |
                      (r & (EPOLLOUT | EPOLLHUP | EPOLLERR) ? CP_OUT : 0) |
                      (r & (EPOLLRDHUP | EPOLLHUP | EPOLLERR) ? CP_HUP : 0);
    }
    return n;
}

#elif defined(CP_KQUEUE)

struct cpoll {
    int fd;
    struct kevent ev[CP_BATCH];
};

const char *cpoll_name(void)
{
    return "kqueue";
}

struct cpoll *cpoll_new(void)
{
    struct cpoll *p = malloc(sizeof *p);
    if (!p) return NULL;
    if ((p->fd = kqueue()) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* Both filters at once; udata 0 (void * on some BSDs, intptr_t on others). */
static int kq_change(struct cpoll *p, int fd, unsigned short flags)
{
    struct kevent ch[2];
    EV_SET(&ch[0], (uintptr_t)fd, EVFILT_READ, flags, 0, 0, 0);
    EV_SET(&ch[1], (uintptr_t)fd, EVFILT_WRITE, flags, 0, 0, 0);
    return kevent(p->fd, ch, 2, NULL, 0, NULL);
}

/* 0: fd is new to this queue, 1: it was watched already (as epoll's EEXIST
 * says). EV_ADD of a watched fd only updates it and cannot say which, so an
 * EV_DELETE asks first: ENOENT is an fd never added, or a closed fd's
 * number (its knotes went with the close). The scheduler then forgets the
 * readiness it kept for the old fd; a stale EOF kept would make every wait
 * on the new socket return at once, for ever (found by the test kqueue,
 * tests/shim: an FTP data socket's number reused by the next transfer).
 * Re-adding a knote re-checks its condition, so no edge is lost. */
int cpoll_add(struct cpoll *p, int fd)
{
    struct kevent del;
    EV_SET(&del, (uintptr_t)fd, EVFILT_READ, EV_DELETE, 0, 0, 0);
    bool watched = kevent(p->fd, &del, 1, NULL, 0, NULL) == 0;
    if (kq_change(p, fd, EV_ADD | EV_CLEAR) < 0) return -1;
    return watched ? 1 : 0;
}

void cpoll_forget(struct cpoll *p, int fd)
{
    kq_change(p, fd, EV_DELETE); /* EBADF/ENOENT: closed, and gone already */
}

int cpoll_wait(struct cpoll *p, struct cp_event *out, int max, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
    int n =
        kevent(p->fd, NULL, 0, p->ev, max < CP_BATCH ? max : CP_BATCH, timeout_ms < 0 ? NULL : &ts);
    for (int i = 0; i < n; i++) {
        const struct kevent *e = &p->ev[i];
        out[i].fd = (int)e->ident;
        out[i].mask = e->filter == EVFILT_WRITE ? CP_OUT : CP_IN;
        if (e->flags & (EV_EOF | EV_ERROR)) out[i].mask = CP_IN | CP_OUT | CP_HUP;
    }
    return n;
}

#else /* poll(): a dense pollfd array of the fds waited for, slot_of[fd] into it */

struct cpoll {
    struct pollfd *fds;
    int n, cap;
    int *slot_of; /* -1: not in fds */
    int slot_cap;
};

const char *cpoll_name(void)
{
    return "poll";
}

struct cpoll *cpoll_new(void)
{
    return calloc(1, sizeof(struct cpoll));
}

int cpoll_add(struct cpoll *p, int fd)
{
    (void)p;
    (void)fd;
    return 0;
}

void cpoll_forget(struct cpoll *p, int fd)
{
    if (fd >= p->slot_cap || p->slot_of[fd] < 0) return;
    int i = p->slot_of[fd], last = --p->n;
    p->fds[i] = p->fds[last];
    if (i != last) p->slot_of[p->fds[i].fd] = i;
    p->slot_of[fd] = -1;
}

static int grow_slots(struct cpoll *p, int fd)
{
    if (fd < p->slot_cap) return 0;
    int cap = p->slot_cap ? p->slot_cap : 64;
    while (cap <= fd)
        cap *= 2;
    int *s = realloc(p->slot_of, (size_t)cap * sizeof *s);
    if (!s) return -1;
    for (int i = p->slot_cap; i < cap; i++)
        s[i] = -1;
    p->slot_of = s;
    p->slot_cap = cap;
    return 0;
}

int cpoll_want(struct cpoll *p, int fd, int mask)
{
    if (!mask) {
        cpoll_forget(p, fd);
        return 0;
    }
    if (grow_slots(p, fd) < 0) return -1;
    short events = (short)((mask & CP_IN ? POLLIN : 0) | (mask & CP_OUT ? POLLOUT : 0));
    if (p->slot_of[fd] >= 0) {
        p->fds[p->slot_of[fd]].events = events;
        return 0;
    }
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        struct pollfd *f = realloc(p->fds, (size_t)cap * sizeof *f);
        if (!f) return -1;
        p->fds = f;
        p->cap = cap;
    }
    p->fds[p->n] = (struct pollfd){.fd = fd, .events = events};
    p->slot_of[fd] = p->n++;
    return 0;
}

int cpoll_wait(struct cpoll *p, struct cp_event *out, int max, int timeout_ms)
{
    int ready = poll(p->fds, (nfds_t)p->n, timeout_ms), got = 0;
    for (int i = 0; ready > 0 && i < p->n && got < max; i++) {
        short r = p->fds[i].revents;
        if (!r) continue;
        out[got].fd = p->fds[i].fd;
        out[got].mask = (r & (POLLIN | POLLHUP | POLLERR | POLLNVAL) ? CP_IN : 0) |
                        (r & (POLLOUT | POLLHUP | POLLERR | POLLNVAL) ? CP_OUT : 0);
        got++;
    }
    return ready < 0 ? -1 : got;
}

#endif

#if defined(CP_EPOLL) || defined(CP_KQUEUE)
int cpoll_want(struct cpoll *p, int fd, int mask)
{
    (void)p;
    (void)fd;
    (void)mask;
    return 0; /* edge-triggered: added once, both directions */
}
#endif

void cpoll_free(struct cpoll *p)
{
    if (!p) return;
#if defined(CP_EPOLL) || defined(CP_KQUEUE)
    close(p->fd);
#else
    free(p->fds);
    free(p->slot_of);
#endif
    free(p);
}
