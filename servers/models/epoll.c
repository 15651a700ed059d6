/* epoll.c - one loop, edge-triggered epoll (Linux).
 *
 * 1. main.c created the listener; register it and stop_fd.
 * 2. Wait for events (or the oldest idle connection's deadline).
 * 3. Listener ready: accept until EAGAIN. Client ready: evconn_run() moves
 *    its session until the socket would block, then we ask epoll for
 *    EPOLLIN, or EPOLLOUT while output is pending.
 * 4. Close connections idle longer than --idle-timeout; back to 2.
 * On stop: close the listener, close idle connections, finish the rest.
 *
 * Connections are only freed between event batches or while being serviced
 * themselves, so a pointer in the current batch is never stale. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 256

/* epoll_event.data.ptr of the two non-client fds */
static char tag_listener, tag_stop;

struct loop {
    const struct model_ctx *m;
    int ep;
    bool stop_asked, stopping;
    bool accept_paused;   /* out of fds: retry accepting after a short wait */
    struct evlist conns;
    struct evconn *ready; /* yielded for fairness: run again next turn */
};

static int watch(struct loop *l, int op, int fd, uint32_t events, void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    return epoll_ctl(l->ep, op, fd, &ev);
}

static void unqueue(struct loop *l, struct evconn *c)
{
    for (struct evconn **pp = &l->ready; *pp; pp = &(*pp)->next_ready) {
        if (*pp == c) {
            *pp = c->next_ready;
            break;
        }
    }
    c->queued = false;
}

static void drop(struct loop *l, struct evconn *c)
{
    if (c->queued) unqueue(l, c);
    evlist_remove(&l->conns, c);
    evconn_free(c); /* close() also removes it from the epoll set */
}

/* Runs a client and re-arms epoll for what it waits for next. */
static void service(struct loop *l, struct evconn *c, uint64_t now)
{
    enum ev_want w = evconn_run(c, l->stopping, now);
    evlist_touch(&l->conns, c, now);
    switch (w) {
    case EV_WANT_CLOSE: drop(l, c); return;
    case EV_WANT_AGAIN:
        if (!c->queued) {
            c->queued = true;
            c->next_ready = l->ready;
            l->ready = c;
        }
        return;
    default: break;
    }
    uint32_t ev = EPOLLET | (w == EV_WANT_WRITE ? EPOLLOUT : EPOLLIN);
    if (c->armed != (int)ev) {
        watch(l, EPOLL_CTL_MOD, c->fd, ev, c);
        c->armed = (int)ev;
    }
}

static void accept_all(struct loop *l, uint64_t now)
{
    const struct model_ctx *m = l->m;
    for (;;) {
        char peer[64];
        int fd = listener_accept(m->listen_fd, peer, sizeof peer);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                model_error("accept: %s; pausing accepts", strerror(errno));
                l->accept_paused = true;
            }
            return; /* EAGAIN: all accepted */
        }
        if (m->max_conn && l->conns.count >= m->max_conn) {
            refuse_client(fd, m, peer);
            continue;
        }
        struct evconn *c = evconn_new(m, fd, peer);
        if (!c) {
            model_error("out of memory for %s", peer);
            close(fd);
            continue;
        }
        c->armed = EPOLLIN | EPOLLET;
        if (watch(l, EPOLL_CTL_ADD, fd, (uint32_t)c->armed, c) < 0) {
            evconn_free(c);
            continue;
        }
        evlist_add(&l->conns, c);
        service(l, c, now); /* the request is often there already */
    }
}

/* Between batches: run the yielded connections, begin a stop, expire idlers. */
static void housekeeping(struct loop *l, uint64_t now)
{
    struct evconn *c = l->ready;
    l->ready = NULL;
    while (c) {
        struct evconn *next = c->next_ready;
        c->queued = false;
        service(l, c, now);
        c = next;
    }
    if (l->stop_asked && !l->stopping) {
        l->stopping = true;
        close(l->m->listen_fd);
        /* connections waiting for a request close now; the others finish */
        for (struct evconn *e = l->conns.head, *next; e; e = next) {
            next = e->next;
            if (e->want == EV_WANT_READ) service(l, e, now);
        }
    }
    if (l->accept_paused && !l->stopping) {
        l->accept_paused = false;
        accept_all(l, now);
    }
    while (evlist_next_timeout(&l->conns, l->m, now) == 0) drop(l, l->conns.head);
}

static int next_timeout(const struct loop *l, uint64_t now)
{
    if (l->ready) return 0;
    int t = evlist_next_timeout(&l->conns, l->m, now);
    if (l->accept_paused && (t < 0 || t > 100)) t = 100;
    return t;
}

static int epoll_run(const struct model_ctx *m)
{
    struct loop l = {.m = m, .ep = epoll_create1(EPOLL_CLOEXEC)};
    if (l.ep < 0) {
        model_error("epoll_create1: %s", strerror(errno));
        return -1;
    }
    watch(&l, EPOLL_CTL_ADD, m->listen_fd, EPOLLIN | EPOLLET, &tag_listener);
    watch(&l, EPOLL_CTL_ADD, m->stop_fd, EPOLLIN, &tag_stop);

    struct epoll_event events[MAX_EVENTS];
    while (!l.stopping || l.conns.count > 0) {
        int n = epoll_wait(l.ep, events, MAX_EVENTS, next_timeout(&l, monotonic_ms()));
        if (n < 0 && errno != EINTR) {
            model_error("epoll_wait: %s", strerror(errno));
            break;
        }
        uint64_t now = monotonic_ms();
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &tag_stop) {
                l.stop_asked = true; /* acted on between batches */
                epoll_ctl(l.ep, EPOLL_CTL_DEL, m->stop_fd, NULL);
            } else if (p == &tag_listener) {
                if (!l.stopping) accept_all(&l, now);
            } else {
                service(&l, p, now);
            }
        }
        housekeeping(&l, now);
    }
    close(l.ep);
    return 0;
}

const struct model model_epoll = {
    .name = "epoll",
    .summary = "one loop, edge-triggered epoll",
    .run = epoll_run,
};
