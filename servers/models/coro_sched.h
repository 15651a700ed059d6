/* coro_sched.h - the coroutine scheduler: coroutines that wait for sockets,
 * deadlines and a stop, on one thread (as gevent's hub on libev).
 *
 * A coroutine calls csched_wait() where a thread would block in poll(); the
 * scheduler switches to the next runnable coroutine and, when none is left,
 * sleeps in the poller (coro_poll.h) until the earliest deadline (a binary
 * heap, coro_heap.h). A wake-up costs O(fired events + expired timers):
 * no coroutine is looked at unless its fd fired, its deadline passed, or
 * the stop fd became readable (which wakes every wait that watches it).
 */
#ifndef SERVERMODELS_CORO_SCHED_H
#define SERVERMODELS_CORO_SCHED_H

#include <stdbool.h>

#include "coro.h"
#include "model.h" /* enum wait_result */

struct csched;

/* stop_fd: readable once a stop is asked, never drained (-1: none). NULL
 * with errno. */
struct csched *csched_new(int stop_fd);
/* After csched_run() returned (no coroutine left). */
void csched_free(struct csched *s);

/* A new coroutine running fn(arg) at the scheduler's next turn, on a stack
 * of stack_size bytes (0: coro_default_stack()). 0, or -1 with errno. */
int csched_spawn(struct csched *s, coro_fn fn, void *arg, size_t stack_size);

/* fd belongs to the calling coroutine until csched_closed(fd): watched from
 * now on, so its waits cost no system call. Other fds (an FTP data socket)
 * may be waited for too; each such wait re-adds the fd (one system call),
 * since the scheduler cannot see them being closed and their number reused.
 * 0, or -1 with errno. */
int csched_own(struct csched *s, int fd);
/* fd was closed (or is about to be): forget it. */
void csched_closed(struct csched *s, int fd);

/* From a coroutine: waits until fd is ready for events (POLLIN/POLLOUT),
 * control_fd (-1: none) is readable (WAIT_CONTROL: an FTP transfer's
 * control connection), timeout_ms passed (-1: never), or, if watch_stop, a
 * stop was asked. The
 * contract of wait_fd() (model.h): fd -1 (or events 0) waits for the
 * timeout and the stop only; a wait on the stop fd itself is READY on a
 * stop. A wake-up may be spurious (the fd no longer ready): the caller
 * retries its I/O and waits again on EAGAIN, as after poll(). */
enum wait_result csched_wait(struct csched *s, int fd, short events, int control_fd, int timeout_ms,
                             bool watch_stop);

/* The running coroutine, for csched_wake(); NULL outside one. */
void *csched_current(struct csched *s);
/* Ends the wait of coroutine co (csched_current()'s) with WAIT_READY, if it
 * waits: a coroutine waiting for nothing (fd -1, no timeout, no stop) waits
 * for this. From another coroutine of the same scheduler. */
void csched_wake(struct csched *s, void *co);

/* Runs the coroutines until none is left. 0, or -1 when the poller fails
 * (errno; the coroutines still alive are then abandoned). */
int csched_run(struct csched *s);

/* True once the stop fd became readable. */
bool csched_stopping(const struct csched *s);

#endif
