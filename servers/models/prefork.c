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
 * is kept with a counter of busy workers in memory shared by all of them. */
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

static void worker_loop(const struct model_ctx *m, atomic_uint *busy)
{
    signal(SIGCHLD, SIG_DFL);
    for (;;) {
        if (wait_fd(m, m->listen_fd, POLLIN, -1, true) != WAIT_READY)
            break; /* stop (or a broken poll) */
        char peer[64];
        int fd = listener_accept(m->listen_fd, peer, sizeof peer);
        if (fd < 0) continue; /* EAGAIN: another worker won this client */
        unsigned others = atomic_fetch_add(busy, 1);
        if (m->max_conn && others >= m->max_conn)
            refuse_client(fd, m, peer);
        else
            drive_blocking(m, &io_blocking, fd, peer);
        atomic_fetch_sub(busy, 1);
    }
    _exit(0);
}

static pid_t spawn(const struct model_ctx *m, atomic_uint *busy)
{
    pid_t pid = fork();
    if (pid == 0) worker_loop(m, busy);
    if (pid < 0) model_error("fork: %s", strerror(errno));
    return pid;
}

static int prefork_run(const struct model_ctx *m)
{
    unsigned n = m->workers ? m->workers : DEFAULT_WORKERS;
    pid_t *pids = calloc(n, sizeof *pids);
    atomic_uint *busy =
        mmap(NULL, sizeof *busy, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!pids || busy == MAP_FAILED) {
        free(pids);
        return -1;
    }
    atomic_init(busy, 0);
    for (unsigned i = 0; i < n; i++)
        pids[i] = spawn(m, busy);

    /* supervise: waitpid() returns when a worker exits; the stop pipe ends it */
    while (!stop_requested(m)) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) continue; /* SIGTERM: the loop checks the stop */
        if (pid < 0) break;
        for (unsigned i = 0; i < n; i++) {
            if (pids[i] != pid) continue;
            model_error("worker %ld exited (status %d); respawning", (long)pid, status);
            pids[i] = stop_requested(m) ? -1 : spawn(m, busy);
        }
    }
    close(m->listen_fd);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    free(pids);
    munmap(busy, sizeof *busy);
    return 0;
}

const struct model model_prefork = {
    .name = "prefork",
    .summary = "N processes accept on one listener (--workers N, default 4)",
    .run = prefork_run,
};
