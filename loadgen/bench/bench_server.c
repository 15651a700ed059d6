/* bench_server.c - the server under test: start, readiness line, stop
 * (bench_server.h). Processes and /proc accounting are child.c's. */
#include "bench_server.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loadgen.h"

static double now_s(void)
{
    return (double)lg_now_ns() / 1e9;
}

/* An unlinked temporary file (the server's stderr). */
static int tmpfile_fd(void)
{
    const char *dir = getenv("TMPDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/loadgen-bench-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path);
    child_set_cloexec(fd);
    return fd;
}

/* The last non-empty line of what the server wrote on stderr. */
static void stderr_tail(int fd, char *buf, size_t len)
{
    buf[0] = '\0';
    if (fd < 0) return;
    char tmp[512];
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof tmp - 1 ? size - (off_t)sizeof tmp + 1 : 0;
    ssize_t n = size > 0 ? pread(fd, tmp, (size_t)(size - from), from) : 0;
    if (n <= 0) return;
    tmp[n] = '\0';
    while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r'))
        tmp[--n] = '\0';
    char *line = strrchr(tmp, '\n');
    lg_copy(buf, len, line ? line + 1 : tmp);
}

/* buf[0..*len) holds complete lines: the address of a "listening on" one
 * into s->target (true), the others dropped. */
static bool find_ready_line(struct server *s, char *buf, size_t *len)
{
    static const char ready[] = "listening on ";
    char *nl;
    while ((nl = memchr(buf, '\n', *len)) != NULL) {
        *nl = '\0';
        if (strncmp(buf, ready, sizeof ready - 1) == 0) {
            char *addr = buf + sizeof ready - 1;
            addr[strcspn(addr, "\r")] = '\0';
            lg_copy(s->target, sizeof s->target, addr);
            return true;
        }
        *len -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, *len);
    }
    return false;
}

/* The readiness line "listening on HOST:PORT" on the server's stdout,
 * within timeout_s. 0 (s->target set), or -1 (EOF or deadline; why set). */
static int wait_ready(struct server *s, double timeout_s, char *why, size_t whylen)
{
    char buf[4096];
    size_t len = 0;
    double deadline = now_s() + timeout_s;
    for (;;) {
        if (find_ready_line(s, buf, &len)) return 0;
        if (len == sizeof buf) {
            snprintf(why, whylen, "a line of 4 KiB on stdout, no 'listening on'");
            return -1;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            snprintf(why, whylen, "not ready within %g s (no 'listening on' line)", timeout_s);
            return -1;
        }
        struct pollfd p = {.fd = s->out, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0) continue;
        ssize_t n = read(s->out, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(why, whylen, "closed its stdout without a 'listening on' line");
            return -1;
        }
        len += (size_t)n;
    }
}

void server_explain_exit(struct server *s, const char *when, char *why, size_t whylen)
{
    if (!child_wait(&s->c, 1)) return; /* still running: keep the first reason */
    char st[96], tail[200];
    child_describe(s->c.status, st, sizeof st);
    stderr_tail(s->errf, tail, sizeof tail);
    snprintf(why, whylen, "%.60s %.60s%s%.120s", when, st, tail[0] ? ": " : "", tail);
}

void server_close(struct server *s)
{
    if (s->c.pid > 0) child_kill(&s->c);
    pid_t pgid = -s->c.pid; /* reaped: child_reap negated the pid */
    if (pgid > 0 && s->c.group && child_group_alive(pgid)) kill(-pgid, SIGKILL);
    if (s->out >= 0) close(s->out);
    if (s->errf >= 0) close(s->errf);
    s->out = s->errf = -1;
    if (s->cg.cpu_dir[0] || s->cg.mem_dir[0]) {
        char note[400];
        cgroup_kill(&s->cg); /* what left the process group stays in the cgroup */
        if (cgroup_remove(&s->cg, 2, note, sizeof note) < 0)
            fprintf(stderr, "loadgen bench: note: %s\n", note);
    }
}

/* It exited 2 saying "unknown protocol": it does not speak that one. */
static bool refused_protocol(struct server *s)
{
    if (s->c.pid >= 0 || !WIFEXITED(s->c.status) || WEXITSTATUS(s->c.status) != 2) return false;
    char tail[200];
    stderr_tail(s->errf, tail, sizeof tail);
    return strstr(tail, "unknown protocol") != NULL;
}

