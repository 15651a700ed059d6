/* engine_raw.c - the fast HTTP/1.1 and echo engine.
 *
 * cfg->threads threads, each with its own event loop (epoll, edge-triggered;
 * poll() elsewhere) over its share of the connections. Every distinct
 * request is serialised once before the run; nothing is allocated per
 * request: answers are parsed as they stream (httpparse.c) from one read
 * buffer per thread, bodies hashed with XXH64 on the fly and checked.
 *
 * Closed loop: a connection sends its next request as soon as the last one
 * is answered. Open loop (rate > 0): connection c of C starts at
 * t_start + c/R and then every C/R seconds; latency counts from the
 * scheduled start, so a stalled server shows in the percentiles
 * (coordinated omission corrected, like wrk2). A late connection sends its
 * missed slots back to back.
 *
 * Per-connection state machine: IDLE (no request; maybe waiting in the
 * timer heap for its next slot or a reconnect backoff) -> CONNECTING ->
 * SENDING -> RECEIVING -> IDLE. An error closes the socket, is counted, and
 * the connection retries after a backoff that grows to 250 ms, so a dead
 * server does not spin the CPU. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#else
#include <fcntl.h>
#include <poll.h>
#endif

#define XXH_STATIC_LINKING_ONLY
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "check.h"
#include "httpparse.h"
#include "loadgen.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define RBUF_SIZE (256 * 1024) /* one read buffer per thread */
#define SMALL_MAX 512          /* /time bodies are buffered up to this */
#define MAX_EVENTS 256
#define BACKOFF_MIN_NS 1000000ULL   /* 1 ms */
#define BACKOFF_MAX_NS 250000000ULL /* 250 ms */
#define TICK_MAX_NS 50000000ULL     /* timeout sweep + live counters */
#define P99_EVERY_NS 500000000ULL
#define NS 1000000000ULL

/* One step, serialised once. */
struct rreq {
    const struct lg_step *st;
    char *buf;
    size_t len;
    bool head;         /* HEAD: the answer has no body */
    bool check_body;   /* compare length + hash of the body */
    bool time_body;    /* buffer the body for check_time_body() */
    int64_t exp_len;
    uint64_t exp_hash;
};

/* What all threads share (read-only during the run). */
struct rplan {
    struct lg_run *run;
    struct rreq *reqs;
    size_t nreqs;
    uint64_t *cumw; /* weighted: cumulative weights */
    uint64_t totalw;
    bool echo;
    bool keepalive;
    uint64_t timeout_ns;
    uint64_t tick_ns;
    uint64_t interval_ns; /* open loop: C/R seconds; 0 = closed loop */
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

enum cstate { C_IDLE, C_CONNECTING, C_SENDING, C_RECEIVING, C_DONE };

struct rconn {
    int fd;
    uint8_t state;
    bool reused;  /* this socket already carried an answer */
    bool retried; /* this request was already resent once */
    bool in_heap;
    uint32_t gen; /* bumped at every new socket: stale events are ignored */
    uint32_t idx; /* in the thread's array */
    size_t step;  /* next step (replay in order) */
    const struct rreq *rq;
    size_t sent;
    uint64_t t_begin;  /* latency origin: scheduled start (open) or send time */
    uint64_t deadline; /* of the request in flight */
    uint64_t due;      /* open loop: the next scheduled start */
    uint64_t wake;     /* timer heap key: when to start the next request */
    uint64_t backoff;
    uint64_t rx; /* bytes of this answer */
    size_t heap_pos;
    struct hp hp;
    XXH64_state_t xx;
    uint16_t smalllen;
    bool small_over;
    char small[SMALL_MAX];
};

struct rthread {
    pthread_t tid;
    const struct rplan *plan;
    struct lg_run *run;
    struct lg_live *live;
    struct rconn *conns;
    unsigned nconns;
    unsigned first; /* global index of conns[0] */
    unsigned active; /* connections not C_DONE */
    int ep;
    char *rbuf;
    struct rconn **heap;
    size_t heapn;
    uint64_t rng;
    uint64_t answers, failures; /* for lg_live */
    uint64_t next_tick, next_p99;
    struct lg_stats st;
#ifndef __linux__
    struct pollfd *pfd;
#endif
};

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) /* xorshift64* */
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static enum lg_error classify_errno(int e)
{
    switch (e) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ETIMEDOUT:
        return LG_ERR_CONNECT;
    case EADDRNOTAVAIL:
        return LG_ERR_ADDRNOTAVAIL;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return LG_ERR_RESET;
    default:
        return LG_ERR_OTHER;
    }
}

