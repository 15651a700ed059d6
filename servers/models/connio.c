/* connio.c - what every driver does the same way for one client (model.h).
 *
 * The blocking loop (drive_blocking.c), the event loops (drive_event.c) and
 * io_uring (uring.c) wait in their own ways; what they do once a socket is
 * ready is here, once:
 *   input     read the control connection, feed the session, keep what it
 *             did not take (backpressure), EOF fed exactly once; output
 *             sent as far as the socket takes it;
 *   clocks    the last activity and the start of an unfinished head, and
 *             from them the deadline of whichever of nginx's timeouts runs
 *             for the action the connection waits to perform (conn.h);
 *   transfers the FTP data channel (datachan.c) with the control connection
 *             watched too: its EOF, a reset or an ABOR/QUIT fails the
 *             transfer, and an upload commits only while it is still there.
 */
#include "model.h"

#include "bufpool.h"
#include "filecache.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int ms_until(uint64_t deadline_ms, uint64_t now_ms)
{
    if (deadline_ms == NO_DEADLINE) return -1;
    if (deadline_ms <= now_ms) return 0;
    uint64_t left = deadline_ms - now_ms;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

void connio_init(struct connio *c, const struct model_ctx *m, int fd, struct session *s,
                 uint64_t now_ms)
{
    c->fd = fd;
    c->s = s;
    datachan_init(&c->dc, fd);
    c->last_active_ms = now_ms;
    c->head_start_ms = 0;
    c->upload_eof_ms = 0;
    c->upload_grace_ms = m->upload_grace_ms;
    c->expired_on = -1;
    c->eof = c->eof_fed = c->drained = c->hup = false;
    c->have = c->off = 0;
    c->in = NULL;
}

static size_t make_room(struct connio *c);

/* The input buffer, taken when bytes are to be read (NULL: out of memory). */
static char *input_buffer(struct connio *c)
{
    if (!c->in) c->in = bufpool_get(CONNIO_IN_CAP);
    return c->in;
}

/* Given back once everything read was consumed: idle, it holds none. */
static void give_back_if_empty(struct connio *c)
{
    if (c->off < c->have) return;
    c->have = c->off = 0;
    bufpool_put(c->in, CONNIO_IN_CAP);
    c->in = NULL;
}

void connio_close(struct connio *c)
{
    bufpool_put(c->in, CONNIO_IN_CAP);
    c->in = NULL;
    datachan_close(&c->dc);
    session_free(c->s);
    close(c->fd);
}

/* ---- input ---- */

/* The head's deadline starts at its first byte and ends with it; looked
 * at after every feed and every action done (a pipelined head may be taken
 * up when an answer is done). */
static void track_head(struct connio *c, uint64_t now_ms)
{
    if (session_phase(c->s) != PHASE_HEAD)
        c->head_start_ms = 0;
    else if (!c->head_start_ms)
        c->head_start_ms = now_ms;
}

static void fed(struct connio *c, uint64_t now_ms)
{
    c->last_active_ms = now_ms;
    track_head(c, now_ms);
}

void connio_done(struct connio *c, const struct action *a, ssize_t result, uint64_t now_ms)
{
    if (result > 0) c->last_active_ms = now_ms;
    session_done(c->s, a, result);
    track_head(c, now_ms);
}

enum io_result connio_feed(struct connio *c, uint64_t now_ms)
{
    if (c->off < c->have) {
        size_t n = session_feed(c->s, c->in + c->off, c->have - c->off);
        c->off += n;
        give_back_if_empty(c);
        fed(c, now_ms);
        return n > 0 ? IO_PROGRESS : IO_OVER; /* a session asking for input must take some */
    }
    if (!c->eof) return IO_BLOCKED;
    if (c->eof_fed) return IO_OVER; /* it asked again after EOF: nothing more to say */
    c->eof_fed = true;
    session_feed(c->s, NULL, 0);
    fed(c, now_ms);
    return IO_PROGRESS;
}

void connio_received(struct connio *c, const void *buf, ssize_t n)
{
    if (buf && n > 0 && n <= CONNIO_IN_CAP && input_buffer(c)) {
        memcpy(c->in, buf, (size_t)n);
        c->have = (size_t)n;
        c->off = 0;
    } else {
        c->eof = true; /* EOF, or an error (or no memory): the same end for the session */
    }
}

size_t connio_append(struct connio *c, const void *buf, size_t n)
{
    size_t room = make_room(c);
    if (n > room) n = room;
    if (n == 0) return 0; /* full, or no buffer */
    memcpy(c->in + c->have, buf, n);
    c->have += n;
    return n;
}

enum io_result connio_read(struct connio *c, uint64_t now_ms)
{
    enum io_result r = connio_feed(c, now_ms);
    if (r != IO_BLOCKED || c->drained) return r;
    if (!input_buffer(c)) return IO_OVER;
    for (;;) {
        ssize_t n = read(c->fd, c->in, CONNIO_IN_CAP);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            give_back_if_empty(c); /* it waits idle */
            return IO_BLOCKED;
        }
        if (n < 0) return IO_OVER;
        if (n > 0)
            c->have = (size_t)n, c->off = 0;
        else
            c->eof = true;
        filecache_batch_more(); /* the cache's next lookup checks after these bytes */
        c->drained = n > 0 && n < CONNIO_IN_CAP && !c->hup;
        give_back_if_empty(c);
        return IO_PROGRESS; /* the next ACT_READ feeds it */
    }
}

