/* raw_thread.h - one raw engine thread (raw_thread.c): its share of the
 * connections on its own event loop, from the first request to the end of
 * the drain. engine_raw.c starts cfg->threads of them. */
#ifndef LOADGEN_RAW_THREAD_H
#define LOADGEN_RAW_THREAD_H

#include "raw_conn.h"

/* 0, or -1 (errno set); raw_thread_free() in both cases. */
int raw_thread_init(struct rthread *t, const struct rplan *pl, unsigned i, unsigned first,
                    unsigned nconns);
void raw_thread_free(struct rthread *t);
void *raw_thread_main(void *arg); /* pthread_create's start routine; arg: the rthread */

#endif