static bool is_check_failure(enum lg_error e)
{
    return e == LG_ERR_BAD_STATUS || e == LG_ERR_WRONG_LENGTH || e == LG_ERR_WRONG_BODY ||
           e == LG_ERR_BAD_LISTING;
}

/* ---- timer heap (connections waiting for their next start) ------------ */

static void heap_swap(struct rthread *t, size_t a, size_t b)
{
    struct rconn *x = t->heap[a];
    t->heap[a] = t->heap[b];
    t->heap[b] = x;
    t->heap[a]->heap_pos = a;
    t->heap[b]->heap_pos = b;
}

static void heap_push(struct rthread *t, struct rconn *c)
{
    if (c->in_heap)
        return;
    size_t i = t->heapn++;
    t->heap[i] = c;
    c->heap_pos = i;
    c->in_heap = true;
    while (i > 0 && t->heap[(i - 1) / 2]->wake > t->heap[i]->wake) {
        heap_swap(t, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct rconn *heap_pop(struct rthread *t)
{
    struct rconn *top = t->heap[0];
    top->in_heap = false;
    t->heap[0] = t->heap[--t->heapn];
    t->heap[0]->heap_pos = 0;
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->heapn && t->heap[l]->wake < t->heap[m]->wake)
            m = l;
        if (r < t->heapn && t->heap[r]->wake < t->heap[m]->wake)
            m = r;
        if (m == i)
            break;
        heap_swap(t, i, m);
        i = m;
    }
    return top;
}

/* ---- the event loop (epoll on Linux, poll() elsewhere) ---------------- */

struct ev {
    uint32_t idx, gen;
    bool in, out;
};

#ifdef __linux__
static int loop_init(struct rthread *t)
{
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    return t->ep < 0 ? -1 : 0;
}

/* Registered once per socket, edge-triggered for reading and writing: no
 * epoll_ctl per request. */
static int loop_add(struct rthread *t, struct rconn *c)
{
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                            .data.u64 = ((uint64_t)c->gen << 32) | c->idx};
    return epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &e);
}

static int loop_wait(struct rthread *t, struct ev *out, int max, uint64_t timeout_ns)
{
    struct epoll_event evs[MAX_EVENTS];
    if (max > MAX_EVENTS)
        max = MAX_EVENTS;
    int ms = (int)((timeout_ns + 999999) / 1000000); /* round up: never wake early and spin */
    int n = epoll_wait(t->ep, evs, max, ms);
    for (int i = 0; i < n; i++) {
        out[i].idx = (uint32_t)evs[i].data.u64;
        out[i].gen = (uint32_t)(evs[i].data.u64 >> 32);
        out[i].in = evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR);
        out[i].out = evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR);
    }
    return n;
}

static void loop_free(struct rthread *t)
{
    if (t->ep >= 0)
        close(t->ep);
}
#else
static int loop_init(struct rthread *t)
{
    t->ep = -1;
    t->pfd = calloc(t->nconns ? t->nconns : 1, sizeof *t->pfd);
    return t->pfd ? 0 : -1;
}

static int loop_add(struct rthread *t, struct rconn *c)
{
    (void)t;
    (void)c;
    return 0;
}

