/* kqueue_epoll.c - a test kqueue: kqueue() and kevent() (sys/event.h, the
 * FreeBSD shapes) built on Linux's epoll, so that servers/models/kqueue.c
 * and coro_poll.c's kqueue backend run, not only compile, on this machine
 * (cmake -DSERVERMODELS_KQUEUE_SHIM=ON, build-kqueue/; docs/portable.md).
 *
 * What it implements, after FreeBSD's kqueue(2):
 *   filters   EVFILT_READ (data: bytes to read, FIONREAD; on a listening
 *             socket the accept queue's length) and EVFILT_WRITE (data:
 *             room left in the send buffer); EV_EOF when the peer shut the
 *             direction, with the socket error in fflags
 *   flags     EV_ADD, EV_DELETE, EV_ENABLE, EV_DISABLE, EV_CLEAR,
 *             EV_ONESHOT; EV_ERROR receipts for changes that fail (ENOENT,
 *             EBADF, EINVAL), or -1 with errno when the event list has no
 *             room for them
 *   kevent()  the changelist applied in order before the wait; then the
 *             wait, up to the timeout (NULL: forever; {0, 0}: a poll)
 *
 * How: every ident with a knote is in the epoll set once, edge-triggered,
 * for both directions (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET). An
 * EV_CLEAR knote is reported on an edge, which is what EV_CLEAR means ("its
 * state is reset" once retrieved). A knote without EV_CLEAR is level-
 * triggered: once reported it stays pending, and every kevent() call
 * re-checks it with poll(2) and reports it again while its condition holds.
 * A knote added or enabled while its condition already holds is pending
 * too (the edge went by before it was there).
 *
 * A closed descriptor's knotes go with it, as kqueue(2) says: epoll drops
 * the closed file by itself, and the knotes remember which file they watch
 * (device and inode), so a change or a re-check that finds another file
 * under the same number drops them first.
 *
 * Not a kqueue: no other filters (EVFILT_TIMER, VNODE, PROC, SIGNAL, USER),
 * no EV_RECEIPT, EV_DISPATCH or NOTE_LOWAT. Test code only: it is compiled
 * into refserver in the kqueue shim build and nowhere else. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "sys/event.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EPOLL_BATCH 256

struct knote {
    bool used;
    bool enabled;
    bool pending;  /* re-check at the next kevent() (level-triggered, or added while ready) */
    bool reported; /* in this call's event list already */
    unsigned short flags; /* as registered: EV_ADD | EV_CLEAR | EV_ONESHOT ... */
    unsigned int fflags;
    void *udata;
};

/* The two knotes of one ident (fd): [0] EVFILT_READ, [1] EVFILT_WRITE,
 * and which open file they watch (a closed fd's number comes back for the
 * next socket: its knotes must not carry over). */
struct fdnotes {
    struct knote k[2];
    bool in_epoll;
    dev_t dev;
    ino_t ino;
};

struct kq {
    int fd; /* the epoll descriptor, which kqueue() returned */
    pthread_mutex_t lock;
    struct fdnotes *fds; /* indexed by ident */
    size_t nfds;
    struct kq *next;
};

/* Every kqueue made, by descriptor; a closed one is replaced when its
 * number comes back from kqueue(). */
static struct kq *all_kqs;
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;

static struct kq *kq_find(int fd)
{
    pthread_mutex_lock(&all_lock);
    struct kq *k = all_kqs;
    while (k && k->fd != fd)
        k = k->next;
    pthread_mutex_unlock(&all_lock);
    return k;
}

int kqueue(void)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return -1;
    struct kq *k = kq_find(fd);
    if (k) { /* the number of a kqueue closed before: start it afresh */
        pthread_mutex_lock(&k->lock);
        free(k->fds);
        k->fds = NULL;
        k->nfds = 0;
        pthread_mutex_unlock(&k->lock);
        return fd;
    }
    k = calloc(1, sizeof *k);
    if (!k) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    k->fd = fd;
    pthread_mutex_init(&k->lock, NULL);
    pthread_mutex_lock(&all_lock);
    k->next = all_kqs;
    all_kqs = k;
    pthread_mutex_unlock(&all_lock);
    return fd;
}

