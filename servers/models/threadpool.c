/* threadpool.c - fixed worker threads fed by a bounded queue of clients.
 *
 * 1. main.c created the listener; start --workers N threads (default 8).
 * 2. The main thread accepts and puts each client in a queue of QUEUE_CAP.
 * 3. A free worker takes the oldest client and serves it to the end.
 * 4. Backpressure: when the queue is full, the client is refused (HTTP 503)
 *    at once rather than left waiting behind busy workers.
 * On stop: no more accepts; workers finish the queued and in-flight clients
 * (a client between requests is closed by drive_blocking), then exit.
 * Out of descriptors, accept_or_pause() sleeps on the stop pipe a while. */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_WORKERS 8
#define QUEUE_CAP 64

struct queued {
    int fd;
    char peer[64];
    struct peer_key key; /* counted in --max-per-ip */
};

struct pool {
    const struct model_ctx *m;
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct queued q[QUEUE_CAP];
    unsigned head, len;
    unsigned busy; /* clients being served (for --max-conn) */
    bool closing;
};

static void *worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->len == 0 && !p->closing)
            pthread_cond_wait(&p->nonempty, &p->lock);
        if (p->len == 0) { /* closing and drained */
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        struct queued c = p->q[p->head];
        p->head = (p->head + 1) % QUEUE_CAP;
        p->len--;
        p->busy++;
        pthread_mutex_unlock(&p->lock);

        drive_blocking(p->m, &io_blocking, c.fd, c.peer);
        peer_limit_leave(p->m->per_ip, &c.key);

        pthread_mutex_lock(&p->lock);
        p->busy--;
        pthread_mutex_unlock(&p->lock);
    }
}

/* Queues a client, or refuses it when the queue (or --max-conn, or its
 * address's --max-per-ip) is full. */
static void enqueue(struct pool *p, int fd, const char *peer, const struct peer_key *key)
{
    const struct model_ctx *m = p->m;
    if (!admit_per_ip(m, fd, key, peer)) return;
    pthread_mutex_lock(&p->lock);
    bool full = p->len == QUEUE_CAP || (m->max_conn && p->len + p->busy >= m->max_conn);
    if (!full) {
        struct queued *slot = &p->q[(p->head + p->len) % QUEUE_CAP];
        slot->fd = fd;
        slot->key = *key;
        snprintf(slot->peer, sizeof slot->peer, "%s", peer);
        p->len++;
        pthread_cond_signal(&p->nonempty);
    }
    pthread_mutex_unlock(&p->lock);
    if (!full) return;
    peer_limit_leave(m->per_ip, key);
    refuse_client(fd, m, peer);
}

static int threadpool_run(const struct model_ctx *m)
{
    unsigned n = m->workers ? m->workers : DEFAULT_WORKERS;
    struct pool p = {.m = m};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.nonempty, NULL);
    pthread_t *tids = calloc(n, sizeof *tids);
    if (!tids) return -1;
    unsigned started = 0;
    while (started < n && pthread_create(&tids[started], NULL, worker, &p) == 0)
        started++;
    if (started == 0) {
        model_error("threadpool: cannot start a worker");
        free(tids);
        return -1;
    }
    for (;;) {
        if (wait_fd(m, m->listen_fd, POLLIN, -1, true) != WAIT_READY) break; /* stop */
        char peer[64];
        struct peer_key key;
        int fd = accept_or_pause(m, peer, sizeof peer, &key);
        if (fd >= 0) enqueue(&p, fd, peer, &key);
    }
    close(m->listen_fd);
    pthread_mutex_lock(&p.lock);
    p.closing = true;
    pthread_cond_broadcast(&p.nonempty);
    pthread_mutex_unlock(&p.lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.nonempty);
    return 0;
}

const struct model model_threadpool = {
    .name = "threadpool",
    .summary = "fixed worker threads and a bounded queue (--workers N, default 8)",
    .run = threadpool_run,
    .cap = CAP_NONE,
};