void connio_readable(struct connio *c, bool hup)
{
    c->drained = false;
    if (hup) c->hup = true;
}

enum io_result connio_send(struct connio *c, const struct action *a, uint64_t now_ms)
{
    for (;;) {
        ssize_t n = a->kind == ACT_WRITE ? send_bytes_more(c->fd, a->buf, a->len, a->more)
                                         : send_file_range(c->fd, a->fd, a->off, a->count);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return IO_BLOCKED;
        if (n > 0) {
            connio_done(c, a, n, now_ms);
            return IO_PROGRESS;
        }
        connio_done(c, a, -1, now_ms); /* an error, or a file that shrank (0) */
        return IO_OVER;
    }
}

/* Room at the end of the buffer for more input, after moving what is
 * unconsumed to the front. */
static size_t make_room(struct connio *c)
{
    if (!input_buffer(c)) return 0;
    if (c->off > 0) {
        memmove(c->in, c->in + c->off, c->have - c->off);
        c->have -= c->off;
        c->off = 0;
    }
    return CONNIO_IN_CAP - c->have;
}

/* Reads what the control connection has (never blocks) and feeds it:
 * -1 when it is gone or the session asks to abort, 1 when bytes came (the
 * client is alive), 0 when it had nothing. */
static int check_control(struct connio *c, uint64_t now_ms)
{
    int alive = 0;
    while (!c->eof && make_room(c) > 0) {
        ssize_t n = read(c->fd, c->in + c->have, CONNIO_IN_CAP - c->have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            c->eof = true; /* gone or reset: the session hears EOF at its next read */
            break;
        }
        c->have += (size_t)n;
        filecache_batch_more();
        c->off += session_feed(c->s, c->in + c->off, c->have - c->off);
        fed(c, now_ms);
        if (session_abort_requested(c->s)) return -1;
        alive = 1;
    }
    give_back_if_empty(c);
    return c->eof ? -1 : alive; /* a full buffer is left in the socket meanwhile */
}

bool connio_control_ok(struct connio *c, uint64_t now_ms)
{
    return check_control(c, now_ms) >= 0;
}

/* ---- the data channel, with the control connection watched ---- */

static bool is_transfer(enum action_kind k)
{
    return k == ACT_TRANSFER_IN || k == ACT_TRANSFER_OUT;
}

static struct dc_step finished(struct connio *c, const struct action *a, ssize_t result,
                               uint64_t now_ms)
{
    c->upload_eof_ms = 0;
    c->last_active_ms = now_ms; /* a failure's answer (426) gets a timeout of its own */
    connio_done(c, a, result, now_ms);
    return (struct dc_step){.status = DC_DONE, .result = result, .fd = -1};
}

/* An upload's data connection ended cleanly. A client killed mid-upload
 * ends it too: its kernel closes the data socket, and the control socket
 * only a moment later (the last opened is closed first, and the dying
 * process may be preempted in between by the server it just woke). So the
 * upload commits only once the control connection has stayed up for
 * its grace (--upload-grace), or has shown the client alive by sending something;
 * its end, a reset or an abort in that time fails the upload. */
