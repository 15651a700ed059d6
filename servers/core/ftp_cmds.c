/* ftp_cmds.c - the FTP commands: one function per verb, the table that
 * names them (ftp_cmd_table.h), and ftp_proto: the session's functions
 * (ftp.c) made with this table, which the session dispatches through. See ftp.h for what is
 * answered and ftp_session.h for the state they change. A command replies at once, or asks the
 * session for the data channel (ftp_open_passive, ftp_xfer_start): the
 * calls run from here to ftp.c, never back. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsroot.h"
#include "ftp_cmd_table.h"
#include "ftp_line.h"
#include "ftp_list.h"
#include "ftp_session.h"
#include "ftp_users.h"

/* ---- paths -------------------------------------------------------------- */

/* Resolves arg against the cwd. On failure replies 550 (or 501) and
 * returns false: nothing about what lies outside the root is told. */
static bool resolve(struct ftp *f, const char *arg, char *out)
{
    const struct fsroot *root = f->ctx ? f->ctx->root : NULL;
    if (!root) {
        ftp_reply(f, "550 No such file or directory.\r\n");
        return false;
    }
    int rc = fsroot_resolve(root, f->cwd, arg, FSROOT_ALLOW_DOTDOT, out, FSROOT_PATH_MAX);
    if (rc != FSROOT_OK) {
        ftp_reply(f, "550 No such file or directory.\r\n");
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
    if (rc == FSROOT_EIO)
        ftp_reply(f, "451 Local error.\r\n");
    else
        ftp_reply(f, "550 No such file or directory.\r\n");
}

/* ---- commands ----------------------------------------------------------- */

static bool need_arg(struct ftp *f, const char *arg)
{
    if (arg[0]) return true;
    ftp_reply(f, "501 Syntax error in parameters or arguments.\r\n");
    return false;
}

static void cmd_user(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    f->login.logged_in = f->login.may_write = false;
    f->login.have_user = true;
    snprintf(f->login.user, sizeof f->login.user, "%s", arg); /* a longer name can never match */
    if (strlen(arg) > FTP_USER_MAX) f->login.user[0] = '\0';
    if (ftp_user_is_anonymous(f->login.user))
        ftp_reply(f, "331 Anonymous login ok, send your email as password.\r\n");
    else
        ftp_reply(f, "331 Please specify the password.\r\n");
}

/* The login's answer: 230, or the 530 after the delay (the third closes). */
static void login_result(struct ftp *f, bool ok, bool may_write)
{
    if (ok) {
        f->login.logged_in = true;
        f->login.may_write = may_write;
        ftp_reply(f, "230 Login successful.\r\n");
        return;
    }
    ftp_delay_reply(f); /* slows guessing to one try a second per session */
    ftp_reply(f, "530 Login incorrect.\r\n");
    if (++f->login.bad_logins >= FTP_MAX_BAD_LOGINS) f->closing = true;
}

/* The job of ACT_OFFLOAD: the password hash (tens of ms of CPU), on
 * whatever thread the driver runs it; it touches only *arg. */
static void verify_job(void *arg)
{
    struct ftp_verify *v = arg;
    v->ok = ftp_users_check(v->users, v->user, v->pass, &v->may_write);
}

static void pass_verified(struct ftp *f)
{
    struct ftp_verify *v = &f->verify;
    login_result(f, v->ok, v->ok && v->may_write);
    memset(v->pass, 0, sizeof v->pass);
}

static void cmd_pass(struct ftp *f, const char *arg)
{
    if (f->login.logged_in) {
        ftp_reply(f, "230 Already logged in.\r\n");
        return;
    }
    if (!f->login.have_user) {
        ftp_reply(f, "503 Login with USER first.\r\n");
        return;
    }
    f->login.have_user = false;
    f->login.may_write = false;
    const struct ftp_users *users = f->ctx ? f->ctx->users : NULL;
    /* anonymous names log in with any password (and never write); a name
     * too long to match, or no users table, fails without a hash */
    if (!f->login.user[0] || ftp_user_is_anonymous(f->login.user) || !ftp_users_count(users)) {
        login_result(f, f->login.user[0] && ftp_user_is_anonymous(f->login.user), false);
        return;
    }
    /* the others as the users table says: hashed off the driver's loop */
    struct ftp_verify *v = &f->verify;
    v->users = users;
    snprintf(v->user, sizeof v->user, "%s", f->login.user);
    snprintf(v->pass, sizeof v->pass, "%s", arg);
    v->ok = v->may_write = false;
    ftp_offload(f, verify_job, v, pass_verified);
}

static void cmd_feat(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply(f, "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n UTF8\r\n"
                 " TVFS\r\n211 End\r\n");
}

static void cmd_opts(struct ftp *f, const char *arg)
{
    if (strcasecmp(arg, "UTF8 ON") == 0 || strcasecmp(arg, "UTF8") == 0)
        ftp_reply(f, "200 Always in UTF8 mode.\r\n");
    else
        ftp_reply(f, "501 Option not understood.\r\n");
}

static void cmd_help(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply(f, "214-The following commands are recognized:\r\n"
                 " ABOR ALLO CDUP CWD DELE EPSV FEAT HELP LIST MDTM MKD MODE NLST NOOP OPTS\r\n"
                 " PASS PASV PWD QUIT REST RETR RMD SIZE STAT STOR STRU SYST TYPE USER\r\n"
                 " XCUP XCWD XMKD XPWD XRMD\r\n"
                 "214 Help OK.\r\n");
}

static void cmd_stat(struct ftp *f, const char *arg)
{
    if (arg[0]) {
        ftp_reply(f, "504 STAT with an argument is not implemented.\r\n");
        return;
    }
    ftp_reply(f,
              "211-refserver FTP status:\r\n Connected to %s\r\n Logged in: %s\r\n"
              " TYPE: %s, MODE: Stream, STRU: File\r\n211 End of status.\r\n",
              f->peer, f->login.logged_in ? "yes" : "no", f->binary ? "BINARY" : "ASCII");
}

static void cmd_pwd(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply_path(f, 257, f->cwd, "is the current directory");
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
    ftp_reply(f, "250 Directory successfully changed.\r\n");
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
        ftp_reply(f, "200 Switching to Binary mode.\r\n");
    } else if (strcasecmp(arg, "A") == 0 || strcasecmp(arg, "A N") == 0) {
        f->binary = false;
        ftp_reply(f, "200 Switching to ASCII mode.\r\n");
    } else if (!arg[0]) {
        ftp_reply(f, "501 Syntax error in parameters or arguments.\r\n");
    } else {
        ftp_reply(f, "504 Command not implemented for that parameter.\r\n");
    }
}

