/* coro_sched.c - the coroutine scheduler of coro_sched.h.
 *
 * State:
 *   tasks     one per coroutine, on the all list (for csched_free)
 *   runq      the tasks to resume at the next turn (FIFO)
 *   fds       indexed by fd: who waits on it and what fired while nobody
 *             waited for that direction (edge-triggered backends report a
 *             change once; Go's netpoller keeps the same "ready" bits)
 *   timers    a heap of the waits' deadlines
 *   stoppers  the waits that end on a stop (a doubly linked list)
 * A turn: resume every runnable task, then sleep in the poller until an fd
 * fires or the earliest deadline, wake exactly those tasks, and repeat.
 */
#include "coro_sched.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "coro_heap.h"
#include "coro_poll.h"

struct task {
    struct coro *co;
    coro_fn fn;
    void *arg;
    struct task *all_prev, *all_next; /* every task */
    struct task *run_next;            /* on runq */
    /* while it waits (waiting == true) */
    bool waiting;
    bool stop_is_ready;                 /* it waits on the stop fd itself */
    int fd;                             /* -1: none */
    int want;                           /* CP_IN / CP_OUT */
    int control_fd;                     /* readable ends the wait too; -1: none */
    struct heap_node timer;             /* in timers when it has a deadline */
    struct task *stop_prev, *stop_next; /* on stoppers when it watches the stop */
    bool on_stoppers;
    enum wait_result result;
};

struct fdslot {
    struct task *waiter;
    unsigned char ready; /* CP_IN / CP_OUT fired and not yet handed out */
    bool owned;          /* added once, known closed through csched_closed() */
};

