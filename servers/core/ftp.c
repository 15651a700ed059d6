/* ftp.c - the FTP control-channel session (see ftp.h).
 *
 * One allocation per connection holds everything: the input buffer (command
 * lines), the output buffer (replies), the data buffer (listing chunks).
 * pump() answers complete command lines one at a time while the output
 * buffer has room for the longest reply and no data-channel operation is
 * under way. A command that needs the driver (PASV/EPSV: a listener; a
 * transfer: accept, move bytes, close) sets `op`; next() hands out that
 * action once the replies before it are written, done() advances it, and
 * when it ends its final reply is queued and pumping resumes. */
#include "ftp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsroot.h"

/* Input: a few pipelined lines. */
#define FTP_IN_CAP (2 * FTP_LINE_MAX)
/* The longest reply: a 257 with a path whose every byte is a doubled '"'. */
#define FTP_REPLY_MAX (2 * FSROOT_PATH_MAX + 128)
#define FTP_OUT_CAP (FTP_REPLY_MAX + 4096)
/* Listing chunks; one line is at most ~FSROOT_NAME_MAX + 80 bytes. */
#define FTP_DATA_CAP 8192
#define FTP_LIST_LINE_MAX (FSROOT_NAME_MAX + 128)

/* The data-channel operation under way (at most one). */
enum op {
    OP_NONE,
    OP_OPEN,   /* ACT_OPEN_PASSIVE for PASV or EPSV */
    OP_ACCEPT, /* ACT_ACCEPT_DATA */
    OP_XFER,   /* ACT_TRANSFER_OUT / ACT_TRANSFER_IN until done */
    OP_CLOSE,  /* ACT_CLOSE_DATA, then the final reply */
};

enum xfer_kind { XK_RETR, XK_LIST, XK_NLST, XK_STOR };

struct ftp {
    const struct server_ctx *ctx;
    char peer[64];
    size_t in_off, in_len;
    size_t out_pos, out_len;
    bool discarding; /* dropping the rest of an overlong line */
    bool eof, failed, closing;
    /* login */
    bool logged_in, have_user;
    int bad_logins;
    char user[FTP_USER_MAX + 1];
    /* state */
    bool binary, epsv_all;
    bool listener; /* a passive listener is open and unused */
    bool open_epsv;
    off_t rest;
    enum op op;
    /* the transfer */
    enum xfer_kind xk;
    int final_code;
    const char *final_text;
    int fd;               /* RETR: the file */
    off_t off, left;      /* RETR: next offset, bytes left */
    struct fsroot_upload up;
    bool uploading;       /* up holds an open temp file */
    struct fsroot_entry *ents; /* fsroot_list's array, or &one */
    struct fsroot_entry one;   /* LIST of a single file */
    size_t nents, ent_i;
    size_t data_pos, data_len;
    unsigned long long bytes;
    char xpath[FSROOT_PATH_MAX]; /* canonical path of the transfer */
    char ip[64];                 /* ACT_OPEN_PASSIVE's ip_out */
    char cwd[FSROOT_PATH_MAX];
    char in[FTP_IN_CAP];
    char out[FTP_OUT_CAP];
    char data[FTP_DATA_CAP];
};

/* ---- replies ------------------------------------------------------------ */

static void reply(struct ftp *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct ftp *f, const char *fmt, ...)
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

/* A reply with a path in double quotes, each '"' doubled (RFC 959 app. II),
 * and each 0xff byte too: the control connection is Telnet, where a lone
 * 0xff is IAC, a command (RFC 854); clean_line() undoes "\xff\xff" on input,
 * so a name holding 0xff must go out doubled (found by fuzz_ftp). */
static void reply_path(struct ftp *f, int code, const char *path, const char *text)
{
    char q[2 * FSROOT_PATH_MAX];
    size_t o = 0;
    for (const char *p = path; *p && o + 2 < sizeof q; p++) {
        if (*p == '"' || *p == '\xff') q[o++] = *p;
        q[o++] = *p;
    }
    q[o] = '\0';
    reply(f, "%d \"%s\" %s\r\n", code, q, text);
}

static void log_xfer(struct ftp *f, const char *cmd, int code)
{
    if (!f->ctx || !f->ctx->access_log) return;
    fprintf(stderr, "%s \"%s %s\" %d %llu\n", f->peer, cmd, f->xpath, code, f->bytes);
}

static const char *xfer_name(enum xfer_kind k)
{
    switch (k) {
    case XK_RETR: return "RETR";
    case XK_LIST: return "LIST";
    case XK_NLST: return "NLST";
    default: return "STOR";
    }
}

/* ---- paths -------------------------------------------------------------- */

