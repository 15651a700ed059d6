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
    c->last_active_ms = 0;
    c->prev = c->next = c->next_ready = NULL;
    c->queued = false;
    c->armed = c->armed_fd = -1;
    c->wait_fd = fd;
    c->pasv_fd = c->data_fd = -1;
    c->xfer = NULL;
    c->unwatch = NULL;
    c->loop = NULL;
    c->eof = false;
    c->in_have = c->in_off = 0;
    return c;
}

static void close_data_fd(struct evconn *c, int *fd)
{
    if (*fd < 0) return;
    if (c->unwatch) c->unwatch(c->loop, c, *fd);
    close(*fd);
    *fd = -1;
}

void evconn_free(struct evconn *c)
{
    session_free(c->session);
    close_data_fd(c, &c->pasv_fd);
    close_data_fd(c, &c->data_fd);
    close(c->fd);
    free(c->xfer);
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

/* ---- the FTP data channel (conn.h): the same actions as drive_blocking.c,
 * but a socket that would block makes the connection wait on it ---- */

static enum ev_want data_done(struct evconn *c, const struct action *a, ssize_t result)
{
    session_done(c->session, a, result);
    return EV_WANT_AGAIN;
}

static enum ev_want step_accept_data(struct evconn *c, const struct action *a, bool stopping)
{
    if (c->pasv_fd < 0) return data_done(c, a, -1);
    int fd = data_accept(c->pasv_fd, c->fd);
    if (fd >= 0) {
        close_data_fd(c, &c->pasv_fd);
        c->data_fd = fd;
        return data_done(c, a, 0);
    }
    /* a data connection not yet made is not work in flight: a stop ends it */
    if ((errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && !stopping) {
        c->wait_fd = c->pasv_fd;
        return EV_WANT_READ;
    }
    return data_done(c, a, -1);
}

static enum ev_want step_transfer(struct evconn *c, const struct action *a)
{
    if (c->data_fd < 0) return data_done(c, a, -1);
    ssize_t n;
    enum ev_want blocked = EV_WANT_WRITE;
    if (a->kind == ACT_TRANSFER_IN) {
        if (!c->xfer && !(c->xfer = malloc(sizeof c->in))) return data_done(c, a, -1);
        n = recv_to_file(c->data_fd, a->fd, c->xfer, sizeof c->in);
        blocked = EV_WANT_READ;
    } else if (a->fd >= 0) {
        n = send_file_range(c->data_fd, a->fd, a->off, a->count);
        if (n == 0) n = -2; /* the file shrank */
    } else {
        n = send_bytes(c->data_fd, a->buf, a->len);
    }
    if (n >= 0) return data_done(c, a, n);
    if (n == -1 && errno == EINTR) return EV_WANT_AGAIN;
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c->wait_fd = c->data_fd;
        return blocked;
    }
    return data_done(c, a, -1);
}

static enum ev_want step_data(struct evconn *c, const struct action *a, bool stopping)
{
    switch (a->kind) {
    case ACT_OPEN_PASSIVE:
        close_data_fd(c, &c->pasv_fd);
        close_data_fd(c, &c->data_fd);
        c->pasv_fd = data_listen(c->fd, a->ip_out, a->ip_out_len);
        return data_done(c, a, c->pasv_fd < 0 ? -1 : data_port(c->pasv_fd));
    case ACT_ACCEPT_DATA: return step_accept_data(c, a, stopping);
    case ACT_CLOSE_DATA:
        close_data_fd(c, &c->pasv_fd);
        close_data_fd(c, &c->data_fd);
        return data_done(c, a, 0);
    default: return step_transfer(c, a);
    }
}

enum ev_want evconn_run(struct evconn *c, bool stopping, uint64_t now_ms)
{
    for (int budget = FAIRNESS_BUDGET; budget > 0; budget--) {
        struct action a;
        session_next(c->session, &a);
        enum ev_want w;
        c->wait_fd = c->fd;
        switch (a.kind) {
        case ACT_READ: w = step_read(c, stopping); break;
        case ACT_WRITE:
        case ACT_SENDFILE: w = step_send(c, &a); break;
        case ACT_OPEN_PASSIVE:
        case ACT_ACCEPT_DATA:
        case ACT_TRANSFER_OUT:
        case ACT_TRANSFER_IN:
        case ACT_CLOSE_DATA: w = step_data(c, &a, stopping); break;
        default: w = EV_WANT_CLOSE; break;
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