struct csched {
    struct cpoll *poller;
    int stop_fd;
    bool stopping;
    unsigned live;
    struct task *all;
    struct task *run_head, *run_tail;
    struct task *running;
    struct fdslot *fds;
    int nfds;
    struct heap timers;
    struct task *stoppers;
    struct cp_event events[256];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct task *task_of_timer(struct heap_node *n)
{
    return (struct task *)(void *)((char *)n - offsetof(struct task, timer));
}

/* ---- the fd table ---- */

static struct fdslot *slot_get(struct csched *s, int fd)
{
    if (fd >= s->nfds) {
        int n = s->nfds ? s->nfds : 1024;
        while (n <= fd)
            n *= 2;
        struct fdslot *v = realloc(s->fds, (size_t)n * sizeof *v);
        if (!v) return NULL;
        for (int i = s->nfds; i < n; i++)
            v[i] = (struct fdslot){0};
        s->fds = v;
        s->nfds = n;
    }
    return &s->fds[fd];
}

int csched_own(struct csched *s, int fd)
{
    struct fdslot *slot = slot_get(s, fd);
    if (!slot) return -1;
    if (cpoll_add(s->poller, fd) < 0) return -1;
    *slot = (struct fdslot){.owned = true};
    return 0;
}

void csched_closed(struct csched *s, int fd)
{
    if (fd < 0 || fd >= s->nfds) return;
    cpoll_want(s->poller, fd, 0); /* level-triggered poll: out of its array */
    s->fds[fd] = (struct fdslot){0};
}

/* ---- waking ---- */

static void runq_push(struct csched *s, struct task *t)
{
    t->run_next = NULL;
    if (s->run_tail)
        s->run_tail->run_next = t;
    else
        s->run_head = t;
    s->run_tail = t;
}

static void stoppers_remove(struct csched *s, struct task *t)
{
    if (!t->on_stoppers) return;
    if (t->stop_prev)
        t->stop_prev->stop_next = t->stop_next;
    else
        s->stoppers = t->stop_next;
    if (t->stop_next) t->stop_next->stop_prev = t->stop_prev;
    t->on_stoppers = false;
}

/* Undoes what t waits for: its fd, deadline and stop watch. */
static void end_wait(struct csched *s, struct task *t)
{
    t->waiting = false;
    heap_remove(&s->timers, &t->timer);
    stoppers_remove(s, t);
    if (t->fd >= 0) {
        s->fds[t->fd].waiter = NULL;
        cpoll_want(s->poller, t->fd, 0);
        t->fd = -1;
    }
    if (t->control_fd >= 0) {
        s->fds[t->control_fd].waiter = NULL;
        cpoll_want(s->poller, t->control_fd, 0);
        t->control_fd = -1;
    }
}

/* Ends t's wait with result and makes it runnable. */
static void wake(struct csched *s, struct task *t, enum wait_result result)
{
    if (!t->waiting) return;
    end_wait(s, t);
    t->result = result;
    runq_push(s, t);
}

static void begin_stop(struct csched *s)
{
    s->stopping = true;
    cpoll_forget(s->poller, s->stop_fd); /* it stays readable: poll() would spin */
    cpoll_want(s->poller, s->stop_fd, 0);
    while (s->stoppers) {
        struct task *t = s->stoppers;
        wake(s, t, t->stop_is_ready ? WAIT_READY : WAIT_STOP);
    }
}

/* Hands mask of slot's ready bits out. CP_IN stays once CP_HUP came: the
 * socket is readable until its EOF is read, and no edge will say so again
 * (a short read that stopped at the EOF would else wait for ever). */
static void take_ready(struct fdslot *slot, int mask)
{
    if (slot->ready & CP_HUP) mask &= ~CP_IN;
    slot->ready &= (unsigned char)~mask;
}

static void on_event(struct csched *s, const struct cp_event *ev)
{
    if (ev->fd == s->stop_fd) {
        if (!s->stopping) begin_stop(s);
        return;
    }
    if (ev->fd < 0 || ev->fd >= s->nfds) return;
    struct fdslot *slot = &s->fds[ev->fd];
    slot->ready |= (unsigned char)ev->mask;
    struct task *t = slot->waiter;
    if (!t) return;
    bool control = ev->fd == t->control_fd;
    int want = control ? CP_IN : t->want;
    if (slot->ready & want) {
        take_ready(slot, want);
        wake(s, t, control ? WAIT_CONTROL : WAIT_READY);
    }
}

static void expire_timers(struct csched *s, uint64_t now)
{
    struct heap_node *top;
    while ((top = heap_top(&s->timers)) && top->key <= now)
        wake(s, task_of_timer(top), WAIT_TIMEOUT);
}

/* ---- waiting (from a coroutine) ---- */

static int mask_of(short events)
{
    return (events & POLLIN ? CP_IN : 0) | (events & POLLOUT ? CP_OUT : 0);
}

/* The slot of fd, registered with the poller, waited on by t for mask (as
 * wait_on_fd(), without recording which of t's fds it is). */
static int watch_fd(struct csched *s, struct task *t, int fd, int mask)
{
    struct fdslot *slot = slot_get(s, fd);
    if (!slot) return -1;
    if (!slot->owned) {
        int r = cpoll_add(s->poller, fd);
        if (r < 0) return -1;
        if (r == 0) slot->ready = 0; /* new to the poller: what fired before was another fd's */
    }
    if (slot->ready & mask) {
        take_ready(slot, mask);
        return 1;
    }
    if (cpoll_want(s->poller, fd, mask) < 0) return -1;
    slot->waiter = t;
    return 0;
}

/* Makes t wait on fd for mask. 1: it is ready already (an edge seen while
 * nobody waited), 0: registered, -1: failed. */
static int wait_on_fd(struct csched *s, struct task *t, int fd, int mask)
{
    int r = watch_fd(s, t, fd, mask);
    if (r == 0) {
        t->fd = fd;
        t->want = mask;
    }
    return r;
}

enum wait_result csched_wait(struct csched *s, int fd, short events, int control_fd, int timeout_ms,
                             bool watch_stop)
{
    struct task *t = s->running;
    t->stop_is_ready = fd >= 0 && fd == s->stop_fd;
    if (t->stop_is_ready) watch_stop = true;
    if (watch_stop && s->stopping) return t->stop_is_ready ? WAIT_READY : WAIT_STOP;
    t->fd = t->control_fd = -1;
    if (control_fd >= 0) { /* first: an abort wins over more data */
        int r = watch_fd(s, t, control_fd, CP_IN);
        if (r) return r > 0 ? WAIT_CONTROL : WAIT_ERROR;
        t->control_fd = control_fd;
    }
    int mask = mask_of(events);
    if (fd >= 0 && mask && !t->stop_is_ready) {
        int r = wait_on_fd(s, t, fd, mask);
        if (r && t->control_fd >= 0) { /* not waiting after all: undo the control watch */
            s->fds[t->control_fd].waiter = NULL;
            cpoll_want(s->poller, t->control_fd, 0);
            t->control_fd = -1;
        }
        if (r) return r > 0 ? WAIT_READY : WAIT_ERROR;
    }
    t->waiting = true;
    if (timeout_ms >= 0) {
        /* +1: the ms clock rounded up, so a wait is never shorter than
         * asked (as poll(2) rounds up) */
        t->timer.key = now_ms() + (uint64_t)timeout_ms + 1;
        if (heap_push(&s->timers, &t->timer) < 0) {
            end_wait(s, t);
            return WAIT_ERROR;
        }
    }
    if (watch_stop) {
        t->stop_prev = NULL;
        t->stop_next = s->stoppers;
        if (s->stoppers) s->stoppers->stop_prev = t;
        s->stoppers = t;
        t->on_stoppers = true;
    }
    coro_yield();
    return t->result;
}

void *csched_current(struct csched *s)
{
    return s->running;
}

void csched_wake(struct csched *s, void *co)
{
    if (co) wake(s, co, WAIT_READY);
}

/* ---- tasks ---- */

static void task_main(void *arg)
{
    struct task *t = arg;
    t->fn(t->arg);
}

int csched_spawn(struct csched *s, coro_fn fn, void *arg, size_t stack_size)
{
    struct task *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->co = coro_new(task_main, t, stack_size);
    if (!t->co) {
        free(t);
        return -1;
    }
    t->fn = fn;
    t->arg = arg;
    t->fd = t->control_fd = -1;
    t->all_next = s->all;
    if (s->all) s->all->all_prev = t;
    s->all = t;
    s->live++;
    runq_push(s, t);
    return 0;
}

static void task_free(struct csched *s, struct task *t)
{
    if (t->all_prev)
        t->all_prev->all_next = t->all_next;
    else
        s->all = t->all_next;
    if (t->all_next) t->all_next->all_prev = t->all_prev;
    coro_free(t->co);
    free(t);
    s->live--;
}

/* Resumes every runnable task, including those made runnable meanwhile. */
static void run_ready(struct csched *s)
{
    while (s->run_head) {
        struct task *t = s->run_head;
        s->run_head = t->run_next;
        if (!s->run_head) s->run_tail = NULL;
        s->running = t;
        coro_resume(t->co);
        s->running = NULL;
        if (coro_done(t->co)) task_free(s, t);
    }
}

static int next_timeout(const struct csched *s, uint64_t now)
{
    if (s->run_head) return 0;
    const struct heap_node *top = heap_top(&s->timers);
    if (!top) return -1;
    if (top->key <= now) return 0;
    uint64_t left = top->key - now;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

int csched_run(struct csched *s)
{
    for (;;) {
        run_ready(s);
        if (!s->live) return 0;
        int n = cpoll_wait(s->poller, s->events, (int)(sizeof s->events / sizeof s->events[0]),
                           next_timeout(s, now_ms()));
        if (n < 0 && errno != EINTR) return -1;
        for (int i = 0; i < n; i++)
            on_event(s, &s->events[i]);
        expire_timers(s, now_ms());
    }
}

/* ---- life ---- */

struct csched *csched_new(int stop_fd)
{
    struct csched *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->stop_fd = stop_fd;
    if (!(s->poller = cpoll_new())) {
        free(s);
        return NULL;
    }
    if (stop_fd >= 0 &&
        (cpoll_add(s->poller, stop_fd) < 0 || cpoll_want(s->poller, stop_fd, CP_IN) < 0)) {
        int err = errno;
        csched_free(s);
        errno = err;
        return NULL;
    }
    return s;
}

void csched_free(struct csched *s)
{
    if (!s) return;
    while (s->all)
        task_free(s, s->all);
    if (s->stop_fd >= 0 && !s->stopping) cpoll_forget(s->poller, s->stop_fd);
    cpoll_free(s->poller);
    heap_free(&s->timers);
    free(s->fds);
    free(s);
    coro_release_cache();
}

bool csched_stopping(const struct csched *s)
{
    return s->stopping;
}
