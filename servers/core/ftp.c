/* ftp.c - the FTP control-channel session (see ftp.h): the control
 * connection, the data channel and the proto interface; the commands are
 * in ftp_cmds.c, which calls the session's helpers (ftp_session.h) and
 * makes ftp_proto of this file's proto functions and its command table;
 * the session dispatches through the table it was handed (ftp_cmd_table.h),
 * and calls nothing of ftp_cmds.c.
 *
 * One allocation per connection holds everything: the input buffer (command
 * lines), the output buffer (replies), the data buffer (listing chunks).
 * pump() answers complete command lines one at a time while the output
 * buffer has room for the longest reply and the session is idle. A command
 * that needs the driver (PASV/EPSV: a listener; a transfer: accept, move
 * bytes, close) moves the session out of FTP_IDLE; next() hands out that
 * state's action once the replies before it are written, done() advances
 * it, and when it ends its final reply is queued and pumping resumes. As
 * in curl's lib/ftp.c, ftp_state() is the only way to change the state. */
#include "ftp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsroot.h"
#include "ftp_cmd_table.h"
#include "ftp_line.h"
#include "ftp_list.h"
#include "ftp_session.h"

/* Build with -DFTP_TRACE=1 for one stderr line per state change. */
#ifndef FTP_TRACE
#define FTP_TRACE 0
#endif

/* ---- the state ----------------------------------------------------------- */

static void ftp_state(struct ftp *f, enum ftp_state next)
{
    static const char *const names[] = {
        [FTP_IDLE] = "IDLE",         [FTP_OPEN_PASSIVE] = "OPEN_PASSIVE", [FTP_ACCEPT] = "ACCEPT",
        [FTP_TRANSFER] = "TRANSFER", [FTP_CLOSE_DATA] = "CLOSE_DATA",
    };
    if (FTP_TRACE && f->state != next)
        fprintf(stderr, "ftp %s: %s -> %s\n", f->peer, names[f->state], names[next]);
    f->state = next;
}

/* Nobody logged in, no USER pending, no failed attempt counted. */
static void ftp_reset_login(struct ftp *f)
{
    f->login = (struct ftp_login){
        .logged_in = false, .may_write = false, .have_user = false, .bad_logins = 0};
}

/* No transfer: no file, upload or listing held (xfer_release() frees them
 * first), no final reply pending, no path to log. */
static void ftp_reset_transfer(struct ftp *f)
{
    f->xfer = (struct ftp_xfer){.fd = -1, .up = {.dirfd = -1, .fd = -1}, .uploading = false};
}

/* ---- replies ------------------------------------------------------------ */

void ftp_reply(struct ftp *f, const char *fmt, ...)
{
    size_t room = FTP_OUT_CAP - f->out_len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->out + f->out_len, room, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= room) n = (int)room - 1; /* cannot happen: FTP_REPLY_MAX */
    f->out_len += (size_t)n;
}

void ftp_delay_reply(struct ftp *f)
{
    if (!f->ctx->login_delay_ms) return;
    f->delay_pending = true;
    f->delay_at = f->out_len;
}

void ftp_offload(struct ftp *f, void (*job)(void *arg), void *arg, void (*then)(struct ftp *f))
{
    f->off = (struct ftp_offload){.job = job, .arg = arg, .then = then};
    f->offloading = true;
}

void ftp_reply_path(struct ftp *f, int code, const char *path, const char *text)
{
    char q[2 * FSROOT_PATH_MAX];
    ftp_quote_path(path, q, sizeof q);
    ftp_reply(f, "%d \"%s\" %s\r\n", code, q, text);
}

static const char *xfer_name(enum ftp_xfer_kind k)
{
    switch (k) {
    case FTP_XFER_RETR:
        return "RETR";
    case FTP_XFER_LIST:
        return "LIST";
    case FTP_XFER_NLST:
        return "NLST";
    default:
        return "STOR";
    }
}

static void log_xfer(struct ftp *f, int code)
{
    if (!f->ctx || !f->ctx->access_log) return;
    fprintf(stderr, "%s \"%s %s\" %d %llu\n", f->peer, xfer_name(f->xfer.kind), f->xfer.path, code,
            f->xfer.bytes);
}

/* ---- transfers ---------------------------------------------------------- */

void ftp_open_passive(struct ftp *f, bool epsv)
{
    f->open_epsv = epsv;
    ftp_state(f, FTP_OPEN_PASSIVE);
}