/* Resolves arg against the cwd. On failure replies 550 (or 501) and
 * returns false: nothing about what lies outside the root is told. */
static bool resolve(struct ftp *f, const char *arg, char *out)
{
    const struct fsroot *root = f->ctx ? f->ctx->root : NULL;
    if (!root) {
        reply(f, "550 No such file or directory.\r\n");
        return false;
    }
    int rc = fsroot_resolve(root, f->cwd, arg, FSROOT_ALLOW_DOTDOT, out, FSROOT_PATH_MAX);
    if (rc != FSROOT_OK) {
        reply(f, "550 No such file or directory.\r\n");
        return false;
    }
    return true;
}

/* A path spelled as a directory ("x/"): never names a file (as on Unix). */
static bool names_dir(const char *arg)
{
    size_t n = strlen(arg);
    return n > 0 && arg[n - 1] == '/';
}

static void reply_fs_error(struct ftp *f, int rc)
{
    if (rc == FSROOT_EIO) reply(f, "451 Local error.\r\n");
    else reply(f, "550 No such file or directory.\r\n");
}

/* ---- listings ----------------------------------------------------------- */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "Mon dd HH:MM" within six months of now, "Mon dd  yyyy" otherwise (UTC). */
static void ls_date(time_t t, time_t now, char *buf, size_t cap)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, cap, "Jan  1  1970");
        return;
    }
    const char *mon = months[tm.tm_mon % 12];
    if (t <= now + 3600 && now - t < 180L * 24 * 3600)
        snprintf(buf, cap, "%s %2d %02d:%02d", mon, tm.tm_mday, tm.tm_hour, tm.tm_min);
    else
        snprintf(buf, cap, "%s %2d  %4d", mon, tm.tm_mday, tm.tm_year + 1900);
}

static void ls_mode(mode_t m, char *s)
{
    static const char rwx[] = "rwxrwxrwx";
    s[0] = S_ISDIR(m) ? 'd' : '-';
    for (int i = 0; i < 9; i++) s[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
    s[10] = '\0';
}

static bool has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
    return false;
}

/* One listing line for e into buf; 0 when the entry is not shown (a link
 * leaving the root, a FIFO, a name no FTP line can carry). */
static size_t list_line(struct ftp *f, struct fsroot_entry *e, char *buf, size_t cap)
{
    if (has_ctl(e->name)) return 0;
    struct stat st = e->st;
    if (S_ISLNK(st.st_mode)) { /* shown as what it points to, if inside the root */
        char p[FSROOT_PATH_MAX];
        int n = snprintf(p, sizeof p, "%s/%s", strcmp(f->xpath, "/") ? f->xpath : "", e->name);
        if (n < 0 || (size_t)n >= sizeof p || fsroot_stat(f->ctx->root, p, &st) != FSROOT_OK)
            return 0;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return 0;
    int n;
    if (f->xk == XK_NLST) {
        n = snprintf(buf, cap, "%s\r\n", e->name);
    } else {
        char mode[11], date[32];
        ls_mode(st.st_mode, mode);
        ls_date(st.st_mtime, time(NULL), date, sizeof date);
        n = snprintf(buf, cap, "%s 1 ftp ftp %12lld %s %s\r\n", mode, (long long)st.st_size,
                     date, e->name);
    }
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Refills the data buffer from the remaining entries. */
static void list_fill(struct ftp *f)
{
    f->data_pos = f->data_len = 0;
    while (f->ent_i < f->nents && FTP_DATA_CAP - f->data_len >= FTP_LIST_LINE_MAX) {
        f->data_len += list_line(f, &f->ents[f->ent_i++], f->data + f->data_len,
                                 FTP_DATA_CAP - f->data_len);
    }
}

/* ---- transfers ---------------------------------------------------------- */

/* Frees what the transfer holds (an upload still open is deleted). */
static void xfer_release(struct ftp *f)
{
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->uploading) fsroot_upload_abort(&f->up);
    f->uploading = false;
    if (f->ents != &f->one) free(f->ents);
    f->ents = NULL;
    f->nents = f->ent_i = f->data_pos = f->data_len = 0;
}

/* The transfer ends: close the data channel, then reply code/text. */
static void xfer_finish(struct ftp *f, int code, const char *text)
{
    if (f->xk == XK_STOR && f->uploading) {
        if (code == 226 && fsroot_upload_commit(&f->up) != FSROOT_OK) {
            code = 451;
            text = "Local error: upload not saved.";
        }
        if (code != 226) fsroot_upload_abort(&f->up);
        f->uploading = false;
    }
    xfer_release(f);
    f->final_code = code;
    f->final_text = text;
    f->op = OP_CLOSE;
}

static void xfer_start(struct ftp *f, enum xfer_kind k, const char *text)
{
    f->xk = k;
    f->bytes = 0;
    f->listener = false; /* one transfer per PASV/EPSV */
    reply(f, "150 %s\r\n", text);
    f->op = OP_ACCEPT;
}

/* After each step of an outgoing transfer: done yet? */
static void out_check(struct ftp *f)
{
    if (f->xk == XK_RETR) {
        if (f->left == 0) xfer_finish(f, 226, "Transfer complete.");
    } else if (f->data_pos == f->data_len) {
        list_fill(f);
        if (f->data_len == 0) xfer_finish(f, 226, "Transfer complete.");
    }
}

/* ---- commands ----------------------------------------------------------- */

static bool need_arg(struct ftp *f, const char *arg)
{
    if (arg[0]) return true;
    reply(f, "501 Syntax error in parameters or arguments.\r\n");
    return false;
}

static bool is_anonymous(const char *u)
{
    return strcasecmp(u, "anonymous") == 0 || strcasecmp(u, "ftp") == 0;
}

static void cmd_user(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    f->logged_in = false;
    f->have_user = true;
    snprintf(f->user, sizeof f->user, "%s", arg); /* a longer name can never match */
    if (strlen(arg) > FTP_USER_MAX) f->user[0] = '\0';
    if (is_anonymous(f->user)) reply(f, "331 Anonymous login ok, send your email as password.\r\n");
    else reply(f, "331 Please specify the password.\r\n");
}

static void cmd_pass(struct ftp *f, const char *arg)
{
    if (f->logged_in) {
        reply(f, "230 Already logged in.\r\n");
        return;
    }
    if (!f->have_user) {
        reply(f, "503 Login with USER first.\r\n");
        return;
    }
    f->have_user = false;
    bool ok = f->user[0] && (is_anonymous(f->user) ||
                             ftp_users_check(f->ctx ? f->ctx->users : NULL, f->user, arg));
    if (ok) {
        f->logged_in = true;
        reply(f, "230 Login successful.\r\n");
        return;
    }
    if (++f->bad_logins >= FTP_MAX_BAD_LOGINS) {
        reply(f, "421 Too many failed logins, closing.\r\n");
        f->closing = true;
        return;
    }
    reply(f, "530 Login incorrect.\r\n");
}

static void cmd_feat(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n UTF8\r\n"
             " TVFS\r\n211 End\r\n");
}

