/* evloop.c - the loop every event-driven model shares (see evloop.h).
 *
 * 1. Watch the listener and the stop pipe.
 * 2. Wait for events, or the earliest connection deadline (evtimers.c).
 * 3. Listener ready: accept until EAGAIN. Client ready: evconn_run() moves
 *    its session until a socket would block; then its fd is watched for
 *    POLL_IN, or POLL_OUT while output is pending. The sockets of clients
 *    waiting for a request are read first, all of them, so the open-file
 *    cache checks for changes once per batch (read_ahead()).
 * 4. Between batches: run connections that yielded for fairness, begin a
 *    stop if one was asked, expire the connections whose deadline passed
 *    (or whose delay ended), resume accepting after a pause; back to 2.
 * On stop: close the listener and the connections waiting for a request,
 * finish the answers in flight (and the jobs: a password hash), return.
 * ACT_OFFLOAD: the job goes to the process's worker thread (offload.c); the loop's
 * port's wake fd is watched here like a socket; meanwhile the connection watches
 * nothing, as during a delay, and the others are served.
 * Out of descriptors, accepting pauses for ACCEPT_PAUSE_MS: the listener is
 * taken out of the poller (it stays readable, and a level-triggered poller
 * would report it again at once), and put back when the pause ends.
 *
 * The fd table: for every fd the loop watches, whose it is and for what.
 * A connection is watched on the fd it waits on (its socket, or its FTP
 * data channel's while a transfer waits, and then its socket too, for
 * input: conn.h's abort of a transfer), so the loop learns of every close
 * itself: whatever a connection waited on before it ran and no longer waits
 * on is forgotten (set to 0) after it ran. Events are looked up by fd when
 * they are handled, so an event for a connection closed earlier in the same
 * batch finds nothing (or, if the fd was reused, wakes the new owner once
 * for nothing: it reads EAGAIN). */
#include "evloop.h"

#include "bufpool.h"
#include "filecache.h"
#include "fsroot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EVENTS 256

enum fd_kind { FD_FREE, FD_LISTENER, FD_STOP, FD_CONN, FD_OFFLOAD };

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
    uint64_t accept_resume_ms; /* out of fds: accepting pauses until then (0: not) */
    struct fd_entry *fds;      /* indexed by fd */
    int nfds;
    struct evtimers conns;   /* every connection, by deadline */
    struct evconn *ready;    /* yielded for fairness: run again next turn */
    atomic_uint *live;       /* clients of all loops of this server, or NULL */
    struct offload *off;     /* its port to the ACT_OFFLOAD worker (NULL: jobs run here) */
    struct filecache *files; /* the root's open-file cache (NULL: no root) */
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
    evtimers_remove(&l->conns, c);
    forget(l, c->wait_fd, c);
    forget(l, c->io.fd, c);
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

/* Forgets the data socket c waited on before it ran (was; opened: the data
 * channel's count then) if it waits on it no more, or it was closed: a
 * data socket closed while it ran may even have handed its number to the
 * next one (the data channel counts the sockets it opened), which must then
 * be watched anew. */
static void forget_stale(struct loop *l, struct evconn *c, int was, unsigned opened)
{
    if (was != c->io.fd && (was != c->wait_fd || c->io.dc.opened != opened)) forget(l, was, c);
}

/* Watches what c waits for after it ran: its socket, or a data socket
 * (and its socket for input while a transfer waits), or nothing during a
 * delay. 0, or -1 with errno. */
static int rewatch(struct loop *l, struct evconn *c, int was, unsigned opened)
{
    int fd = c->io.fd;
    forget_stale(l, c, was, opened);
    int mask = c->want == EV_WANT_WRITE ? POLL_OUT : POLL_IN;
    if (c->want == EV_WANT_TIMER || c->want == EV_WANT_JOB) {
        forget(l, c->wait_fd, c);
        forget(l, fd, c);
        return 0;
    }
    if (c->wait_fd == fd) return watch(l, fd, FD_CONN, c, mask);
    if (c->watch_control) {
        if (watch(l, fd, FD_CONN, c, POLL_IN) < 0) return -1;
    } else {
        forget(l, fd, c);
    }
    return watch(l, c->wait_fd, FD_CONN, c, mask);
}