/* ---- the changelist ------------------------------------------------------ */

static int filter_index(short filter)
{
    return filter == EVFILT_READ ? 0 : filter == EVFILT_WRITE ? 1 : -1;
}

static struct fdnotes *notes_of(struct kq *k, uintptr_t ident, bool grow)
{
    if (ident < k->nfds) return &k->fds[ident];
    if (!grow) return NULL;
    size_t n = k->nfds ? k->nfds : 64;
    while (n <= ident)
        n *= 2;
    struct fdnotes *f = realloc(k->fds, n * sizeof *f);
    if (!f) return NULL;
    memset(f + k->nfds, 0, (n - k->nfds) * sizeof *f);
    k->fds = f;
    k->nfds = n;
    return &f[ident];
}

/* Is the knote's condition true now? poll(2) with no wait. */
static bool ready_now(int fd, int fi)
{
    struct pollfd p = {.fd = fd, .events = fi == 0 ? POLLIN | POLLRDHUP : POLLOUT};
    return poll(&p, 1, 0) == 1 && p.revents != 0;
}

static int epoll_watch(struct kq *k, int fd, struct fdnotes *f)
{
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
    /* MOD first: a number closed and opened again left its old knotes */
    if (f->in_epoll && epoll_ctl(k->fd, EPOLL_CTL_MOD, fd, &e) == 0) return 0;
    if (epoll_ctl(k->fd, EPOLL_CTL_ADD, fd, &e) == 0 || errno == EEXIST) {
        f->in_epoll = true;
        return 0;
    }
    return -1;
}

static void drop_knotes(struct fdnotes *f)
{
    f->k[0].used = f->k[1].used = false;
    f->in_epoll = false;
}

/* fd's knotes, if they still watch the file open under that number: a
 * closed one's go (EBADF when nothing is open there now). 0 or an errno. */
static int current_file(struct fdnotes *f, int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (f) drop_knotes(f);
        return EBADF;
    }
    if (f && (f->k[0].used || f->k[1].used) && (f->dev != st.st_dev || f->ino != st.st_ino))
        drop_knotes(f);
    if (f) {
        f->dev = st.st_dev;
        f->ino = st.st_ino;
    }
    return 0;
}

static void forget_if_empty(struct kq *k, int fd, struct fdnotes *f)
{
    if (f->k[0].used || f->k[1].used || !f->in_epoll) return;
    epoll_ctl(k->fd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT/EBADF: closed, gone already */
    f->in_epoll = false;
}

static int add_knote(struct kq *k, const struct kevent *ch, int fi)
{
    int fd = (int)ch->ident;
    if (ch->ident > INT_MAX || current_file(NULL, fd)) return EBADF;
    struct fdnotes *f = notes_of(k, ch->ident, true);
    if (!f) return ENOMEM;
    if (current_file(f, fd)) return EBADF;
    if (epoll_watch(k, fd, f) < 0) return errno == EPERM ? EINVAL : errno;
    struct knote *n = &f->k[fi];
    bool fresh = !n->used;
    n->used = true;
    n->flags = ch->flags & (EV_CLEAR | EV_ONESHOT | EV_ADD);
    n->fflags = ch->fflags;
    n->udata = ch->udata;
    if (fresh) n->enabled = true;
    if (ch->flags & EV_DISABLE) n->enabled = false;
    if (ch->flags & EV_ENABLE) n->enabled = true;
    n->pending = ready_now(fd, fi); /* an edge that went by before the knote */
    return 0;
}

/* One change; 0 or the errno its receipt carries. */
static int apply_change(struct kq *k, const struct kevent *ch)
{
    int fi = filter_index(ch->filter);
    if (fi < 0) return EINVAL;
    if (ch->flags & EV_ADD) return add_knote(k, ch, fi);
    struct fdnotes *f = notes_of(k, ch->ident, false);
    int fd = (int)ch->ident;
    if (ch->ident > INT_MAX || current_file(f, fd)) return EBADF;
    struct knote *n = f && f->k[fi].used ? &f->k[fi] : NULL;
    if (!n) return ENOENT;
    if (ch->flags & EV_DELETE) {
        n->used = false;
        forget_if_empty(k, fd, f);
        return 0;
    }
    if (ch->flags & EV_DISABLE) n->enabled = false;
    if (ch->flags & EV_ENABLE) {
        n->enabled = true;
        n->pending = ready_now(fd, fi); /* what happened while it was disabled */
    }
    return 0;
}

/* ---- reporting ----------------------------------------------------------- */

/* The socket error EV_EOF carries in fflags, without consuming it: reading
 * SO_ERROR would clear it, and the server's own getsockopt() or recv() must
 * still see it (a reset upload must not look like a clean EOF). From the
 * TCP state instead: closed by an error, never an RTT sample (no SYN-ACK
 * came) is a refused connect, else a reset. 0 for other sockets, and for a
 * peer that only shut its side down. */
static unsigned int socket_error(int fd, bool error)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (!error || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return 0;
    if (ti.tcpi_state != TCP_CLOSE) return 0;
    return ti.tcpi_rtt == 0 ? ECONNREFUSED : ECONNRESET;
}

/* EVFILT_READ's data: bytes to read; on a listening socket, the accept
 * queue's length (Linux's tcpi_unacked in the LISTEN state). */
static int64_t read_data(int fd)
{
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening) {
        struct tcp_info ti;
        len = sizeof ti;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0) return ti.tcpi_unacked;
        return 1;
    }
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

