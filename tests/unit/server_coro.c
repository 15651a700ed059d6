/* Unit tests of the coroutine runtime of the coroutine model:
 * servers/models/coro.c (switch, stacks), coro_heap.c (timers) and
 * coro_sched.c (waits on fds, deadlines and the stop). Built twice: with the
 * build's switch and poller (assembly, epoll) and with both fallbacks forced
 * (ucontext, poll()) as server_coro_fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coro.h"
#include "coro_heap.h"
#include "coro_sched.h"

/* ---- the switch ---- */

static int trace[64], ntrace;

static void record(int v)
{
    if (ntrace < 64) trace[ntrace++] = v;
}

static void count_up(void *arg)
{
    int base = *(int *)arg;
    for (int i = 0; i < 3; i++) {
        record(base + i);
        coro_yield();
    }
}

static void test_ping_pong(void **state)
{
    (void)state;
    ntrace = 0;
    int a = 10, b = 20;
    struct coro *ca = coro_new(count_up, &a, 0), *cb = coro_new(count_up, &b, 0);
    assert_non_null(ca);
    assert_non_null(cb);
    assert_null(coro_current());
    while (!coro_done(ca) || !coro_done(cb)) {
        if (!coro_done(ca)) coro_resume(ca);
        if (!coro_done(cb)) coro_resume(cb);
        record(0);
    }
    int want[] = {10, 20, 0, 11, 21, 0, 12, 22, 0, 0};
    assert_int_equal(ntrace, (int)(sizeof want / sizeof want[0]));
    assert_memory_equal(trace, want, sizeof want);
    coro_free(ca);
    coro_free(cb);
}

/* Values live across switches stay intact: integers and doubles the
 * compiler keeps in callee-saved registers (rbx/r12-r15, x19-x28, d8-d15). */
static void keep_values(void *arg)
{
    long *out = arg;
    long i0 = out[0], i1 = i0 * 3, i2 = i0 * 5, i3 = i0 * 7;
    double d0 = (double)i0 / 3, d1 = d0 * 1.5, d2 = d0 * 2.5;
    for (int k = 0; k < 100; k++) {
        coro_yield();
        i0 += 1;
        i1 += 3;
        i2 += 5;
        i3 += 7;
        d0 += 1.0;
        d1 += 1.5;
        d2 += 2.5;
    }
    out[1] = i0 + i1 + i2 + i3;
    out[2] = (long)(d0 + d1 + d2);
}

static void test_registers_survive(void **state)
{
    (void)state;
    long a[3] = {3, 0, 0}, b[3] = {1000, 0, 0};
    struct coro *ca = coro_new(keep_values, a, 0), *cb = coro_new(keep_values, b, 0);
    assert_non_null(ca);
    assert_non_null(cb);
    double mine = 0.25; /* the resumer's own live values too */
    long mine_i = 7;
    while (!coro_done(ca)) {
        coro_resume(ca);
        coro_resume(cb);
        mine += 0.5;
        mine_i += 2;
    }
    assert_int_equal(a[1], 3 + 9 + 15 + 21 + 100 * 16);
    assert_int_equal(a[2], (long)(1.0 + 1.5 + 2.5 + 100 * 5.0));
    assert_int_equal(b[1], 1000 * 16 + 100 * 16);
    assert_true(mine == 0.25 + 101 * 0.5);
    assert_int_equal(mine_i, 7 + 101 * 2);
    coro_free(ca);
    coro_free(cb);
}

static struct coro *inner, *outer;

static void inner_fn(void *arg)
{
    (void)arg;
    assert_ptr_equal(coro_current(), inner);
    record(2);
    coro_yield();
    record(4);
}

static void outer_fn(void *arg)
{
    (void)arg;
    record(1);
    coro_resume(inner); /* a coroutine resuming another: its yield comes back here */
    assert_ptr_equal(coro_current(), outer);
    record(3);
    coro_yield();
    coro_resume(inner);
    record(5);
}

static void test_nested_resume(void **state)
{
    (void)state;
    ntrace = 0;
    inner = coro_new(inner_fn, NULL, 0);
    outer = coro_new(outer_fn, NULL, 0);
    assert_non_null(inner);
    assert_non_null(outer);
    coro_resume(outer);
    assert_null(coro_current());
    assert_false(coro_done(outer));
    coro_resume(outer);
    assert_true(coro_done(outer));
    assert_true(coro_done(inner));
    int want[] = {1, 2, 3, 4, 5};
    assert_int_equal(ntrace, 5);
    assert_memory_equal(trace, want, sizeof want);
    coro_free(outer);
    coro_free(inner);
}

/* A stack overflow hits the guard page: the process dies, nothing else is
 * overwritten silently. Run in a child, which must die of a signal (or of
 * ASan's report). */
