/* fork.c - a process per connection (the seeds' fork_server.py).
 *
 * 1. main.c created the listener.
 * 2. Wait for a client (or a stop); reap the children that exited.
 * 3. fork(): the child closes the listener, serves the client, exits;
 *    the parent closes the client's socket and goes back to 2.
 * Children are reaped from a SIGCHLD-interrupted wait, so none stays a
 * zombie; on stop the parent waits for every child before returning. */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* SIGCHLD only has to interrupt poll(); the reaping happens in the loop. */
static void on_sigchld(int sig)
{
    (void)sig;
}

static unsigned reap(bool block)
{
    unsigned n = 0;
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
        if (pid > 0) {
            n++;
            if (WIFSIGNALED(status)) model_error("child %ld killed by signal %d", (long)pid,
                                                 WTERMSIG(status));
            continue;
        }
        if (pid < 0 && errno == EINTR) continue;
        return n; /* 0: none exited yet; -1/ECHILD: no children left */
    }
}

static void serve_in_child(const struct model_ctx *m, int fd, const char *peer)
{
    close(m->listen_fd);
    signal(SIGCHLD, SIG_DFL);
    drive_blocking(m, &io_blocking, fd, peer);
    _exit(0);
}

static int fork_run(const struct model_ctx *m)
{
    struct sigaction sa = {.sa_handler = on_sigchld}; /* no SA_RESTART: poll returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);

    unsigned live = 0;
    for (;;) {
        /* the timeout is a backstop for a SIGCHLD that arrives just before poll */
        int r = wait_fd(m, m->listen_fd, POLLIN, 1000, true);
        unsigned gone = reap(false);
        live = gone > live ? 0 : live - gone;
        if (r == 2) break;
        if (r != 1) continue;
        char peer[64];
        int fd = listener_accept(m->listen_fd, peer, sizeof peer);
        if (fd < 0) continue; /* EAGAIN: another wake-up; errors are the client's */
        if (m->max_conn && live >= m->max_conn) {
            refuse_client(fd, m, peer);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) serve_in_child(m, fd, peer);
        if (pid < 0)
            refuse_client(fd, m, peer); /* out of processes: same as over the limit */
        else {
            live++;
            close(fd);
        }
    }
    /* stop: children see stop_fd too and finish their in-flight answers */
    close(m->listen_fd);
    reap(true);
    return 0;
}

const struct model model_fork = {
    .name = "fork",
    .summary = "a process per connection",
    .run = fork_run,
};