/* Level-triggered: interest in writing only while connecting or sending. */
static int loop_wait(struct rthread *t, struct ev *out, int max, uint64_t timeout_ns)
{
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        t->pfd[i].fd = c->fd;
        t->pfd[i].events = POLLIN;
        if (c->state == C_CONNECTING || c->state == C_SENDING)
            t->pfd[i].events |= POLLOUT;
        t->pfd[i].revents = 0;
    }
    int ms = (int)((timeout_ns + 999999) / 1000000);
    int n = poll(t->pfd, t->nconns, ms);
    if (n <= 0)
        return n;
    int k = 0;
    for (unsigned i = 0; i < t->nconns && k < max; i++) {
        short r = t->pfd[i].revents;
        if (!r || t->pfd[i].fd < 0)
            continue;
        out[k].idx = i;
        out[k].gen = t->conns[i].gen;
        out[k].in = r & (POLLIN | POLLHUP | POLLERR);
        out[k].out = r & (POLLOUT | POLLHUP | POLLERR);
        k++;
    }
    return k;
}

static void loop_free(struct rthread *t)
{
    free(t->pfd);
}
#endif

/* ---- results ---------------------------------------------------------- */

/* A request counts when it started (or was scheduled) at or after
 * t_measure and ended by t_end. */
static bool in_window(const struct lg_run *run, uint64_t origin, uint64_t now)
{
    return origin >= run->t_measure && (run->t_end == 0 || now <= run->t_end);
}

/* Errors of warm-up requests are not counted, except check failures: a
 * wrong answer is never a pass. */
static void count_error(struct rthread *t, const struct rconn *c, enum lg_error e, uint64_t now)
{
    if (in_window(t->run, c->t_begin, now) || is_check_failure(e)) {
        t->st.err[e]++;
        t->failures++;
    }
}

/* ---- connection life cycle ------------------------------------------- */

static void start_request(struct rthread *t, struct rconn *c, uint64_t now);

static void conn_close(struct rthread *t, struct rconn *c)
{
    (void)t;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->reused = false;
}

static bool run_over(const struct rthread *t, uint64_t now)
{
    return atomic_load_explicit(&t->run->stop, memory_order_relaxed) ||
           (t->run->t_end && now >= t->run->t_end);
}

/* The connection has no request in flight: start the next one now or when
 * its time comes. */
static void schedule_next(struct rthread *t, struct rconn *c, uint64_t now, uint64_t not_before)
{
    c->state = C_IDLE;
    uint64_t when = not_before;
    if (t->plan->interval_ns && c->due > when)
        when = c->due;
    if (when <= now) {
        start_request(t, c, now);
        return;
    }
    c->wake = when;
    heap_push(t, c);
}

static void conn_error(struct rthread *t, struct rconn *c, enum lg_error e, uint64_t now)
{
    count_error(t, c, e, now);
    conn_close(t, c);
    c->backoff = c->backoff ? c->backoff * 2 : BACKOFF_MIN_NS;
    if (c->backoff > BACKOFF_MAX_NS)
        c->backoff = BACKOFF_MAX_NS;
    c->state = C_IDLE;
    if (!run_over(t, now))
        schedule_next(t, c, now, now + c->backoff);
}

static void conn_finish(struct rthread *t, struct rconn *c)
{
    conn_close(t, c);
    c->state = C_DONE;
    t->active--;
}

static void send_some(struct rthread *t, struct rconn *c, uint64_t now);

