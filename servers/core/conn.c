/* conn.c - the session wrapper drivers call (the protocols themselves are
 * looked up by name in protocols.c). */
#include "conn.h"

#include <stdlib.h>
#include <string.h>

struct session {
    const struct proto *p;
    void *state;
};

struct session *session_new(const struct proto *p, const struct server_ctx *ctx, const char *peer)
{
    struct session *s = malloc(sizeof *s);
    if (!s) return NULL;
    s->p = p;
    s->state = p->create(ctx, peer ? peer : "-");
    if (!s->state) {
        free(s);
        return NULL;
    }
    return s;
}

size_t session_feed(struct session *s, const void *buf, size_t len)
{
    return s->p->feed(s->state, buf, len);
}

void session_next(struct session *s, struct action *out)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    s->p->next(s->state, out);
}

void session_done(struct session *s, const struct action *a, ssize_t result)
{
    s->p->done(s->state, a, result);
}

void session_free(struct session *s)
{
    if (!s) return;
    s->p->destroy(s->state);
    free(s);
}

enum session_phase session_phase(const struct session *s)
{
    return s->p->phase ? s->p->phase(s->state) : PHASE_IDLE;
}

void session_expire(struct session *s)
{
    if (s->p->expire) s->p->expire(s->state);
}

bool session_abort_requested(const struct session *s)
{
    return s->p->abort_requested ? s->p->abort_requested(s->state) : false;
}
