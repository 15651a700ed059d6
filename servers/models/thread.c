/* thread.c - a thread per connection (the seeds' thread server).
 *
 * 1. main.c created the listener.
 * 2. Wait for a client (or a stop).
 * 3. Start a detached thread that serves it; back to 2.
 * Threads get a small explicit stack (THREAD_STACK) so thousands fit; the
 * shared state is the count of live threads, under a mutex, and the
 * --max-per-ip table (its own lock). On stop, wait until every thread has
 * finished its in-flight answer. Out of descriptors, accept_or_pause()
 * sleeps on the stop pipe a while. */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Deliberately small: the deepest frame chain (an HTTP answer: route(),
 * fsroot's path buffers, the filecache) stays well under 64 KiB; the I/O
 * buffers are on the heap and given back while the client is idle
 * (bufpool.h), so an idle thread holds only the stack pages it touched. */
#define THREAD_STACK (256 * 1024)

struct live_count {
    pthread_mutex_t lock;
    pthread_cond_t zero;
    unsigned n;
};

struct client {
    const struct model_ctx *m;
    struct live_count *live;
    int fd;
    char peer[64];
    struct peer_key key; /* counted in --max-per-ip */
};

static void count_out(struct live_count *live)
{
    pthread_mutex_lock(&live->lock);
    if (--live->n == 0) pthread_cond_signal(&live->zero);
    pthread_mutex_unlock(&live->lock);
}

static void *serve(void *arg)
{
    struct client *c = arg;
    drive_blocking(c->m, &io_blocking, c->fd, c->peer);
    peer_limit_leave(c->m->per_ip, &c->key);
    count_out(c->live);
    free(c);
    return NULL;
}

/* Starts a thread for the client, or refuses it. */
static void hand_over(const struct model_ctx *m, struct live_count *live, pthread_attr_t *attr,
                      int fd, const char *peer, const struct peer_key *key)
{
    pthread_mutex_lock(&live->lock);
    bool full = m->max_conn && live->n >= m->max_conn;
    if (!full) live->n++;
    pthread_mutex_unlock(&live->lock);
    if (full) {
        refuse_client(fd, m, peer);
        return;
    }
    if (!admit_per_ip(m, fd, key, peer)) {
        count_out(live);
        return;
    }
    struct client *c = malloc(sizeof *c);
    pthread_t tid;
    int rc = ENOMEM;
    if (c) {
        *c = (struct client){.m = m, .live = live, .fd = fd, .key = *key};
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        rc = pthread_create(&tid, attr, serve, c);
    }
    if (rc == 0) return;
    model_error("cannot start a thread for %s: %s", peer, strerror(rc));
    free(c);
    close(fd);
    peer_limit_leave(m->per_ip, key);
    count_out(live);
}

static int thread_run(const struct model_ctx *m)
{
    struct live_count live = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    /* a page no frame may reach: an overflow faults at once instead of
     * writing over the next thread's stack (glibc's default, said outright) */
    pthread_attr_setguardsize(&attr, (size_t)sysconf(_SC_PAGESIZE));

    for (;;) {
        /* a stop (or a failed poll) ends accepting */
        if (wait_fd(m, m->listen_fd, POLLIN, -1, true) != WAIT_READY) break;
        char peer[64];
        struct peer_key key;
        int fd = accept_or_pause(m, peer, sizeof peer, &key);
        if (fd >= 0) hand_over(m, &live, &attr, fd, peer, &key);
    }
    close(m->listen_fd);
    /* stop: threads see stop_fd too; wait for the in-flight ones */
    pthread_mutex_lock(&live.lock);
    while (live.n > 0)
        pthread_cond_wait(&live.zero, &live.lock);
    pthread_mutex_unlock(&live.lock);
    pthread_attr_destroy(&attr);
    return 0;
}

const struct model model_thread = {
    .name = "thread",
    .summary = "a thread per connection",
    .run = thread_run,
    .cap = CAP_TASKS,
};