/* EVFILT_WRITE's data: room left in the send buffer. */
static int64_t write_data(int fd)
{
    int buf = 0, queued = 0;
    socklen_t len = sizeof buf;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, &len) < 0) return 0;
    if (ioctl(fd, TIOCOUTQ, &queued) < 0) queued = 0;
    return buf > queued ? buf - queued : 0;
}

/* The state of the direction now: whether its condition holds, and EOF.
 * A descriptor closed since: its knotes go (kqueue(2): "Events which are
 * attached to file descriptors are automatically deleted on the last close
 * of the descriptor"). */
static bool probe(struct kq *k, int fd, int fi, bool *eof, bool *error)
{
    struct pollfd p = {.fd = fd, .events = fi == 0 ? POLLIN | POLLRDHUP : POLLOUT};
    if (poll(&p, 1, 0) != 1) return false;
    if (p.revents & POLLNVAL) {
        struct fdnotes *f = &k->fds[fd];
        f->k[0].used = f->k[1].used = f->in_epoll = false;
        return false;
    }
    *eof =
        fi == 0 ? (p.revents & (POLLRDHUP | POLLHUP)) != 0 : (p.revents & (POLLHUP | POLLERR)) != 0;
    *error = (p.revents & POLLERR) != 0;
    return p.revents != 0;
}

/* Put knote (fd, fi) in the event list; EV_ONESHOT deletes it, a level-
 * triggered one stays pending for the next call. */
static void report(struct kq *k, int fd, int fi, bool eof, bool error, struct kevent *out)
{
    struct fdnotes *f = &k->fds[fd];
    struct knote *n = &f->k[fi];
    unsigned short flags = n->flags | (eof ? EV_EOF : 0);
    int64_t data = fi == 0 ? read_data(fd) : write_data(fd);
    unsigned int fflags = eof ? socket_error(fd, error) : 0;
    EV_SET(out, (uintptr_t)fd, fi == 0 ? EVFILT_READ : EVFILT_WRITE, flags, fflags, data, n->udata);
    n->reported = true;
    if (n->flags & EV_ONESHOT) {
        n->used = false;
        forget_if_empty(k, fd, f);
    } else {
        n->pending = !(n->flags & EV_CLEAR);
    }
}

/* The pending knotes whose condition holds now. */
static int scan_pending(struct kq *k, struct kevent *out, int max)
{
    int got = 0;
    for (size_t fd = 0; fd < k->nfds && got < max; fd++)
        for (int fi = 0; fi < 2 && got < max; fi++) {
            struct knote *n = &k->fds[fd].k[fi];
            if (!n->used || !n->pending || !n->enabled) continue;
            bool eof = false, error = false;
            n->pending = false;
            if (current_file(&k->fds[fd], (int)fd)) continue; /* closed: gone */
            if (!n->used) continue;                           /* another file now */
            if (probe(k, (int)fd, fi, &eof, &error))
                report(k, (int)fd, fi, eof, error, &out[got++]);
        }
    return got;
}