static struct dc_step confirm_upload(struct connio *c, const struct action *a, uint64_t now_ms)
{
    /* The EOF's time from the clock, not the loop's now_ms: that was read
     * before this wakeup's events, and a slow pass (nonblock under ASan)
     * made the grace 3 ms short. +1 rounds the ms clock up, so the grace is
     * never shorter than asked. */
    if (!c->upload_eof_ms) c->upload_eof_ms = monotonic_ms() + 1;
    int control = check_control(c, now_ms);
    if (control < 0) return finished(c, a, -1, now_ms);
    /* no grace asked: commit now, not at the next ms (the rounding above
     * made every upload of --upload-grace 0 wait ~1 ms for a timer) */
    if (control > 0 || c->upload_grace_ms == 0 || now_ms >= c->upload_eof_ms + c->upload_grace_ms)
        return finished(c, a, 0, now_ms);
    return (struct dc_step){.status = DC_WAIT_IN, .fd = c->fd};
}

struct dc_step connio_data(struct connio *c, const struct action *a, bool stopping,
                           bool control_ready, uint64_t now_ms)
{
    if (a->kind == ACT_TRANSFER_IN && c->upload_eof_ms) return confirm_upload(c, a, now_ms);
    if (is_transfer(a->kind) && control_ready && !connio_control_ok(c, now_ms))
        return finished(c, a, -1, now_ms);
    struct dc_step st = datachan_step(&c->dc, a, stopping);
    if (st.status == DC_DONE && a->kind == ACT_TRANSFER_IN && st.result == 0)
        return confirm_upload(c, a, now_ms);
    if (st.status == DC_DONE) return finished(c, a, st.result, now_ms);
    st.watch_control = is_transfer(a->kind) && !c->eof;
    return st;
}

void connio_data_timed_out(struct connio *c, const struct action *a, uint64_t now_ms)
{
    /* the grace of a complete upload ended: it commits if the client is
     * still there (its control connection's end may have come with the
     * deadline, in the same wakeup) */
    bool commit = a->kind == ACT_TRANSFER_IN && c->upload_eof_ms && check_control(c, now_ms) >= 0;
    finished(c, a, commit ? 0 : -1, now_ms);
}

/* ---- timeouts ---- */

static uint64_t after(uint64_t from_ms, unsigned timeout_ms)
{
    return timeout_ms ? from_ms + timeout_ms : NO_DEADLINE;
}

uint64_t connio_deadline(const struct connio *c, const struct model_ctx *m,
                         enum action_kind waiting)
{
    switch (waiting) {
    case ACT_READ:
        switch (session_phase(c->s)) {
        case PHASE_HEAD: /* a deadline for the whole head, not a gap (slowloris) */
            return after(c->head_start_ms ? c->head_start_ms : c->last_active_ms,
                         m->header_timeout_ms);
        case PHASE_BODY:
            return after(c->last_active_ms, m->body_timeout_ms);
        default:
            return after(c->last_active_ms, m->idle_timeout_ms);
        }
    case ACT_TRANSFER_IN:
        if (c->upload_eof_ms) return c->upload_eof_ms + c->upload_grace_ms;
        return after(c->last_active_ms, m->body_timeout_ms);
    case ACT_ACCEPT_DATA:
    case ACT_OFFLOAD: /* a job (a password hash) runs meanwhile */
        return after(c->last_active_ms, m->idle_timeout_ms);
    case ACT_WRITE:
    case ACT_SENDFILE:
    case ACT_TRANSFER_OUT:
        return after(c->last_active_ms, m->send_timeout_ms);
    default:
        return NO_DEADLINE;
    }
}

void connio_expire(struct connio *c, enum action_kind waiting, uint64_t now_ms)
{
    session_expire(c->s);
    c->expired_on = (int)waiting;
    c->last_active_ms = now_ms; /* what it queued (a 408) gets a send timeout of its own */
}

bool connio_expired_again(struct connio *c, enum action_kind next)
{
    bool again = c->expired_on == (int)next;
    c->expired_on = -1;
    return again;
}
