/* bench_server.h - the server under test, as the bench runs it: started in
 * its own process group, and in a cgroup of its own where one can be made
 * (os/cgroup.h: it joins before exec), on an ephemeral loopback port, ready
 * once it printed "listening on HOST:PORT", stopped with SIGTERM and checked
 * to have exited 0 leaving no process of its group behind. Whatever
 * happens, server_close() leaves nothing of it running, and removes its
 * cgroup. */
#ifndef LOADGEN_BENCH_SERVER_H
#define LOADGEN_BENCH_SERVER_H

#include <stddef.h>

#include "os/cgroup.h"
#include "os/child.h"
#include "os/cpuset.h"

#define SERVER_MAX_ARGS 64

/* How to start and stop it (bench's options). */
struct server_spec {
    const char *path;                  /* the refserver binary */
    const char *args[SERVER_MAX_ARGS]; /* --server-arg values, appended */
    size_t nargs;
    double ready_timeout_s;  /* for the "listening on" line */
    double stop_timeout_s;   /* for the exit after SIGTERM */
    const struct cpus *cpus; /* --cpus: the server's set (NULL or empty: not pinned) */
};

struct server {
    struct child c; /* c.pid is also the process group */
    int out;        /* stdout pipe, read end; -1 once ready */
    int errf;       /* stderr: an unlinked temporary file */
    char target[300];
    struct cgroup cg;  /* cg.cpu_kind CG_NONE: no cgroup, /proc accounts for it */
    char cg_note[512]; /* why not (or why memory is /proc's), one line; "" */
};

/* Start spec->path for model and proto over root. 0 ready (s->target set);
 * -1 failed (why set); 1 the server does not speak proto (it exited 2
 * saying "unknown protocol"). Call server_close() in every case. */
int server_start(struct server *s, const struct server_spec *spec, const char *model,
                 const char *proto, const char *root, char *why, size_t whylen);
/* The server died (it is reaped): why, prefixed with when, from its exit
 * status and the last line of its stderr. No change while it runs. */
void server_explain_exit(struct server *s, const char *when, char *why, size_t whylen);
/* SIGTERM, wait, check the exit status and that the group is empty.
 * 0 clean; -1 with why set (the group is killed in any case). */
int server_stop(struct server *s, double timeout_s, char *why, size_t whylen);
/* Kill whatever is left of it and close its files. */
void server_close(struct server *s);

#endif
