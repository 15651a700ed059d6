/* evloop.c - the loop every event-driven model shares (see evloop.h).
 *
 * 1. Watch the listener and the stop pipe.
 * 2. Wait for events, or the oldest idle connection's deadline.
 * 3. Listener ready: accept until EAGAIN. Client ready: evconn_run() moves
 *    its session until a socket would block; then its fd is watched for
 *    POLL_IN, or POLL_OUT while output is pending.
 * 4. Between batches: run connections that yielded for fairness, begin a
 *    stop if one was asked, close idle clients; back to 2.
 * On stop: close the listener and the connections waiting for a request,
 * finish the answers in flight, return.
 *
 * The fd table: for every fd the loop watches, whose it is and for what.
 * A connection is watched on one fd at a time, the one it waits on (its
 * socket, or its FTP data channel's while a transfer waits), so the loop
 * learns of every close itself: whatever a connection waited on before it
 * ran and no longer waits on is forgotten (set to 0) after it ran. Events
 * are looked up by fd when they are handled, so an event for a connection
 * closed earlier in the same batch finds nothing (or, if the fd was reused,
 * wakes the new owner once for nothing: it reads EAGAIN). */
#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EVENTS 256

enum fd_kind { FD_FREE, FD_LISTENER, FD_STOP, FD_CONN };

struct fd_entry {
    struct evconn *conn; /* FD_CONN: the connection the fd belongs to */
    unsigned char kind;  /* enum fd_kind */
    unsigned char mask;  /* POLL_IN / POLL_OUT wanted, as set on the backend (0: not) */
};

struct loop {
    const struct model_ctx *m;
    const struct poller *be;
    void *p;
    int listen_fd;
    bool stop_asked, stopping;
    bool accept_paused;   /* out of fds: retry accepting after a short wait */
    struct fd_entry *fds; /* indexed by fd */
    int nfds;
    struct evlist conns;
    struct evconn *ready; /* yielded for fairness: run again next turn */
    atomic_uint *live;    /* clients of all loops of this server, or NULL */
};

/* ---- the fd table ---- */

static struct fd_entry *entry_of(struct loop *l, int fd)
{
    if (fd < l->nfds) return &l->fds[fd];
    int n = l->nfds ? l->nfds : 64;
    while (n <= fd)
        n *= 2;
    struct fd_entry *t = realloc(l->fds, (size_t)n * sizeof *t);
    if (!t) return NULL;
    memset(t + l->nfds, 0, (size_t)(n - l->nfds) * sizeof *t);
    l->fds = t;
    l->nfds = n;
    return &t[fd];
}

/* Watches fd for mask on behalf of kind/c; mask 0 forgets it. 0, or -1 with
 * errno. The backend is asked only when the mask changes. */
static int watch(struct loop *l, int fd, enum fd_kind kind, struct evconn *c, int mask)
{
    struct fd_entry *e = entry_of(l, fd);
    if (!e) return -1;
    if (e->mask != mask && l->be->set(l->p, fd, mask, e->mask) < 0) return -1;
    if (mask)
        *e = (struct fd_entry){.conn = c, .kind = (unsigned char)kind, .mask = (unsigned char)mask};
    else
        *e = (struct fd_entry){.kind = FD_FREE};
    return 0;
}

/* Forgets fd if the loop watches it for c (it may be closed already). */
static void forget(struct loop *l, int fd, const struct evconn *c)
{
    if (fd >= 0 && fd < l->nfds && l->fds[fd].kind == FD_CONN && l->fds[fd].conn == c)
        watch(l, fd, FD_FREE, NULL, 0);
}

/* ---- connections ---- */

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
    forget(l, c->wait_fd, c);
    evconn_free(c);
    if (l->live) atomic_fetch_sub(l->live, 1);
}

static void run_again_soon(struct loop *l, struct evconn *c)
{
    if (c->queued) return;
    c->queued = true;
    c->next_ready = l->ready;
    l->ready = c;
}

