/* echo.c - the line echo session.
 *
 * Input is buffered until a newline (or ECHO_MAX_LINE bytes), then the line
 * goes back unchanged. One buffer serves both ways: while a line is being
 * written back, no more input is consumed (that is the backpressure).
 * The buffer is taken from bufpool.h when bytes come and given back when
 * it is empty: an idle client holds none. */
#include "echo.h"

#include "bufpool.h"

#include <stdlib.h>
#include <string.h>

struct echo {
    char *buf;      /* ECHO_MAX_LINE bytes while used > 0, else NULL */
    size_t used;    /* bytes in buf */
    size_t line;    /* length of the complete line at the front, 0 if none */
    size_t written; /* bytes of that line already written back */
    bool eof, failed;
};

static void *echo_create(const struct server_ctx *ctx, const char *peer)
{
    (void)ctx;
    (void)peer;
    return calloc(1, sizeof(struct echo));
}

/* Finds the first complete line (or a full buffer, or the tail at EOF). */
static void find_line(struct echo *e)
{
    if (e->line) return;
    if (e->used == 0) { /* empty: back to the pool */
        bufpool_put(e->buf, ECHO_MAX_LINE);
        e->buf = NULL;
        return;
    }
    char *nl = memchr(e->buf, '\n', e->used);
    if (nl)
        e->line = (size_t)(nl - e->buf) + 1;
    else if (e->used == ECHO_MAX_LINE || e->eof)
        e->line = e->used;
}

static size_t echo_feed(void *state, const void *buf, size_t len)
{
    struct echo *e = state;
    if (len == 0) {
        e->eof = true;
        find_line(e);
        return 0;
    }
    if (!e->buf && !(e->buf = bufpool_get(ECHO_MAX_LINE))) {
        e->failed = true; /* out of memory: the connection ends */
        return len;
    }
    size_t room = ECHO_MAX_LINE - e->used;
    size_t n = len < room ? len : room;
    memcpy(e->buf + e->used, buf, n);
    e->used += n;
    find_line(e);
    return n;
}

static void echo_next(void *state, struct action *out)
{
    struct echo *e = state;
    if (e->failed) {
        out->kind = ACT_CLOSE;
    } else if (e->line) {
        out->kind = ACT_WRITE;
        out->buf = e->buf + e->written;
        out->len = e->line - e->written;
    } else if (e->eof) {
        out->kind = ACT_CLOSE;
    } else {
        out->kind = ACT_READ;
    }
}

static void echo_done(void *state, const struct action *a, ssize_t result)
{
    struct echo *e = state;
    if (a->kind != ACT_WRITE) return;
    if (result < 0) {
        e->failed = true;
        return;
    }
    e->written += (size_t)result;
    if (e->written < e->line) return;
    memmove(e->buf, e->buf + e->line, e->used - e->line);
    e->used -= e->line;
    e->line = e->written = 0;
    find_line(e);
}

/* A line begun and not complete is a "head" (the header timeout runs). */
static enum session_phase echo_phase(const void *state)
{
    const struct echo *e = state;
    return e->used > 0 && e->line == 0 ? PHASE_HEAD : PHASE_IDLE;
}

/* Any timeout closes: echo has nothing to say about it. */
static void echo_expire(void *state)
{
    struct echo *e = state;
    e->failed = true;
}

static void echo_destroy(void *state)
{
    struct echo *e = state;
    if (e) bufpool_put(e->buf, ECHO_MAX_LINE);
    free(e);
}

const struct proto echo_proto = {
    .name = "echo",
    .create = echo_create,
    .feed = echo_feed,
    .next = echo_next,
    .done = echo_done,
    .destroy = echo_destroy,
    .phase = echo_phase,
    .expire = echo_expire,
    .refusal = "server busy\n",
};
