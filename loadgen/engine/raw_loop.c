/* raw_loop.c - one raw engine thread: its event loop over its share of the
 * connections (epoll, edge-triggered; poll() elsewhere) and the timer heap
 * of connections waiting for their next start (an open-loop slot or a
 * reconnect backoff). What happens on an event is raw_conn.c's business.
 *
 * One turn of the loop: start the connections whose time has come, every
 * tick sweep the deadlines and refresh the progress counters, then wait for
 * readiness until the next timer, tick or the end of the run. When the
 * window closes, the loop goes on for the drain (policy.h: the close) until
 * nothing is owed or its grace is over, then counts what is still owed. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"
#if SM_LINUX
#include <sys/epoll.h>
#else
#include <poll.h>
#endif

#include "raw.h"

#define MAX_EVENTS 256

/* ---- timer heap (connections waiting for their next start) ------------ */

static void heap_swap(struct rthread *t, size_t a, size_t b)
{
    struct rconn *x = t->heap[a];
    t->heap[a] = t->heap[b];
    t->heap[b] = x;
    t->heap[a]->heap_pos = a;
    t->heap[b]->heap_pos = b;
}

void raw_heap_push(struct rthread *t, struct rconn *c)
{
    if (c->in_heap) return;
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
        if (l < t->heapn && t->heap[l]->wake < t->heap[m]->wake) m = l;
        if (r < t->heapn && t->heap[r]->wake < t->heap[m]->wake) m = r;
        if (m == i) break;
        heap_swap(t, i, m);
        i = m;
    }
    return top;
}

/* ---- the poller (epoll on Linux, poll() elsewhere) -------------------- */

static int ms_round_up(uint64_t ns) /* never wake early and spin */
{
    return (int)((ns + 999999) / 1000000);
}

#if SM_LINUX
static int loop_init(struct rthread *t)
{
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    return t->ep < 0 ? -1 : 0;
}

/* Registered once per socket, edge-triggered for reading and writing: no
 * epoll_ctl per request. */
int raw_loop_add(struct rthread *t, struct rconn *c)
{
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                            .data.u64 = ((uint64_t)c->gen << 32) | c->idx};
    return epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &e);
}

static int loop_wait(struct rthread *t, struct ev *out, int max, uint64_t timeout_ns)
{
    struct epoll_event evs[MAX_EVENTS];
    if (max > MAX_EVENTS) max = MAX_EVENTS;
    int n = epoll_wait(t->ep, evs, max, ms_round_up(timeout_ns));
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
    if (t->ep >= 0) close(t->ep);
}
#else
static int loop_init(struct rthread *t)
{
    t->ep = -1;
    t->pfd = calloc(t->nconns ? t->nconns : 1, sizeof *t->pfd);
    return t->pfd ? 0 : -1;
}

int raw_loop_add(struct rthread *t, struct rconn *c)
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
        if (c->state == C_CONNECTING || c->state == C_SENDING) t->pfd[i].events |= POLLOUT;
        t->pfd[i].revents = 0;
    }
    int n = poll(t->pfd, t->nconns, ms_round_up(timeout_ns));
    if (n <= 0) return n;
    int k = 0;
    for (unsigned i = 0; i < t->nconns && k < max; i++) {
        short r = t->pfd[i].revents;
        if (!r || t->pfd[i].fd < 0) continue;
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

/* ---- the thread ------------------------------------------------------- */

static void start_conns(struct rthread *t)
{
    uint64_t now = lg_now_ns();
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        if (t->plan->interval_ns) {
            c->due = policy_first_slot(t->run, t->first + i);
            raw_schedule_next(t, c, now, now);
        } else {
            raw_start_request(t, c, now);
        }
    }
}

static void start_due(struct rthread *t, uint64_t now)
{
    while (t->heapn && t->heap[0]->wake <= now) {
        struct rconn *c = heap_pop(t);
        if (c->state == C_IDLE) raw_start_request(t, c, now);
    }
}

