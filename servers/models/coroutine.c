/* coroutine.c - a coroutine per connection on one thread (the seeds' gevent).
 *
 * The connection code is the blocking-style drive_blocking(), unchanged; only
 * its io table differs: where a thread would block in poll(), a coroutine
 * records what it waits for and switches back to the scheduler (ucontext).
 *
 * 1. main.c created the listener.
 * 2. The scheduler polls the listener, the stop pipe and every waiting
 *    coroutine's socket, with the nearest idle deadline as the timeout.
 * 3. Listener ready: accept each client and start a coroutine for it, which
 *    runs until its first wait. Socket ready (or deadline passed): resume
 *    the coroutine that waits on it.
 * 4. A coroutine whose client is done returns; its stack is freed.
 * On stop: close the listener; waits that watch the stop (between requests)
 * end at once, in-flight answers finish, then the scheduler returns.
 * Out of descriptors, the listener is left out of the poll for
 * ACCEPT_PAUSE_MS (it would stay readable and wake the scheduler at once).
 */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#define CORO_STACK (128 * 1024)

struct coro {
    ucontext_t ctx;
    void *stack;
    int fd;
    char peer[64];
    struct peer_key key; /* counted in --max-per-ip */
    bool done;
    /* what it waits for, set by coro_wait() */
    int wait_fd;
    short wait_events;
    int control_fd;         /* also readable ends the wait (WAIT_CONTROL); -1: none */
    int slot, control_slot; /* their entries in this round's poll() array, -1: none */
    bool watch_stop;
    uint64_t deadline_ms;    /* 0 = none */
    enum wait_result result; /* handed back by the scheduler */
    struct coro *next;
};

struct sched {
    const struct model_ctx *m;
    ucontext_t main_ctx;
    struct coro *all; /* every live coroutine */
    struct coro *current;
    unsigned count;
    bool stopping;
    uint64_t accept_resume_ms; /* out of fds: accepting pauses until then (0: not) */
    const void *main_stack;    /* the scheduler's stack, for ASan's fiber switches */
    size_t main_stack_size;
};

/* The scheduler of this thread: coro_wait() is called through the io table,
 * which carries no context, so it finds the scheduler here. */
static struct sched *the_sched;

/* ---- switching, with AddressSanitizer told about stack changes ---- */

/* exiting: the coroutine we leave never runs again (ASan drops its state) */
static void switch_to(ucontext_t *from, ucontext_t *to, const void *to_stack, size_t to_size,
                      bool exiting)
{
#ifdef CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(exiting ? NULL : &fake, to_stack, to_size);
    swapcontext(from, to);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
    (void)to_stack;
    (void)to_size;
    (void)exiting;
    swapcontext(from, to);
#endif
}

static void resume(struct sched *s, struct coro *c)
{
    s->current = c;
    switch_to(&s->main_ctx, &c->ctx, c->stack, CORO_STACK, false);
    s->current = NULL;
}

static void yield_to_scheduler(struct sched *s, struct coro *c, bool exiting)
{
    switch_to(&c->ctx, &s->main_ctx, s->main_stack, s->main_stack_size, exiting);
}

/* ---- the io table drive_blocking() uses ---- */

static enum wait_result coro_wait(const struct model_ctx *m, int fd, short events, int control_fd,
                                  int timeout_ms, bool watch_stop)
{
    struct sched *s = the_sched;
    struct coro *c = s->current;
    if (watch_stop && s->stopping) return WAIT_STOP;
    c->wait_fd = fd;
    c->wait_events = events;
    c->control_fd = control_fd;
    c->watch_stop = watch_stop;
    c->deadline_ms = timeout_ms < 0 ? 0 : monotonic_ms() + (uint64_t)timeout_ms;
    yield_to_scheduler(s, c, false);
    (void)m;
    return c->result;
}

static const struct io io_coro = {.wait = coro_wait};

static void coro_main(void)
{
    struct sched *s = the_sched;
    struct coro *c = s->current;
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &s->main_stack, &s->main_stack_size);
#endif
    drive_blocking(s->m, &io_coro, c->fd, c->peer);
    c->done = true;
    yield_to_scheduler(s, c, true); /* never resumed again */
}

/* ---- the scheduler ---- */

static void start(struct sched *s, int fd, const char *peer, const struct peer_key *key)
{
    struct coro *c = calloc(1, sizeof *c);
    if (c) c->stack = malloc(CORO_STACK);
    if (!c || !c->stack || getcontext(&c->ctx) < 0) {
        model_error("cannot start a coroutine for %s", peer);
        if (c) free(c->stack);
        free(c);
        close(fd);
        peer_limit_leave(s->m->per_ip, key);
        return;
    }
    c->fd = fd;
    c->key = *key;
    c->control_fd = -1;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->ctx.uc_stack.ss_sp = c->stack;
    c->ctx.uc_stack.ss_size = CORO_STACK;
    c->ctx.uc_link = NULL;
    makecontext(&c->ctx, coro_main, 0);
    c->next = s->all;
    s->all = c;
    s->count++;
    resume(s, c); /* runs until its first wait (or to the end) */
}