static void cmd_opts(struct ftp *f, const char *arg)
{
    if (strcasecmp(arg, "UTF8 ON") == 0 || strcasecmp(arg, "UTF8") == 0)
        reply(f, "200 Always in UTF8 mode.\r\n");
    else
        reply(f, "501 Option not understood.\r\n");
}

static void cmd_help(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "214-The following commands are recognized:\r\n"
             " ABOR ALLO CDUP CWD DELE EPSV FEAT HELP LIST MDTM MKD MODE NLST NOOP OPTS\r\n"
             " PASS PASV PWD QUIT REST RETR RMD SIZE STAT STOR STRU SYST TYPE USER\r\n"
             " XCUP XCWD XMKD XPWD XRMD\r\n"
             "214 Help OK.\r\n");
}

static void cmd_stat(struct ftp *f, const char *arg)
{
    if (arg[0]) {
        reply(f, "504 STAT with an argument is not implemented.\r\n");
        return;
    }
    reply(f, "211-refserver FTP status:\r\n Connected to %s\r\n Logged in: %s\r\n"
             " TYPE: %s, MODE: Stream, STRU: File\r\n211 End of status.\r\n",
          f->peer, f->logged_in ? "yes" : "no", f->binary ? "BINARY" : "ASCII");
}

static void cmd_pwd(struct ftp *f, const char *arg)
{
    (void)arg;
    reply_path(f, 257, f->cwd, "is the current directory");
}

static void change_dir(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    struct stat st;
    if (!resolve(f, arg, p)) return;
    int rc = fsroot_stat(f->ctx->root, p, &st);
    if (rc == FSROOT_OK && !S_ISDIR(st.st_mode)) rc = FSROOT_ENOTFOUND;
    if (rc != FSROOT_OK) {
        reply_fs_error(f, rc);
        return;
    }
    memcpy(f->cwd, p, strlen(p) + 1);
    reply(f, "250 Directory successfully changed.\r\n");
}

static void cmd_cwd(struct ftp *f, const char *arg)
{
    if (need_arg(f, arg)) change_dir(f, arg);
}

static void cmd_cdup(struct ftp *f, const char *arg)
{
    (void)arg;
    change_dir(f, "..");
}