/* Formats the next chunk of the listing into the data buffer. */
static void list_fill(struct ftp *f)
{
    enum ftp_list_style style = f->xfer.kind == FTP_XFER_NLST ? FTP_LIST_NAMES : FTP_LIST_LONG;
    f->xfer.data_pos = 0;
    f->xfer.data_len = ftp_listing_fill(&f->xfer.listing, f->ctx->root, f->xfer.path, style,
                                        f->data, FTP_DATA_CAP);
}

void ftp_xfer_start(struct ftp *f, enum ftp_xfer_kind kind, const char *text)
{
    f->xfer.kind = kind;
    if (kind == FTP_XFER_LIST || kind == FTP_XFER_NLST) list_fill(f);
    f->xfer.bytes = 0;
    f->abort_seen = f->aborted = false;
    f->listener = false; /* one transfer per PASV/EPSV */
    ftp_reply(f, "150 %s\r\n", text);
    ftp_state(f, FTP_ACCEPT);
}

/* Frees what the transfer holds (an upload still open is deleted). */
static void xfer_release(struct ftp *f)
{
    struct ftp_xfer *x = &f->xfer;
    if (x->fd >= 0) close(x->fd);
    x->fd = -1;
    if (x->uploading) fsroot_upload_abort(&x->up);
    x->uploading = false;
    ftp_listing_close(&x->listing);
    x->data_pos = x->data_len = 0;
}

/* The transfer ends: close the data channel, then reply code/text. */
static void xfer_finish(struct ftp *f, int code, const char *text)
{
    struct ftp_xfer *x = &f->xfer;
    if (x->kind == FTP_XFER_STOR && x->uploading) {
        if (code == 226 && fsroot_upload_commit(&x->up) != FSROOT_OK) {
            code = 451;
            text = "Local error: upload not saved.";
        }
        if (code != 226) fsroot_upload_abort(&x->up);
        x->uploading = false;
    }
    xfer_release(f);
    x->final_code = code;
    x->final_text = text;
    ftp_state(f, FTP_CLOSE_DATA);
}

/* After each step of an outgoing transfer: done yet? */
static void out_check(struct ftp *f)
{
    if (f->xfer.kind == FTP_XFER_RETR) {
        if (f->xfer.left == 0) xfer_finish(f, 226, "Transfer complete.");
    } else if (f->xfer.data_pos == f->xfer.data_len) {
        list_fill(f);
        if (f->xfer.data_len == 0) xfer_finish(f, 226, "Transfer complete.");
    }
}

/* ---- command lines ------------------------------------------------------ */

/* True when line (line end and Telnet removed) is a QUIT or ABOR command. */
static bool is_abort_command(const char *line)
{
    size_t vl = strcspn(line, " ");
    return vl == 4 && (strncasecmp(line, "QUIT", 4) == 0 || strncasecmp(line, "ABOR", 4) == 0);
}

/* The command named verb (upper case, zero-padded to FTP_VERB_SIZE: one
 * fixed-size compare an entry) in the session's table, or NULL. */
static const struct ftp_command *find_command(const struct ftp *f, const char verb[FTP_VERB_SIZE])
{
    for (size_t i = 0; i < f->ncmds; i++)
        if (memcmp(verb, f->cmds[i].name, FTP_VERB_SIZE) == 0) return &f->cmds[i];
    return NULL;
}

/* Answers one command line (line end and Telnet removed): looks the verb
 * up in the command table (ftp_cmd_table.h), checks login and write
 * access, and calls the command. */
static void dispatch(struct ftp *f, char *line)
{
    size_t vl = 0;
    while (line[vl] && line[vl] != ' ')
        vl++;
    char *arg = line[vl] ? line + vl + 1 : line + vl;
    line[vl] = '\0';
    bool alpha = vl > 0;
    for (size_t i = 0; i < vl; i++)
        if (!((line[i] | 0x20) >= 'a' && (line[i] | 0x20) <= 'z')) alpha = false;
    if (!alpha) {
        ftp_reply(f, "500 Syntax error, command unrecognized.\r\n");
        return;
    }
    /* The verb upper-cased and zero-padded to the table's width: the lookup
     * is then one fixed-size compare an entry. A strcasecmp() an entry cost
     * ~2.6k instructions a request, and its count moved with where the line
     * sat in memory (the ci/regress gate saw +3 % from a different env). */
    char verb[FTP_VERB_SIZE] = {0};
    const struct ftp_command *c = NULL;
    for (size_t i = 0; i < vl && vl < sizeof verb; i++)
        verb[i] = (char)(line[i] & ~0x20); /* ASCII letters only, checked above */
    if (vl < sizeof verb) c = find_command(f, verb);
    if (!c) {
        ftp_reply(f, "502 Command not implemented.\r\n");
        return;
    }
    if (!(c->flags & FTP_CMD_NOLOGIN) && !f->login.logged_in) {
        ftp_reply(f, "530 Please login with USER and PASS.\r\n");
        return;
    }
    if ((c->flags & FTP_CMD_WRITES) && !f->login.may_write) {
        f->rest = 0; /* as if the STOR had run */
        ftp_reply(f, "550 Permission denied.\r\n");
        return;
    }
    if (ftp_has_ctl(arg)) {
        ftp_reply(f, "501 Syntax error in parameters or arguments.\r\n");
        return;
    }
    c->fn(f, arg);
}