static int deep(int n)
{
    volatile char buf[1024];
    buf[0] = (char)n;
    return n == 0 ? buf[0] : deep(n - 1) + buf[0];
}

static void overflow(void *arg)
{
    (void)arg;
    deep(1 << 20);
}

static void test_guard_page(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the default action: cmocka's handler would run on the broken stack
         * (and under TSan, deadlock in the forked child) */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        struct coro *c = coro_new(overflow, NULL, 64 * 1024);
        if (c) coro_resume(c);
        _exit(0); /* reached only if the overflow went unnoticed */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- the timer heap ---- */

static void test_heap_order(void **state)
{
    (void)state;
    enum { N = 500 };
    struct heap h = {0};
    static struct heap_node nodes[N];
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        nodes[i] = (struct heap_node){.key = (seed >> 8) % 1000};
        assert_int_equal(heap_push(&h, &nodes[i]), 0);
    }
    for (int i = 0; i < N; i += 3) /* remove from anywhere */
        heap_remove(&h, &nodes[i]);
    heap_remove(&h, &nodes[0]); /* twice: a no-op */
    uint64_t last = 0;
    size_t popped = 0;
    struct heap_node *top;
    while ((top = heap_top(&h))) {
        assert_true(top->key >= last);
        last = top->key;
        heap_remove(&h, top);
        assert_int_equal(top->slot, 0);
        popped++;
    }
    assert_int_equal(popped, N - (N + 2) / 3);
    heap_free(&h);
}

/* ---- the scheduler ---- */

enum { WAITERS = 300, EVERY = 30 }; /* 602 fds: under the usual limit of 1024 */

static struct csched *sched;
static int pipes[WAITERS][2];
static int stop_pipe[2];
static enum wait_result results[WAITERS];
static int wakeups[WAITERS];
static int order[WAITERS], norder;

static void pipe_waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    results[i] = csched_wait(sched, pipes[i][0], POLLIN, -1, -1, true);
    wakeups[i]++;
    order[norder++] = i;
}

/* Runs after every waiter has started waiting (spawned last, FIFO). */
static void writer(void *arg)
{
    (void)arg;
    for (int i = WAITERS - 1; i >= 0; i -= EVERY)
        assert_int_equal(write(pipes[i][1], "x", 1), 1);
    /* let them run before the stop */
    assert_int_equal(csched_wait(sched, -1, 0, -1, 0, false), WAIT_TIMEOUT);
    assert_int_equal(write(stop_pipe[1], "s", 1), 1);
}

static void open_pipes(void)
{
    assert_int_equal(pipe(stop_pipe), 0);
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(pipe(pipes[i]), 0);
}