static void cmd_type(struct ftp *f, const char *arg)
{
    if (strcasecmp(arg, "I") == 0 || strcasecmp(arg, "L 8") == 0) {
        f->binary = true;
        reply(f, "200 Switching to Binary mode.\r\n");
    } else if (strcasecmp(arg, "A") == 0 || strcasecmp(arg, "A N") == 0) {
        f->binary = false;
        reply(f, "200 Switching to ASCII mode.\r\n");
    } else if (!arg[0]) {
        reply(f, "501 Syntax error in parameters or arguments.\r\n");
    } else {
        reply(f, "504 Command not implemented for that parameter.\r\n");
    }
}

static void cmd_mode(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    if (strcasecmp(arg, "S") == 0) reply(f, "200 Mode set to S.\r\n");
    else reply(f, "504 Command not implemented for that parameter.\r\n");
}

static void cmd_stru(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    if (strcasecmp(arg, "F") == 0) reply(f, "200 Structure set to F.\r\n");
    else reply(f, "504 Command not implemented for that parameter.\r\n");
}

static void cmd_pasv(struct ftp *f, const char *arg)
{
    (void)arg;
    if (f->epsv_all) {
        reply(f, "500 PASV not allowed after EPSV ALL.\r\n");
        return;
    }
    f->open_epsv = false;
    f->op = OP_OPEN;
}

static void cmd_epsv(struct ftp *f, const char *arg)
{
    if (strcasecmp(arg, "ALL") == 0) {
        f->epsv_all = true;
        reply(f, "200 EPSV ALL ok.\r\n");
        return;
    }
    if (arg[0] && strcmp(arg, "1") != 0 && strcmp(arg, "2") != 0) {
        reply(f, "522 Network protocol not supported, use (1,2)\r\n");
        return;
    }
    f->open_epsv = true;
    f->op = OP_OPEN;
}

static void cmd_active(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "502 Active mode not supported (use PASV/EPSV).\r\n");
}

static bool need_listener(struct ftp *f)
{
    if (f->listener) return true;
    reply(f, "425 Use PASV or EPSV first.\r\n");
    return false;
}

/* Opens the regular file at arg. Returns the fd or -1 (replied). */
static int open_file(struct ftp *f, const char *arg, char *path, struct stat *st)
{
    if (!need_arg(f, arg) || !resolve(f, arg, path)) return -1;
    int fd = names_dir(arg) ? FSROOT_ENOTFOUND : fsroot_open(f->ctx->root, path, st);
    if (fd >= 0 && !S_ISREG(st->st_mode)) {
        close(fd);
        fd = FSROOT_ENOTFOUND;
    }
    if (fd < 0) {
        reply_fs_error(f, fd);
        return -1;
    }
    return fd;
}

static void cmd_retr(struct ftp *f, const char *arg)
{
    struct stat st;
    off_t rest = f->rest;
    f->rest = 0;
    if (!need_arg(f, arg) || !need_listener(f)) return;
    int fd = open_file(f, arg, f->xpath, &st);
    if (fd < 0) return;
    if (rest > st.st_size) {
        close(fd);
        reply(f, "554 Restart position beyond the end of the file.\r\n");
        return;
    }
    f->fd = fd;
    f->off = rest;
    f->left = st.st_size - rest;
    char text[96];
    snprintf(text, sizeof text, "Opening %s mode data connection (%lld bytes).",
             f->binary ? "BINARY" : "ASCII", (long long)st.st_size);
    xfer_start(f, XK_RETR, text);
}

/* LIST/NLST arguments: ls-style options ("-la") first are ignored. */
static const char *skip_options(const char *arg)
{
    while (arg[0] == '-') {
        const char *sp = strchr(arg, ' ');
        if (!sp) return "";
        arg = sp + 1;
        while (*arg == ' ') arg++;
    }
    return arg;
}

static void cmd_list_common(struct ftp *f, const char *arg, enum xfer_kind k)
{
    if (!need_listener(f)) return;
    arg = skip_options(arg);
    if (!resolve(f, arg[0] ? arg : ".", f->xpath)) return;
    struct stat st;
    int rc = fsroot_stat(f->ctx->root, f->xpath, &st);
    if (rc == FSROOT_OK && S_ISDIR(st.st_mode)) {
        rc = fsroot_list(f->ctx->root, f->xpath, &f->ents, &f->nents);
    } else if (rc == FSROOT_OK) { /* a file: its own line */
        char *slash = strrchr(f->xpath, '/');
        snprintf(f->one.name, sizeof f->one.name, "%s", slash + 1);
        f->one.st = st;
        f->ents = &f->one;
        f->nents = 1;
        *(slash == f->xpath ? slash + 1 : slash) = '\0'; /* xpath: the directory */
    }
    if (rc != FSROOT_OK) {
        reply_fs_error(f, rc);
        return;
    }
    f->ent_i = 0;
    f->xk = k;
    list_fill(f);
    xfer_start(f, k, "Here comes the directory listing.");
}

