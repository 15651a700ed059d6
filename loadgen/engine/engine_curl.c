/* engine_curl.c - the libcurl engine (reference HTTP client, FTP) and the
 * verify pass.
 *
 * Each thread owns one multi handle and its share of the connections as
 * easy handles, kept for the whole run: an easy handle is removed from the
 * multi when its transfer ends and re-added for the next one, so the
 * connection it used stays in the multi's cache and is reused (unless
 * keep-alive is off). The loop is curl_multi_perform + curl_multi_poll:
 * the socket_action API ran at half the rate and left FTP transfers stalled
 * on this machine (DESIGN.md section 5). Every transfer has a deadline, so a
 * stall is a counted timeout, never a hang.
 *
 * Closed loop: a handle starts its next request as soon as one ends.
 * Open loop (--rate R): handle i of C has slots every C/R seconds; latency
 * is measured from the slot, so a late start still pays for its wait.
 * FTP connections are ramped up (RAMP_NS apart) instead of opened all at
 * once: a burst overflows the server's listen queue and, with SYN cookies,
 * leaves clients waiting for a greeting that never comes.
 *
 * Step choice, the measured window (warm-up is not counted), --requests
 * tickets, open-loop slots and counting follow the policy shared with the
 * raw engine (policy.h). When the window closes, what is owed gets a short
 * drain; what is still owed after it (an FTP transfer too) is counted
 * unanswered and aborted (policy.h: the close). A handle is one virtual
 * client: libcurl pools the sockets, so a handle may move to another one
 * of the multi's connections between requests; starved counts handles.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/check.h"
#include "curl_step.h"
#include "engine.h"
#include "policy.h"
#include "results/stats.h"

#define RAMP_NS 1000000ULL /* FTP: one new control connection per ms */
#define POLL_MAX_MS 50     /* how late a stop request may be seen */
/* libcurl 7.88 leaves an FTP transfer, at some step, with no socket in
 * curl_multi_poll's set and no timer, so each transfer slept the whole poll
 * timeout: one connection made 22 RETR/s at p50 50 ms (5 ms cap: 183/s at
 * 5.6 ms). FTP polls with a 1 ms cap; the cost is ~1k idle wake-ups a second. */
#define POLL_MAX_MS_FTP 1
#define PAYLOAD_MAX (1ULL << 30)

struct handle {
    struct cs_xfer x; /* first member: CURLOPT_PRIVATE points at it */
    unsigned gidx;    /* connection number over all threads */
    bool busy, retired;
    uint64_t next_ns; /* earliest start: ramp-up, open-loop slot */
    uint64_t t0;      /* latency origin of the request in flight */
    uint64_t t_phase; /* when its transfer (phase) was added to the multi */
    uint64_t bytes;   /* received by the request in flight (all phases) */
    uint64_t seq;     /* requests started: STOR names */
    size_t cursor;    /* next step (replay in order) */
    size_t step;      /* the scenario step of the request in flight */
    struct policy_conn pc;
};

struct worker {
    struct lg_run *run;
    const struct lg_config *cfg;
    unsigned idx;
    CURLM *multi;
    struct handle *h;
    unsigned nh, busy, retired;
    const struct policy_steps *steps;
    struct policy_tally tally;
    uint64_t rng;
    uint64_t interval_ns; /* open loop: per-handle period; 0 = closed loop */
    const unsigned char *payload;
    pthread_t tid;
    int rc;
    bool added;         /* a transfer was added since the last curl_multi_perform */
    bool closing;       /* the window closed: draining what is owed (policy.h) */
    uint64_t drain_end; /* when the drain gives up */
    char err[512];
};

/* ---- one request ------------------------------------------------------ */

static void worker_fail(struct worker *w, const char *what, const char *detail)
{
    if (w->rc == 0) snprintf(w->err, sizeof w->err, "curl engine: %s: %s", what, detail);
    w->rc = -1;
}

static void retire(struct worker *w, struct handle *h)
{
    if (!h->retired) {
        h->retired = true;
        w->retired++;
    }
}