/* Answers the next complete line, if any. Returns false when more input is
 * needed. */
static bool handle_one(struct ftp *f)
{
    char *b = f->in + f->in_off;
    size_t avail = f->in_len - f->in_off;
    if (f->discarding) {
        char *lf = memchr(b, '\n', avail);
        f->in_off += lf ? (size_t)(lf - b) + 1 : avail;
        f->discarding = lf == NULL;
        return lf != NULL;
    }
    size_t lim = avail < FTP_LINE_MAX ? avail : FTP_LINE_MAX;
    char *lf = memchr(b, '\n', lim);
    if (!lf) {
        if (avail < FTP_LINE_MAX) return false;
        ftp_reply(f, "500 Command line too long.\r\n");
        f->discarding = true;
        return true;
    }
    size_t n = (size_t)(lf - b) + 1;
    char line[FTP_LINE_MAX + 1];
    ftp_clean_line(b, n, line);
    f->in_off += n;
    dispatch(f, line);
    return true;
}

/* Answers what can be answered now. */
static void pump(struct ftp *f)
{
    for (;;) {
        if (f->in_off == f->in_len) f->in_off = f->in_len = 0;
        if (f->failed || f->closing || f->delay_pending || f->offloading || f->state != FTP_IDLE)
            return;
        if (f->out_len + FTP_REPLY_MAX > FTP_OUT_CAP) return;
        if (!handle_one(f)) return;
    }
}

/* ---- data-channel results ----------------------------------------------- */

