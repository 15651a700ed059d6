/* raw.h - the raw engine's parts (see engine_raw.c for the whole):
 *
 *   raw_plan.c  the request plan: every step serialised once, what its
 *               answer is checked against, the target address
 *   raw_loop.c  one thread: its event loop (epoll, poll() elsewhere), the
 *               timer heap of connections waiting for their next start
 *   raw_conn.c  the connection state machine: connect, send, parse and
 *               judge the answer, errors and reconnects
 *
 * Only engine_raw.c and these files include it. */
#ifndef LOADGEN_RAW_H
#define LOADGEN_RAW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Hashing is on the hot path: inlined in every raw_*.c file. */
#define XXH_STATIC_LINKING_ONLY
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "httpparse.h"
#include "loadgen.h"
#include "platform.h"
#include "policy.h"

#define RAW_RBUF_SIZE (256 * 1024) /* one read buffer per thread */
#define RAW_SMALL_MAX 512          /* /time bodies are buffered up to this */

/* One step, serialised once. */
struct rreq {
    const struct lg_step *st; /* NULL for echo */
    char *buf;
    size_t len;
    bool head;       /* HEAD: the answer has no body */
    bool check_body; /* compare length + hash of the body */
    bool time_body;  /* buffer the body for check_time_body() */
    int64_t exp_len;
    uint64_t exp_hash;
};

/* What all threads share (read-only during the run). */
struct rplan {
    struct lg_run *run;
    struct rreq *reqs; /* [steps.nsteps], in scenario order */
    struct policy_steps steps;
    bool keepalive;
    uint64_t timeout_ns;
    uint64_t tick_ns;     /* timeout sweep + progress counters */
    uint64_t interval_ns; /* open loop: C/R seconds; 0 = closed loop */
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* 0, or -1 with a reason in err; plan_free() in both cases. */
int raw_plan_init(struct rplan *pl, struct lg_run *run, char *err, size_t errlen);
void raw_plan_free(struct rplan *pl);

enum cstate { C_IDLE, C_CONNECTING, C_SENDING, C_RECEIVING, C_DONE };

struct rconn {
    int fd;
    uint8_t state;
    bool reused;  /* this socket already carried an answer */
    bool retried; /* this request was already resent once */
    bool in_heap;
    uint32_t gen;  /* bumped at every new socket: stale events are ignored */
    uint32_t idx;  /* in the thread's array */
    size_t cursor; /* next step (replay in order) */
    const struct rreq *rq;
    size_t sent;
    uint64_t t_begin;  /* latency origin: scheduled start (open) or send time */
    uint64_t deadline; /* of the request in flight */
    uint64_t due;      /* open loop: the next scheduled start */
    uint64_t wake;     /* timer heap key: when to start the next request */
    uint64_t backoff;
    uint64_t rx; /* bytes of this answer */
    struct policy_conn pc;
    size_t heap_pos;
    struct hp hp;
    XXH64_state_t xx;
    uint16_t smalllen;
    bool small_over;
    char small[RAW_SMALL_MAX];
};

/* A readiness event: the connection (idx, gen) can be read and/or written. */
struct ev {
    uint32_t idx, gen;
    bool in, out;
};

struct rthread {
    pthread_t tid;
    const struct rplan *plan;
    struct lg_run *run;
    struct rconn *conns;
    unsigned nconns;
    unsigned first;  /* global index of conns[0] */
    unsigned active; /* connections not C_DONE */
    int ep;
    char *rbuf;
    struct rconn **heap;
    size_t heapn;
    uint64_t rng;
    uint64_t next_tick;
    bool closing;       /* the window closed: draining what is owed (policy.h) */
    uint64_t drain_end; /* when the drain gives up */
    struct policy_tally tally;
#if !SM_LINUX
    struct pollfd *pfd;
#endif
};

/* raw_loop.c */
int raw_thread_init(struct rthread *t, const struct rplan *pl, unsigned i, unsigned first,
                    unsigned nconns);
void raw_thread_free(struct rthread *t);
void *raw_thread_main(void *arg);
/* Register a new socket with the thread's poller. */
int raw_loop_add(struct rthread *t, struct rconn *c);
/* Wake c at c->wake (no-op if it already waits). */
void raw_heap_push(struct rthread *t, struct rconn *c);

/* raw_conn.c */
void raw_start_request(struct rthread *t, struct rconn *c, uint64_t now);
void raw_schedule_next(struct rthread *t, struct rconn *c, uint64_t now, uint64_t not_before);
void raw_on_event(struct rthread *t, const struct ev *e);
void raw_sweep_timeouts(struct rthread *t, uint64_t now);
void raw_conn_close(struct rconn *c);

#endif
