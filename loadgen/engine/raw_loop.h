/* raw_loop.h - one raw engine thread's event loop: readiness of sockets
 * (epoll, edge-triggered; poll() elsewhere) and a heap of timers.
 *
 * It knows no connection. As Redis's ae calls a file event's proc, the loop
 * calls the procedures it was handed: on_event with the (idx, gen) handle a
 * socket was added under, on_timer with the timer whose time has come.
 * Timers are embedded in what waits (container_of finds it back). */
#ifndef LOADGEN_RAW_LOOP_H
#define LOADGEN_RAW_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

/* A readiness event: handle (idx, gen) can be read and/or written. */
struct raw_event {
    uint32_t idx, gen;
    bool in, out;
};

/* A timer, embedded in its owner; armed = waiting in the heap. */
struct raw_timer {
    uint64_t wake; /* CLOCK_MONOTONIC ns */
    size_t pos;
    bool armed;
};

struct raw_loop_proc {
    void *ctx;
    void (*on_event)(void *ctx, const struct raw_event *e);
    void (*on_timer)(void *ctx, struct raw_timer *tm, uint64_t now);
    /* The poll() backend (level-triggered) asks before every wait: handle
     * idx's socket (-1 none), its generation, and whether it waits to write.
     * epoll registers once, edge-triggered, and never asks. */
    int (*watch)(void *ctx, uint32_t idx, uint32_t *gen, bool *want_out);
};

struct raw_loop {
    struct raw_loop_proc proc;
    unsigned nhandles; /* idx < nhandles; also the most timers armed at once */
    int ep;
    struct raw_timer **heap;
    size_t heapn;
#if !SM_LINUX
    struct pollfd *pfd;
#endif
};

/* 0, or -1 (errno set); raw_loop_free() in both cases. */
int raw_loop_init(struct raw_loop *l, unsigned nhandles, const struct raw_loop_proc *proc);
void raw_loop_free(struct raw_loop *l);

/* Watch a new socket under handle (idx, gen): registered once, for reading
 * and writing, until it is closed. */
int raw_loop_add(struct raw_loop *l, int fd, uint32_t idx, uint32_t gen);

/* Fire tm at tm->wake (no-op if it is already armed). */
void raw_timer_arm(struct raw_loop *l, struct raw_timer *tm);
/* Disarm and call on_timer for every timer due at now, earliest first. */
void raw_loop_fire_due(struct raw_loop *l, uint64_t now);
/* The same, inline when nothing is due (every turn of the loop asks). */
static inline void raw_loop_fire_timers(struct raw_loop *l, uint64_t now)
{
    if (l->heapn && l->heap[0]->wake <= now) raw_loop_fire_due(l, now);
}
/* The earliest armed timer's wake, or UINT64_MAX (inline: every turn asks). */
static inline uint64_t raw_loop_next_timer(const struct raw_loop *l)
{
    return l->heapn ? l->heap[0]->wake : UINT64_MAX;
}

/* Wait for readiness up to timeout_ns and call on_event for each; the
 * number of events, or -1 (errno set; EINTR is 0). */
int raw_loop_poll(struct raw_loop *l, uint64_t timeout_ns);

#endif