static void cmd_mode(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    if (strcasecmp(arg, "S") == 0)
        ftp_reply(f, "200 Mode set to S.\r\n");
    else
        ftp_reply(f, "504 Command not implemented for that parameter.\r\n");
}

static void cmd_stru(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    if (strcasecmp(arg, "F") == 0)
        ftp_reply(f, "200 Structure set to F.\r\n");
    else
        ftp_reply(f, "504 Command not implemented for that parameter.\r\n");
}

static void cmd_pasv(struct ftp *f, const char *arg)
{
    (void)arg;
    if (f->epsv_all) {
        ftp_reply(f, "500 PASV not allowed after EPSV ALL.\r\n");
        return;
    }
    ftp_open_passive(f, false);
}

static void cmd_epsv(struct ftp *f, const char *arg)
{
    if (strcasecmp(arg, "ALL") == 0) {
        f->epsv_all = true;
        ftp_reply(f, "200 EPSV ALL ok.\r\n");
        return;
    }
    if (arg[0] && strcmp(arg, "1") != 0 && strcmp(arg, "2") != 0) {
        ftp_reply(f, "522 Network protocol not supported, use (1,2)\r\n");
        return;
    }
    ftp_open_passive(f, true);
}

static void cmd_active(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply(f, "502 Active mode not supported (use PASV/EPSV).\r\n");
}

static bool need_listener(struct ftp *f)
{
    if (f->listener) return true;
    ftp_reply(f, "425 Use PASV or EPSV first.\r\n");
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
    int fd = open_file(f, arg, f->xfer.path, &st);
    if (fd < 0) return;
    if (rest > st.st_size) {
        close(fd);
        ftp_reply(f, "554 Restart position beyond the end of the file.\r\n");
        return;
    }
    f->xfer.fd = fd;
    f->xfer.off = rest;
    f->xfer.left = st.st_size - rest;
    char text[96];
    snprintf(text, sizeof text, "Opening %s mode data connection (%lld bytes).",
             f->binary ? "BINARY" : "ASCII", (long long)st.st_size);
    ftp_xfer_start(f, FTP_XFER_RETR, text);
}

