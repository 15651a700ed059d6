/* evloop.h - the event loop of the event-driven models, over a poller backend.
 *
 * Like Redis's ae.c: one small loop (evloop.c) and one file per poller
 * (epoll.c, poll.c, select.c, kqueue.c), each a struct poller. The loop
 * accepts, runs connections with evconn_run() (drive_event.c), re-arms the
 * poller for what each waits for next, expires idle clients and stops. */
#ifndef SERVERMODELS_EVLOOP_H
#define SERVERMODELS_EVLOOP_H

#include <stdatomic.h>

#include "model.h"

enum { POLL_IN = 1, POLL_OUT = 2 };

struct poll_event {
    void *ptr;  /* what was registered with the fd */
    int events; /* POLL_IN / POLL_OUT (errors and hang-ups count as both) */
};

struct poller {
    const char *name;
    /* max_fds: the most fds the loop will register (select: refuse above FD_SETSIZE). */
    void *(*create)(const struct model_ctx *m);
    void (*destroy)(void *p);
    /* 0, or -1 with errno (e.g. EMFILE / fd too large for select) */
    int (*add)(void *p, int fd, int events, void *ptr);
    int (*modify)(void *p, int fd, int events, void *ptr);
    void (*remove)(void *p, int fd); /* before close(fd) */
    /* Up to max events; timeout_ms -1 = forever. Returns count, or -1 (errno). */
    int (*wait)(void *p, struct poll_event *out, int max, int timeout_ms);
};

#ifdef HAVE_MODEL_EPOLL
extern const struct poller epoll_poller; /* reuseport runs one per thread */
#endif

/* Serves on listen_fd until a stop; 0 on a clean stop. live: a client count
 * shared by several loops of one server for --max-conn (NULL: this loop's). */
int evloop_run(const struct model_ctx *m, int listen_fd, const struct poller *backend,
               atomic_uint *live);

#endif
