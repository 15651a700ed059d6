/* raw_conn.h - the raw engine's connection state machine (raw_conn.c) and
 * the thread state it works on. The raw engine's parts (engine_raw.c is the
 * whole), each using only those below it:
 *
 *   raw_thread.c  one thread: start, the window's close and drain, the end
 *   raw_conn.c    a connection: connect, send, parse and judge the answer,
 *                 errors and reconnects
 *   raw_loop.c    the event loop and timer heap (knows no connection)
 *   raw_plan.c    the request plan: every step serialised once
 *
 * Only the raw engine's files include it. */
#ifndef LOADGEN_RAW_CONN_H
#define LOADGEN_RAW_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Hashing is on the hot path: inlined where answers are hashed. */
#define XXH_STATIC_LINKING_ONLY
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "http/httpparse.h"
#include "loadgen.h"
#include "policy.h"
#include "raw_loop.h"
#include "raw_plan.h"

#define RAW_RBUF_SIZE (256 * 1024) /* one read buffer per thread */
#define RAW_SMALL_MAX 512          /* /time bodies are buffered up to this */

enum cstate { C_IDLE, C_CONNECTING, C_SENDING, C_RECEIVING, C_DONE };

struct rconn {
    int fd;
    uint8_t state;
    bool reused;   /* this socket already carried an answer */
    bool retried;  /* this request was already resent once */
    uint32_t gen;  /* bumped at every new socket: stale events are ignored */
    uint32_t idx;  /* in the thread's array: the loop's handle */
    size_t cursor; /* next step (replay in order) */
    const struct rreq *rq;
    size_t sent;
    uint64_t t_begin;       /* latency origin: scheduled start (open) or send time */
    uint64_t t_connect;     /* when the connect of this socket began (its setup step) */
    uint64_t deadline;      /* of the request in flight */
    uint64_t due;           /* open loop: the next scheduled start */
    struct raw_timer timer; /* when to start the next request */
    uint64_t backoff;
    uint64_t rx; /* bytes of this answer */
    struct policy_conn pc;
    struct hp hp;
    XXH64_state_t xx;
    uint16_t smalllen;
    bool small_over;
    char small[RAW_SMALL_MAX];
};

struct rthread {
    pthread_t tid;
    const struct rplan *plan;
    struct lg_run *run;
    struct rconn *conns;
    unsigned nconns;
    unsigned first;  /* global index of conns[0] */
    unsigned active; /* connections not C_DONE */
    struct raw_loop loop;
    char *rbuf;
    uint64_t rng;
    uint64_t next_tick;
    bool closing;       /* the window closed: draining what is owed (policy.h) */
    uint64_t drain_end; /* when the drain gives up */
    struct policy_tally tally;
};

void raw_start_request(struct rthread *t, struct rconn *c, uint64_t now);
void raw_schedule_next(struct rthread *t, struct rconn *c, uint64_t now, uint64_t not_before);
/* The loop's on_event procedure (raw_loop.h); ctx is the rthread. */
void raw_on_event(void *ctx, const struct raw_event *e);
void raw_sweep_timeouts(struct rthread *t, uint64_t now);
void raw_conn_close(struct rconn *c);

#endif