/* LIST/NLST arguments: ls-style options ("-la") first are ignored. */
static const char *skip_options(const char *arg)
{
    while (arg[0] == '-') {
        const char *sp = strchr(arg, ' ');
        if (!sp) return "";
        arg = sp + 1;
        while (*arg == ' ')
            arg++;
    }
    return arg;
}

static void cmd_list_common(struct ftp *f, const char *arg, enum ftp_xfer_kind k)
{
    if (!need_listener(f)) return;
    arg = skip_options(arg);
    if (!resolve(f, arg[0] ? arg : ".", f->xfer.path)) return;
    int rc = ftp_listing_open(&f->xfer.listing, f->ctx->root, f->xfer.path);
    if (rc != FSROOT_OK) {
        reply_fs_error(f, rc);
        return;
    }
    ftp_xfer_start(f, k, "Here comes the directory listing.");
}

static void cmd_list(struct ftp *f, const char *arg)
{
    cmd_list_common(f, arg, FTP_XFER_LIST);
}

static void cmd_nlst(struct ftp *f, const char *arg)
{
    cmd_list_common(f, arg, FTP_XFER_NLST);
}

static void cmd_stor(struct ftp *f, const char *arg)
{
    off_t rest = f->rest;
    f->rest = 0;
    if (!need_arg(f, arg) || !need_listener(f)) return;
    if (rest != 0) {
        ftp_reply(f, "554 REST with STOR is not supported.\r\n");
        return;
    }
    if (!resolve(f, arg, f->xfer.path)) return;
    struct stat st;
    if (names_dir(arg) ||
        (fsroot_stat(f->ctx->root, f->xfer.path, &st) == FSROOT_OK && S_ISDIR(st.st_mode))) {
        ftp_reply(f, "550 Is a directory.\r\n");
        return;
    }
    mode_t mode = 0666 & ~f->ctx->umask;
    int rc = fsroot_upload_begin(f->ctx->root, f->xfer.path, mode, &f->xfer.up);
    if (rc != FSROOT_OK) {
        reply_fs_error(f, rc);
        return;
    }
    f->xfer.uploading = true;
    ftp_xfer_start(f, FTP_XFER_STOR, "Ok to send data.");
}

static void cmd_rest(struct ftp *f, const char *arg)
{
    if (!need_arg(f, arg)) return;
    long long v = 0;
    for (const char *p = arg; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10) {
            ftp_reply(f, "501 Bad restart position.\r\n");
            return;
        }
        v = v * 10 + (*p - '0');
    }
    f->rest = (off_t)v;
    ftp_reply(f, "350 Restart position accepted (%lld).\r\n", v);
}

/* SIZE and MDTM: regular files only. */
static void cmd_size(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    struct stat st;
    int fd = open_file(f, arg, p, &st);
    if (fd < 0) return;
    close(fd);
    ftp_reply(f, "213 %lld\r\n", (long long)st.st_size);
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
        ftp_reply(f, "451 Local error.\r\n");
        return;
    }
    ftp_reply(f, "213 %04d%02d%02d%02d%02d%02d\r\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* DELE, MKD, RMD: an *at() call in the parent directory (op gets its fd,
 * the name, and the mode for a new directory). Returns the
 * syscall's result (0 or -1), or 1 when already replied. */
static int in_parent(struct ftp *f, const char *arg, char *p, int (*op)(int, const char *, mode_t))
{
    char leaf[FSROOT_NAME_MAX + 1];
    if (!need_arg(f, arg) || !resolve(f, arg, p)) return 1;
    int dirfd = fsroot_open_parent(f->ctx->root, p, leaf, sizeof leaf);
    if (dirfd < 0) {
        reply_fs_error(f, dirfd);
        return 1;
    }
    int rc = op(dirfd, leaf, 0777 & ~f->ctx->umask);
    close(dirfd);
    return rc;
}

static int do_unlink(int dirfd, const char *leaf, mode_t mode)
{
    (void)mode;
    return unlinkat(dirfd, leaf, 0);
}

static int do_rmdir(int dirfd, const char *leaf, mode_t mode)
{
    (void)mode;
    return unlinkat(dirfd, leaf, AT_REMOVEDIR);
}

/* mode: 0777 & ~umask, as mkdir(1) under that umask; the process umask
 * (which refserver leaves as it found it) may take off more. */
static int do_mkdir(int dirfd, const char *leaf, mode_t mode)
{
    return mkdirat(dirfd, leaf, mode);
}