static void start_request(struct worker *w, struct handle *h, uint64_t now)
{
    uint64_t origin = w->interval_ns ? h->next_ns : now;
    if (!policy_take_ticket(w->run, origin)) {
        retire(w, h);
        return;
    }
    char tag[96];
    snprintf(tag, sizeof tag, "%ld-%u-%u-%" PRIu64, (long)getpid(), w->idx, h->gidx, h->seq++);
    h->step = policy_pick(w->steps, &w->rng, &h->cursor);
    const struct lg_step *st = &w->cfg->sc->steps[h->step];
    if (cs_start(&h->x, st, tag) < 0) {
        worker_fail(w, st->name, h->x.errbuf);
        retire(w, h);
        return;
    }
    CURLMcode mc = curl_multi_add_handle(w->multi, h->x.easy);
    if (mc != CURLM_OK) {
        worker_fail(w, "curl_multi_add_handle", curl_multi_strerror(mc));
        retire(w, h);
        return;
    }
    w->added = true;
    h->t0 = origin;
    h->t_phase = now;
    h->bytes = 0;
    h->busy = true;
    w->busy++;
}

/* When a transfer that failed without an answer failed: a timeout at its
 * deadline, i.e. as long after its start as libcurl ran it. */
static uint64_t failure_time(const struct handle *h, enum lg_error e, uint64_t now)
{
    curl_off_t us = 0;
    if (e != LG_ERR_TIMEOUT || curl_easy_getinfo(h->x.easy, CURLINFO_TOTAL_TIME_T, &us) != CURLE_OK)
        return now;
    uint64_t when = h->t_phase + (uint64_t)us * 1000;
    return when < now ? when : now;
}

/* The step a result counts under: the request's, or the setup step that
 * failed (a connect, a login that never got its 230). */
static size_t step_of(const struct worker *w, const struct handle *h, const struct cs_result *r)
{
    if (r->answered || r->err == LG_ERR__COUNT) return h->step;
    if (r->err == LG_ERR_CONNECT || r->err == LG_ERR_ADDRNOTAVAIL)
        return policy_setup_step(&w->tally, LG_SETUP_CONNECT);
    if (h->x.login_start && !h->x.login_end) return policy_setup_step(&w->tally, LG_SETUP_LOGIN);
    return h->step;
}

/* The setup steps the transfer just finished went through, each a step of
 * its own, and never inside a request's latency:
 *   - closed loop: a first request's latency starts after them, as wrk's
 *     starts after the connect;
 *   - open loop: a new FTP session's schedule starts once it is logged in
 *     (its slots move by the login's time), so a slow login is the login
 *     step's, not a late STOR's and the next ones'. A connect alone does not
 *     move the schedule: it is short, and where every request has its own
 *     (no keep-alive) it is part of what the schedule measures. */
static void record_setup(struct worker *w, struct handle *h)
{
    struct cs_setup s;
    cs_setup_of(&h->x, &s);
    uint64_t ready = 0;
    if (s.connect_us) {
        /* libcurl's connect time of FTP runs to the end of the login (its
         * protocol connect): the connect ends with the server's greeting */
        ready = h->x.login_start ? h->x.login_start : h->t_phase + s.connect_us * 1000;
        if (ready < h->t_phase) ready = h->t_phase;
        policy_setup(&w->tally, LG_SETUP_CONNECT, h->t_phase, ready, LG_ERR__COUNT);
    }
    bool logged_in = h->x.login_end != 0;
    if (logged_in) {
        policy_setup(&w->tally, LG_SETUP_LOGIN, h->x.login_start, h->x.login_end, LG_ERR__COUNT);
        ready = h->x.login_end;
    }
    if (h->x.data_end)
        policy_setup(&w->tally, LG_SETUP_DATA, h->x.data_start, h->x.data_end, LG_ERR__COUNT);
    if (!ready || h->x.phase != 0 || ready <= h->t0) return;
    if (!w->interval_ns || logged_in) h->t0 = ready;
}

static void record(struct worker *w, struct handle *h, const struct cs_result *r, uint64_t now)
{
    policy_at_step(&w->tally, step_of(w, h, r));
    if (r->answered)
        policy_conn_answer(&w->tally, &h->pc, h->t0, now, h->bytes, r->err);
    else
        policy_conn_failure(&w->tally, &h->pc, h->t0, failure_time(h, r->err, now), r->err);
}

