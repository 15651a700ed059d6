/* evloop.h - the event loop of the event-driven models, over a poller backend.
 *
 * As Redis's ae.c: one small loop (evloop.c) and one file per poller
 * (epoll.c, poll.c, select.c, kqueue.c, nonblock.c). The loop owns an
 * fd-indexed table of what each fd is watched for and whose it is; a backend
 * only turns set(fd, mask) and wait() into its system calls and reports each
 * fired event as fd + mask. The loop maps the fd back to its connection,
 * runs it with evconn_run() (drive_event.c), and sets what it waits for next.
 */
#ifndef SERVERMODELS_EVLOOP_H
#define SERVERMODELS_EVLOOP_H

#include <stdatomic.h>

#include "model.h"

/* POLL_HUP: the peer's end (or an error) came, so the socket stays readable
 * until the EOF is read; edge-triggered backends say so, as nginx's
 * pending_eof, because no further edge follows the EOF. */
enum { POLL_IN = 1, POLL_OUT = 2, POLL_HUP = 4 };

struct fired_event {
    int fd;
    int mask; /* POLL_IN / POLL_OUT that fired (errors and hang-ups count as both,
                 and POLL_HUP) */
};

struct poller {
    const char *name;
    void *(*create)(const struct model_ctx *m);
    void (*destroy)(void *p);
    /* Watches fd for mask (POLL_IN | POLL_OUT); old is the mask set before
     * (0: not watched). mask 0 stops watching fd, which may already be closed
     * (never fails). An edge-triggered backend may report events outside
     * mask: the loop drops them. 0, or -1 with errno (EMFILE: select's fd
     * above FD_SETSIZE). */
    int (*set)(void *p, int fd, int mask, int old);
    /* Up to max fired events; timeout_ms -1 = forever. Returns the count, or
     * -1 (errno). */
    int (*wait)(void *p, struct fired_event *out, int max, int timeout_ms);
};

#ifdef HAVE_MODEL_EPOLL
extern const struct poller epoll_poller; /* reuseport runs one per thread */
#endif

/* Serves on listen_fd until a stop; 0 on a clean stop. live: a client count
 * shared by several loops of one server for --max-conn (NULL: this loop's).
 * listen_fd is closed when it returns, also when the loop cannot start (no
 * descriptor for the poller): a SO_REUSEPORT listener left open with no loop
 * would get its share of new connections and never accept them. */
int evloop_run(const struct model_ctx *m, int listen_fd, const struct poller *backend,
               atomic_uint *live);

#endif
