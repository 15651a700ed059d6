/* coro_poll.h - how the coroutine scheduler waits for sockets: epoll on
 * Linux, kqueue on the BSDs and macOS, poll() anywhere else.
 *
 * epoll and kqueue are edge-triggered (EPOLLET, EV_CLEAR): an fd is added
 * once for both directions and reports each change of its readiness once,
 * so a wake-up costs O(ready) and a coroutine's wait costs no system call.
 * The scheduler remembers what fired while nobody waited for it (coro_sched.c),
 * as Go's netpoller does. poll() is level-triggered and only watches the fds
 * someone waits for at the moment (cpoll_want), O(waiting) per wake-up: the
 * portable fallback. */
#ifndef SERVERMODELS_CORO_POLL_H
#define SERVERMODELS_CORO_POLL_H

#include <stdbool.h>

/* CP_HUP: the peer's end (or an error) came: readable until the EOF is read
 * (no edge follows it), so the scheduler keeps CP_IN ready from then on. */
enum { CP_IN = 1, CP_OUT = 2, CP_HUP = 4 };

struct cp_event {
    int fd;
    int mask; /* CP_IN / CP_OUT that fired (errors and hang-ups count as both,
                 and CP_HUP) */
};

struct cpoll;

/* "epoll", "kqueue" or "poll". */
const char *cpoll_name(void);
struct cpoll *cpoll_new(void); /* NULL with errno */
void cpoll_free(struct cpoll *p);
/* Starts watching fd. 0: newly added (forget what fired before), 1: it was
 * watched already (epoll's EEXIST: the same open socket), -1 with errno. */
int cpoll_add(struct cpoll *p, int fd);
/* Level-triggered backends watch fd for mask (0: stop) only while this
 * says so; edge-triggered ones ignore it. 0 or -1 with errno. */
int cpoll_want(struct cpoll *p, int fd, int mask);
/* Stops watching fd (it stays open, or was closed already). */
void cpoll_forget(struct cpoll *p, int fd);
/* Up to max events; timeout_ms -1 = forever. The count, or -1 with errno. */
int cpoll_wait(struct cpoll *p, struct cp_event *out, int max, int timeout_ms);

#endif
