/* raw_conn.c - the raw engine's connection state machine.
 *
 *   IDLE (no request; maybe waiting in the timer heap for its next slot or
 *   a reconnect backoff) -> CONNECTING -> SENDING -> RECEIVING -> IDLE
 *   DONE: --requests used up, the connection retired.
 *
 * Answers are parsed as they stream (http/httpparse.c) from the thread's one read
 * buffer, bodies hashed with XXH64 on the fly, then judged and counted by
 * the policy (policy.h). An error closes the socket, is counted, and the
 * connection retries after a backoff that grows to 250 ms, so a dead server
 * does not spin the CPU. A reused keep-alive socket the server closed while
 * idle gets the request once more on a fresh one, as every HTTP client does. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "http/check.h"
#include "platform.h"
#include "raw_conn.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define BACKOFF_MIN_NS 1000000ULL   /* 1 ms */
#define BACKOFF_MAX_NS 250000000ULL /* 250 ms */

static void send_some(struct rthread *t, struct rconn *c, uint64_t now);

/* ---- life cycle ------------------------------------------------------- */

void raw_conn_close(struct rconn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->reused = false;
}

/* The connection has no request in flight: start the next one now or when
 * its time comes. */
void raw_schedule_next(struct rthread *t, struct rconn *c, uint64_t now, uint64_t not_before)
{
    c->state = C_IDLE;
    uint64_t when = not_before;
    if (t->plan->interval_ns && c->due > when) when = c->due;
    if (when <= now) {
        raw_start_request(t, c, now);
        return;
    }
    c->timer.wake = when;
    raw_timer_arm(&t->loop, &c->timer);
}

/* Whether c may start a request now: while the window is open; in the
 * drain only an open-loop slot that was due before the close (policy.h). */
static bool may_start(const struct rthread *t, const struct rconn *c, uint64_t now)
{
    if (!policy_run_over(t->run, now)) return true;
    return t->closing && t->plan->interval_ns && c->due <= policy_close_time(&t->tally);
}

/* The step an answer or failure of c counts under: its request's, or the
 * connect's while the socket is still connecting. */
static void at_step(struct rthread *t, const struct rconn *c)
{
    policy_at_step(&t->tally, c->state == C_CONNECTING || c->fd < 0
                                  ? policy_setup_step(&t->tally, LG_SETUP_CONNECT)
                                  : c->rq->step);
}

static void conn_error(struct rthread *t, struct rconn *c, enum lg_error e, uint64_t now)
{
    /* a timeout happened at its deadline (the sweep sees it a tick later) */
    uint64_t when = e == LG_ERR_TIMEOUT && c->deadline < now ? c->deadline : now;
    at_step(t, c);
    policy_conn_failure(&t->tally, &c->pc, c->t_begin, when, e);
    raw_conn_close(c);
    c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_NS;
    if (c->backoff > BACKOFF_MAX_NS) c->backoff = BACKOFF_MAX_NS;
    c->state = C_IDLE;
    if (may_start(t, c, now)) raw_schedule_next(t, c, now, now + c->backoff);
}

static void conn_retire(struct rthread *t, struct rconn *c)
{
    raw_conn_close(c);
    c->state = C_DONE;
    t->active--;
}

static int open_socket(int family)
{
#if SM_LINUX
    return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
#endif
}

/* The connect is done: its own step. In closed loop the request's latency
 * starts now, as wrk's does: it never silently includes the connect (open
 * loop measures from the scheduled start, whatever delayed it). */
static void connected(struct rthread *t, struct rconn *c, uint64_t now)
{
    policy_setup(&t->tally, LG_SETUP_CONNECT, c->t_connect, now, LG_ERR__COUNT);
    if (!t->plan->interval_ns) c->t_begin = now;
    c->state = C_SENDING;
    send_some(t, c, now);
}

/* Open a socket and start connecting; the request goes out once connected. */
static void conn_open(struct rthread *t, struct rconn *c, uint64_t now)
{
    const struct rplan *pl = t->plan;
    c->t_connect = now;
    c->fd = open_socket(pl->addr.ss_family);
    if (c->fd < 0) {
        conn_error(t, c, policy_errno_error(errno), now);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->gen++;
    c->reused = false;
    if (raw_loop_add(&t->loop, c->fd, c->idx, c->gen) < 0) {
        conn_error(t, c, LG_ERR_OTHER, now);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&pl->addr, pl->addrlen) == 0) {
        connected(t, c, now);
    } else if (errno == EINPROGRESS || errno == EINTR) {
        c->state = C_CONNECTING;
    } else {
        conn_error(t, c, policy_errno_error(errno), now);
    }
}

static void reset_answer(struct rconn *c)
{
    hp_reset(&c->hp, c->rq->head);
    XXH64_reset(&c->xx, 0);
    c->rx = 0;
    c->smalllen = 0;
    c->small_over = false;
}

