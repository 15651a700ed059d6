/* iterative.c - one client at a time (the seeds' 循环服务器).
 *
 * 1. main.c created the listener.
 * 2. Wait for a client (or a stop).
 * 3. Serve it to the end; nobody else is served meanwhile.
 * 4. Back to 2.
 * Out of descriptors, accept_or_pause() sleeps on the stop pipe a while.
 * HTTP answers one request per connection here (.one_request below), so a
 * keep-alive client cannot hold the server. */
#include "model.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

static int iterative_run(const struct model_ctx *m)
{
    for (;;) {
        enum wait_result r = wait_fd(m, m->listen_fd, POLLIN, -1, true);
        if (r == WAIT_STOP) return 0; /* nothing is in flight between clients */
        if (r != WAIT_READY) return -1;
        char peer[64];
        struct peer_key key;
        int fd = accept_or_pause(m, peer, sizeof peer, &key);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                model_error("accept: %s", strerror(errno));
            continue;
        }
        if (!admit_per_ip(m, fd, &key, peer)) continue;
        drive_blocking(m, &io_blocking, fd, peer);
        peer_limit_leave(m->per_ip, &key);
    }
}

const struct model model_iterative = {
    .name = "iterative",
    .summary = "one client at a time",
    .run = iterative_run,
    .one_request = true,
    .cap = CAP_NONE,
};