static void finish_request(struct worker *w, struct handle *h, CURLcode res)
{
    struct cs_result r;
    curl_multi_remove_handle(w->multi, h->x.easy);
    cs_finish(&h->x, res, &r);
    record_setup(w, h);
    h->bytes += r.bytes;
    if (r.again) { /* STOR done: the read-back RETR is part of the same request */
        if (cs_next_phase(&h->x) == 0 && curl_multi_add_handle(w->multi, h->x.easy) == CURLM_OK) {
            w->added = true;
            h->t_phase = lg_now_ns();
            return;
        }
        r.err = LG_ERR_OTHER;
    }
    uint64_t now = lg_now_ns();
    h->busy = false;
    w->busy--;
    record(w, h, &r, now);
    h->next_ns = w->interval_ns ? h->t0 + w->interval_ns : now;
}

/* ---- the loop --------------------------------------------------------- */

static void drain(struct worker *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode res = m->data.result; /* m dies with curl_multi_remove_handle */
        void *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        finish_request(w, (struct handle *)priv, res);
    }
}

/* Whether h may start a request now: while the window is open; in the
 * drain only an open-loop slot that was due before the close (policy.h). */
static bool may_start(const struct worker *w, const struct handle *h, uint64_t now)
{
    if (!policy_run_over(w->run, now)) return true;
    return w->closing && w->interval_ns && h->next_ns <= policy_close_time(&w->tally);
}

/* Start every idle handle whose time has come; ns until the next one. */
static uint64_t start_due(struct worker *w, uint64_t now)
{
    uint64_t wait = UINT64_MAX;
    for (unsigned i = 0; i < w->nh && w->rc == 0; i++) {
        struct handle *h = &w->h[i];
        if (h->busy || h->retired || !may_start(w, h, now)) continue;
        if (h->next_ns <= now)
            start_request(w, h, now);
        else if (h->next_ns - now < wait)
            wait = h->next_ns - now;
    }
    return wait;
}

/* Open loop: h's slots not started yet that fell in the window. */
static uint64_t slots_due(const struct worker *w, const struct handle *h)
{
    if (h->retired) return 0;
    uint64_t next = h->busy ? h->t0 + w->interval_ns : h->next_ns;
    return policy_slots_due(&w->tally, next, w->interval_ns);
}

/* Whether the drain may still bring an answer something is owed. */
static bool anything_owed(const struct worker *w)
{
    if (w->busy) return true;
    for (unsigned i = 0; w->interval_ns && i < w->nh; i++)
        if (slots_due(w, &w->h[i])) return true;
    return false;
}

/* The drain is over: count what is still owed, handle by handle, and
 * abort what is in flight. */
