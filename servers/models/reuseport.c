/* reuseport.c - N epoll loops on N threads, each with its own SO_REUSEPORT
 * listener on the same address (nginx's `reuseport`).
 *
 * 1. main.c created the first listener (with SO_REUSEPORT set).
 * 2. Open N-1 more on the same address; the kernel spreads new connections
 *    over them by a hash of the client's address.
 * 3. Run evloop_run() with the epoll poller on each, one thread per loop.
 *    The loops share nothing but the (read-only) model_ctx, stop_fd and
 *    the atomic count of clients that --max-conn is checked against.
 * 4. On stop each loop finishes its own connections; join them all. */
#include "evloop.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_LOOPS 2 /* one per core of the reference machine */

struct loop_thread {
    pthread_t tid;
    const struct model_ctx *m;
    int listen_fd;
    atomic_uint *live; /* clients of all loops, for --max-conn */
    int rc;
};

static void *loop_main(void *arg)
{
    struct loop_thread *t = arg;
    t->rc = evloop_run(t->m, t->listen_fd, &epoll_poller, t->live);
    /* a loop that could not start closed its listener (evloop.h), so the
     * kernel spreads new clients over the others only */
    return NULL;
}

/* Another listener on the address the first one got (its real port). */
static int open_sibling(const struct model_ctx *m)
{
    char host[NI_MAXHOST], port[NI_MAXSERV], err[300];
    if (getnameinfo((const struct sockaddr *)&m->addr, m->addrlen, host, sizeof host, port,
                    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t len;
    int fd = listener_open(host, port, true, &ss, &len, err, sizeof err);
    if (fd < 0) model_error("reuseport: %s", err);
    return fd;
}

static int reuseport_run(const struct model_ctx *m)
{
    unsigned n = m->workers ? m->workers : DEFAULT_LOOPS;
    struct loop_thread *t = calloc(n, sizeof *t);
    if (!t) return -1;
    atomic_uint live = 0;
    unsigned started = 0;
    int rc = 0;
    for (; started < n; started++) {
        t[started].m = m;
        t[started].live = &live;
        t[started].listen_fd = started == 0 ? m->listen_fd : open_sibling(m);
        if (t[started].listen_fd < 0) break;
        int e = pthread_create(&t[started].tid, NULL, loop_main, &t[started]);
        if (e) {
            model_error("reuseport: cannot start loop %u: %s", started, strerror(e));
            if (started > 0) close(t[started].listen_fd);
            break;
        }
    }
    if (started < n) rc = -1; /* the loops started still serve until the stop */
    for (unsigned i = 0; i < started; i++) {
        pthread_join(t[i].tid, NULL);
        if (t[i].rc) rc = -1;
    }
    free(t);
    return rc;
}

const struct model model_reuseport = {
    .name = "reuseport",
    .summary = "N epoll loops on N threads, a SO_REUSEPORT listener each (--workers N)",
    .run = reuseport_run,
    .reuseport = true,
    .cap = CAP_FDS,
};
