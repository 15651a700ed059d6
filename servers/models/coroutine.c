/* coroutine.c - a coroutine per connection on one thread (the seeds' gevent).
 *
 * The connection code is the blocking-style drive_blocking(), unchanged; only
 * its io table differs: where a thread would block in poll(), a coroutine
 * waits in the scheduler (coro_sched.c), which sleeps in epoll/kqueue until
 * some coroutine's socket or deadline fires: O(ready) per wake-up, as gevent
 * on libev. The switch is a few instructions of assembly (coro.c).
 *
 * 1. main.c created the listener.
 * 2. An acceptor coroutine accepts every waiting client and spawns a
 *    coroutine for each, then waits for the listener (or the stop).
 *    EMFILE/ENFILE: it pauses accepting for ACCEPT_PAUSE_MS (logged once per
 *    pause), never spinning. --max-conn and --max-per-ip refuse here.
 * 3. A client's coroutine runs drive_blocking() to the end; its socket is
 *    the coroutine's own (watched once, edge-triggered: drive_blocking always
 *    reads or writes until EAGAIN before it waits).
 * On stop: the acceptor closes the listener and ends; waits that watch the
 * stop (between requests) end at once, in-flight answers finish, then the
 * scheduler returns.
 *
 * Stack: 128 KiB per client, mmap'd with a guard page, touched lazily (coro.h
 * says why that size).
 */
#include "model.h"

#include "bufpool.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coro_sched.h"

struct client {
    int fd;
    char peer[64];
    struct peer_key key; /* counted in --max-per-ip */
};

/* The scheduler and server of this thread: the io table carries no context,
 * so coro_wait() finds them here. */
static struct csched *the_sched;
static const struct model_ctx *the_m;
static unsigned clients; /* live client coroutines, for --max-conn */

static enum wait_result coro_wait(const struct model_ctx *m, int fd, short events, int control_fd,
                                  int timeout_ms, bool watch_stop)
{
    (void)m;
    return csched_wait(the_sched, fd, events, control_fd, timeout_ms, watch_stop);
}

/* ACT_OFFLOAD (a password hash): the job runs on a worker thread
 * (offload.c) while the other coroutines run; its coroutine waits for
 * nothing until the reaper, a coroutine that waits on the worker's wake fd
 * through the scheduler, says its job is over. */
static struct offload *the_off; /* NULL: jobs run on this thread */
static unsigned jobs_out;       /* submitted, not yet handed back */
static bool reaper_alive;

struct coro_job {
    struct offload_job job; /* first: the reaper gets this pointer back */
    void *co;               /* the coroutine waiting for it */
    bool done;
};

static void reaper(void *arg)
{
    (void)arg;
    int fd = offload_fd(the_off);
    while (jobs_out > 0) {
        struct offload_job *j = offload_done(the_off);
        if (!j && csched_wait(the_sched, fd, POLLIN, -1, -1, false) == WAIT_ERROR)
            csched_wait(the_sched, -1, 0, -1, 1, false); /* never spin */
        while (j) {
            struct offload_job *next = j->next;
            struct coro_job *cj = (struct coro_job *)j;
            cj->done = true;
            jobs_out--;
            csched_wake(the_sched, cj->co);
            j = next;
        }
    }
    reaper_alive = false;
}

static void coro_offload(const struct model_ctx *m, void (*fn)(void *), void *arg)
{
    (void)m;
    struct coro_job cj = {.job = {.fn = fn, .arg = arg}, .co = csched_current(the_sched)};
    if (!reaper_alive && the_off && csched_spawn(the_sched, reaper, NULL, 0) == 0)
        reaper_alive = true;
    if (!reaper_alive || offload_submit(the_off, &cj.job) < 0) {
        fn(arg); /* no worker, or its queue is full: here, as before */
        return;
    }
    jobs_out++;
    while (!cj.done) /* not a stop's wait: the job is work in flight */
        csched_wait(the_sched, -1, 0, -1, -1, false);
}

