/* evloop.c - the loop every event-driven model shares (see evloop.h).
 *
 * 1. Register the listener and the stop pipe with the poller.
 * 2. Wait for events, or the oldest idle connection's deadline.
 * 3. Listener ready: accept until EAGAIN. Client ready: evconn_run() moves
 *    its session until the socket would block, then the poller is asked for
 *    POLL_IN, or POLL_OUT while output is pending.
 * 4. Between batches: run connections that yielded for fairness, begin a
 *    stop if one was asked, close idle clients; back to 2.
 * On stop: close the listener and the connections waiting for a request,
 * finish the answers in flight, return.
 *
 * Connections are freed only while being serviced themselves or between
 * batches, so a pointer in the current batch is never stale. */
#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EVENTS 256

/* poll_event.ptr of the two non-client fds */
static char tag_listener, tag_stop;

struct loop {
    const struct model_ctx *m;
    const struct poller *be;
    void *p;
    int listen_fd;
    bool stop_asked, stopping;
    bool accept_paused;   /* out of fds: retry accepting after a short wait */
    struct evlist conns;
    struct evconn *ready; /* yielded for fairness: run again next turn */
    atomic_uint *live;    /* clients of all loops of this server, or NULL */
};

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
    if (c->armed_fd >= 0) l->be->remove(l->p, c->armed_fd);
    c->armed_fd = -1;
    evconn_free(c);
    if (l->live) atomic_fetch_sub(l->live, 1);
}

/* Runs a client and re-arms the poller for what it waits for next. */
static void service(struct loop *l, struct evconn *c, uint64_t now)
{
    uint64_t active = c->last_active_ms;
    enum ev_want w = evconn_run(c, l->stopping, now);
    if (w != EV_WANT_CLOSE && c->last_active_ms != active) evlist_touch(&l->conns, c, now);
    if (w == EV_WANT_CLOSE) {
        drop(l, c);
        return;
    }
    if (w == EV_WANT_AGAIN) {
        if (!c->queued) {
            c->queued = true;
            c->next_ready = l->ready;
            l->ready = c;
        }
        return;
    }
    /* one fd per connection is watched: the control socket, or the FTP data
     * listener/connection while a transfer waits on it */
    int ev = w == EV_WANT_WRITE ? POLL_OUT : POLL_IN;
    if (c->armed_fd != c->wait_fd) {
        if (c->armed_fd >= 0) l->be->remove(l->p, c->armed_fd);
        c->armed_fd = -1;
        if (l->be->add(l->p, c->wait_fd, ev, c) < 0) {
            model_error("%s: cannot watch fd %d: %s", l->be->name, c->wait_fd, strerror(errno));
            drop(l, c);
            return;
        }
        c->armed_fd = c->wait_fd;
        c->armed = ev;
    } else if (c->armed != ev && l->be->modify(l->p, c->armed_fd, ev, c) == 0) {
        c->armed = ev;
    }
}

/* evconn's hook: an fd it is about to close must leave the poller first. */
static void unwatch(void *loop, struct evconn *c, int fd)
{
    struct loop *l = loop;
    if (c->armed_fd != fd) return;
    l->be->remove(l->p, fd);
    c->armed_fd = -1;
}

/* Counts a client in; false when that would exceed --max-conn. Loops that
 * share a server (reuseport) share the count. */
static bool count_in(struct loop *l)
{
    unsigned max = l->m->max_conn;
    if (l->live) {
        unsigned before = atomic_fetch_add(l->live, 1);
        if (max && before >= max) {
            atomic_fetch_sub(l->live, 1);
            return false;
        }
        return true;
    }
    return !max || l->conns.count < max;
}

static void add_client(struct loop *l, int fd, const char *peer, uint64_t now)
{
    const struct model_ctx *m = l->m;
    if (!count_in(l)) {
        refuse_client(fd, m, peer);
        return;
    }
    struct evconn *c = evconn_new(m, fd, peer);
    if (!c) {
        model_error("out of memory for %s", peer);
        if (l->live) atomic_fetch_sub(l->live, 1);
        close(fd);
        return;
    }
    if (l->be->add(l->p, fd, POLL_IN, c) < 0) {
        model_error("%s: cannot watch fd %d of %s: %s; refused", l->be->name, fd, peer,
                    strerror(errno));
        if (m->proto->refusal) send_bytes(fd, m->proto->refusal, strlen(m->proto->refusal));
        if (l->live) atomic_fetch_sub(l->live, 1);
        evconn_free(c);
        return;
    }
    c->armed = POLL_IN;
    c->armed_fd = fd;
    c->unwatch = unwatch;
    c->loop = l;
    c->last_active_ms = now;
    evlist_add(&l->conns, c);
    service(l, c, now); /* the request is often there already */
}

static void accept_all(struct loop *l, uint64_t now)
{
    for (;;) {
        char peer[64];
        int fd = listener_accept(l->listen_fd, peer, sizeof peer);
        if (fd >= 0) {
            add_client(l, fd, peer, now);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            model_error("accept: %s; pausing accepts", strerror(errno));
            l->accept_paused = true;
        }
        return; /* EAGAIN: all accepted */
    }
}

static void begin_stop(struct loop *l, uint64_t now)
{
    l->stopping = true;
    l->be->remove(l->p, l->listen_fd);
    close(l->listen_fd);
    l->be->remove(l->p, l->m->stop_fd);
    /* connections waiting for a request close now; the others finish.
     * service() may move a connection in the list, so walk a snapshot. */
    size_t n = 0;
    struct evconn **idle = malloc(l->conns.count * sizeof *idle + 1);
    for (struct evconn *c = l->conns.head; c && idle; c = c->next)
        if (c->want == EV_WANT_READ) idle[n++] = c;
    for (size_t i = 0; i < n; i++) service(l, idle[i], now);
    free(idle); /* out of memory: the idle timeout closes them instead */
}

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
    if (l->stop_asked && !l->stopping) begin_stop(l, now);
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

int evloop_run(const struct model_ctx *m, int listen_fd, const struct poller *backend,
               atomic_uint *live)
{
    struct loop l = {.m = m, .be = backend, .listen_fd = listen_fd, .live = live};
    l.p = backend->create(m);
    if (!l.p) {
        model_error("%s: %s", backend->name, strerror(errno));
        return -1;
    }
    if (backend->add(l.p, listen_fd, POLL_IN, &tag_listener) < 0 ||
        backend->add(l.p, m->stop_fd, POLL_IN, &tag_stop) < 0) {
        model_error("%s: cannot watch the listener: %s", backend->name, strerror(errno));
        backend->destroy(l.p);
        return -1;
    }
    struct poll_event events[MAX_EVENTS];
    while (!l.stopping || l.conns.count > 0) {
        int n = backend->wait(l.p, events, MAX_EVENTS, next_timeout(&l, monotonic_ms()));
        if (n < 0 && errno != EINTR) {
            model_error("%s: %s", backend->name, strerror(errno));
            break;
        }
        uint64_t now = monotonic_ms();
        for (int i = 0; i < n; i++) {
            void *ptr = events[i].ptr;
            if (ptr == &tag_stop)
                l.stop_asked = true; /* acted on between batches */
            else if (ptr == &tag_listener)
                accept_all(&l, now);
            else
                service(&l, ptr, now);
        }
        housekeeping(&l, now);
    }
    backend->destroy(l.p);
    return 0;
}