/* One epoll event: the enabled knotes of its directions not yet reported. */
static int take_event(struct kq *k, const struct epoll_event *e, struct kevent *out, int room)
{
    int fd = e->data.fd, got = 0;
    struct fdnotes *f = notes_of(k, (uintptr_t)fd, false);
    if (!f) return 0;
    uint32_t in = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR, wr = EPOLLOUT | EPOLLHUP | EPOLLERR;
    for (int fi = 0; fi < 2 && got < room; fi++) {
        struct knote *n = &f->k[fi];
        if (!n->used || !n->enabled || n->reported || !(e->events & (fi == 0 ? in : wr))) continue;
        bool eof = fi == 0 ? (e->events & (EPOLLRDHUP | EPOLLHUP)) != 0
                           : (e->events & (EPOLLHUP | EPOLLERR)) != 0;
        report(k, fd, fi, eof, (e->events & EPOLLERR) != 0, &out[got++]);
    }
    return got;
}

static int timeout_ms(const struct timespec *t)
{
    if (!t) return -1;
    if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000L) return -2;
    long long ms = (long long)t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void clear_reported(struct kq *k)
{
    for (size_t fd = 0; fd < k->nfds; fd++)
        k->fds[fd].k[0].reported = k->fds[fd].k[1].reported = false;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait (lock released) and collect; the number of events. An epoll wake-up
 * that brings no knote's event (the other direction of a watched socket)
 * waits again for the rest of the timeout: kevent() returns 0 only when
 * the timeout is over. */
static int wait_events(struct kq *k, struct kevent *out, int max, int ms)
{
    int64_t deadline = ms > 0 ? now_ms() + ms : 0;
    for (;;) {
        int got = scan_pending(k, out, max);
        struct epoll_event evs[EPOLL_BATCH];
        int want = max - got < EPOLL_BATCH ? max - got : EPOLL_BATCH;
        if (want <= 0) return got;
        pthread_mutex_unlock(&k->lock);
        int n = epoll_wait(k->fd, evs, want, got ? 0 : ms);
        int saved = errno;
        pthread_mutex_lock(&k->lock);
        if (n < 0) {
            errno = saved;
            return got ? got : -1;
        }
        for (int i = 0; i < n && got < max; i++)
            got += take_event(k, &evs[i], out + got, max - got);
        if (got || ms == 0 || n == 0) return got;
        if (ms > 0 && (ms = (int)(deadline - now_ms())) <= 0) return 0;
    }
}

int kevent(int kqfd, const struct kevent *changelist, int nchanges, struct kevent *eventlist,
           int nevents, const struct timespec *timeout)
{
    struct kq *k = kq_find(kqfd);
    if (!k || fcntl(kqfd, F_GETFD) < 0) {
        errno = EBADF;
        return -1;
    }
    int ms = timeout_ms(timeout);
    if (nchanges < 0 || nevents < 0 || ms == -2 || (nchanges && !changelist) ||
        (nevents && !eventlist)) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&k->lock);
    int receipts = 0;
    for (int i = 0; i < nchanges; i++) {
        int err = apply_change(k, &changelist[i]);
        if (!err) continue;
        if (receipts >= nevents) { /* no room for its receipt */
            pthread_mutex_unlock(&k->lock);
            errno = err;
            return -1;
        }
        struct kevent *r = &eventlist[receipts++];
        *r = changelist[i];
        r->flags = EV_ERROR;
        r->data = err;
    }
    if (receipts || nevents == 0) { /* receipts come back at once, as FreeBSD's */
        pthread_mutex_unlock(&k->lock);
        return receipts;
    }
    clear_reported(k);
    int n = wait_events(k, eventlist, nevents, ms);
    pthread_mutex_unlock(&k->lock);
    return n;
}
