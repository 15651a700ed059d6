/* prefork.c - N worker processes accept on one shared listener (Apache prefork).
 *
 * 1. main.c created the listener; fork --workers N processes (default 4).
 * 2. Each worker waits for the listener to be readable and accepts. All of
 *    them wake for one client (the thundering herd); the listener is
 *    non-blocking, so the losers get EAGAIN and go back to waiting.
 * 3. A worker serves its client to the end, then accepts the next.
 * 4. The parent only supervises: a worker that dies is replaced (respawn);
 *    on stop it waits for every worker to finish its in-flight answer.
 * Concurrency is N: a client beyond N waits in the listen queue. --max-conn
 * is kept with a counter of busy workers in memory shared by all of them,
 * --max-per-ip with the shared table of peer_limit.c; each worker notes in
 * its shared slot what it counted, so the parent can take a dead worker's
 * client out of both counts. */
#include "bsd_ext.h" /* MAP_ANONYMOUS: BSD, not POSIX 2008 */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_WORKERS 4

/* What a worker counted for its current client. */
enum { SLOT_IDLE, SLOT_BUSY /* in busy */, SLOT_PER_IP /* and in --max-per-ip */ };

struct worker_slot {
    atomic_int state;
    struct peer_key key;
};

struct shared {
    atomic_uint busy; /* clients being served, for --max-conn */
    struct worker_slot slot[];
};

/* Serves one client in worker slot w, keeping the counts. */
static void serve_one(const struct model_ctx *m, struct shared *sh, struct worker_slot *w, int fd,
                      const char *peer, const struct peer_key *key)
{
    unsigned others = atomic_fetch_add(&sh->busy, 1);
    atomic_store(&w->state, SLOT_BUSY);
    if (m->max_conn && others >= m->max_conn) {
        refuse_client(fd, m, peer);
    } else if (admit_per_ip(m, fd, key, peer)) {
        w->key = *key;
        atomic_store(&w->state, SLOT_PER_IP);
        drive_blocking(m, &io_blocking, fd, peer);
        peer_limit_leave(m->per_ip, key);
    }
    atomic_store(&w->state, SLOT_IDLE);
    atomic_fetch_sub(&sh->busy, 1);
}

static void worker_loop(const struct model_ctx *m, struct shared *sh, struct worker_slot *w)
{
    signal(SIGCHLD, SIG_DFL);
    for (;;) {
        if (wait_fd(m, m->listen_fd, POLLIN, -1, true) != WAIT_READY)
            break; /* stop (or a broken poll) */
        char peer[64];
        struct peer_key key;
        int fd = accept_or_pause(m, peer, sizeof peer, &key);
        if (fd < 0) continue; /* EAGAIN: another worker won this client */
        serve_one(m, sh, w, fd, peer, &key);
    }
    _exit(0);
}

static pid_t spawn(const struct model_ctx *m, struct shared *sh, unsigned i)
{
    pid_t pid = fork();
    if (pid == 0) worker_loop(m, sh, &sh->slot[i]);
    if (pid < 0) model_error("fork: %s", strerror(errno));
    return pid;
}

/* A worker died: what it counted for its client is no longer so. */
static void release_slot(const struct model_ctx *m, struct shared *sh, struct worker_slot *w)
{
    int state = atomic_exchange(&w->state, SLOT_IDLE);
    if (state == SLOT_PER_IP) peer_limit_leave(m->per_ip, &w->key);
    if (state != SLOT_IDLE) atomic_fetch_sub(&sh->busy, 1);
}

static int prefork_run(const struct model_ctx *m)
{
    unsigned n = m->workers ? m->workers : DEFAULT_WORKERS;
    size_t bytes = sizeof(struct shared) + n * sizeof(struct worker_slot);
    pid_t *pids = calloc(n, sizeof *pids);
    struct shared *sh =
        mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!pids || sh == MAP_FAILED) {
        free(pids);
        return -1;
    }
    atomic_init(&sh->busy, 0);
    for (unsigned i = 0; i < n; i++) {
        atomic_init(&sh->slot[i].state, SLOT_IDLE);
        pids[i] = spawn(m, sh, i);
    }

    /* supervise: waitpid() returns when a worker exits; the stop pipe ends it */
    while (!stop_requested(m)) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) continue; /* SIGTERM: the loop checks the stop */
        if (pid < 0) break;
        for (unsigned i = 0; i < n; i++) {
            if (pids[i] != pid) continue;
            model_error("worker %ld exited (status %d); respawning", (long)pid, status);
            release_slot(m, sh, &sh->slot[i]);
            pids[i] = stop_requested(m) ? -1 : spawn(m, sh, i);
        }
    }
    close(m->listen_fd);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    free(pids);
    munmap(sh, bytes);
    return 0;
}

const struct model model_prefork = {
    .name = "prefork",
    .summary = "N processes accept on one listener (--workers N, default 4)",
    .run = prefork_run,
    .cap = CAP_NONE,
};