static void end_handles(struct worker *w)
{
    for (unsigned i = 0; i < w->nh; i++) {
        struct handle *h = &w->h[i];
        policy_conn_end(&w->tally, &h->pc, (h->busy ? 1 : 0) + slots_due(w, h));
        if (h->busy) curl_multi_remove_handle(w->multi, h->x.easy);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct lg_run *run = w->run;
    for (;;) {
        uint64_t now = lg_now_ns();
        if (!w->closing && policy_run_over(run, now)) {
            w->closing = true;
            w->drain_end = policy_close(&w->tally, now);
        }
        if (w->rc || (w->closing && (now >= w->drain_end || !anything_owed(w)))) break;
        int running;
        CURLMcode mc = curl_multi_perform(w->multi, &running);
        if (mc != CURLM_OK) {
            worker_fail(w, "curl_multi_perform", curl_multi_strerror(mc));
            break;
        }
        drain(w);
        now = lg_now_ns();
        policy_publish(&w->tally, now, false);
        uint64_t wait = start_due(w, now);
        if (w->busy == 0 && w->retired == w->nh)
            break; /* --requests: all tickets taken and answered */
        uint64_t until = w->closing ? w->drain_end : run->t_end;
        if (until && until > now && until - now < wait) wait = until - now;
        /* a transfer just added has no socket to poll yet: start it first
         * (else the poll sleeps its whole timeout: 70 ms per STOR + read-back) */
        if (w->added) {
            w->added = false;
            continue;
        }
        uint64_t ms = wait / 1000000 + (wait % 1000000 != 0);
        uint64_t cap = w->cfg->sc->proto == LG_PROTO_FTP ? POLL_MAX_MS_FTP : POLL_MAX_MS;
        curl_multi_poll(w->multi, NULL, 0, (int)(ms > cap ? cap : ms), NULL);
    }
    end_handles(w);
    policy_finish(&w->tally, lg_now_ns());
    return NULL;
}

/* ---- setup ------------------------------------------------------------ */

static void worker_free(struct worker *w)
{
    for (unsigned i = 0; w->h && i < w->nh; i++)
        cs_free(&w->h[i].x);
    free(w->h);
    if (w->multi) curl_multi_cleanup(w->multi);
    policy_tally_free(&w->tally);
}

static int worker_init(struct worker *w, struct lg_run *run, unsigned idx, unsigned nthreads,
                       const struct policy_steps *steps, const unsigned char *payload)
{
    const struct lg_config *cfg = run->cfg;
    unsigned conns = cfg->connections ? cfg->connections : 1;
    memset(w, 0, sizeof *w);
    w->run = run;
    w->cfg = cfg;
    w->idx = idx;
    w->steps = steps;
    w->payload = payload;
    w->rng = policy_seed(idx);
    w->interval_ns = policy_interval_ns(cfg);
    w->nh = (conns - idx + nthreads - 1) / nthreads;
    struct lg_live *live = run->live ? &run->live[idx] : NULL;
    if (policy_tally_init(&w->tally, run, live) < 0 || !(w->multi = curl_multi_init()) ||
        !(w->h = calloc(w->nh, sizeof *w->h)))
        return -1;
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, (long)w->nh + 1);
    uint64_t ramp = cfg->sc->proto == LG_PROTO_FTP ? RAMP_NS : 0;
    for (unsigned i = 0; i < w->nh; i++) {
        struct handle *h = &w->h[i];
        if (cs_init(&h->x, cfg, payload) < 0) return -1;
        h->gidx = idx + i * nthreads;
        h->next_ns = run->t_start + h->gidx * ramp;
        if (w->interval_ns) { /* spread the first slots over one period */
            uint64_t slot = policy_first_slot(run, h->gidx);
            if (slot > h->next_ns) h->next_ns = slot;
        }
    }
    return 0;
}

/* check_payload bytes for every POST / STOR / echo step (shared, read-only). */
static unsigned char *make_payload(const struct lg_scenario *sc, char *err, size_t errlen)
{
    size_t n = cs_payload_size(sc);
    if (n > PAYLOAD_MAX) {
        snprintf(err, errlen, "body_size %zu is larger than the limit %llu", n, PAYLOAD_MAX);
        return NULL;
    }
    unsigned char *p = malloc(n + 1);
    if (!p) {
        snprintf(err, errlen, "out of memory for a %zu-byte payload", n);
        return NULL;
    }
    check_payload(p, n);
    p[n] = '\0';
    return p;
}

