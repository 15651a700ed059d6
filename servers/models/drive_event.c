/* drive_event.c - one connection of an event-driven model.
 *
 * The poller (epoll, poll, select, ...) says a socket is ready, or the
 * connection's deadline passed; evconn_run() then moves the session as far
 * as the sockets allow without blocking (connio.c does the reading, sending
 * and data channel, as for every driver) and says what to wait for next,
 * with the deadline of the timeout that then runs. Reads and writes go on
 * until EAGAIN, so the same code is right for edge-triggered pollers. */
#include "model.h"

#include <stdlib.h>
#include <unistd.h>

/* Actions one connection may perform before it yields to the others
 * (a client pipelining without pause must not starve the loop). */
#define FAIRNESS_BUDGET 64

struct evconn *evconn_new(const struct model_ctx *m, int fd, const char *peer, uint64_t now_ms)
{
    struct evconn *c = malloc(sizeof *c);
    struct session *s = session_new(m->proto, m->server, peer);
    if (!c || !s) {
        free(c);
        session_free(s);
        return NULL;
    }
    connio_init(&c->io, m, fd, s, now_ms);
    c->m = m;
    c->want = EV_WANT_READ;
    c->waiting = ACT_READ;
    c->wait_fd = fd;
    c->watch_control = c->control_ready = c->timed_out = false;
    c->delay_until_ms = 0;
    c->offload = NULL;
    c->job_running = c->job_done = false;
    c->deadline_ms = connio_deadline(&c->io, m, ACT_READ);
    c->timer_slot = 0;
    c->peer_counted = false;
    c->owner = NULL;
    c->next_ready = NULL;
    c->queued = c->read_ahead = false;
    return c;
}

void evconn_free(struct evconn *c)
{
    if (c->peer_counted) peer_limit_leave(c->m->per_ip, &c->peer);
    connio_close(&c->io);
    free(c);
}

void evconn_timeout(struct evconn *c)
{
    c->timed_out = true;
}

/* ACT_READ */
static enum ev_want step_read(struct evconn *c, bool stopping, uint64_t now_ms)
{
    if (stopping && c->io.off >= c->io.have) return EV_WANT_CLOSE; /* between requests */
    switch (connio_read(&c->io, now_ms)) {
    case IO_PROGRESS:
        return EV_WANT_AGAIN;
    case IO_BLOCKED:
        return EV_WANT_READ;
    default:
        return EV_WANT_CLOSE;
    }
}

/* ACT_WRITE / ACT_SENDFILE */
static enum ev_want step_send(struct evconn *c, const struct action *a, uint64_t now_ms)
{
    switch (connio_send(&c->io, a, now_ms)) {
    case IO_PROGRESS:
        return EV_WANT_AGAIN;
    case IO_BLOCKED:
        return EV_WANT_WRITE;
    default:
        return EV_WANT_CLOSE;
    }
}

/* The FTP data-channel actions: a socket that would block makes the
 * connection wait on it (and, in a transfer, on the control connection). */
static enum ev_want step_data(struct evconn *c, const struct action *a, bool stopping,
                              uint64_t now_ms)
{
    struct dc_step st = connio_data(&c->io, a, stopping, c->control_ready, now_ms);
    c->control_ready = false;
    if (st.status == DC_DONE) return EV_WANT_AGAIN;
    c->wait_fd = st.fd;
    c->watch_control = st.watch_control;
    return st.status == DC_WAIT_IN ? EV_WANT_READ : EV_WANT_WRITE;
}

enum ev_want evconn_delay(struct evconn *c, const struct action *a, bool stopping, uint64_t now_ms)
{
    /* from the clock now, not the loop's now_ms: the session may have spent
     * a while (a password hash) since the loop read it; +1 rounds the ms
     * clock up, so the delay is never shorter than asked */
    if (!c->delay_until_ms) c->delay_until_ms = monotonic_ms() + a->delay_ms + 1;
    if (!stopping && now_ms < c->delay_until_ms) return EV_WANT_TIMER;
    c->delay_until_ms = 0;
    connio_done(&c->io, a, stopping ? -1 : 0, now_ms);
    return EV_WANT_AGAIN;
}

enum ev_want evconn_offload(struct evconn *c, const struct action *a, uint64_t now_ms)
{
    if (c->job_running && !c->job_done) return EV_WANT_JOB; /* a timeout waits for it */
    if (c->job_running) {
        c->job_running = c->job_done = false;
        if (c->timed_out) { /* the timeout passed while the job ran */
            c->timed_out = false;
            connio_expire(&c->io, ACT_OFFLOAD, now_ms);
        } else {
            connio_done(&c->io, a, 0, now_ms);
        }
        return EV_WANT_AGAIN;
    }
    c->timed_out = false;
    c->job = (struct offload_job){.fn = a->job, .arg = a->job_arg, .owner = c};
    if (offload_submit(c->offload, &c->job) == 0) {
        c->job_running = true;
        return EV_WANT_JOB;
    }
    a->job(a->job_arg); /* no worker (or its queue is full): here, as before */
    connio_done(&c->io, a, 0, monotonic_ms());
    return EV_WANT_AGAIN;
}

/* The deadline passed while waiting to perform a: a read or send expires
 * the session, a data action fails (a delay ends by itself). */
static enum ev_want step_timed_out(struct evconn *c, const struct action *a, uint64_t now_ms)
{
    if (datachan_action(a->kind))
        connio_data_timed_out(&c->io, a, now_ms);
    else
        connio_expire(&c->io, a->kind, now_ms);
    return EV_WANT_AGAIN;
}

static enum ev_want step(struct evconn *c, const struct action *a, bool stopping, uint64_t now_ms)
{
    if (a->kind == ACT_OFFLOAD)
        return evconn_offload(c, a, now_ms); /* a timeout waits for the job */
    if (c->timed_out && a->kind != ACT_DELAY) {
        c->timed_out = false;
        return step_timed_out(c, a, now_ms);
    }
    c->timed_out = false;
    switch (a->kind) {
    case ACT_READ:
        return step_read(c, stopping, now_ms);
    case ACT_WRITE:
    case ACT_SENDFILE:
        return step_send(c, a, now_ms);
    case ACT_DELAY:
        return evconn_delay(c, a, stopping, now_ms);
    case ACT_CLOSE:
        return EV_WANT_CLOSE;
    default:
        return datachan_action(a->kind) ? step_data(c, a, stopping, now_ms) : EV_WANT_CLOSE;
    }
}

enum ev_want evconn_run(struct evconn *c, bool stopping, uint64_t now_ms)
{
    enum ev_want w = EV_WANT_AGAIN;
    for (int budget = FAIRNESS_BUDGET; budget > 0 && w == EV_WANT_AGAIN; budget--) {
        struct action a;
        session_next(c->io.s, &a);
        c->waiting = a.kind;
        c->wait_fd = c->io.fd;
        c->watch_control = false;
        w = connio_expired_again(&c->io, a.kind) ? EV_WANT_CLOSE : step(c, &a, stopping, now_ms);
    }
    c->control_ready = false;
    if (w == EV_WANT_TIMER)
        c->deadline_ms = c->delay_until_ms;
    else if (w == EV_WANT_AGAIN) /* runs again next turn anyway */
        c->deadline_ms = NO_DEADLINE;
    else if (w == EV_WANT_JOB && c->timed_out) /* passed: it expires when the job is over */
        c->deadline_ms = NO_DEADLINE;
    else
        c->deadline_ms = connio_deadline(&c->io, c->m, c->waiting);
    return c->want = w;
}