static void cmd_list(struct ftp *f, const char *arg)
{
    cmd_list_common(f, arg, XK_LIST);
}

static void cmd_nlst(struct ftp *f, const char *arg)
{
    cmd_list_common(f, arg, XK_NLST);
}

static void cmd_stor(struct ftp *f, const char *arg)
{
    off_t rest = f->rest;
    f->rest = 0;
    if (!need_arg(f, arg) || !need_listener(f)) return;
    if (rest != 0) {
        reply(f, "554 REST with STOR is not supported.\r\n");
        return;
    }
    if (!resolve(f, arg, f->xpath)) return;
    struct stat st;
    if (names_dir(arg) ||
        (fsroot_stat(f->ctx->root, f->xpath, &st) == FSROOT_OK && S_ISDIR(st.st_mode))) {
        reply(f, "550 Is a directory.\r\n");
        return;
    }
    int rc = fsroot_upload_begin(f->ctx->root, f->xpath, &f->up);
    if (rc != FSROOT_OK) {
        reply_fs_error(f, rc);
        return;
    }
    f->uploading = true;
    xfer_start(f, XK_STOR, "Ok to send data.");
}

static void cmd_rest(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    long long v = 0;
    for (const char *p = arg; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10) {
            reply(f, "501 Bad restart position.\r\n");
            return;
        }
        v = v * 10 + (*p - '0');
    }
    f->rest = (off_t)v;
    reply(f, "350 Restart position accepted (%lld).\r\n", v);
}

/* SIZE and MDTM: regular files only. */
static void cmd_size(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    struct stat st;
    int fd = open_file(f, arg, p, &st);
    if (fd < 0) return;
    close(fd);
    reply(f, "213 %lld\r\n", (long long)st.st_size);
}

static void cmd_mdtm(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    struct stat st;
    struct tm tm;
    int fd = open_file(f, arg, p, &st);
    if (fd < 0) return;
    close(fd);
    if (!gmtime_r(&st.st_mtime, &tm)) {
        reply(f, "451 Local error.\r\n");
        return;
    }
    reply(f, "213 %04d%02d%02d%02d%02d%02d\r\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
          tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* DELE, MKD, RMD: an *at() call in the parent directory. Returns the
 * syscall's result (0 or -1), or 1 when already replied. */
static int in_parent(struct ftp *f, const char *arg, char *p, int (*op)(int, const char *))
{
    char leaf[FSROOT_NAME_MAX + 1];
    if (!need_arg(f, arg) || !resolve(f, arg, p)) return 1;
    int dirfd = fsroot_open_parent(f->ctx->root, p, leaf, sizeof leaf);
    if (dirfd < 0) {
        reply_fs_error(f, dirfd);
        return 1;
    }
    int rc = op(dirfd, leaf);
    close(dirfd);
    return rc;
}

static int do_unlink(int dirfd, const char *leaf)
{
    return unlinkat(dirfd, leaf, 0);
}

static int do_rmdir(int dirfd, const char *leaf)
{
    return unlinkat(dirfd, leaf, AT_REMOVEDIR);
}

static int do_mkdir(int dirfd, const char *leaf)
{
    return mkdirat(dirfd, leaf, 0755);
}

static void cmd_dele(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    if (names_dir(arg)) {
        reply(f, "550 Delete operation failed.\r\n");
        return;
    }
    int rc = in_parent(f, arg, p, do_unlink);
    if (rc == 0) reply(f, "250 Delete operation successful.\r\n");
    else if (rc < 0) reply(f, "550 Delete operation failed.\r\n");
}

static void cmd_rmd(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    int rc = in_parent(f, arg, p, do_rmdir);
    if (rc == 0) reply(f, "250 Remove directory operation successful.\r\n");
    else if (rc < 0) reply(f, "550 Remove directory operation failed.\r\n");
}

static void cmd_mkd(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    int rc = in_parent(f, arg, p, do_mkdir);
    if (rc == 0) reply_path(f, 257, p, "created");
    else if (rc < 0) reply(f, "550 Create directory operation failed.\r\n");
}

static void cmd_noop(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "200 NOOP ok.\r\n");
}

static void cmd_syst(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "215 UNIX Type: L8\r\n");
}

static void cmd_quit(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "221 Goodbye.\r\n");
    f->closing = true;
}

static void cmd_abor(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "226 No transfer to abort.\r\n");
}

static void cmd_allo(struct ftp *f, const char *arg)
{
    (void)arg;
    reply(f, "202 ALLO command ignored.\r\n");
}

#define NOLOGIN 1 /* allowed before login */

