/* raw_plan.h - the raw engine's request plan: every step serialised once
 * before the run (nothing is built per request), what its answer is checked
 * against, the target address. Read-only while the threads run. */
#ifndef LOADGEN_RAW_PLAN_H
#define LOADGEN_RAW_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loadgen.h"
#include "policy.h"

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
    size_t step; /* its index in the scenario: the per-step statistics' */
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
    uint64_t echo_refusal_hash; /* XXH64 of CHECK_ECHO_REFUSAL (http/check.h) */
};

/* 0, or -1 with a reason in err; raw_plan_free() in both cases. */
int raw_plan_init(struct rplan *pl, struct lg_run *run, char *err, size_t errlen);
void raw_plan_free(struct rplan *pl);

#endif