static void accept_all(struct sched *s)
{
    for (;;) {
        char peer[64];
        struct peer_key key;
        int fd = listener_accept(s->m->listen_fd, peer, sizeof peer, &key);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (accept_out_of_fds(errno)) {
                accept_pause_log(errno);
                s->accept_resume_ms = monotonic_ms() + ACCEPT_PAUSE_MS;
            }
            return;
        }
        if (s->m->max_conn && s->count >= s->m->max_conn)
            refuse_client(fd, s->m, peer);
        else if (admit_per_ip(s->m, fd, &key, peer))
            start(s, fd, peer, &key);
    }
}

/* Frees the coroutines that have returned. */
static void reap(struct sched *s)
{
    for (struct coro **pp = &s->all; *pp;) {
        struct coro *c = *pp;
        if (!c->done) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        peer_limit_leave(s->m->per_ip, &c->key);
        free(c->stack);
        free(c);
        s->count--;
    }
}

static int poll_timeout(const struct sched *s, uint64_t now)
{
    int t = s->accept_resume_ms && !s->stopping ? ms_until(s->accept_resume_ms, now) : -1;
    for (const struct coro *c = s->all; c; c = c->next) {
        if (!c->deadline_ms) continue;
        int left = c->deadline_ms <= now ? 0 : (int)(c->deadline_ms - now);
        if (t < 0 || left < t) t = left;
    }
    return t;
}

/* This round's poll() entries of coroutine c. A wait on the stop pipe (an
 * ACT_DELAY) needs none: the scheduler watches the stop itself. poll()
 * refuses more entries than RLIMIT_NOFILE, so there is never one for
 * nothing. */
static int add_entries(const struct sched *s, struct coro *c, struct pollfd *pfd, int n)
{
    c->slot = c->control_slot = -1;
    if (c->wait_fd == s->m->stop_fd) return n;
    c->slot = n;
    pfd[n++] = (struct pollfd){.fd = c->wait_fd, .events = c->wait_events};
    if (c->control_fd < 0) return n;
    c->control_slot = n;
    pfd[n++] = (struct pollfd){.fd = c->control_fd, .events = POLLIN};
    return n;
}

/* What ends c's wait this round, or -1: it goes on waiting. */
static int wait_over(const struct sched *s, const struct coro *c, const struct pollfd *pfd,
                     uint64_t now)
{
    if (c->control_slot >= 0 && pfd[c->control_slot].revents) return WAIT_CONTROL;
    if (c->slot >= 0 && pfd[c->slot].revents) return WAIT_READY;
    if (c->slot < 0 && s->stopping) return WAIT_READY; /* the stop pipe it waits on */
    if (c->deadline_ms && c->deadline_ms <= now) return WAIT_TIMEOUT;
    if (s->stopping && c->watch_stop) return WAIT_STOP;
    return -1;
}

/* One round: wait for any socket, then resume whoever can go on. */
static int round_once(struct sched *s, struct pollfd *pfd)
{
    int n = 0;
    if (!s->stopping) {
        bool paused = s->accept_resume_ms && monotonic_ms() < s->accept_resume_ms;
        pfd[n++] = (struct pollfd){.fd = paused ? -1 : s->m->listen_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = s->m->stop_fd, .events = POLLIN};
    }
    for (struct coro *c = s->all; c; c = c->next)
        n = add_entries(s, c, pfd, n);
    int r = poll(pfd, (nfds_t)n, poll_timeout(s, monotonic_ms()));
    if (r < 0 && errno != EINTR) return -1;
    uint64_t now = monotonic_ms();
    if (!s->stopping && pfd[1].revents) {
        s->stopping = true;
        close(s->m->listen_fd);
    }
    /* new coroutines are added only below, finished ones removed in reap() */
    for (struct coro *c = s->all; c; c = c->next) {
        int result = wait_over(s, c, pfd, now);
        if (result < 0) continue;
        c->result = (enum wait_result)result;
        resume(s, c);
    }
    if (!s->stopping && s->accept_resume_ms && now >= s->accept_resume_ms) {
        s->accept_resume_ms = 0;
        accept_all(s); /* the pause is over: try again */
    } else if (!s->stopping && r > 0 && pfd[0].revents) {
        accept_all(s); /* new coroutines last */
    }
    reap(s);
    return 0;
}

static int coroutine_run(const struct model_ctx *m)
{
    struct sched s = {.m = m};
    the_sched = &s;
    size_t cap = 0;
    struct pollfd *pfd = NULL;
    int rc = 0;
    while (!s.stopping || s.count > 0) {
        size_t need = 2 + 2 * (size_t)s.count; /* listener, stop, two per coroutine */
        if (cap < need) {                      /* grow the per-round array with the crowd */
            struct pollfd *np = realloc(pfd, 2 * need * sizeof *pfd);
            if (!np) {
                model_error("coroutine: out of memory");
                rc = -1;
                break;
            }
            pfd = np;
            cap = 2 * need;
        }
        if (round_once(&s, pfd) < 0) {
            model_error("coroutine: poll: %s", strerror(errno));
            rc = -1;
            break;
        }
    }
    free(pfd);
    the_sched = NULL;
    return rc;
}

const struct model model_coroutine = {
    .name = "coroutine",
    .summary = "a coroutine per connection on one thread (ucontext), blocking-style code",
    .run = coroutine_run,
    .cap = CAP_FDS,
};