static const struct command {
    char name[5];
    unsigned flags;
    void (*fn)(struct ftp *, const char *);
} commands[] = {
    {"USER", NOLOGIN, cmd_user}, {"PASS", NOLOGIN, cmd_pass}, {"QUIT", NOLOGIN, cmd_quit},
    {"SYST", NOLOGIN, cmd_syst}, {"FEAT", NOLOGIN, cmd_feat}, {"NOOP", NOLOGIN, cmd_noop},
    {"HELP", NOLOGIN, cmd_help}, {"OPTS", NOLOGIN, cmd_opts}, {"STAT", 0, cmd_stat},
    {"PWD", 0, cmd_pwd},         {"XPWD", 0, cmd_pwd},        {"CWD", 0, cmd_cwd},
    {"XCWD", 0, cmd_cwd},        {"CDUP", 0, cmd_cdup},       {"XCUP", 0, cmd_cdup},
    {"TYPE", 0, cmd_type},       {"MODE", 0, cmd_mode},       {"STRU", 0, cmd_stru},
    {"PASV", 0, cmd_pasv},       {"EPSV", 0, cmd_epsv},       {"PORT", 0, cmd_active},
    {"EPRT", 0, cmd_active},     {"LIST", 0, cmd_list},       {"NLST", 0, cmd_nlst},
    {"RETR", 0, cmd_retr},       {"STOR", 0, cmd_stor},       {"REST", 0, cmd_rest},
    {"SIZE", 0, cmd_size},       {"MDTM", 0, cmd_mdtm},       {"DELE", 0, cmd_dele},
    {"MKD", 0, cmd_mkd},         {"XMKD", 0, cmd_mkd},        {"RMD", 0, cmd_rmd},
    {"XRMD", 0, cmd_rmd},        {"ABOR", 0, cmd_abor},       {"ALLO", 0, cmd_allo},
};

/* One command line (CR LF removed, Telnet IAC sequences dropped). */
static void handle_line(struct ftp *f, char *line)
{
    size_t vl = 0;
    while (line[vl] && line[vl] != ' ') vl++;
    char *arg = line[vl] ? line + vl + 1 : line + vl;
    line[vl] = '\0';
    bool alpha = vl > 0;
    for (size_t i = 0; i < vl; i++)
        if (!((line[i] | 0x20) >= 'a' && (line[i] | 0x20) <= 'z')) alpha = false;
    if (!alpha) {
        reply(f, "500 Syntax error, command unrecognized.\r\n");
        return;
    }
    const struct command *c = NULL;
    for (size_t i = 0; vl <= 4 && i < sizeof commands / sizeof commands[0]; i++)
        if (strcasecmp(line, commands[i].name) == 0) c = &commands[i];
    if (!c) {
        reply(f, "502 Command not implemented.\r\n");
        return;
    }
    if (!(c->flags & NOLOGIN) && !f->logged_in) {
        reply(f, "530 Please login with USER and PASS.\r\n");
        return;
    }
    if (has_ctl(arg)) {
        reply(f, "501 Syntax error in parameters or arguments.\r\n");
        return;
    }
    c->fn(f, arg);
}

/* Copies the line [p, p+n) into out without its line end and without Telnet
 * IAC sequences (IAC IP, IAC DM, WILL/WONT/DO/DONT x; IAC IAC is 0xff).
 * A NUL byte becomes a control byte the argument check refuses. */
static void clean_line(const char *p, size_t n, char *out)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == 0xff && i + 1 < n) {
            unsigned char x = (unsigned char)p[i + 1];
            if (x == 0xff) {
                out[o++] = (char)0xff;
                i++;
            } else {
                i += (x >= 251 && x <= 254) ? 2 : 1;
            }
            continue;
        }
        out[o++] = c ? (char)c : '\x01';
    }
    out[o] = '\0';
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
        reply(f, "500 Command line too long.\r\n");
        f->discarding = true;
        return true;
    }
    size_t n = (size_t)(lf - b) + 1;
    char line[FTP_LINE_MAX + 1];
    clean_line(b, n, line);
    f->in_off += n;
    handle_line(f, line);
    return true;
}

/* Answers what can be answered now. */
static void pump(struct ftp *f)
{
    for (;;) {
        if (f->in_off == f->in_len) f->in_off = f->in_len = 0;
        if (f->failed || f->closing || f->op != OP_NONE) return;
        if (f->out_len + FTP_REPLY_MAX > FTP_OUT_CAP) return;
        if (!handle_one(f)) return;
    }
}

/* ---- data-channel results ----------------------------------------------- */

