/* raw_loop.c - one raw engine thread's event loop (raw_loop.h): readiness
 * of sockets (epoll, edge-triggered; poll() elsewhere) and the timer heap.
 * What an event or a timer means is the business of the procedures the
 * loop was handed (raw_thread.c, raw_conn.c); this file knows no
 * connection. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raw_loop.h"

#if SM_LINUX
#include <sys/epoll.h>
#else
#include <poll.h>
#endif

#define MAX_EVENTS 256

/* ---- timer heap (a binary min-heap on wake) --------------------------- */

static void heap_swap(struct raw_loop *l, size_t a, size_t b)
{
    struct raw_timer *x = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = x;
    l->heap[a]->pos = a;
    l->heap[b]->pos = b;
}

void raw_timer_arm(struct raw_loop *l, struct raw_timer *tm)
{
    if (tm->armed) return;
    size_t i = l->heapn++;
    l->heap[i] = tm;
    tm->pos = i;
    tm->armed = true;
    while (i > 0 && l->heap[(i - 1) / 2]->wake > l->heap[i]->wake) {
        heap_swap(l, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct raw_timer *heap_pop(struct raw_loop *l)
{
    struct raw_timer *top = l->heap[0];
    top->armed = false;
    l->heap[0] = l->heap[--l->heapn];
    l->heap[0]->pos = 0;
    size_t i = 0;
    for (;;) {
        size_t a = 2 * i + 1, b = a + 1, m = i;
        if (a < l->heapn && l->heap[a]->wake < l->heap[m]->wake) m = a;
        if (b < l->heapn && l->heap[b]->wake < l->heap[m]->wake) m = b;
        if (m == i) break;
        heap_swap(l, i, m);
        i = m;
    }
    return top;
}

void raw_loop_fire_due(struct raw_loop *l, uint64_t now)
{
    while (l->heapn && l->heap[0]->wake <= now)
        l->proc.on_timer(l->proc.ctx, heap_pop(l), now);
}

/* ---- the poller (epoll on Linux, poll() elsewhere) -------------------- */

static int ms_round_up(uint64_t ns) /* never wake early and spin */
{
    return (int)((ns + 999999) / 1000000);
}

#if SM_LINUX
static int poller_init(struct raw_loop *l)
{
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    return l->ep < 0 ? -1 : 0;
}

/* Registered once per socket, edge-triggered for reading and writing: no
 * epoll_ctl per request. */
int raw_loop_add(struct raw_loop *l, int fd, uint32_t idx, uint32_t gen)
{
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                            .data.u64 = ((uint64_t)gen << 32) | idx};
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &e);
}

int raw_loop_poll(struct raw_loop *l, uint64_t timeout_ns)
{
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(l->ep, evs, MAX_EVENTS, ms_round_up(timeout_ns));
    for (int i = 0; i < n; i++) {
        struct raw_event e = {
            .idx = (uint32_t)evs[i].data.u64,
            .gen = (uint32_t)(evs[i].data.u64 >> 32),
            .in = evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR),
            .out = evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR),
        };
        l->proc.on_event(l->proc.ctx, &e);
    }
    return n;
}

static void poller_free(struct raw_loop *l)
{
    if (l->ep >= 0) close(l->ep);
}
#else
static int poller_init(struct raw_loop *l)
{
    l->pfd = calloc(l->nhandles ? l->nhandles : 1, sizeof *l->pfd);
    return l->pfd ? 0 : -1;
}

int raw_loop_add(struct raw_loop *l, int fd, uint32_t idx, uint32_t gen)
{
    (void)l, (void)fd, (void)idx, (void)gen; /* watch() tells before each wait */
    return 0;
}

/* Level-triggered: interest in writing only while the owner waits to write.
 * The events are collected first, with each handle's generation as it was
 * at the wait, then handed over. */
int raw_loop_poll(struct raw_loop *l, uint64_t timeout_ns)
{
    for (unsigned i = 0; i < l->nhandles; i++) {
        bool want_out = false;
        uint32_t gen = 0;
        l->pfd[i].fd = l->proc.watch(l->proc.ctx, i, &gen, &want_out);
        l->pfd[i].events = (short)(POLLIN | (want_out ? POLLOUT : 0));
        l->pfd[i].revents = 0;
    }
    int n = poll(l->pfd, l->nhandles, ms_round_up(timeout_ns));
    if (n <= 0) return n;
    struct raw_event evs[MAX_EVENTS];
    int k = 0;
    for (unsigned i = 0; i < l->nhandles && k < MAX_EVENTS; i++) {
        short r = l->pfd[i].revents;
        if (!r || l->pfd[i].fd < 0) continue;
        bool want_out;
        evs[k] = (struct raw_event){.idx = i,
                                    .in = r & (POLLIN | POLLHUP | POLLERR),
                                    .out = r & (POLLOUT | POLLHUP | POLLERR)};
        l->proc.watch(l->proc.ctx, i, &evs[k].gen, &want_out);
        k++;
    }
    for (int i = 0; i < k; i++)
        l->proc.on_event(l->proc.ctx, &evs[i]);
    return k;
}

static void poller_free(struct raw_loop *l)
{
    free(l->pfd);
}
#endif

/* ---- life cycle ------------------------------------------------------- */

int raw_loop_init(struct raw_loop *l, unsigned nhandles, const struct raw_loop_proc *proc)
{
    memset(l, 0, sizeof *l);
    l->ep = -1;
    l->proc = *proc;
    l->nhandles = nhandles;
    l->heap = calloc(nhandles ? nhandles : 1, sizeof *l->heap);
    if (!l->heap) return -1;
    return poller_init(l);
}

void raw_loop_free(struct raw_loop *l)
{
    poller_free(l);
    free(l->heap);
    l->heap = NULL;
}