/* Open a socket and start connecting; the request goes out once connected. */
static void conn_open(struct rthread *t, struct rconn *c, uint64_t now)
{
    const struct rplan *pl = t->plan;
#ifdef SOCK_NONBLOCK
    c->fd = socket(pl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    c->fd = socket(pl->addr.ss_family, SOCK_STREAM, 0);
    if (c->fd >= 0)
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
#endif
    if (c->fd < 0) {
        conn_error(t, c, errno == EMFILE || errno == ENFILE ? LG_ERR_OTHER : classify_errno(errno),
                   now);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->gen++;
    c->reused = false;
    if (loop_add(t, c) < 0) {
        conn_error(t, c, LG_ERR_OTHER, now);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&pl->addr, pl->addrlen) == 0) {
        c->state = C_SENDING;
        send_some(t, c, now);
    } else if (errno == EINPROGRESS || errno == EINTR) {
        c->state = C_CONNECTING;
    } else {
        conn_error(t, c, classify_errno(errno), now);
    }
}

static const struct rreq *pick(struct rthread *t, struct rconn *c)
{
    const struct rplan *pl = t->plan;
    if (!pl->cumw) {
        const struct rreq *rq = &pl->reqs[c->step];
        c->step = c->step + 1 == pl->nreqs ? 0 : c->step + 1;
        return rq;
    }
    uint64_t r = rng_next(&t->rng) % pl->totalw;
    size_t lo = 0, hi = pl->nreqs - 1;
    while (lo < hi) { /* first cumulative weight > r */
        size_t mid = (lo + hi) / 2;
        if (pl->cumw[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return &pl->reqs[lo];
}

static void reset_answer(struct rconn *c)
{
    hp_reset(&c->hp, c->rq->head);
    XXH64_reset(&c->xx, 0);
    c->rx = 0;
    c->smalllen = 0;
    c->small_over = false;
}

static void start_request(struct rthread *t, struct rconn *c, uint64_t now)
{
    struct lg_run *run = t->run;
    const struct lg_config *cfg = run->cfg;
    if (run_over(t, now)) {
        c->state = C_IDLE;
        return;
    }
    uint64_t origin = t->plan->interval_ns ? c->due : now;
    /* --requests: one ticket per measured request (warm-up ones are free) */
    if (cfg->requests && origin >= run->t_measure &&
        atomic_fetch_add_explicit(&run->issued, 1, memory_order_relaxed) >= cfg->requests) {
        conn_finish(t, c);
        return;
    }
    c->rq = pick(t, c);
    c->t_begin = origin;
    if (t->plan->interval_ns)
        c->due += t->plan->interval_ns;
    c->deadline = now + t->plan->timeout_ns;
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
    if (!c->reused || c->retried || !hp_idle(&c->hp) || c->rx != 0)
        return false;
    conn_close(t, c);
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
            if (!retry_stale(t, c, now))
                conn_error(t, c, classify_errno(e), now);
            return;
        }
    }
    c->state = C_RECEIVING;
}

/* ---- answers ---------------------------------------------------------- */

static enum lg_error judge(const struct rconn *c)
{
    const struct rreq *rq = c->rq;
    if (rq->st && !c->hp.headers_done)
        return LG_ERR_PROTOCOL;
    if (rq->st) {
        enum lg_error e = check_status(rq->st, c->hp.status);
        if (e != LG_ERR__COUNT)
            return e;
    }
    if (rq->head) {
        /* HEAD of a known file: Content-Length must announce its size. */
        if (rq->check_body && c->hp.content_length >= 0 &&
            c->hp.content_length != rq->exp_len)
            return LG_ERR_WRONG_LENGTH;
        return LG_ERR__COUNT;
    }
    if (rq->check_body) {
        uint64_t len = rq->st ? c->hp.body_len : c->rx;
        if ((int64_t)len != rq->exp_len)
            return LG_ERR_WRONG_LENGTH;
        if (XXH64_digest(&c->xx) != rq->exp_hash)
            return LG_ERR_WRONG_BODY;
    }
    if (rq->time_body && (c->small_over || !check_time_body(c->small, c->smalllen)))
        return LG_ERR_WRONG_BODY;
    return LG_ERR__COUNT;
}

/* The answer is complete: judge, count, and go on with the next request. */
static void answered(struct rthread *t, struct rconn *c, bool must_close)
{
    uint64_t now = lg_now_ns();
    enum lg_error e = judge(c);
    if (in_window(t->run, c->t_begin, now)) {
        uint64_t us = now > c->t_begin ? (now - c->t_begin) / 1000 : 0;
        hist_record(t->st.lat, us);
        t->st.requests++;
        t->st.bytes += c->rx;
    }
    t->answers++;
    if (e != LG_ERR__COUNT)
        count_error(t, c, e, now);
    c->backoff = 0;
    c->reused = true;
    if (must_close || c->sent < c->rq->len || (c->rq->st && (c->hp.close || !t->plan->keepalive)))
        conn_close(t, c);
    c->state = C_IDLE;
    if (run_over(t, now))
        return;
    schedule_next(t, c, now, now);
}

static void keep_small(struct rconn *c, const char *b, size_t n)
{
    if (c->smalllen + n > SMALL_MAX) {
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
    if (c->rq->check_body)
        XXH64_update(&c->xx, buf, take);
    if (!nl)
        return true;
    if (take < n) {
        conn_error(t, c, LG_ERR_PROTOCOL, lg_now_ns()); /* bytes nobody asked for */
        return false;
    }
    uint32_t gen = c->gen;
    answered(t, c, false);
    return c->gen == gen && c->fd >= 0;
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
        if (ev == HP_MORE)
            return true;
        if (ev == HP_BODY) {
            if (c->rq->check_body)
                XXH64_update(&c->xx, b, bl);
            if (c->rq->time_body)
                keep_small(c, b, bl);
            continue;
        }
        if (ev == HP_ERROR || n > 0) { /* n > 0: bytes after the answer nobody asked for */
            conn_error(t, c, LG_ERR_PROTOCOL, lg_now_ns());
            return false;
        }
        uint32_t gen = c->gen;
        answered(t, c, false);
        return c->gen == gen && c->fd >= 0;
    }
}

static void on_eof(struct rthread *t, struct rconn *c, uint64_t now)
{
    if (c->state == C_IDLE) { /* server closed an idle keep-alive connection */
        conn_close(t, c);
        return;
    }
    if (retry_stale(t, c, now))
        return;
    if (c->rq->st) {
        enum hp_ev ev = hp_eof(&c->hp);
        if (ev == HP_DONE) {
            answered(t, c, true);
            return;
        }
    }
    conn_error(t, c, LG_ERR_RESET, now);
}

static void recv_some(struct rthread *t, struct rconn *c)
{
    uint32_t gen = c->gen;
    for (;;) {
        ssize_t n = recv(c->fd, t->rbuf, RBUF_SIZE, 0);
        if (n > 0) {
            if (c->state == C_IDLE) { /* nothing asked */
                conn_error(t, c, LG_ERR_PROTOCOL, lg_now_ns());
                return;
            }
            bool go = c->rq->st ? feed_http(t, c, t->rbuf, (size_t)n)
                                : feed_echo(t, c, t->rbuf, (size_t)n);
            /* A short read drained the socket; edge-triggered epoll reports
             * the next arrival, so no extra recv() that would say EAGAIN. */
            if (!go || c->gen != gen || (size_t)n < RBUF_SIZE)
                return;
            if (c->state != C_RECEIVING && c->state != C_SENDING)
                return;
        } else if (n == 0) {
            on_eof(t, c, lg_now_ns());
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            int e = errno;
            uint64_t now = lg_now_ns();
            if (c->state == C_IDLE)
                conn_close(t, c);
            else if (!retry_stale(t, c, now))
                conn_error(t, c, classify_errno(e), now);
            return;
        }
    }
}

static void on_event(struct rthread *t, const struct ev *e)
{
    if (e->idx >= t->nconns)
        return;
    struct rconn *c = &t->conns[e->idx];
    if (c->gen != e->gen || c->fd < 0 || c->state == C_DONE)
        return; /* for a socket closed earlier in this batch */
    if (c->state == C_CONNECTING) {
        if (!e->out)
            return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        uint64_t now = lg_now_ns();
        if (err) {
            conn_error(t, c, classify_errno(err), now);
            return;
        }
        c->state = C_SENDING;
        send_some(t, c, now);
        if (c->gen != e->gen || c->fd < 0)
            return;
    } else if (c->state == C_SENDING && e->out) {
        send_some(t, c, lg_now_ns());
        if (c->gen != e->gen || c->fd < 0)
            return;
    }
    /* Also while sending: a server may answer (and close) before reading
     * the whole request. */
    if (e->in)
        recv_some(t, c);
}

/* ---- the thread ------------------------------------------------------- */

static void sweep_timeouts(struct rthread *t, uint64_t now)
{
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        if ((c->state == C_CONNECTING || c->state == C_SENDING || c->state == C_RECEIVING) &&
            now >= c->deadline)
            conn_error(t, c, LG_ERR_TIMEOUT, now);
    }
}

static void publish(struct rthread *t, uint64_t now, bool force)
{
    atomic_store_explicit(&t->live->requests, t->answers, memory_order_relaxed);
    atomic_store_explicit(&t->live->failures, t->failures, memory_order_relaxed);
    if (force || now >= t->next_p99) {
        t->next_p99 = now + P99_EVERY_NS;
        atomic_store_explicit(&t->live->p99_us, hist_percentile(t->st.lat, 99.0),
                              memory_order_relaxed);
    }
}

static void thread_start_conns(struct rthread *t)
{
    const struct rplan *pl = t->plan;
    uint64_t now = lg_now_ns();
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        if (pl->interval_ns) {
            /* connection g of C starts at t_start + g/R */
            double rate = t->run->cfg->rate;
            c->due = t->run->t_start + (uint64_t)((double)(t->first + i) * 1e9 / rate);
            schedule_next(t, c, now, now);
        } else {
            start_request(t, c, now);
        }
    }
}