/* Runs a client, then watches what it waits for next, until its deadline. */
static void service(struct loop *l, struct evconn *c, uint64_t now)
{
    int was = c->wait_fd;
    unsigned opened = c->io.dc.opened;
    enum ev_want w = evconn_run(c, l->stopping, now);
    if (w == EV_WANT_CLOSE) {
        forget(l, was, c);
        drop(l, c);
        return;
    }
    evtimers_update(&l->conns, c);
    if (w == EV_WANT_AGAIN) {
        forget_stale(l, c, was, opened);
        run_again_soon(l, c);
        return;
    }
    if (rewatch(l, c, was, opened) < 0) {
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

static void count_out(struct loop *l)
{
    if (l->live) atomic_fetch_sub(l->live, 1);
}

static void add_client(struct loop *l, int fd, const char *peer, const struct peer_key *key,
                       uint64_t now)
{
    const struct model_ctx *m = l->m;
    if (!count_in(l)) {
        refuse_client(fd, m, peer);
        return;
    }
    if (!admit_per_ip(m, fd, key, peer)) {
        count_out(l);
        return;
    }
    struct evconn *c = evconn_new(m, fd, peer, now);
    if (!c || evtimers_add(&l->conns, c) < 0) {
        model_error("out of memory for %s", peer);
        peer_limit_leave(m->per_ip, key);
        count_out(l);
        if (c)
            evconn_free(c);
        else
            close(fd);
        return;
    }
    c->peer = *key;
    c->peer_counted = true;
    c->offload = l->off;
    if (watch(l, fd, FD_CONN, c, POLL_IN) < 0) {
        model_error("%s: cannot watch fd %d of %s: %s; refused", l->be->name, fd, peer,
                    strerror(errno));
        if (m->proto->refusal) send_bytes(fd, m->proto->refusal, strlen(m->proto->refusal));
        drop(l, c);
        return;
    }
    service(l, c, now); /* the request is often there already */
}

/* Out of descriptors: the listener leaves the poller until the pause ends. */
static void pause_accepts(struct loop *l, int err, uint64_t now)
{
    accept_pause_log(err);
    watch(l, l->listen_fd, FD_FREE, NULL, 0);
    l->accept_resume_ms = now + ACCEPT_PAUSE_MS;
}

static void accept_all(struct loop *l, uint64_t now)
{
    for (;;) {
        char peer[64];
        struct peer_key key;
        int fd = listener_accept(l->listen_fd, peer, sizeof peer, &key);
        if (fd >= 0) {
            add_client(l, fd, peer, &key, now);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (accept_out_of_fds(errno)) pause_accepts(l, errno, now);
        return; /* EAGAIN: all accepted */
    }
}

static void resume_accepts(struct loop *l, uint64_t now)
{
    l->accept_resume_ms = 0;
    if (watch(l, l->listen_fd, FD_LISTENER, NULL, POLL_IN) < 0) {
        pause_accepts(l, errno, now); /* select: no room either; try again later */
        return;
    }
    accept_all(l, now);
}

static void begin_stop(struct loop *l, uint64_t now)
{
    l->stopping = true;
    watch(l, l->listen_fd, FD_FREE, NULL, 0);
    close(l->listen_fd);
    watch(l, l->m->stop_fd, FD_FREE, NULL, 0);
    /* connections waiting for a request (or a delay) close now; the others
     * finish. service() may reorder or drop them, so walk a snapshot. */
    size_t n = 0;
    struct evconn **idle = malloc(l->conns.count * sizeof *idle + 1);
    for (size_t i = 0; idle && i < l->conns.count; i++) {
        struct evconn *c = l->conns.heap[i];
        if (c->want == EV_WANT_READ || c->want == EV_WANT_TIMER) idle[n++] = c;
    }
    for (size_t i = 0; i < n; i++)
        service(l, idle[i], now);
    free(idle); /* out of memory: their timeouts close them instead */
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
    if (l->accept_resume_ms && now >= l->accept_resume_ms && !l->stopping) resume_accepts(l, now);
    while ((c = evtimers_due(&l->conns, now))) {
        evconn_timeout(c);
        service(l, c, now);
    }
}

static int next_timeout(const struct loop *l, uint64_t now)
{
    if (l->ready) return 0;
    int t = evtimers_wait_ms(&l->conns, now);
    if (l->accept_resume_ms && !l->stopping) {
        int resume = ms_until(l->accept_resume_ms, now);
        if (t < 0 || resume < t) t = resume;
    }
    return t;
}

/* The worker finished jobs: their connections go on. A connection waiting
 * for a job is never dropped (nothing but the job ends its wait), so each
 * owner is alive. */
static void jobs_done(struct loop *l, uint64_t now)
{
    struct offload_job *j = offload_done(l->off);
    while (j) {
        struct offload_job *next = j->next;
        struct evconn *c = j->owner;
        c->job_done = true;
        service(l, c, now);
        j = next;
    }
}

/* One fired event: looked up in the fd table now, so it is never stale. */
static void dispatch(struct loop *l, const struct fired_event *ev, uint64_t now)
{
    if (ev->fd < 0 || ev->fd >= l->nfds) return;
    const struct fd_entry *e = &l->fds[ev->fd];
    /* new input, even while the connection waits for something else: an
     * edge-triggered poller says it once */
    if (e->kind == FD_CONN && ev->fd == e->conn->io.fd && (ev->mask & POLL_IN)) {
        if (!e->conn->read_ahead) connio_readable(&e->conn->io, ev->mask & POLL_HUP);
        e->conn->read_ahead = false;
    }
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
    case FD_OFFLOAD:
        jobs_done(l, now);
        break;
    case FD_CONN:
        /* the control connection of a transfer waiting on its data socket */
        if (ev->fd == e->conn->io.fd && e->conn->wait_fd != ev->fd) e->conn->control_ready = true;
        service(l, e->conn, now);
        break;
    default:
        break;
    }
}

/* Reads what the batch's clients waiting for a request sent, before any is
 * served, so the open-file cache checks its inotify queue once for the
 * whole batch, after every read (filecache_batch; a read made later, while
 * serving, makes the next lookup check again). Not while stopping: a client
 * between requests is closed then, unread. */
static void read_ahead(struct loop *l, struct fired_event *ev, int n, uint64_t now)
{
    for (int i = 0; i < n && !l->stopping; i++) {
        if (ev[i].fd < 0 || ev[i].fd >= l->nfds || !(ev[i].mask & POLL_IN)) continue;
        const struct fd_entry *e = &l->fds[ev[i].fd];
        if (e->kind != FD_CONN || !(e->mask & POLL_IN)) continue;
        struct evconn *c = e->conn;
        if (ev[i].fd != c->io.fd || c->want != EV_WANT_READ || c->waiting != ACT_READ ||
            c->io.off < c->io.have || c->read_ahead)
            continue;
        connio_readable(&c->io, ev[i].mask & POLL_HUP);
        connio_read(&c->io, now); /* what it got, or its error, is the run's to see */
        c->read_ahead = true;
    }
    if (l->files) filecache_batch(l->files);
}

int evloop_run(const struct model_ctx *m, int listen_fd, const struct poller *backend,
               atomic_uint *live)
{
    struct loop l = {.m = m, .be = backend, .listen_fd = listen_fd, .live = live};
    if (m->server && m->server->root) l.files = fsroot_cache(m->server->root);
    l.p = backend->create(m);
    if (!l.p) {
        model_error("%s: %s", backend->name, strerror(errno));
        close(listen_fd);
        return -1;
    }
    if (watch(&l, listen_fd, FD_LISTENER, NULL, POLL_IN) < 0 ||
        watch(&l, m->stop_fd, FD_STOP, NULL, POLL_IN) < 0) {
        model_error("%s: cannot watch the listener: %s", backend->name, strerror(errno));
        backend->destroy(l.p);
        free(l.fds);
        close(listen_fd);
        return -1;
    }
    /* the worker starts at the first job; without a wake fd, jobs run here */
    l.off = offload_new(m->offload);
    if (l.off && watch(&l, offload_fd(l.off), FD_OFFLOAD, NULL, POLL_IN) < 0) {
        offload_free(l.off);
        l.off = NULL;
    }
    struct fired_event events[MAX_EVENTS];
    bufpool_cache(true); /* the loop's free list of I/O buffers */
    while (!l.stopping || l.conns.count > 0) {
        int n = backend->wait(l.p, events, MAX_EVENTS, next_timeout(&l, monotonic_ms()));
        if (n < 0 && errno != EINTR) {
            model_error("%s: %s", backend->name, strerror(errno));
            break;
        }
        uint64_t now = monotonic_ms();
        read_ahead(&l, events, n, now);
        for (int i = 0; i < n; i++)
            dispatch(&l, &events[i], now);
        housekeeping(&l, now);
    }
    bufpool_cache(false);
    filecache_batch(NULL);
    offload_free(l.off); /* no job is left: their connections waited for them */
    backend->destroy(l.p);
    free(l.fds);
    evtimers_free(&l.conns);
    return 0;
}