/* Formats the PASV/EPSV reply once the listener is open on port. */
static void opened(struct ftp *f, ssize_t port)
{
    ftp_state(f, FTP_IDLE);
    f->listener = false; /* the driver closed any previous one */
    if (port <= 0 || port > 65535) {
        ftp_reply(f, "425 Can't open data connection.\r\n");
        return;
    }
    f->listener = true;
    if (f->open_epsv) {
        ftp_reply(f, "229 Entering Extended Passive Mode (|||%d|)\r\n", (int)port);
        return;
    }
    f->ip[sizeof f->ip - 1] = '\0';
    const char *ip = f->ip;
    if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.')) ip += 7;
    unsigned a, b, c, d;
    char tail;
    if (sscanf(ip, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
        c > 255 || d > 255) {
        /* IPv6: PASV cannot say it; the listener goes, EPSV works */
        f->listener = false;
        f->xfer.path[0] = '\0'; /* not a transfer: no log line */
        f->xfer.final_code = 425;
        f->xfer.final_text = "PASV needs IPv4, use EPSV.";
        ftp_state(f, FTP_CLOSE_DATA);
        return;
    }
    ftp_reply(f, "227 Entering Passive Mode (%u,%u,%u,%u,%d,%d).\r\n", a, b, c, d, (int)port / 256,
              (int)port % 256);
}

static void accepted(struct ftp *f, ssize_t result)
{
    if (result < 0) {
        xfer_finish(f, 425, "Can't open data connection.");
        return;
    }
    ftp_state(f, FTP_TRANSFER);
    if (f->xfer.kind != FTP_XFER_STOR) out_check(f);
}

/* The transfer failed: the data connection broke, or the driver stopped it
 * because the client asked (QUIT/ABOR: abort_requested). */
static void xfer_failed(struct ftp *f)
{
    f->aborted = f->abort_seen;
    xfer_finish(f, 426, f->aborted ? "Transfer aborted." : "Connection closed; transfer aborted.");
}

static void transferred(struct ftp *f, const struct action *a, ssize_t result)
{
    if (a->kind == ACT_TRANSFER_IN) {
        if (result > 0)
            f->xfer.bytes += (unsigned long long)result;
        else if (result == 0 && !f->eof && !f->abort_seen)
            xfer_finish(f, 226, "Transfer complete.");
        else
            xfer_failed(f);
        return;
    }
    if (result <= 0) {
        xfer_failed(f);
        return;
    }
    size_t n = (size_t)result;
    if (f->xfer.kind == FTP_XFER_RETR) {
        if ((off_t)n > f->xfer.left) n = (size_t)f->xfer.left;
        f->xfer.off += (off_t)n;
        f->xfer.left -= (off_t)n;
    } else {
        if (n > f->xfer.data_len - f->xfer.data_pos) n = f->xfer.data_len - f->xfer.data_pos;
        f->xfer.data_pos += n;
    }
    f->xfer.bytes += n;
    out_check(f);
}

static void closed(struct ftp *f)
{
    ftp_state(f, FTP_IDLE);
    f->abort_seen = false;
    ftp_reply(f, "%d %s\r\n", f->xfer.final_code, f->xfer.final_text);
    /* a 425 without a path is PASV refused before any transfer */
    if (f->xfer.final_code != 425 || f->xfer.path[0]) log_xfer(f, f->xfer.final_code);
    ftp_reset_transfer(f);
}

/* ---- the proto interface ------------------------------------------------ */

void *ftp_session_new(const struct server_ctx *ctx, const char *peer,
                      const struct ftp_command *cmds, size_t ncmds)
{
    struct ftp *f = malloc(sizeof *f);
    if (!f) return NULL;
    f->ctx = ctx;
    f->cmds = cmds;
    f->ncmds = ncmds;
    snprintf(f->peer, sizeof f->peer, "%s", peer ? peer : "-");
    f->in_off = f->in_len = f->out_pos = f->out_len = 0;
    f->discarding = f->eof = f->failed = f->closing = false;
    f->delay_pending = f->abort_seen = f->aborted = false;
    f->delay_at = 0;
    f->offloading = false;
    f->off = (struct ftp_offload){0};
    f->state = FTP_IDLE; /* the first state: ftp_state() compares with the old one */
    ftp_reset_login(f);
    f->binary = true; /* TYPE I */
    f->epsv_all = f->listener = f->open_epsv = false;
    f->rest = 0;
    memset(f->ip, 0, sizeof f->ip);
    ftp_reset_transfer(f);
    /* the buffers are only read up to what was written into them */
    strcpy(f->cwd, "/");
    ftp_reply(f, "220 refserver FTP ready\r\n");
    return f;
}

/* Input fed while the data channel is busy (the driver watches the control
 * connection during a transfer): is there a QUIT or ABOR among the lines
 * that ended in the new bytes in[from..in_len)? A full buffer counts too:
 * the driver could not feed more, and the client is not waiting politely. */
static void watch_for_abort(struct ftp *f, size_t from)
{
    if (f->in_len == FTP_IN_CAP) f->abort_seen = true;
    size_t pos = f->in_off;
    bool skip = f->discarding; /* the first segment ends an overlong line */
    while (!f->abort_seen && pos < f->in_len) {
        char *lf = memchr(f->in + pos, '\n', f->in_len - pos);
        if (!lf) break;
        size_t n = (size_t)(lf - (f->in + pos)) + 1;
        if (!skip && pos + n > from && n <= FTP_LINE_MAX) {
            char line[FTP_LINE_MAX + 1];
            ftp_clean_line(f->in + pos, n, line);
            f->abort_seen = is_abort_command(line);
        }
        skip = false;
        pos += n;
    }
}

size_t ftp_feed(void *state, const void *buf, size_t len)
{
    struct ftp *f = state;
    if (len == 0) {
        f->eof = true;
        /* nobody is left to open the data connection */
        if (f->state == FTP_ACCEPT) xfer_finish(f, 426, "Connection closed; transfer aborted.");
        pump(f);
        return 0;
    }
    if (f->failed || f->closing) return len; /* nothing more is read */
    if (f->in_off > 0) {
        memmove(f->in, f->in + f->in_off, f->in_len - f->in_off);
        f->in_len -= f->in_off;
        f->in_off = 0;
    }
    size_t room = FTP_IN_CAP - f->in_len;
    size_t n = len < room ? len : room;
    memcpy(f->in + f->in_len, buf, n);
    f->in_len += n;
    if (f->state != FTP_IDLE) { /* kept for after the transfer */
        watch_for_abort(f, f->in_len - n);
        return n;
    }
    pump(f);
    return n;
}

static void next_data_action(struct ftp *f, struct action *out)
{
    switch (f->state) {
    case FTP_OPEN_PASSIVE:
        out->kind = ACT_OPEN_PASSIVE;
        out->ip_out = f->ip;
        out->ip_out_len = sizeof f->ip;
        break;
    case FTP_ACCEPT:
        out->kind = ACT_ACCEPT_DATA;
        break;
    case FTP_CLOSE_DATA:
        out->kind = ACT_CLOSE_DATA;
        break;
    case FTP_TRANSFER:
        if (f->xfer.kind == FTP_XFER_STOR) {
            out->kind = ACT_TRANSFER_IN;
            out->fd = f->xfer.up.fd;
        } else if (f->xfer.kind == FTP_XFER_RETR) {
            out->kind = ACT_TRANSFER_OUT;
            out->fd = f->xfer.fd;
            out->off = f->xfer.off;
            out->count = (size_t)f->xfer.left;
        } else {
            out->kind = ACT_TRANSFER_OUT;
            out->fd = -1;
            out->buf = f->data + f->xfer.data_pos;
            out->len = f->xfer.data_len - f->xfer.data_pos;
            out->count = out->len;
        }
        break;
    case FTP_IDLE:
        break;
    }
}

void ftp_next(void *state, struct action *out)
{
    struct ftp *f = state;
    out->kind = ACT_CLOSE;
    if (f->failed) return;
    if (f->delay_pending && f->out_pos == f->delay_at) {
        out->kind = ACT_DELAY;
        out->delay_ms = f->ctx->login_delay_ms;
    } else if (f->out_pos < f->out_len) {
        size_t end = f->delay_pending ? f->delay_at : f->out_len;
        out->kind = ACT_WRITE;
        out->buf = f->out + f->out_pos;
        out->len = end - f->out_pos;
    } else if (f->offloading) {
        out->kind = ACT_OFFLOAD;
        out->job = f->off.job;
        out->job_arg = f->off.arg;
    } else if (f->state != FTP_IDLE) {
        next_data_action(f, out);
    } else if (!f->closing && !f->eof) {
        out->kind = ACT_READ;
    }
}

void ftp_done(void *state, const struct action *a, ssize_t result)
{
    struct ftp *f = state;
    switch (a->kind) {
    case ACT_WRITE:
        if (result < 0) {
            f->failed = true;
            return;
        }
        f->out_pos += (size_t)result < a->len ? (size_t)result : a->len;
        if (f->out_pos == f->out_len) f->out_pos = f->out_len = 0;
        break;
    case ACT_DELAY:
        if (result < 0) {
            f->failed = true; /* the server stops */
            return;
        }
        f->delay_pending = false;
        break;
    case ACT_OFFLOAD:
        if (!f->offloading) break;
        f->offloading = false;
        if (result < 0) {
            f->failed = true; /* not run: the server stops */
            return;
        }
        f->off.then(f);
        break;
    case ACT_OPEN_PASSIVE:
        if (f->state == FTP_OPEN_PASSIVE) opened(f, result);
        break;
    case ACT_ACCEPT_DATA:
        if (f->state == FTP_ACCEPT) accepted(f, result);
        break;
    case ACT_TRANSFER_OUT:
    case ACT_TRANSFER_IN:
        if (f->state == FTP_TRANSFER) transferred(f, a, result);
        break;
    case ACT_CLOSE_DATA:
        if (f->state == FTP_CLOSE_DATA) closed(f);
        break;
    default:
        break;
    }
    pump(f);
}

enum session_phase ftp_phase(const void *state)
{
    const struct ftp *f = state;
    return f->in_len > f->in_off || f->discarding ? PHASE_HEAD : PHASE_IDLE;
}

/* A timeout passed: say so and close, dropping any transfer (an upload is
 * deleted); a client that does not read its replies is just closed. */
void ftp_expire(void *state)
{
    struct ftp *f = state;
    if (f->out_pos < f->out_len || f->failed || f->closing) {
        f->failed = true;
        return;
    }
    xfer_release(f);
    ftp_reset_transfer(f);
    f->listener = false;
    f->offloading = false; /* the driver expires only once the job is over */
    ftp_state(f, FTP_IDLE);
    f->in_off = f->in_len = 0;
    f->discarding = false;
    ftp_reply(f, "421 Timeout.\r\n");
    f->closing = true;
}

bool ftp_abort_requested(const void *state)
{
    const struct ftp *f = state;
    return f->state == FTP_TRANSFER && f->abort_seen;
}

void ftp_destroy(void *state)
{
    struct ftp *f = state;
    if (!f) return;
    xfer_release(f);
    free(f);
}
