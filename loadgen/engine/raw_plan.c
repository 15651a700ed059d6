/* raw_plan.c - the raw engine's request plan: every step serialised once
 * before the run (nothing is built per request), with what its answer is
 * checked against, and the target address. */
#include "raw_plan.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "http/check.h"
#include "http/reqheader.h"

#define TICK_MAX_NS 50000000ULL /* timeout sweep + progress counters */
#define TICK_MIN_NS 1000000ULL

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

/* The step's own header lines ("Name: value\r\n" each) at head + n. */
static int own_headers(char *head, size_t cap, int n, const struct lg_step *st)
{
    for (const char *h = reqheader_first(st); h && n >= 0 && (size_t)n < cap;
         h = reqheader_next(st, h))
        n += snprintf(head + n, cap - (size_t)n, "%s\r\n", h);
    return n;
}

/* The request line and headers of st into head; its length, or -1. */
static int http_head(char *head, size_t cap, const struct lg_step *st, const struct lg_config *cfg,
                     char *err, size_t errlen)
{
    char host[300];
    if (host_header(cfg, host, sizeof host) < 0) {
        snprintf(err, errlen, "host name too long");
        return -1;
    }
    int n = snprintf(head, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n%s", st->method,
                     st->path[0] ? st->path : "/", st->host[0] ? st->host : host,
                     cfg->keepalive ? "" : "Connection: close\r\n");
    if (n > 0 && (size_t)n < cap) n = own_headers(head, cap, n, st);
    if (st->body_size > 0 && n > 0 && (size_t)n < cap)
        n += snprintf(head + n, cap - (size_t)n,
                      "Content-Type: application/octet-stream\r\nContent-Length: %llu\r\n",
                      (unsigned long long)st->body_size);
    if (n < 0 || (size_t)n + 2 >= cap) {
        snprintf(err, errlen, "step %s: request too long", st->name);
        return -1;
    }
    memcpy(head + n, "\r\n", 2);
    return n + 2;
}

/* What the answer to an HTTP step is checked against. */
static int http_expect(struct rreq *rq, const struct lg_step *st, const char *body, char *err,
                       size_t errlen)
{
    switch (st->expect) {
    case LG_EXPECT_FILE:
    case LG_EXPECT_HASH:
    case LG_EXPECT_SAME:   /* learnt by the verify pass */
    case LG_EXPECT_SHA256: /* likewise, its answer checked for the SHA-256 */
        rq->check_body = st->expect_length >= 0;
        rq->exp_len = st->expect_length;
        rq->exp_hash = st->expect_hash;
        break;
    case LG_EXPECT_ECHO: /* POST /echo: the body comes back */
        rq->check_body = true;
        rq->exp_len = (int64_t)st->body_size;
        rq->exp_hash = XXH64(body, st->body_size, 0);
        break;
    case LG_EXPECT_TIME:
        rq->time_body = true;
        break;
    case LG_EXPECT_LISTING:
        snprintf(err, errlen, "step %s: listing checks are FTP only (use --engine curl)", st->name);
        return -1;
    case LG_EXPECT_NONE:
        break;
    }
    return 0;
}

static int prepare_http(struct rreq *rq, const struct lg_step *st, const struct lg_config *cfg,
                        char *err, size_t errlen)
{
    char head[LG_PATH_MAX + LG_HOST_MAX + LG_HEADERS_BYTES + 2 * LG_HEADERS_MAX + 512];
    int n = http_head(head, sizeof head, st, cfg, err, errlen);
    if (n < 0) return -1;
    rq->len = (size_t)n + st->body_size;
    rq->buf = malloc(rq->len);
    if (!rq->buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(rq->buf, head, (size_t)n);
    if (st->body)
        memcpy(rq->buf + n, st->body, st->body_size);
    else if (st->body_size > 0)
        check_payload(rq->buf + n, st->body_size);
    rq->st = st;
    rq->head = strcmp(st->method, "HEAD") == 0;
    return http_expect(rq, st, rq->buf + n, err, errlen);
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

void raw_plan_free(struct rplan *pl)
{
    for (size_t i = 0; pl->reqs && i < pl->steps.nsteps; i++)
        free(pl->reqs[i].buf);
    free(pl->reqs);
    pl->reqs = NULL;
    policy_steps_free(&pl->steps);
}

static int check_config(const struct lg_config *cfg, char *err, size_t errlen)
{
    if (cfg->sc->proto == LG_PROTO_FTP) {
        snprintf(err, errlen, "the raw engine speaks HTTP and echo; FTP needs --engine curl");
        return -1;
    }
    if (cfg->threads == 0 || cfg->connections < cfg->threads) {
        snprintf(err, errlen, "need at least one connection per thread");
        return -1;
    }
    return 0;
}

static void set_timing(struct rplan *pl, const struct lg_config *cfg)
{
    pl->keepalive = cfg->keepalive;
    pl->timeout_ns = policy_timeout_ns(cfg);
    pl->tick_ns = pl->timeout_ns / 10 < TICK_MAX_NS ? pl->timeout_ns / 10 : TICK_MAX_NS;
    if (pl->tick_ns < TICK_MIN_NS) pl->tick_ns = TICK_MIN_NS;
    pl->interval_ns = policy_interval_ns(cfg);
}

int raw_plan_init(struct rplan *pl, struct lg_run *run, char *err, size_t errlen)
{
    const struct lg_config *cfg = run->cfg;
    const struct lg_scenario *sc = cfg->sc;
    memset(pl, 0, sizeof *pl);
    pl->run = run;
    if (check_config(cfg, err, errlen) < 0 || policy_steps_init(&pl->steps, sc, err, errlen) < 0)
        return -1;
    set_timing(pl, cfg);
    pl->echo_refusal_hash = XXH64(CHECK_ECHO_REFUSAL, sizeof CHECK_ECHO_REFUSAL - 1, 0);
    if (resolve(pl, cfg, err, errlen) < 0) return -1;
    pl->reqs = calloc(sc->nsteps, sizeof *pl->reqs);
    if (!pl->reqs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < sc->nsteps; i++) {
        int rc = sc->proto == LG_PROTO_ECHO
                     ? prepare_echo(&pl->reqs[i], &sc->steps[i], err, errlen)
                     : prepare_http(&pl->reqs[i], &sc->steps[i], cfg, err, errlen);
        if (rc < 0) return -1;
        pl->reqs[i].step = i;
    }
    return 0;
}