static const struct io io_coro = {.wait = coro_wait, .offload = coro_offload};

static void serve(void *arg)
{
    struct client *cl = arg;
    drive_blocking(the_m, &io_coro, cl->fd, cl->peer); /* closes the socket */
    csched_closed(the_sched, cl->fd);
    peer_limit_leave(the_m->per_ip, &cl->key);
    free(cl);
    clients--;
}

static void start(int fd, const char *peer, const struct peer_key *key)
{
    struct client *cl = malloc(sizeof *cl);
    if (cl) {
        cl->fd = fd;
        cl->key = *key;
        snprintf(cl->peer, sizeof cl->peer, "%s", peer);
    }
    if (!cl || csched_own(the_sched, fd) < 0 || csched_spawn(the_sched, serve, cl, 0) < 0) {
        model_error("cannot start a coroutine for %s: %s", peer, strerror(errno));
        csched_closed(the_sched, fd);
        free(cl);
        close(fd);
        peer_limit_leave(the_m->per_ip, key);
        return;
    }
    clients++;
}

/* Accepts until none is waiting; then the wait for more (or for the pause
 * after EMFILE/ENFILE) and the stop. Returns false when it should end. */
static bool accept_round(int lfd, bool *paused)
{
    for (;;) {
        char peer[64];
        struct peer_key key;
        int fd = listener_accept(lfd, peer, sizeof peer, &key);
        if (fd >= 0) {
            *paused = false;
            if (the_m->max_conn && clients >= the_m->max_conn)
                refuse_client(fd, the_m, peer);
            else if (admit_per_ip(the_m, fd, &key, peer))
                start(fd, peer, &key);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (!accept_out_of_fds(errno))
            return csched_wait(the_sched, lfd, POLLIN, -1, -1, true) == WAIT_READY;
        if (!*paused) accept_pause_log(errno); /* once per pause */
        *paused = true;
        return csched_wait(the_sched, -1, 0, -1, ACCEPT_PAUSE_MS, true) == WAIT_TIMEOUT;
    }
}

static void acceptor(void *arg)
{
    int lfd = *(const int *)arg;
    bool paused = false;
    if (csched_own(the_sched, lfd) < 0) {
        model_error("coroutine: cannot watch the listener: %s", strerror(errno));
        return;
    }
    while (accept_round(lfd, &paused)) {
    }
    csched_closed(the_sched, lfd);
    close(lfd);
}

static int coroutine_run(const struct model_ctx *m)
{
    int lfd = m->listen_fd;
    the_m = m;
    clients = 0;
    the_sched = csched_new(m->stop_fd);
    if (!the_sched || csched_spawn(the_sched, acceptor, &lfd, 0) < 0) {
        model_error("coroutine: cannot start the scheduler: %s", strerror(errno));
        csched_free(the_sched);
        return -1;
    }
    jobs_out = 0;
    reaper_alive = false;
    the_off = offload_new(m->offload);
    if (the_off && csched_own(the_sched, offload_fd(the_off)) < 0) {
        offload_free(the_off);
        the_off = NULL;
    }
    bufpool_cache(true); /* one thread: the coroutines share its free list of buffers */
    int rc = csched_run(the_sched);
    bufpool_cache(false);
    if (the_off) {
        csched_closed(the_sched, offload_fd(the_off));
        offload_free(the_off);
        the_off = NULL;
    }
    if (rc < 0) model_error("coroutine: wait: %s", strerror(errno));
    csched_free(the_sched);
    the_sched = NULL;
    return rc;
}

#if defined(CORO_FORCE_POLL) /* the portable build */
#define CORO_SUMMARY "a coroutine per connection on one thread (poll, ucontext switch)"
#else
#define CORO_SUMMARY "a coroutine per connection on one thread (epoll/kqueue, asm switch)"
#endif

const struct model model_coroutine = {
    .name = "coroutine",
    .summary = CORO_SUMMARY,
    .run = coroutine_run,
    .cap = CAP_FDS,
};