/* Runs a client, then watches what it waits for next. */
static void service(struct loop *l, struct evconn *c, uint64_t now)
{
    int was = c->wait_fd;
    unsigned opened = c->dc.opened;
    uint64_t active = c->last_active_ms;
    enum ev_want w = evconn_run(c, l->stopping, now);
    /* Not waited on any more, or closed: a data socket closed while it ran
     * may even have handed its number to the next one (the data channel
     * counts the sockets it opened), which must then be watched anew. */
    if (was != c->wait_fd || (was != c->fd && c->dc.opened != opened)) forget(l, was, c);
    if (w == EV_WANT_CLOSE) {
        drop(l, c);
        return;
    }
    if (c->last_active_ms != active) evlist_touch(&l->conns, c, now);
    if (w == EV_WANT_AGAIN) {
        run_again_soon(l, c);
        return;
    }
    int mask = w == EV_WANT_WRITE ? POLL_OUT : POLL_IN;
    if (watch(l, c->wait_fd, FD_CONN, c, mask) < 0) {
        model_error("%s: cannot watch fd %d: %s", l->be->name, c->wait_fd, strerror(errno));
        drop(l, c);
    }
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
    if (watch(l, fd, FD_CONN, c, POLL_IN) < 0) {
        model_error("%s: cannot watch fd %d of %s: %s; refused", l->be->name, fd, peer,
                    strerror(errno));
        if (m->proto->refusal) send_bytes(fd, m->proto->refusal, strlen(m->proto->refusal));
        if (l->live) atomic_fetch_sub(l->live, 1);
        evconn_free(c);
        return;
    }
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
    watch(l, l->listen_fd, FD_FREE, NULL, 0);
    close(l->listen_fd);
    watch(l, l->m->stop_fd, FD_FREE, NULL, 0);
    /* connections waiting for a request close now; the others finish.
     * service() may move a connection in the list, so walk a snapshot. */
    size_t n = 0;
    struct evconn **idle = malloc(l->conns.count * sizeof *idle + 1);
    for (struct evconn *c = l->conns.head; c && idle; c = c->next)
        if (c->want == EV_WANT_READ) idle[n++] = c;
    for (size_t i = 0; i < n; i++)
        service(l, idle[i], now);
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
    while (evlist_next_timeout(&l->conns, l->m, now) == 0)
        drop(l, l->conns.head);
}

static int next_timeout(const struct loop *l, uint64_t now)
{
    if (l->ready) return 0;
    int t = evlist_next_timeout(&l->conns, l->m, now);
    if (l->accept_paused && (t < 0 || t > 100)) t = 100;
    return t;
}

/* One fired event: looked up in the fd table now, so it is never stale. */
static void dispatch(struct loop *l, const struct fired_event *ev, uint64_t now)
{
    if (ev->fd < 0 || ev->fd >= l->nfds) return;
    const struct fd_entry *e = &l->fds[ev->fd];
    /* not wanted: forgotten earlier in this batch, or the other direction
     * of an edge-triggered registration */
    if (!(ev->mask & e->mask)) return;
    switch (e->kind) {
    case FD_STOP:
        l->stop_asked = true; /* acted on between batches */
        break;
    case FD_LISTENER:
        accept_all(l, now);
        break;
    case FD_CONN:
        service(l, e->conn, now);
        break;
    default:
        break;
    }
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
    if (watch(&l, listen_fd, FD_LISTENER, NULL, POLL_IN) < 0 ||
        watch(&l, m->stop_fd, FD_STOP, NULL, POLL_IN) < 0) {
        model_error("%s: cannot watch the listener: %s", backend->name, strerror(errno));
        backend->destroy(l.p);
        free(l.fds);
        return -1;
    }
    struct fired_event events[MAX_EVENTS];
    while (!l.stopping || l.conns.count > 0) {
        int n = backend->wait(l.p, events, MAX_EVENTS, next_timeout(&l, monotonic_ms()));
        if (n < 0 && errno != EINTR) {
            model_error("%s: %s", backend->name, strerror(errno));
            break;
        }
        uint64_t now = monotonic_ms();
        for (int i = 0; i < n; i++)
            dispatch(&l, &events[i], now);
        housekeeping(&l, now);
    }
    backend->destroy(l.p);
    free(l.fds);
    return 0;
}