void raw_start_request(struct rthread *t, struct rconn *c, uint64_t now)
{
    const struct rplan *pl = t->plan;
    if (!may_start(t, c, now)) {
        c->state = C_IDLE;
        return;
    }
    uint64_t origin = pl->interval_ns ? c->due : now;
    if (!policy_take_ticket(t->run, origin)) {
        conn_retire(t, c);
        return;
    }
    c->rq = &pl->reqs[policy_pick(&pl->steps, &t->rng, &c->cursor)];
    c->t_begin = origin;
    if (pl->interval_ns) c->due += pl->interval_ns;
    c->deadline = now + pl->timeout_ns;
    c->retried = false;
    c->sent = 0;
    reset_answer(c);
    if (c->fd < 0) {
        conn_open(t, c, now);
        return;
    }
    c->state = C_SENDING;
    send_some(t, c, now);
}

/* A reused keep-alive socket failed before any byte of the answer: the
 * server closed it while idle (keepalive timeout or request limit). Like
 * every HTTP client, resend once on a fresh connection. */
static bool retry_stale(struct rthread *t, struct rconn *c, uint64_t now)
{
    if (!c->reused || c->retried || !hp_idle(&c->hp) || c->rx != 0) return false;
    raw_conn_close(c);
    c->retried = true;
    c->sent = 0;
    reset_answer(c);
    conn_open(t, c, now);
    return true;
}

static void send_some(struct rthread *t, struct rconn *c, uint64_t now)
{
    const struct rreq *rq = c->rq;
    while (c->sent < rq->len) {
        ssize_t n = send(c->fd, rq->buf + c->sent, rq->len - c->sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return; /* the next EPOLLOUT edge continues */
        } else {
            int e = errno;
            if (!retry_stale(t, c, now)) conn_error(t, c, policy_errno_error(e), now);
            return;
        }
    }
    c->state = C_RECEIVING;
}

/* ---- answers ---------------------------------------------------------- */

static enum lg_error judge_head(const struct rconn *c)
{
    /* HEAD of a known file: Content-Length must announce its size. */
    const struct rreq *rq = c->rq;
    if (rq->check_body && c->hp.content_length >= 0 && c->hp.content_length != rq->exp_len)
        return LG_ERR_WRONG_LENGTH;
    return LG_ERR__COUNT;
}

/* Echo: the line that came back is the server's refusal, not ours. */
static bool echo_refusal(const struct rplan *pl, const struct rconn *c, uint64_t hash)
{
    return !c->rq->st && c->rx == sizeof CHECK_ECHO_REFUSAL - 1 && hash == pl->echo_refusal_hash &&
           c->rq->exp_hash != pl->echo_refusal_hash;
}

/* The answer's check failure (or refusal), or LG_ERR__COUNT when it passed. */
static enum lg_error judge(const struct rplan *pl, const struct rconn *c)
{
    const struct rreq *rq = c->rq;
    if (rq->st && !c->hp.headers_done) return LG_ERR_PROTOCOL;
    if (rq->st) {
        enum lg_error e = check_status(rq->st, LG_PROTO_HTTP, c->hp.status, c->hp.close);
        if (e != LG_ERR__COUNT) return e;
    }
    if (rq->head) return judge_head(c);
    if (rq->check_body) {
        uint64_t len = rq->st ? c->hp.body_len : c->rx;
        uint64_t hash = XXH64_digest(&c->xx);
        if ((int64_t)len != rq->exp_len || hash != rq->exp_hash) { /* off the good path */
            if (echo_refusal(pl, c, hash)) return LG_ERR_REFUSED;
            return (int64_t)len != rq->exp_len ? LG_ERR_WRONG_LENGTH : LG_ERR_WRONG_BODY;
        }
    }
    if (rq->time_body && (c->small_over || !check_time_body(c->small, c->smalllen)))
        return LG_ERR_WRONG_BODY;
    return LG_ERR__COUNT;
}

/* The answer is complete: judge, count, and go on with the next request. */
static void answered(struct rthread *t, struct rconn *c, bool must_close)
{
    uint64_t now = lg_now_ns();
    policy_at_step(&t->tally, c->rq->step);
    policy_conn_answer(&t->tally, &c->pc, c->t_begin, now, c->rx, judge(t->plan, c));
    c->backoff = 0;
    c->reused = true;
    if (must_close || c->sent < c->rq->len || (c->rq->st && (c->hp.close || !t->plan->keepalive)))
        raw_conn_close(c);
    c->state = C_IDLE;
    if (may_start(t, c, now)) raw_schedule_next(t, c, now, now);
}

/* answered(), then whether the same socket is still open for reading. */
static bool answered_still_open(struct rthread *t, struct rconn *c)
{
    uint32_t gen = c->gen;
    answered(t, c, false);
    return c->gen == gen && c->fd >= 0;
}

