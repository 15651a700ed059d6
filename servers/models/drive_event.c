/* drive_event.c - one connection of an event-driven model.
 *
 * The poller (epoll, poll, select, ...) says a socket is ready; evconn_run()
 * then moves the session as far as the socket allows without blocking and
 * says what to wait for next. Reads and writes go on until EAGAIN, so the
 * same code is right for edge-triggered pollers. */
#include "model.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Actions one connection may perform before it yields to the others
 * (a client pipelining without pause must not starve the loop). */
#define FAIRNESS_BUDGET 64

uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct evconn *evconn_new(const struct model_ctx *m, int fd, const char *peer)
{
    struct evconn *c = malloc(sizeof *c);
    if (!c) return NULL;
    c->session = session_new(m->proto, m->server, peer);
    if (!c->session) {
        free(c);
        return NULL;
    }
    c->fd = fd;
    c->want = EV_WANT_READ;
    c->wait_fd = fd;
    datachan_init(&c->dc, fd);
    c->last_active_ms = 0;
    c->prev = c->next = c->next_ready = NULL;
    c->queued = false;
    c->eof = false;
    c->in_have = c->in_off = 0;
    return c;
}

void evconn_free(struct evconn *c)
{
    session_free(c->session);
    datachan_close(&c->dc);
    close(c->fd);
    free(c);
}

/* ACT_READ. Returns EV_WANT_AGAIN to go on, anything else to stop there. */
static enum ev_want step_read(struct evconn *c, bool stopping)
{
    if (c->in_off < c->in_have) {
        size_t n = session_feed(c->session, c->in + c->in_off, c->in_have - c->in_off);
        c->in_off += n;
        return n > 0 ? EV_WANT_AGAIN : EV_WANT_CLOSE;
    }
    if (c->eof || stopping) return EV_WANT_CLOSE;
    ssize_t n = read(c->fd, c->in, sizeof c->in);
    if (n > 0) {
        c->in_have = (size_t)n;
        c->in_off = 0;
        return EV_WANT_AGAIN;
    }
    if (n == 0) {
        c->eof = true;
        session_feed(c->session, NULL, 0);
        return EV_WANT_AGAIN;
    }
    if (errno == EINTR) return EV_WANT_AGAIN;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return EV_WANT_READ;
    return EV_WANT_CLOSE;
}

/* ACT_WRITE / ACT_SENDFILE */
static enum ev_want step_send(struct evconn *c, const struct action *a)
{
    ssize_t n = a->kind == ACT_WRITE ? send_bytes(c->fd, a->buf, a->len)
                                     : send_file_range(c->fd, a->fd, a->off, a->count);
    if (n > 0) {
        session_done(c->session, a, n);
        return EV_WANT_AGAIN;
    }
    if (n < 0 && errno == EINTR) return EV_WANT_AGAIN;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return EV_WANT_WRITE;
    session_done(c->session, a, -1); /* an error, or a file that shrank (0) */
    return EV_WANT_CLOSE;
}

/* The FTP data-channel actions (datachan.c): a socket that would block
 * makes the connection wait on it. */
static enum ev_want step_data(struct evconn *c, const struct action *a, bool stopping)
{
    struct dc_step st = datachan_step(&c->dc, a, stopping);
    if (st.status == DC_DONE) {
        session_done(c->session, a, st.result);
        return EV_WANT_AGAIN;
    }
    c->wait_fd = st.fd;
    return st.status == DC_WAIT_IN ? EV_WANT_READ : EV_WANT_WRITE;
}

enum ev_want evconn_run(struct evconn *c, bool stopping, uint64_t now_ms)
{
    for (int budget = FAIRNESS_BUDGET; budget > 0; budget--) {
        struct action a;
        session_next(c->session, &a);
        enum ev_want w;
        c->wait_fd = c->fd;
        switch (a.kind) {
        case ACT_READ:
            w = step_read(c, stopping);
            break;
        case ACT_WRITE:
        case ACT_SENDFILE:
            w = step_send(c, &a);
            break;
        case ACT_CLOSE:
            w = EV_WANT_CLOSE;
            break;
        default:
            w = datachan_action(a.kind) ? step_data(c, &a, stopping) : EV_WANT_CLOSE;
            break;
        }
        if (w != EV_WANT_AGAIN) return c->want = w;
        c->last_active_ms = now_ms; /* progress: bytes moved (idle = none for a while) */
    }
    return c->want = EV_WANT_AGAIN;
}

/* ---- the idle list ---- */

void evlist_add(struct evlist *l, struct evconn *c)
{
    c->prev = l->tail;
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

void evlist_remove(struct evlist *l, struct evconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    l->count--;
}

void evlist_touch(struct evlist *l, struct evconn *c, uint64_t now_ms)
{
    c->last_active_ms = now_ms;
    if (l->tail == c) return;
    evlist_remove(l, c);
    evlist_add(l, c);
}

int evlist_next_timeout(const struct evlist *l, const struct model_ctx *m, uint64_t now_ms)
{
    if (!l->head || !m->idle_timeout_ms) return -1;
    uint64_t due = l->head->last_active_ms + m->idle_timeout_ms;
    return due <= now_ms ? 0 : (int)(due - now_ms);
}