/* Formats the PASV/EPSV reply once the listener is open on port. */
static void opened(struct ftp *f, ssize_t port)
{
    f->op = OP_NONE;
    f->listener = false; /* the driver closed any previous one */
    if (port <= 0 || port > 65535) {
        reply(f, "425 Can't open data connection.\r\n");
        return;
    }
    f->listener = true;
    if (f->open_epsv) {
        reply(f, "229 Entering Extended Passive Mode (|||%d|)\r\n", (int)port);
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
        f->xpath[0] = '\0'; /* not a transfer: no log line */
        f->final_code = 425;
        f->final_text = "PASV needs IPv4, use EPSV.";
        f->op = OP_CLOSE;
        return;
    }
    reply(f, "227 Entering Passive Mode (%u,%u,%u,%u,%d,%d).\r\n", a, b, c, d, (int)port / 256,
          (int)port % 256);
}

static void accepted(struct ftp *f, ssize_t result)
{
    if (result < 0) {
        xfer_finish(f, 425, "Can't open data connection.");
        return;
    }
    f->op = OP_XFER;
    if (f->xk != XK_STOR) out_check(f);
}

static void transferred(struct ftp *f, const struct action *a, ssize_t result)
{
    if (a->kind == ACT_TRANSFER_IN) {
        if (result > 0) {
            f->bytes += (unsigned long long)result;
        } else if (result == 0 && !f->eof) {
            xfer_finish(f, 226, "Transfer complete.");
        } else {
            xfer_finish(f, 426, "Connection closed; transfer aborted.");
        }
        return;
    }
    if (result <= 0) {
        xfer_finish(f, 426, "Connection closed; transfer aborted.");
        return;
    }
    size_t n = (size_t)result;
    if (f->xk == XK_RETR) {
        if ((off_t)n > f->left) n = (size_t)f->left;
        f->off += (off_t)n;
        f->left -= (off_t)n;
    } else {
        if (n > f->data_len - f->data_pos) n = f->data_len - f->data_pos;
        f->data_pos += n;
    }
    f->bytes += n;
    out_check(f);
}

static void closed(struct ftp *f)
{
    f->op = OP_NONE;
    reply(f, "%d %s\r\n", f->final_code, f->final_text);
    if (f->final_code != 425 || f->xpath[0]) log_xfer(f, xfer_name(f->xk), f->final_code);
    f->xpath[0] = '\0';
}

/* ---- the proto interface ------------------------------------------------ */

static void *ftp_create(const struct server_ctx *ctx, const char *peer)
{
    struct ftp *f = malloc(sizeof *f);
    if (!f) return NULL;
    memset(f, 0, offsetof(struct ftp, cwd));
    f->ctx = ctx;
    snprintf(f->peer, sizeof f->peer, "%s", peer ? peer : "-");
    f->fd = -1;
    f->up.fd = f->up.dirfd = -1;
    f->binary = true;
    strcpy(f->cwd, "/");
    reply(f, "220 refserver FTP ready\r\n");
    return f;
}

static size_t ftp_feed(void *state, const void *buf, size_t len)
{
    struct ftp *f = state;
    if (len == 0) {
        f->eof = true;
        /* nobody is left to open the data connection */
        if (f->op == OP_ACCEPT) xfer_finish(f, 426, "Connection closed; transfer aborted.");
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
    pump(f);
    return n;
}

static void next_op(struct ftp *f, struct action *out)
{
    switch (f->op) {
    case OP_OPEN:
        out->kind = ACT_OPEN_PASSIVE;
        out->ip_out = f->ip;
        out->ip_out_len = sizeof f->ip;
        break;
    case OP_ACCEPT: out->kind = ACT_ACCEPT_DATA; break;
    case OP_CLOSE: out->kind = ACT_CLOSE_DATA; break;
    case OP_XFER:
        if (f->xk == XK_STOR) {
            out->kind = ACT_TRANSFER_IN;
            out->fd = f->up.fd;
        } else if (f->xk == XK_RETR) {
            out->kind = ACT_TRANSFER_OUT;
            out->fd = f->fd;
            out->off = f->off;
            out->count = (size_t)f->left;
        } else {
            out->kind = ACT_TRANSFER_OUT;
            out->fd = -1;
            out->buf = f->data + f->data_pos;
            out->len = f->data_len - f->data_pos;
            out->count = out->len;
        }
        break;
    case OP_NONE: break;
    }
}

static void ftp_next(void *state, struct action *out)
{
    struct ftp *f = state;
    out->kind = ACT_CLOSE;
    if (f->failed) return;
    if (f->out_pos < f->out_len) {
        out->kind = ACT_WRITE;
        out->buf = f->out + f->out_pos;
        out->len = f->out_len - f->out_pos;
    } else if (f->op != OP_NONE) {
        next_op(f, out);
    } else if (!f->closing && !f->eof) {
        out->kind = ACT_READ;
    }
}

static void ftp_done(void *state, const struct action *a, ssize_t result)
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
    case ACT_OPEN_PASSIVE:
        if (f->op == OP_OPEN) opened(f, result);
        break;
    case ACT_ACCEPT_DATA:
        if (f->op == OP_ACCEPT) accepted(f, result);
        break;
    case ACT_TRANSFER_OUT:
    case ACT_TRANSFER_IN:
        if (f->op == OP_XFER) transferred(f, a, result);
        break;
    case ACT_CLOSE_DATA:
        if (f->op == OP_CLOSE) closed(f);
        break;
    default: break;
    }
    pump(f);
}