static void cmd_dele(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    if (names_dir(arg)) {
        ftp_reply(f, "550 Delete operation failed.\r\n");
        return;
    }
    int rc = in_parent(f, arg, p, do_unlink);
    if (rc == 0)
        ftp_reply(f, "250 Delete operation successful.\r\n");
    else if (rc < 0)
        ftp_reply(f, "550 Delete operation failed.\r\n");
}

static void cmd_rmd(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    int rc = in_parent(f, arg, p, do_rmdir);
    if (rc == 0)
        ftp_reply(f, "250 Remove directory operation successful.\r\n");
    else if (rc < 0)
        ftp_reply(f, "550 Remove directory operation failed.\r\n");
}

static void cmd_mkd(struct ftp *f, const char *arg)
{
    char p[FSROOT_PATH_MAX];
    int rc = in_parent(f, arg, p, do_mkdir);
    if (rc == 0)
        ftp_reply_path(f, 257, p, "created");
    else if (rc < 0)
        ftp_reply(f, "550 Create directory operation failed.\r\n");
}

static void cmd_noop(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply(f, "200 NOOP ok.\r\n");
}

static void cmd_syst(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply(f, "215 UNIX Type: L8\r\n");
}

static void cmd_quit(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply(f, "221 Goodbye.\r\n");
    f->closing = true;
}

static void cmd_abor(struct ftp *f, const char *arg)
{
    (void)arg;
    /* after a transfer it aborted (426 already sent), as RFC 959 4.1.3 */
    if (f->aborted)
        ftp_reply(f, "226 Abort successful.\r\n");
    else
        ftp_reply(f, "226 No transfer to abort.\r\n");
    f->aborted = false;
}

static void cmd_allo(struct ftp *f, const char *arg)
{
    (void)arg;
    ftp_reply(f, "202 ALLO command ignored.\r\n");
}

static const struct ftp_command commands[] = {
    {"USER", FTP_CMD_NOLOGIN, cmd_user},
    {"PASS", FTP_CMD_NOLOGIN, cmd_pass},
    {"QUIT", FTP_CMD_NOLOGIN, cmd_quit},
    {"SYST", FTP_CMD_NOLOGIN, cmd_syst},
    {"FEAT", FTP_CMD_NOLOGIN, cmd_feat},
    {"NOOP", FTP_CMD_NOLOGIN, cmd_noop},
    {"HELP", FTP_CMD_NOLOGIN, cmd_help},
    {"OPTS", FTP_CMD_NOLOGIN, cmd_opts},
    {"STAT", 0, cmd_stat},
    {"PWD", 0, cmd_pwd},
    {"XPWD", 0, cmd_pwd},
    {"CWD", 0, cmd_cwd},
    {"XCWD", 0, cmd_cwd},
    {"CDUP", 0, cmd_cdup},
    {"XCUP", 0, cmd_cdup},
    {"TYPE", 0, cmd_type},
    {"MODE", 0, cmd_mode},
    {"STRU", 0, cmd_stru},
    {"PASV", 0, cmd_pasv},
    {"EPSV", 0, cmd_epsv},
    {"PORT", 0, cmd_active},
    {"EPRT", 0, cmd_active},
    {"LIST", 0, cmd_list},
    {"NLST", 0, cmd_nlst},
    {"RETR", 0, cmd_retr},
    {"STOR", FTP_CMD_WRITES, cmd_stor},
    {"REST", 0, cmd_rest},
    {"SIZE", 0, cmd_size},
    {"MDTM", 0, cmd_mdtm},
    {"DELE", FTP_CMD_WRITES, cmd_dele},
    {"MKD", FTP_CMD_WRITES, cmd_mkd},
    {"XMKD", FTP_CMD_WRITES, cmd_mkd},
    {"RMD", FTP_CMD_WRITES, cmd_rmd},
    {"XRMD", FTP_CMD_WRITES, cmd_rmd},
    {"ABOR", 0, cmd_abor},
    {"ALLO", 0, cmd_allo},
};

/* ---- the protocol: the session's functions and this table ----------------- */

static void *ftp_create(const struct server_ctx *ctx, const char *peer)
{
    return ftp_session_new(ctx, peer, commands, sizeof commands / sizeof commands[0]);
}

const struct proto ftp_proto = {
    .name = "ftp",
    .create = ftp_create,
    .feed = ftp_feed,
    .next = ftp_next,
    .done = ftp_done,
    .destroy = ftp_destroy,
    .phase = ftp_phase,
    .expire = ftp_expire,
    .abort_requested = ftp_abort_requested,
    .refusal = "421 Too many connections, try later\r\n",
};