static uint64_t next_wakeup(const struct rthread *t, uint64_t now)
{
    uint64_t when = t->next_tick;
    uint64_t until = t->closing ? t->drain_end : t->run->t_end;
    if (t->heapn && t->heap[0]->wake < when) when = t->heap[0]->wake;
    if (until && until < when) when = until;
    return when > now ? when - now : 0;
}

/* ---- the close and the drain (policy.h) ------------------------------- */

static bool in_flight(const struct rconn *c)
{
    return c->state == C_CONNECTING || c->state == C_SENDING || c->state == C_RECEIVING;
}

/* An open-loop connection's slots from c->due on that fell in the window. */
static uint64_t slots_due(const struct rthread *t, const struct rconn *c)
{
    if (c->state == C_DONE) return 0;
    return policy_slots_due(&t->tally, c->due, t->plan->interval_ns);
}

/* The window closed: timeouts already due are timeouts; open-loop slots
 * due before the close that nobody scheduled (their connection was done
 * just after t_end) get their turn in the drain. */
static void close_window(struct rthread *t, uint64_t now)
{
    t->closing = true;
    t->drain_end = policy_close(&t->tally, now);
    raw_sweep_timeouts(t, now);
    for (unsigned i = 0; t->plan->interval_ns && i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        if (c->state == C_IDLE && !c->in_heap && slots_due(t, c)) raw_schedule_next(t, c, now, now);
    }
}

/* Whether the drain may still bring an answer something is owed. */
static bool anything_owed(const struct rthread *t)
{
    for (unsigned i = 0; i < t->nconns; i++) {
        const struct rconn *c = &t->conns[i];
        if (in_flight(c) || (c->in_heap && slots_due(t, c))) return true;
    }
    return false;
}

/* The drain is over: count what is still owed, connection by connection. */
static void end_conns(struct rthread *t)
{
    for (unsigned i = 0; i < t->nconns; i++) {
        struct rconn *c = &t->conns[i];
        policy_conn_end(&t->tally, &c->pc, (in_flight(c) ? 1 : 0) + slots_due(t, c));
        raw_conn_close(c);
    }
}

void *raw_thread_main(void *arg)
{
    struct rthread *t = arg;
    struct ev evs[MAX_EVENTS];
    t->next_tick = lg_now_ns() + t->plan->tick_ns;
    start_conns(t);
    for (;;) {
        uint64_t now = lg_now_ns();
        if (!t->closing && policy_run_over(t->run, now)) close_window(t, now);
        if (t->closing && (now >= t->drain_end || !anything_owed(t))) break;
        if (t->active == 0) break;
        start_due(t, now);
        if (now >= t->next_tick) {
            raw_sweep_timeouts(t, now);
            policy_publish(&t->tally, now, false);
            t->next_tick = now + t->plan->tick_ns;
        }
        int n = loop_wait(t, evs, MAX_EVENTS, next_wakeup(t, now));
        for (int i = 0; i < n; i++)
            raw_on_event(t, &evs[i]);
    }
    end_conns(t);
    policy_finish(&t->tally, lg_now_ns());
    return NULL;
}

void raw_thread_free(struct rthread *t)
{
    loop_free(t);
    free(t->conns);
    free(t->heap);
    free(t->rbuf);
    policy_tally_free(&t->tally);
}

int raw_thread_init(struct rthread *t, const struct rplan *pl, unsigned i, unsigned first,
                    unsigned nconns)
{
    memset(t, 0, sizeof *t);
    t->ep = -1;
    t->plan = pl;
    t->run = pl->run;
    t->first = first;
    t->nconns = nconns;
    t->active = nconns;
    t->rng = policy_seed(i);
    struct lg_live *live = pl->run->live ? &pl->run->live[i] : NULL;
    if (policy_tally_init(&t->tally, pl->run, live) < 0) return -1;
    t->conns = calloc(nconns, sizeof *t->conns);
    t->heap = calloc(nconns, sizeof *t->heap);
    t->rbuf = malloc(RAW_RBUF_SIZE);
    if (!t->conns || !t->heap || !t->rbuf) return -1;
    for (unsigned k = 0; k < nconns; k++) {
        t->conns[k].fd = -1;
        t->conns[k].idx = k;
    }
    return loop_init(t);
}