static void ftp_destroy(void *state)
{
    struct ftp *f = state;
    if (!f) return;
    xfer_release(f);
    free(f);
}

const struct proto ftp_proto = {
    .name = "ftp",
    .create = ftp_create,
    .feed = ftp_feed,
    .next = ftp_next,
    .done = ftp_done,
    .destroy = ftp_destroy,
    .refusal = "421 Too many connections, try later\r\n",
};

/* ---- the users table ---------------------------------------------------- */

struct ftp_user {
    char name[FTP_USER_MAX + 1];
    char pass[FTP_PASS_MAX + 1];
    size_t plen;
};

struct ftp_users {
    size_t n;
    struct ftp_user *v;
};

void ftp_users_free(struct ftp_users *u)
{
    if (!u) return;
    if (u->v) memset(u->v, 0, u->n * sizeof *u->v); /* no passwords left in freed memory */
    free(u->v);
    free(u);
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > FTP_USER_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

/* Parses one non-comment line into e. NULL, or the reason it is refused. */
static const char *parse_user(const struct ftp_users *u, char *line, struct ftp_user *e)
{
    char *colon = strchr(line, ':');
    if (!colon) return "expected name:password";
    size_t nl = (size_t)(colon - line), pl = strlen(colon + 1);
    if (!name_ok(line, nl)) return "bad user name (1-64 of A-Z a-z 0-9 . _ -)";
    if (pl == 0) return "empty password";
    if (pl > FTP_PASS_MAX) return "password too long";
    if (has_ctl(colon + 1)) return "control character in password";
    memcpy(e->name, line, nl);
    e->name[nl] = '\0';
    if (is_anonymous(e->name)) return "user name reserved for anonymous logins";
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, e->name) == 0) return "duplicate user name";
    memcpy(e->pass, colon + 1, pl + 1);
    e->plen = pl;
    return NULL;
}

static bool blank(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    return *s == '\0' || *s == '#';
}

struct ftp_users *ftp_users_load(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct ftp_users *u = calloc(1, sizeof *u);
    size_t cap = 0;
    char line[FTP_USER_MAX + FTP_PASS_MAX + 8];
    unsigned lineno = 0;
    const char *why = u ? NULL : "out of memory";
    while (!why && fgets(line, sizeof line, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        else if (!feof(fp)) why = "line too long";
        if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
        if (why || blank(line)) continue;
        if (u->n == cap) {
            cap = cap ? 2 * cap : 8;
            struct ftp_user *nv = realloc(u->v, cap * sizeof *nv);
            if (!nv) {
                why = "out of memory";
                break;
            }
            u->v = nv;
        }
        why = parse_user(u, line, &u->v[u->n]);
        if (!why) u->n++;
    }
    if (!why && ferror(fp)) why = strerror(errno);
    fclose(fp);
    if (why) {
        if (lineno) snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
        else snprintf(err, errlen, "%s: %s", path, why);
        ftp_users_free(u);
        return NULL;
    }
    return u;
}

/* Compares every byte of both (padded) buffers whatever they hold. */
static bool same_secret(const char *a, size_t al, const char *b, size_t bl)
{
    unsigned char diff = (unsigned char)(al != bl);
    for (size_t i = 0; i < FTP_PASS_MAX; i++) {
        unsigned char x = i < al ? (unsigned char)a[i] : 0;
        unsigned char y = i < bl ? (unsigned char)b[i] : 0;
        diff |= x ^ y;
    }
    return diff == 0;
}

bool ftp_users_check(const struct ftp_users *u, const char *name, const char *pass)
{
    static const struct ftp_user nobody = {"", "\x01", 1};
    const struct ftp_user *e = &nobody;
    for (size_t i = 0; u && i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0) e = &u->v[i];
    size_t pl = strnlen(pass, FTP_PASS_MAX + 1);
    /* an unknown user costs the same compare and always fails */
    bool same = same_secret(e->pass, e->plen, pass, pl > FTP_PASS_MAX ? FTP_PASS_MAX : pl);
    return same && pl <= FTP_PASS_MAX && e != &nobody;
}