static uint64_t next_wakeup(const struct rthread *t, uint64_t now)
{
    uint64_t when = t->next_tick;
    if (t->heapn && t->heap[0]->wake < when)
        when = t->heap[0]->wake;
    if (t->run->t_end && t->run->t_end < when)
        when = t->run->t_end;
    return when > now ? when - now : 0;
}

static void *thread_main(void *arg)
{
    struct rthread *t = arg;
    struct ev evs[MAX_EVENTS];
    t->next_tick = lg_now_ns() + t->plan->tick_ns;
    thread_start_conns(t);
    for (;;) {
        uint64_t now = lg_now_ns();
        if (run_over(t, now) || t->active == 0)
            break;
        while (t->heapn && t->heap[0]->wake <= now) {
            struct rconn *c = heap_pop(t);
            if (c->state == C_IDLE)
                start_request(t, c, now);
        }
        if (now >= t->next_tick) {
            sweep_timeouts(t, now);
            publish(t, now, false);
            t->next_tick = now + t->plan->tick_ns;
        }
        int n = loop_wait(t, evs, MAX_EVENTS, next_wakeup(t, now));
        for (int i = 0; i < n; i++)
            on_event(t, &evs[i]);
    }
    for (unsigned i = 0; i < t->nconns; i++)
        conn_close(t, &t->conns[i]);
    publish(t, lg_now_ns(), true);
    return NULL;
}