int engine_curl_run(struct lg_run *run, struct lg_stats *out, char *err, size_t errlen)
{
    const struct lg_config *cfg = run->cfg;
    const struct lg_scenario *sc = cfg->sc;
    if (sc->proto == LG_PROTO_ECHO) {
        snprintf(err, errlen, "the curl engine does not speak the echo protocol: use --engine raw");
        return -1;
    }
    if (cs_global_init() < 0) {
        snprintf(err, errlen, "curl_global_init failed");
        return -1;
    }
    struct policy_steps steps;
    if (policy_steps_init(&steps, sc, err, errlen) < 0) return -1;
    unsigned conns = cfg->connections ? cfg->connections : 1;
    unsigned nthreads = cfg->threads ? cfg->threads : 1;
    if (nthreads > conns) nthreads = conns;
    unsigned char *payload = make_payload(sc, err, errlen);
    struct worker *w = calloc(nthreads, sizeof *w);
    if (!payload || !w) {
        if (payload && !w) snprintf(err, errlen, "out of memory");
        free(payload);
        free(w);
        policy_steps_free(&steps);
        return -1;
    }
    policy_window_init(run);
    int rc = 0;
    unsigned started = 0;
    for (unsigned i = 0; i < nthreads && rc == 0; i++)
        if (worker_init(&w[i], run, i, nthreads, &steps, payload) < 0) {
            snprintf(err, errlen, "curl engine: out of memory setting up %u connections", conns);
            rc = -1;
        }
    for (; rc == 0 && started < nthreads; started++)
        if (pthread_create(&w[started].tid, NULL, worker_main, &w[started]) != 0) {
            snprintf(err, errlen, "curl engine: pthread_create: %s", strerror(errno));
            atomic_store(&run->stop, true);
            rc = -1;
        }
    for (unsigned i = 0; i < started; i++)
        pthread_join(w[i].tid, NULL);
    for (unsigned i = 0; i < nthreads; i++) {
        if (rc == 0 && w[i].rc) {
            snprintf(err, errlen, "%s", w[i].err);
            rc = -1;
        }
        lg_stats_merge(out, &w[i].tally.st);
        worker_free(&w[i]);
    }
    free(w);
    free(payload);
    policy_steps_free(&steps);
    return rc;
}

/* ---- the verify pass -------------------------------------------------- */

static bool same_step(const struct lg_step *a, const struct lg_step *b)
{
    return strcmp(a->method, b->method) == 0 && strcmp(a->path, b->path) == 0 &&
           a->body_size == b->body_size && a->expect == b->expect &&
           a->expect_status == b->expect_status && a->expect_length == b->expect_length &&
           a->expect_hash == b->expect_hash && strcmp(a->expect_names, b->expect_names) == 0 &&
           strcmp(a->host, b->host) == 0 && a->headers_len == b->headers_len &&
           memcmp(a->headers, b->headers, a->headers_len) == 0 &&
           memcmp(a->expect_sha256, b->expect_sha256, sizeof a->expect_sha256) == 0 &&
           (a->body == b->body ||
            (a->body && b->body && memcmp(a->body, b->body, a->body_size) == 0));
}

static int64_t ms_left(uint64_t deadline)
{
    uint64_t now = lg_now_ns();
    return now >= deadline ? 0 : (int64_t)((deadline - now) / 1000000 + 1);
}

static int echo_connect(const struct lg_config *cfg, uint64_t deadline, char *why, size_t len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int gai = getaddrinfo(cfg->host, cfg->port, &hints, &ai);
    if (gai != 0) {
        snprintf(why, len, "cannot resolve %s: %s", cfg->host, gai_strerror(gai));
        return -1;
    }
    /* nonblocking by fcntl, not SOCK_NONBLOCK (Linux): one connect per run */
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    int rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && fd >= 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int soerr = ETIMEDOUT;
        socklen_t sl = sizeof soerr;
        if (poll(&p, 1, (int)ms_left(deadline)) == 1)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        rc = soerr ? -1 : 0;
        errno = soerr;
    }
    if (rc < 0) {
        snprintf(why, len, "connect to %s:%s: %s", cfg->host, cfg->port, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* Echo is not a libcurl protocol: one line through a plain socket, sent
 * and read back concurrently (a long line must not deadlock), checked
 * byte for byte against the payload. */
static int verify_echo(const struct lg_config *cfg, const struct lg_step *st,
                       const unsigned char *payload, char *why, size_t len)
{
    double tmo = cfg->timeout_s > 0 ? cfg->timeout_s : 10.0;
    uint64_t deadline = lg_now_ns() + (uint64_t)(tmo * 1e9);
    size_t n = (size_t)st->body_size, sent = 0, got = 0;
    char *back = malloc(n + 1);
    int fd = back ? echo_connect(cfg, deadline, why, len) : -1;
    if (!back) snprintf(why, len, "out of memory");
    int rc = fd < 0 ? -1 : 1;
    while (rc == 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent <= n ? POLLOUT : 0)};
        if (poll(&p, 1, (int)ms_left(deadline)) <= 0) {
            snprintf(why, len, "timeout: %zu of %zu bytes echoed", got, n + 1);
            rc = -1;
            break;
        }
        if ((p.revents & POLLOUT) && sent <= n) {
            const void *src = sent < n ? (const void *)(payload + sent) : "\n";
            ssize_t k = send(fd, src, sent < n ? n - sent : 1, MSG_NOSIGNAL);
            if (k < 0 && errno != EAGAIN && errno != EINTR) {
                snprintf(why, len, "send: %s", strerror(errno));
                rc = -1;
            }
            sent += k > 0 ? (size_t)k : 0;
        }
        if (rc == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t k = recv(fd, back + got, n + 1 - got, 0);
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                snprintf(why, len, "connection closed after %zu of %zu bytes", got, n + 1);
                rc = -1;
            }
            got += k > 0 ? (size_t)k : 0;
            if (rc == 1 && (memchr(back, '\n', got) || got == n + 1)) rc = 0;
        }
    }
    if (rc == 0) {
        char *nl = memchr(back, '\n', got);
        size_t line = nl ? (size_t)(nl - back) : got;
        if (line != n || !nl) {
            snprintf(why, len, "expected a %zu-byte line back, got %zu bytes%s", n, line,
                     nl ? "" : " without a newline");
            rc = -1;
        } else if (memcmp(back, payload, n) != 0) {
            snprintf(why, len, "expected the %zu bytes sent back, got different bytes", n);
            rc = -1;
        }
    }
    if (fd >= 0) close(fd);
    free(back);
    return rc;
}