/* The server's cgroup: how to join it, and whether it did. */
static void cgroup_before(struct server *s, struct child_how *how)
{
    if (cgroup_make(&s->cg, s->cg_note, sizeof s->cg_note) < 0) return;
    how->join_fds = s->cg.join_fd;
    how->njoin = s->cg.njoin;
}

static void cgroup_after(struct server *s, bool started)
{
    cgroup_joined(&s->cg);
    if (!started || s->cg.cpu_kind == CG_NONE || cgroup_has(&s->cg, s->c.pid)) return;
    snprintf(s->cg_note, sizeof s->cg_note,
             "the server did not join its cgroup %.300s: its CPU and memory from /proc",
             s->cg.cpu_dir);
    s->cg.cpu_kind = s->cg.mem_kind = CG_NONE; /* the directories go in server_close */
}

int server_start(struct server *s, const struct server_spec *spec, const char *model,
                 const char *proto, const char *root, char *why, size_t whylen)
{
    *s = (struct server){.out = -1, .errf = -1, .cg = {.join_fd = {-1, -1}, .peak_fd = -1}};
    char *argv[16 + SERVER_MAX_ARGS];
    size_t n = 0;
    argv[n++] = (char *)spec->path;
    argv[n++] = "--model";
    argv[n++] = (char *)model;
    argv[n++] = "--proto";
    argv[n++] = (char *)proto;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--root";
    argv[n++] = (char *)root;
    argv[n++] = "--quiet";
    for (size_t i = 0; i < spec->nargs; i++)
        argv[n++] = (char *)spec->args[i];
    argv[n] = NULL;

    int p[2];
    s->errf = tmpfile_fd();
    if (s->errf < 0 || pipe(p) < 0) {
        snprintf(why, whylen, "cannot start: %s", strerror(errno));
        return -1;
    }
    child_set_cloexec(p[0]);
    child_set_cloexec(p[1]);
    s->out = p[0];
    struct child_how how = {.out = p[1], .err = s->errf, .group = true, .cpus = spec->cpus};
    cgroup_before(s, &how);
    int rc = child_spawn(&s->c, argv, &how, why, whylen);
    cgroup_after(s, rc == 0);
    close(p[1]);
    if (rc < 0) return -1;
    if (wait_ready(s, spec->ready_timeout_s, why, whylen) == 0) {
        /* Nothing more is read from stdout: a later write gets EPIPE
         * instead of blocking on a full pipe. */
        close(s->out);
        s->out = -1;
        return 0;
    }
    server_explain_exit(s, "exited before listening:", why, whylen);
    return refused_protocol(s) ? 1 : -1;
}

int server_stop(struct server *s, double timeout_s, char *why, size_t whylen)
{
    pid_t pgid = s->c.pid > 0 ? s->c.pid : -s->c.pid;
    int rc = 0;
    if (s->c.pid > 0) {
        kill(s->c.pid, SIGTERM);
        if (!child_wait(&s->c, timeout_s)) {
            snprintf(why, whylen, "did not exit within %g s of SIGTERM (killed)", timeout_s);
            child_kill(&s->c);
            rc = -1;
        }
    }
    if (rc == 0 && !(WIFEXITED(s->c.status) && WEXITSTATUS(s->c.status) == 0)) {
        char st[96], tail[200];
        child_describe(s->c.status, st, sizeof st);
        stderr_tail(s->errf, tail, sizeof tail);
        snprintf(why, whylen, "%.60s after SIGTERM%s%.120s", st, tail[0] ? ": " : "", tail);
        rc = -1;
    }
    /* Descendants that outlived it. A clean server reaped its children
     * before exiting; orphans' zombies may need a moment for init. */
    double deadline = now_s() + 1;
    while (child_group_alive(pgid) && now_s() < deadline)
        poll(NULL, 0, 10);
    if (child_group_alive(pgid)) {
        kill(-pgid, SIGKILL);
        if (rc == 0) snprintf(why, whylen, "left processes behind in its group (killed)");
        rc = -1;
    }
    return rc;
}