/* ---- setup ------------------------------------------------------------ */

static int resolve(struct rplan *pl, const struct lg_config *cfg, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(cfg->host, cfg->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s:%s: %s", cfg->host, cfg->port, gai_strerror(rc));
        return -1;
    }
    memcpy(&pl->addr, res->ai_addr, res->ai_addrlen);
    pl->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int host_header(const struct lg_config *cfg, char *out, size_t outlen)
{
    bool v6 = strchr(cfg->host, ':') != NULL;
    int n = snprintf(out, outlen, v6 ? "[%s]:%s" : "%s:%s", cfg->host, cfg->port);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int prepare_http(struct rreq *rq, const struct lg_step *st, const struct lg_config *cfg,
                        char *err, size_t errlen)
{
    char host[300];
    if (host_header(cfg, host, sizeof host) < 0) {
        snprintf(err, errlen, "host name too long");
        return -1;
    }
    bool body = st->body_size > 0;
    char head[LG_PATH_MAX + 512];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\n%s", st->method,
                     st->path[0] ? st->path : "/", host,
                     cfg->keepalive ? "" : "Connection: close\r\n");
    if (body && n > 0 && (size_t)n < sizeof head)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: application/octet-stream\r\nContent-Length: %llu\r\n",
                      (unsigned long long)st->body_size);
    if (n < 0 || (size_t)n + 2 >= sizeof head) {
        snprintf(err, errlen, "step %s: request too long", st->name);
        return -1;
    }
    memcpy(head + n, "\r\n", 2);
    n += 2;
    rq->len = (size_t)n + st->body_size;
    rq->buf = malloc(rq->len);
    if (!rq->buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(rq->buf, head, (size_t)n);
    if (body)
        check_payload(rq->buf + n, st->body_size);
    rq->st = st;
    rq->head = strcmp(st->method, "HEAD") == 0;
    switch (st->expect) {
    case LG_EXPECT_FILE:
    case LG_EXPECT_HASH:
        rq->check_body = st->expect_length >= 0;
        rq->exp_len = st->expect_length;
        rq->exp_hash = st->expect_hash;
        break;
    case LG_EXPECT_ECHO: /* POST /echo: the body comes back */
        rq->check_body = true;
        rq->exp_len = (int64_t)st->body_size;
        rq->exp_hash = XXH64(rq->buf + n, st->body_size, 0);
        break;
    case LG_EXPECT_TIME:
        rq->time_body = true;
        break;
    case LG_EXPECT_LISTING:
        snprintf(err, errlen, "step %s: listing checks are FTP only (use --engine curl)",
                 st->name);
        return -1;
    case LG_EXPECT_NONE:
        break;
    }
    return 0;
}

/* Echo: one line of body_size bytes, the last one '\n'; the same comes back. */
static int prepare_echo(struct rreq *rq, const struct lg_step *st, char *err, size_t errlen)
{
    size_t len = st->body_size ? (size_t)st->body_size : 1;
    rq->buf = malloc(len);
    if (!rq->buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    check_payload(rq->buf, len - 1);
    rq->buf[len - 1] = '\n';
    rq->len = len;
    rq->st = NULL; /* not HTTP */
    rq->check_body = true;
    rq->exp_len = (int64_t)len;
    rq->exp_hash = XXH64(rq->buf, len, 0);
    return 0;
}

static void plan_free(struct rplan *pl)
{
    for (size_t i = 0; pl->reqs && i < pl->nreqs; i++)
        free(pl->reqs[i].buf);
    free(pl->reqs);
    free(pl->cumw);
}

static int plan_init(struct rplan *pl, struct lg_run *run, char *err, size_t errlen)
{
    const struct lg_config *cfg = run->cfg;
    const struct lg_scenario *sc = cfg->sc;
    memset(pl, 0, sizeof *pl);
    pl->run = run;
    if (sc->proto == LG_PROTO_FTP) {
        snprintf(err, errlen, "the raw engine speaks HTTP and echo; FTP needs --engine curl");
        return -1;
    }
    if (sc->nsteps == 0) {
        snprintf(err, errlen, "the scenario has no steps");
        return -1;
    }
    if (cfg->threads == 0 || cfg->connections < cfg->threads) {
        snprintf(err, errlen, "need at least one connection per thread");
        return -1;
    }
    pl->echo = sc->proto == LG_PROTO_ECHO;
    pl->keepalive = cfg->keepalive;
    pl->timeout_ns = (uint64_t)(cfg->timeout_s * 1e9);
    if (pl->timeout_ns == 0)
        pl->timeout_ns = 5 * NS;
    pl->tick_ns = pl->timeout_ns / 10 < TICK_MAX_NS ? pl->timeout_ns / 10 : TICK_MAX_NS;
    if (pl->tick_ns < 1000000)
        pl->tick_ns = 1000000;
    if (cfg->rate > 0) {
        pl->interval_ns = (uint64_t)((double)cfg->connections * 1e9 / cfg->rate);
        if (pl->interval_ns == 0)
            pl->interval_ns = 1;
    }
    if (resolve(pl, cfg, err, errlen) < 0)
        return -1;
    pl->reqs = calloc(sc->nsteps, sizeof *pl->reqs);
    if (!pl->reqs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pl->nreqs = sc->nsteps;
    for (size_t i = 0; i < sc->nsteps; i++) {
        int rc = pl->echo ? prepare_echo(&pl->reqs[i], &sc->steps[i], err, errlen)
                          : prepare_http(&pl->reqs[i], &sc->steps[i], cfg, err, errlen);
        if (rc < 0)
            return -1;
    }
    if (sc->weighted) {
        pl->cumw = calloc(sc->nsteps, sizeof *pl->cumw);
        if (!pl->cumw) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < sc->nsteps; i++) {
            pl->totalw += sc->steps[i].weight;
            pl->cumw[i] = pl->totalw;
        }
        if (pl->totalw == 0) {
            snprintf(err, errlen, "weighted scenario with zero total weight");
            return -1;
        }
    }
    return 0;
}

static void thread_free(struct rthread *t)
{
    loop_free(t);
    free(t->conns);
    free(t->heap);
    free(t->rbuf);
    lg_stats_free(&t->st);
}

static int thread_init(struct rthread *t, const struct rplan *pl, unsigned i, unsigned first,
                       unsigned nconns)
{
    memset(t, 0, sizeof *t);
    t->ep = -1;
    t->plan = pl;
    t->run = pl->run;
    t->live = &pl->run->live[i];
    t->first = first;
    t->nconns = nconns;
    t->active = nconns;
    t->rng = 0x9E3779B97F4A7C15ULL * (i + 1) ^ (uint64_t)lg_now_ns();
    if (t->rng == 0)
        t->rng = 1;
    if (lg_stats_init(&t->st) < 0)
        return -1;
    t->conns = calloc(nconns, sizeof *t->conns);
    t->heap = calloc(nconns, sizeof *t->heap);
    t->rbuf = malloc(RBUF_SIZE);
    if (!t->conns || !t->heap || !t->rbuf)
        return -1;
    for (unsigned k = 0; k < nconns; k++) {
        t->conns[k].fd = -1;
        t->conns[k].idx = k;
        t->conns[k].step = 0;
    }
    return loop_init(t);
}

int engine_raw_run(struct lg_run *run, struct lg_stats *out, char *err, size_t errlen)
{
    const struct lg_config *cfg = run->cfg;
    struct rplan pl;
    int rc = -1;
    if (plan_init(&pl, run, err, errlen) < 0) {
        plan_free(&pl);
        return -1;
    }
    unsigned nt = cfg->threads;
    struct rthread *ts = calloc(nt, sizeof *ts);
    unsigned started = 0;
    if (!ts) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < nt; i++)
        ts[i].ep = -1; /* so a partly set-up array frees cleanly */
    for (unsigned i = 0, first = 0; i < nt; i++) {
        unsigned n = cfg->connections / nt + (i < cfg->connections % nt ? 1 : 0);
        if (thread_init(&ts[i], &pl, i, first, n) < 0) {
            snprintf(err, errlen, "cannot set up thread %u: %s", i, strerror(errno));
            goto out;
        }
        first += n;
    }
    for (; started < nt; started++) {
        int e = pthread_create(&ts[started].tid, NULL, thread_main, &ts[started]);
        if (e != 0) {
            snprintf(err, errlen, "pthread_create: %s", strerror(e));
            atomic_store(&run->stop, true);
            goto out;
        }
    }
    rc = 0;
out:
    for (unsigned i = 0; i < started; i++) {
        pthread_join(ts[i].tid, NULL);
        lg_stats_merge(out, &ts[i].st);
    }
    for (unsigned i = 0; ts && i < nt; i++)
        thread_free(&ts[i]);
    free(ts);
    plan_free(&pl);
    return rc;
}
