/* select.c - the select() poller: two fd_sets rebuilt by copy each wait.
 *
 * select() cannot watch an fd >= FD_SETSIZE (1024 on Linux): such a client
 * is refused with a clear log line instead of corrupting the sets. */
#include "evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/select.h>

struct sl {
    fd_set rd, wr;
    int maxfd;     /* the highest fd in either set, -1: none */
    int scan_from; /* where the next wait starts reporting (fairness) */
};

static void *sl_create(const struct model_ctx *m)
{
    (void)m;
    struct sl *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    FD_ZERO(&s->rd);
    FD_ZERO(&s->wr);
    s->maxfd = -1;
    return s;
}

static void sl_destroy(void *p)
{
    free(p);
}

static int sl_set(void *p, int fd, int mask, int old)
{
    struct sl *s = p;
    (void)old;
    if (fd < 0 || fd >= FD_SETSIZE) {
        if (!mask) return 0; /* never watched */
        model_error("select: fd %d is above FD_SETSIZE (%d): refusing it", fd, FD_SETSIZE);
        errno = EMFILE;
        return -1;
    }
    FD_CLR(fd, &s->rd);
    FD_CLR(fd, &s->wr);
    if (mask & POLL_IN) FD_SET(fd, &s->rd);
    if (mask & POLL_OUT) FD_SET(fd, &s->wr);
    if (mask && fd > s->maxfd) s->maxfd = fd;
    while (s->maxfd >= 0 && !FD_ISSET(s->maxfd, &s->rd) && !FD_ISSET(s->maxfd, &s->wr))
        s->maxfd--;
    return 0;
}

static int sl_wait(void *p, struct fired_event *out, int max, int timeout_ms)
{
    struct sl *s = p;
    fd_set rd = s->rd, wr = s->wr; /* select() overwrites its sets */
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int ready = select(s->maxfd + 1, &rd, &wr, NULL, timeout_ms < 0 ? NULL : &tv);
    if (ready <= 0) return ready;
    int n = s->maxfd + 1, got = 0;
    for (int k = 0; k < n && got < max; k++) {
        int fd = (s->scan_from + k) % n;
        int mask = (FD_ISSET(fd, &rd) ? POLL_IN : 0) | (FD_ISSET(fd, &wr) ? POLL_OUT : 0);
        if (mask) out[got++] = (struct fired_event){.fd = fd, .mask = mask};
    }
    s->scan_from = n ? (s->scan_from + 1) % n : 0;
    return got;
}

static const struct poller select_poller = {
    .name = "select",
    .create = sl_create,
    .destroy = sl_destroy,
    .set = sl_set,
    .wait = sl_wait,
};

static int select_run(const struct model_ctx *m)
{
    return evloop_run(m, m->listen_fd, &select_poller, NULL);
}

const struct model model_select = {
    .name = "select",
    .summary = "one loop, select() over two fd_sets",
    .run = select_run,
    .cap = CAP_FDS,
};