/* One step through a fresh easy handle, a STOR including its read-back. */
static int verify_curl(const struct lg_config *cfg, const struct lg_step *st, size_t i,
                       const unsigned char *payload, struct verify_body *first, char *why,
                       size_t len)
{
    struct cs_xfer x;
    struct cs_result r = {.err = LG_ERR__COUNT};
    char tag[64];
    snprintf(tag, sizeof tag, "%ld-v%zu", (long)getpid(), i);
    if (cs_init(&x, cfg, payload) < 0) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    int rc = cs_start(&x, st, tag);
    while (rc == 0) {
        cs_finish(&x, curl_easy_perform(x.easy), &r);
        if (!r.again) break;
        rc = cs_next_phase(&x);
    }
    if (rc < 0)
        snprintf(why, len, "%s", x.errbuf);
    else if (r.err != LG_ERR__COUNT)
        snprintf(why, len, "%s", r.why), rc = -1;
    else if (r.learnt)
        *first = (struct verify_body){r.body_len, r.body_hash};
    cs_free(&x);
    return rc;
}

int verify_run(const struct lg_config *cfg, struct verify_body *first, char *err, size_t errlen)
{
    const struct lg_scenario *sc = cfg->sc;
    if (sc->proto != LG_PROTO_ECHO && cs_global_init() < 0) {
        snprintf(err, errlen, "verify: curl_global_init failed");
        return -1;
    }
    unsigned char *payload = make_payload(sc, err, errlen);
    if (!payload) return -1;
    int rc = 0;
    char why[400];
    struct verify_body none = {-1, 0};
    for (size_t i = 0; first && i < sc->nsteps; i++)
        first[i] = none;
    for (size_t i = 0; i < sc->nsteps && rc == 0; i++) {
        const struct lg_step *st = &sc->steps[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            if ((seen = same_step(&sc->steps[j], st)) && first) first[i] = first[j];
        if (seen) continue;
        why[0] = '\0';
        if (sc->proto == LG_PROTO_ECHO)
            rc = verify_echo(cfg, st, payload, why, sizeof why);
        else
            rc = verify_curl(cfg, st, i, payload, first ? &first[i] : &none, why, sizeof why);
        if (rc < 0 && sc->proto == LG_PROTO_ECHO)
            snprintf(err, errlen, "verify: step %s (%s %" PRIu64 " bytes): %s", st->name,
                     st->method, st->body_size, why);
        else if (rc < 0)
            snprintf(err, errlen, "verify: step %s (%s %s): %s", st->name, st->method, st->path,
                     why);
    }
    free(payload);
    return rc;
}
