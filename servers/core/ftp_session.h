/* ftp_session.h - the FTP session's state, shared by ftp.c (the control
 * connection, the data channel and the proto interface) and ftp_cmds.c
 * (the commands), the helpers ftp.c gives the commands, and its proto
 * functions. The commands are reached through the table the session is
 * made with (ftp_cmd_table.h), not declared here.
 * Private to servers/core: drivers see only ftp.h/conn.h.
 */
#ifndef SERVERMODELS_FTP_SESSION_H
#define SERVERMODELS_FTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conn.h"
#include "fsroot.h"
#include "ftp.h"
#include "ftp_cmd_table.h"
#include "ftp_list.h"

/* Input: a few pipelined lines. */
#define FTP_IN_CAP (2 * FTP_LINE_MAX)
/* The longest reply: a 257 with a path whose every byte is a doubled '"'. */
#define FTP_REPLY_MAX (2 * FSROOT_PATH_MAX + 128)
#define FTP_OUT_CAP (FTP_REPLY_MAX + 4096)
/* Listing chunks; one line is at most FTP_LIST_LINE_MAX bytes. */
#define FTP_DATA_CAP 8192

/* The session's state: the data-channel operation under way, if any (at
 * most one). Only ftp_state() in ftp.c changes it. */
enum ftp_state {
    FTP_IDLE,         /* answering commands */
    FTP_OPEN_PASSIVE, /* ACT_OPEN_PASSIVE for PASV or EPSV */
    FTP_ACCEPT,       /* ACT_ACCEPT_DATA */
    FTP_TRANSFER,     /* ACT_TRANSFER_OUT / ACT_TRANSFER_IN until done */
    FTP_CLOSE_DATA,   /* ACT_CLOSE_DATA, then the final reply */
};

enum ftp_xfer_kind { FTP_XFER_RETR, FTP_XFER_LIST, FTP_XFER_NLST, FTP_XFER_STOR };

/* Who is logged in (ftp_reset_login() clears it). */
struct ftp_login {
    bool logged_in;
    bool may_write; /* a users-file login with rw access; anonymous never */
    bool have_user; /* USER given, PASS awaited */
    int bad_logins;
    char user[FTP_USER_MAX + 1]; /* "" for a name too long to ever match */
};

/* The transfer under way, or ending until its final reply
 * (ftp_reset_transfer() forgets it). */
struct ftp_xfer {
    enum ftp_xfer_kind kind;
    int final_code; /* the reply once the data channel is closed */
    const char *final_text;
    int fd;          /* RETR: the file */
    off_t off, left; /* RETR: next offset, bytes left */
    struct fsroot_upload up;
    bool uploading;             /* STOR: up holds an open temp file */
    struct ftp_listing listing; /* LIST/NLST: the entries left... */
    size_t data_pos, data_len;  /* ...and the chunk in ftp.data not yet sent */
    unsigned long long bytes;
    char path[FSROOT_PATH_MAX]; /* canonical path, for the access log */
};

/* A password under verification (ACT_OFFLOAD): what the job reads and
 * writes. Between the action and its session_done only the job touches
 * it (it may run on another thread). */
struct ftp_verify {
    const struct ftp_users *users;
    char user[FTP_USER_MAX + 1];
    char pass[FTP_LINE_MAX + 1]; /* as sent: ftp_users_check() refuses a longer one */
    bool ok, may_write;
};

/* Work handed to the driver (ftp_offload()) until its session_done. */
struct ftp_offload {
    void (*job)(void *arg);
    void *arg;
    void (*then)(struct ftp *f); /* called when the job is over */
};

struct ftp {
    const struct server_ctx *ctx;
    const struct ftp_command *cmds; /* the command table the session was made with */
    size_t ncmds;
    char peer[64];
    /* the control connection */
    size_t in_off, in_len;
    size_t out_pos, out_len;
    bool discarding; /* dropping the rest of an overlong line */
    bool eof, failed, closing;
    /* a reply waits (ACT_DELAY) once out[0..delay_at) is written */
    bool delay_pending;
    size_t delay_at;
    bool offloading; /* off (ACT_OFFLOAD) waits to run, or runs: nothing is answered */
    struct ftp_offload off;
    struct ftp_verify verify;
    bool abort_seen; /* QUIT/ABOR (or too much input) came during a transfer */
    bool aborted;    /* the last transfer ended by that: ABOR says so */
    enum ftp_state state;
    struct ftp_login login;
    /* data-channel settings */
    bool binary, epsv_all;
    bool listener; /* a passive listener is open and unused */
    bool open_epsv;
    off_t rest;
    char ip[64]; /* ACT_OPEN_PASSIVE's ip_out */
    struct ftp_xfer xfer;
    /* buffers, only ever read up to what was written */
    char cwd[FSROOT_PATH_MAX];
    char in[FTP_IN_CAP];
    char out[FTP_OUT_CAP];
    char data[FTP_DATA_CAP];
};

/* ftp.c: replies and the data channel, for the commands. */

/* Queues a reply (the output buffer always has room for FTP_REPLY_MAX). */
void ftp_reply(struct ftp *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "code "path" text": the path quoted as RFC 959 app. II says. */
void ftp_reply_path(struct ftp *f, int code, const char *path, const char *text);
/* PASV (epsv false) or EPSV: asks the driver for a passive listener. */
void ftp_open_passive(struct ftp *f, bool epsv);
/* Starts a transfer over the listener: replies "150 text" and asks the
 * driver to accept the data connection. What it moves is already in
 * f->xfer (the file, the upload or the listing, and the path). */
void ftp_xfer_start(struct ftp *f, enum ftp_xfer_kind kind, const char *text);

/* Makes the next reply (queued after this call) wait ctx->login_delay_ms
 * (ACT_DELAY) once the replies queued before it are written; no input is
 * answered until then. Nothing, if that is 0. */
void ftp_delay_reply(struct ftp *f);

/* Has the driver run job(arg) off its loop (ACT_OFFLOAD) once the replies
 * queued so far are written; no input is answered meanwhile. then(f) is
 * called when it is over (from session_done; a stop or a driver without
 * it closes the session instead, and a timeout expires it). */
void ftp_offload(struct ftp *f, void (*job)(void *arg), void *arg, void (*then)(struct ftp *f));

/* ftp.c: the proto interface (conn.h's struct proto). ftp_cmds.c makes
 * ftp_proto of them and its command table, which the session dispatches
 * through: calls run from ftp_cmds.c to ftp.c, never back. */
void *ftp_session_new(const struct server_ctx *ctx, const char *peer,
                      const struct ftp_command *cmds, size_t ncmds);
size_t ftp_feed(void *state, const void *buf, size_t len);
void ftp_next(void *state, struct action *out);
void ftp_done(void *state, const struct action *a, ssize_t result);
enum session_phase ftp_phase(const void *state);
void ftp_expire(void *state);
bool ftp_abort_requested(const void *state);
void ftp_destroy(void *state);

#endif
