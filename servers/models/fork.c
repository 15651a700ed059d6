/* fork.c - a process per connection (the seeds' fork_server.py).
 *
 * 1. main.c created the listener.
 * 2. Wait for a client (or a stop); reap the children that exited.
 * 3. fork(): the child closes the listener, serves the client, exits;
 *    the parent closes the client's socket and goes back to 2.
 * Children are reaped as soon as they exit: the SIGCHLD handler writes to a
 * pipe the parent polls next to the listener (no race with poll()), so none
 * stays a zombie; on stop the parent waits for every child before returning.
 * The parent keeps a table of its children and their clients' addresses:
 * its size is what --max-conn is checked against, and reaping a child is
 * when its client leaves the --max-per-ip count (a child killed by a signal
 * leaves it too). */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The write end of the SIGCHLD pipe: the handler's only business. */
static int sigchld_w = -1;

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t n = write(sigchld_w, "c", 1); /* non-blocking: a full pipe is news enough */
    (void)n;
    errno = saved;
}

static int open_sigchld_pipe(int fds[2])
{
    if (pipe(fds) < 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    sigchld_w = fds[1];
    struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGCHLD, &sa, NULL);
}

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* 1: a client is waiting, 2: stop asked, 0: something else (a child exited). */
static int wait_event(const struct model_ctx *m, int sigchld_r)
{
    struct pollfd p[3] = {{.fd = m->listen_fd, .events = POLLIN},
                          {.fd = m->stop_fd, .events = POLLIN},
                          {.fd = sigchld_r, .events = POLLIN}};
    if (poll(p, 3, -1) <= 0) return 0;
    if (p[2].revents) drain(sigchld_r);
    if (p[1].revents) return 2;
    return p[0].revents ? 1 : 0;
}

/* The children serving a client, and whose client each serves. */
struct child {
    pid_t pid;
    struct peer_key key;
};

struct children {
    struct child *v;
    size_t n, cap;
};

/* Room for one more child; false when out of memory. */
static bool room_for_one(struct children *k)
{
    if (k->n < k->cap) return true;
    size_t cap = k->cap ? k->cap * 2 : 64;
    struct child *v = realloc(k->v, cap * sizeof *v);
    if (!v) return false;
    k->v = v;
    k->cap = cap;
    return true;
}

static void child_gone(const struct model_ctx *m, struct children *k, pid_t pid)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->v[i].pid != pid) continue;
        peer_limit_leave(m->per_ip, &k->v[i].key);
        k->v[i] = k->v[--k->n];
        return;
    }
}

static void reap(const struct model_ctx *m, struct children *k, bool block)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
        if (pid > 0) {
            child_gone(m, k, pid);
            if (WIFSIGNALED(status))
                model_error("child %ld killed by signal %d", (long)pid, WTERMSIG(status));
            continue;
        }
        if (pid < 0 && errno == EINTR) continue;
        return; /* 0: none exited yet; -1/ECHILD: no children left */
    }
}

static void serve_in_child(const struct model_ctx *m, int fd, const char *peer, int sigchld[2])
{
    close(m->listen_fd);
    close(sigchld[0]);
    close(sigchld[1]);
    signal(SIGCHLD, SIG_DFL);
    drive_blocking(m, &io_blocking, fd, peer);
    _exit(0);
}

/* Forks a child for the client (counted in for --max-per-ip already). */
static void hand_over(const struct model_ctx *m, struct children *k, int fd, const char *peer,
                      const struct peer_key *key, int sigchld[2])
{
    pid_t pid = room_for_one(k) ? fork() : (errno = ENOMEM, -1);
    if (pid == 0) serve_in_child(m, fd, peer, sigchld);
    close(fd);
    if (pid < 0) {
        model_error("fork: %s", strerror(errno));
        peer_limit_leave(m->per_ip, key);
        return;
    }
    k->v[k->n++] = (struct child){.pid = pid, .key = *key};
}

static int fork_run(const struct model_ctx *m)
{
    int sigchld[2];
    if (open_sigchld_pipe(sigchld) < 0) {
        model_error("fork: SIGCHLD pipe: %s", strerror(errno));
        return -1;
    }
    struct children kids = {0};
    for (;;) {
        int r = wait_event(m, sigchld[0]);
        reap(m, &kids, false);
        if (r == 2) break;
        if (r != 1) continue;
        char peer[64];
        struct peer_key key;
        int fd = accept_or_pause(m, peer, sizeof peer, &key);
        if (fd < 0) continue; /* EAGAIN: another wake-up; errors are the client's */
        if (m->max_conn && kids.n >= m->max_conn)
            refuse_client(fd, m, peer);
        else if (admit_per_ip(m, fd, &key, peer))
            hand_over(m, &kids, fd, peer, &key, sigchld);
    }
    /* stop: children see stop_fd too and finish their in-flight answers */
    close(m->listen_fd);
    reap(m, &kids, true);
    free(kids.v);
    close(sigchld[0]);
    close(sigchld[1]);
    return 0;
}

const struct model model_fork = {
    .name = "fork",
    .summary = "a process per connection",
    .run = fork_run,
    .cap = CAP_TASKS,
};