static void keep_small(struct rconn *c, const char *b, size_t n)
{
    if (c->smalllen + n > RAW_SMALL_MAX) {
        c->small_over = true;
        return;
    }
    memcpy(c->small + c->smalllen, b, n);
    c->smalllen = (uint16_t)(c->smalllen + n);
}

/* Echo: the answer is one line. Returns false when the socket changed. */
static bool feed_echo(struct rthread *t, struct rconn *c, const char *buf, size_t n)
{
    const char *nl = memchr(buf, '\n', n);
    size_t take = nl ? (size_t)(nl - buf) + 1 : n;
    c->rx += take;
    if (c->rq->check_body) XXH64_update(&c->xx, buf, take);
    if (!nl) return true;
    if (take < n) {
        conn_error(t, c, LG_ERR_PROTOCOL, lg_now_ns()); /* bytes nobody asked for */
        return false;
    }
    return answered_still_open(t, c);
}

/* HTTP: stream the bytes through the parser. Returns false when the socket
 * changed (closed, reconnected) and reading it must stop. */
static bool feed_http(struct rthread *t, struct rconn *c, const char *buf, size_t n)
{
    for (;;) {
        size_t used;
        const char *b = NULL;
        size_t bl = 0;
        enum hp_ev ev = hp_feed(&c->hp, buf, n, &used, &b, &bl);
        buf += used;
        n -= used;
        c->rx += used;
        if (ev == HP_MORE) return true;
        if (ev == HP_BODY) {
            if (c->rq->check_body) XXH64_update(&c->xx, b, bl);
            if (c->rq->time_body) keep_small(c, b, bl);
            continue;
        }
        if (ev == HP_ERROR || n > 0) { /* n > 0: bytes after the answer nobody asked for */
            conn_error(t, c, LG_ERR_PROTOCOL, lg_now_ns());
            return false;
        }
        return answered_still_open(t, c);
    }
}

static void on_eof(struct rthread *t, struct rconn *c, uint64_t now)
{
    if (c->state == C_IDLE) { /* server closed an idle keep-alive connection */
        raw_conn_close(c);
        return;
    }
    if (retry_stale(t, c, now)) return;
    if (c->rq->st && hp_eof(&c->hp) == HP_DONE) { /* an answer delimited by the close */
        answered(t, c, true);
        return;
    }
    conn_error(t, c, LG_ERR_RESET, now);
}

static void on_recv_error(struct rthread *t, struct rconn *c, int e)
{
    uint64_t now = lg_now_ns();
    if (c->state == C_IDLE)
        raw_conn_close(c);
    else if (!retry_stale(t, c, now))
        conn_error(t, c, policy_errno_error(e), now);
}

static void recv_some(struct rthread *t, struct rconn *c)
{
    uint32_t gen = c->gen;
    for (;;) {
        ssize_t n = recv(c->fd, t->rbuf, RAW_RBUF_SIZE, 0);
        if (n > 0) {
            if (c->state == C_IDLE) { /* nothing asked */
                conn_error(t, c, LG_ERR_PROTOCOL, lg_now_ns());
                return;
            }
            bool go = c->rq->st ? feed_http(t, c, t->rbuf, (size_t)n)
                                : feed_echo(t, c, t->rbuf, (size_t)n);
            /* A short read drained the socket; edge-triggered epoll reports
             * the next arrival, so no extra recv() that would say EAGAIN. */
            if (!go || c->gen != gen || (size_t)n < RAW_RBUF_SIZE) return;
            if (c->state != C_RECEIVING && c->state != C_SENDING) return;
        } else if (n == 0) {
            on_eof(t, c, lg_now_ns());
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            on_recv_error(t, c, errno);
            return;
        } else {
            return;
        }
    }
}

/* CONNECTING and writable: connected, or the connect failed. */
static void on_connected(struct rthread *t, struct rconn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    uint64_t now = lg_now_ns();
    if (err) {
        conn_error(t, c, policy_errno_error(err), now);
        return;
    }
    connected(t, c, now);
}

void raw_on_event(void *ctx, const struct raw_event *e)
{
    struct rthread *t = ctx;
    if (e->idx >= t->nconns) return;
    struct rconn *c = &t->conns[e->idx];
    if (c->gen != e->gen || c->fd < 0 || c->state == C_DONE)
        return; /* for a socket closed earlier in this batch */
    if (c->state == C_CONNECTING) {
        if (!e->out) return;
        on_connected(t, c);
    } else if (c->state == C_SENDING && e->out) {
        send_some(t, c, lg_now_ns());
    }
    if (c->gen != e->gen || c->fd < 0) return;
    /* Also while sending: a server may answer (and close) before reading
     * the whole request. */
    if (e->in) recv_some(t, c);
}

void raw_sweep_timeouts(struct rthread *t, uint64_t now)
{
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        if ((c->state == C_CONNECTING || c->state == C_SENDING || c->state == C_RECEIVING) &&
            now >= c->deadline)
            conn_error(t, c, LG_ERR_TIMEOUT, now);
    }
}