static void close_pipes(void)
{
    for (int i = 0; i < WAITERS; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    close(stop_pipe[0]);
    close(stop_pipe[1]);
}

/* Many coroutines wait on pipes: only the written ones wake (once each),
 * the stop ends the others' waits. */
static void test_pipes_wake_only_ready(void **state)
{
    (void)state;
    open_pipes();
    sched = csched_new(stop_pipe[0]);
    assert_non_null(sched);
    memset(wakeups, 0, sizeof wakeups);
    norder = 0;
    for (int i = 0; i < WAITERS; i++)
        assert_int_equal(csched_spawn(sched, pipe_waiter, (void *)(intptr_t)i, 0), 0);
    assert_int_equal(csched_spawn(sched, writer, NULL, 0), 0);
    assert_int_equal(csched_run(sched), 0);
    assert_true(csched_stopping(sched));
    csched_free(sched);
    for (int k = 0; k < WAITERS / EVERY; k++) /* the written ones first, before the stop */
        assert_int_equal((WAITERS - 1 - order[k]) % EVERY, 0);
    for (int i = 0; i < WAITERS; i++) {
        assert_int_equal(wakeups[i], 1);
        bool written = (WAITERS - 1 - i) % EVERY == 0;
        assert_int_equal(results[i], written ? WAIT_READY : WAIT_STOP);
    }
    close_pipes();
}

static void sleeper(void *arg)
{
    int ms = (int)(intptr_t)arg;
    assert_int_equal(csched_wait(sched, -1, 0, -1, ms, false), WAIT_TIMEOUT);
    order[norder++] = ms;
}

/* Deadlines fire in their order, whatever the order of the waits. */
static void test_timers_in_deadline_order(void **state)
{
    (void)state;
    sched = csched_new(-1);
    assert_non_null(sched);
    norder = 0;
    int ms[] = {30, 5, 20, 0, 10, 25, 15};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        assert_int_equal(csched_spawn(sched, sleeper, (void *)(intptr_t)ms[i], 0), 0);
    assert_int_equal(csched_run(sched), 0);
    csched_free(sched);
    int want[] = {0, 5, 10, 15, 20, 25, 30};
    assert_int_equal(norder, 7);
    assert_memory_equal(order, want, sizeof want);
}

/* What fires while a coroutine waits for something else is not lost (the
 * edge-triggered backends report it once); a wait that does not watch the
 * stop goes on after it; a timeout on an fd that stays silent. */
static void late_waiter(void *arg)
{
    (void)arg;
    assert_int_equal(csched_own(sched, pipes[0][0]), 0);
    /* the pipe becomes readable during this wait for a timer */
    assert_int_equal(csched_wait(sched, -1, 0, -1, 20, false), WAIT_TIMEOUT);
    assert_int_equal(csched_wait(sched, pipes[0][0], POLLIN, -1, 5000, false), WAIT_READY);
    char c;
    assert_int_equal(read(pipes[0][0], &c, 1), 1);
    /* the stop was asked meanwhile: a wait that ignores it times out */
    assert_int_equal(csched_wait(sched, pipes[0][0], POLLIN, -1, 10, false), WAIT_TIMEOUT);
    assert_int_equal(csched_wait(sched, pipes[0][0], POLLIN, -1, 10, true), WAIT_STOP);
    assert_int_equal(csched_wait(sched, stop_pipe[0], POLLIN, -1, -1, true), WAIT_READY);
    assert_int_equal(csched_wait(sched, pipes[0][1], POLLOUT, -1, -1, false), WAIT_READY);
    csched_closed(sched, pipes[0][0]);
    order[norder++] = 1;
}

static void early_writer(void *arg)
{
    (void)arg;
    assert_int_equal(write(pipes[0][1], "x", 1), 1);
    assert_int_equal(write(stop_pipe[1], "s", 1), 1);
}

static void test_readiness_kept_and_stop(void **state)
{
    (void)state;
    open_pipes();
    sched = csched_new(stop_pipe[0]);
    assert_non_null(sched);
    norder = 0;
    assert_int_equal(csched_spawn(sched, late_waiter, NULL, 0), 0);
    assert_int_equal(csched_spawn(sched, early_writer, NULL, 0), 0);
    assert_int_equal(csched_run(sched), 0);
    csched_free(sched);
    assert_int_equal(norder, 1);
    close_pipes();
}

/* An FTP transfer's wait: the data fd (pipes[0]) stays silent, the control
 * fd (pipes[1]) becomes readable: WAIT_CONTROL. Already readable control
 * wins at once; a data fd ready with a silent control is WAIT_READY. */
static void transfer_waiter(void *arg)
{
    (void)arg;
    assert_int_equal(csched_own(sched, pipes[1][0]), 0);
    assert_int_equal(csched_wait(sched, pipes[0][0], POLLIN, pipes[1][0], 5000, false),
                     WAIT_CONTROL);
    char c;
    assert_int_equal(read(pipes[1][0], &c, 1), 1);
    assert_int_equal(write(pipes[0][1], "d", 1), 1);
    assert_int_equal(csched_wait(sched, pipes[0][0], POLLIN, pipes[1][0], 5000, false), WAIT_READY);
    assert_int_equal(read(pipes[0][0], &c, 1), 1);
    assert_int_equal(write(pipes[1][1], "q", 1), 1);
    csched_wait(sched, -1, 0, -1, 0, false); /* let the poller see it */
    assert_int_equal(csched_wait(sched, pipes[0][0], POLLIN, pipes[1][0], 5000, false),
                     WAIT_CONTROL);
    csched_closed(sched, pipes[0][0]);
    csched_closed(sched, pipes[1][0]);
    order[norder++] = 1;
}

static void control_writer(void *arg)
{
    (void)arg;
    assert_int_equal(write(pipes[1][1], "c", 1), 1);
}

static void test_control_fd_ends_transfer_wait(void **state)
{
    (void)state;
    open_pipes();
    sched = csched_new(stop_pipe[0]);
    assert_non_null(sched);
    norder = 0;
    assert_int_equal(csched_spawn(sched, transfer_waiter, NULL, 0), 0);
    assert_int_equal(csched_spawn(sched, control_writer, NULL, 0), 0);
    assert_int_equal(csched_run(sched), 0);
    csched_free(sched);
    assert_int_equal(norder, 1);
    close_pipes();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_registers_survive),
        cmocka_unit_test(test_nested_resume),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_heap_order),
        cmocka_unit_test(test_pipes_wake_only_ready),
        cmocka_unit_test(test_timers_in_deadline_order),
        cmocka_unit_test(test_readiness_kept_and_stop),
        cmocka_unit_test(test_control_fd_ends_transfer_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
