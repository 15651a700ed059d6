/* Unit tests of the FTP session's logins and rights (servers/core/ftp.c,
 * ftp_cmds.c) and of the hooks its drivers use (conn.h): the delay after a
 * failed PASS, the input phases and their expiry, aborting a transfer from
 * the control connection. Driven in memory by ftp_fake.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "fsroot.h"
#include "ftp.h"
#include "ftp_fake.h"
#include "test_util.h"

/* ---- login -------------------------------------------------------------- */

static void test_greeting(void **state)
{
    (void)state;
    struct drv *d = drv_new();
    ASSERT_REPLY(d, "", "220 refserver FTP ready\r\n");
    assert_false(d->closed);
    drv_free(d);
}

static void test_login_anonymous(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_CODE(d, "PWD\r\n", 257);
    drv_free(d);
    d = drv_new();
    drv_send(d, "");
    ASSERT_CODE(d, "user FTP\r\n", 331); /* case-insensitive command and name */
    ASSERT_REPLY(d, "pass \r\n", "230 Login successful.\r\n");
    ASSERT_CODE(d, "PWD\r\n", 257);
    drv_free(d);
}

static void test_login_required(void **state)
{
    (void)state;
    struct drv *d = drv_new();
    drv_send(d, "");
    static const char *const need[] = {
        "PWD",     "CWD sub",    "CDUP",   "TYPE I",           "PASV",       "EPSV",       "LIST",
        "NLST",    "RETR a.txt", "STOR x", "SIZE a.txt",       "MDTM a.txt", "DELE a.txt", "MKD x",
        "RMD sub", "REST 0",     "STAT",   "PORT 1,2,3,4,5,6", "XPWD",       "ABOR"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s\r\n", need[i]);
        ASSERT_REPLY(d, line, "530 Please login with USER and PASS.\r\n");
    }
    assert_int_equal(d->opens, 0);
    ASSERT_REPLY(d, "SYST\r\n", "215 UNIX Type: L8\r\n");
    ASSERT_CODE(d, "FEAT\r\n", 211);
    ASSERT_REPLY(d, "NOOP\r\n", "200 NOOP ok.\r\n");
    ASSERT_CODE(d, "HELP\r\n", 214);
    ASSERT_REPLY(d, "AUTH TLS\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "PASS x\r\n", "503 Login with USER first.\r\n");
    ASSERT_REPLY(d, "USER\r\n", "501 Syntax error in parameters or arguments.\r\n");
    ASSERT_REPLY(d, "QUIT\r\n", "221 Goodbye.\r\n");
    assert_true(d->closed);
    drv_free(d);
}

static void test_login_named(void **state)
{
    (void)state;
    struct drv *d = drv_new();
    drv_send(d, "");
    ASSERT_CODE(d, "USER writer\r\n", 331);
    ASSERT_REPLY(d, "PASS wpass\r\n", "230 Login successful.\r\n");
    ASSERT_CODE(d, "PWD\r\n", 257);
    /* a new USER logs out first */
    ASSERT_CODE(d, "USER reader\r\n", 331);
    ASSERT_CODE(d, "PWD\r\n", 530);
    ASSERT_CODE(d, "USER reader\r\n", 331);
    ASSERT_REPLY(d, "PASS rpass\r\n", "230 Login successful.\r\n");
    drv_free(d);

    d = drv_new();
    drv_send(d, "");
    ASSERT_REPLY(d, "USER writer\r\nPASS wpas\r\n",
                 "331 Please specify the password.\r\n<delay 1000>530 Login incorrect.\r\n");
    ASSERT_CODE(d, "PWD\r\n", 530);
    ASSERT_REPLY(d, "USER writer\r\nPASS rpass\r\n", /* another user's password */
                 "331 Please specify the password.\r\n<delay 1000>530 Login incorrect.\r\n");
    /* the third failure closes after its 530: an unknown user fails the same way */
    ASSERT_REPLY(d, "USER mallory\r\nPASS wpass\r\nNOOP\r\n",
                 "331 Please specify the password.\r\n<delay 1000>530 Login incorrect.\r\n");
    assert_true(d->closed);
    assert_int_equal(d->delays, 3);
    drv_free(d);

    /* the hash is no password; a user name too long never matches */
    d = drv_new();
    drv_send(d, "");
    char line[600];
    snprintf(line, sizeof line, "USER writer\r\nPASS %s\r\n", ftp_test_hash("wpass"));
    assert_non_null(strstr(drv_send(d, line), "530 Login incorrect."));
    char name[FTP_USER_MAX + 8];
    memset(name, 'w', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(line, sizeof line, "USER %s\r\nPASS wpass\r\n", name);
    assert_non_null(strstr(drv_send(d, line), "530 Login incorrect."));
    drv_free(d);

    /* without a users table, only anonymous logins work */
    ctx.users = NULL;
    d = drv_new();
    drv_send(d, "");
    ASSERT_REPLY(d, "USER writer\r\nPASS wpass\r\n",
                 "331 Please specify the password.\r\n<delay 1000>530 Login incorrect.\r\n");
    drv_free(d);
    ctx.users = fixture_users;
}

/* ---- rights ------------------------------------------------------------- */

/* Every command that changes the tree gets 550 from anonymous and ro
 * users, with nothing changed and no data connection used. */
static void assert_cannot_write(struct drv *d)
{
    static const char *const writes[] = {
        "STOR upload/new.txt", "STOR a.txt", "DELE a.txt", "MKD upload/d",
        "XMKD upload/d",       "RMD sub",    "XRMD sub",   "stor x",
        "Dele a.txt",
    };
    ASSERT_CODE(d, "EPSV\r\n", 229);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "%s\r\n", writes[i]);
        ASSERT_REPLY(d, line, "550 Permission denied.\r\n");
    }
    ASSERT_REPLY(d, "REST 3\r\nSTOR a.txt\r\n",
                 "350 Restart position accepted (3).\r\n550 Permission denied.\r\n");
    ASSERT_REPLY(d, "APPE a.txt\r\n", "502 Command not implemented.\r\n");
    assert_int_equal(d->accepts, 0);
    assert_true(scratch_exists("root/a.txt"));
    assert_true(scratch_exists("root/sub"));
    assert_false(scratch_exists("root/upload/new.txt"));
    assert_false(scratch_exists("root/upload/d"));
    assert_int_equal(temp_files("root/upload"), 0);
    /* reading still works, and the listener is still there for it (the
     * REST was cleared by the refused STOR) */
    const char *r = drv_send(d, "RETR a.txt\r\n");
    assert_non_null(strstr(r, "(6 bytes)"));
    assert_non_null(strstr(r, "226 Transfer complete."));
    assert_memory_equal(d->data, "hello\n", 6);
}

static void test_anonymous_read_only(void **state)
{
    (void)state;
    struct drv *d = logged_in_as("anonymous", "me@");
    assert_cannot_write(d);
    drv_free(d);
    d = logged_in_as("FTP", "");
    assert_cannot_write(d);
    drv_free(d);
    /* a writer who logs in again anonymously cannot write any more */
    d = logged_in();
    ASSERT_REPLY(d, "USER anonymous\r\nPASS x\r\n",
                 "331 Anonymous login ok, send your email as password.\r\n"
                 "230 Login successful.\r\n");
    assert_cannot_write(d);
    drv_free(d);
}

static void test_ro_user_read_only(void **state)
{
    (void)state;
    struct drv *d = logged_in_as("reader", "rpass");
    assert_cannot_write(d);
    drv_free(d);
    /* nor after a failed login as the writer */
    d = logged_in_as("reader", "rpass");
    ASSERT_REPLY(d, "USER writer\r\nPASS nope\r\n",
                 "331 Please specify the password.\r\n<delay 1000>530 Login incorrect.\r\n");
    ASSERT_REPLY(d, "DELE a.txt\r\n", "530 Please login with USER and PASS.\r\n");
    drv_free(d);
}

static void test_rw_user_writes(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    d->upload = "written\n";
    d->upload_len = 8;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    ASSERT_REPLY(d, "STOR upload/w.txt\r\n", "150 Ok to send data.\r\n226 Transfer complete.\r\n");
    assert_true(scratch_exists("root/upload/w.txt"));
    ASSERT_REPLY(d, "MKD upload/d\r\n", "257 \"/upload/d\" created\r\n");
    ASSERT_REPLY(d, "RMD upload/d\r\n", "250 Remove directory operation successful.\r\n");
    ASSERT_REPLY(d, "DELE upload/w.txt\r\n", "250 Delete operation successful.\r\n");
    assert_false(scratch_exists("root/upload/w.txt"));
    drv_free(d);
}

/* ---- the driver hooks: login delay, phases, expiry, aborts -------------- */

/* The 530 of a failed PASS waits (ACT_DELAY) after what came before it;
 * input behind the PASS is answered only after the 530. */
static void test_login_delay(void **state)
{
    (void)state;
    struct drv *d = drv_new();
    ASSERT_REPLY(d, "USER nobody\r\nPASS guess\r\nNOOP\r\n",
                 "220 refserver FTP ready\r\n331 Please specify the password.\r\n"
                 "<delay 1000>530 Login incorrect.\r\n200 NOOP ok.\r\n");
    assert_int_equal(d->delays, 1);
    assert_false(d->closed);
    drv_free(d);

    /* by hand: the write stops before the delay, which comes next, alone */
    struct session *s = session_new(&ftp_proto, &ctx, "p");
    assert_non_null(s);
    const char *in = "USER x\r\nPASS y\r\nPWD\r\n";
    struct action a;
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    session_done(s, &a, (ssize_t)a.len);
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_READ);
    assert_int_equal(session_feed(s, in, strlen(in)), strlen(in));
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    assert_int_equal(a.len, strlen("331 Please specify the password.\r\n"));
    session_done(s, &a, 3); /* a partial write */
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    session_done(s, &a, (ssize_t)a.len);
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_OFFLOAD); /* the hash (an unknown name costs one too) */
    a.job(a.job_arg);
    session_done(s, &a, 0);
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_DELAY);
    assert_int_equal(a.delay_ms, FTP_BAD_LOGIN_DELAY_MS);
    session_done(s, &a, -1); /* the server stops meanwhile: close */
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_CLOSE);
    session_free(s);
}

/* A users-file password is hashed by the driver (ACT_OFFLOAD), once what
 * came before is written; nothing is answered until its session_done. */
static void test_login_offloaded(void **state)
{
    (void)state;
    struct session *s = session_new(&ftp_proto, &ctx, "p");
    assert_non_null(s);
    struct action a;
    session_next(s, &a);
    session_done(s, &a, (ssize_t)a.len); /* the greeting */
    const char *in = "USER writer\r\nPASS wpass\r\nNOOP\r\n";
    session_next(s, &a);
    assert_int_equal(session_feed(s, in, strlen(in)), strlen(in));
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_WRITE); /* the 331 first */
    session_done(s, &a, (ssize_t)a.len);
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_OFFLOAD);
    assert_non_null(a.job);
    assert_non_null(a.job_arg);
    struct action again;
    session_next(s, &again); /* asked again: the same job, nothing else */
    assert_int_equal(again.kind, ACT_OFFLOAD);
    assert_ptr_equal(again.job_arg, a.job_arg);
    a.job(a.job_arg); /* elsewhere: nothing of the session but job_arg */
    session_done(s, &a, 0);
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    assert_int_equal(a.len, strlen("230 Login successful.\r\n200 NOOP ok.\r\n"));
    assert_memory_equal(a.buf, "230 Login successful.\r\n200 NOOP ok.\r\n", a.len);
    session_free(s);

    /* a wrong one: the 530 after the hash, then the delay's wait */
    struct drv *d = drv_new();
    d->mark_offload = true;
    ASSERT_REPLY(d, "USER reader\r\nPASS wpass\r\nPWD\r\n",
                 "220 refserver FTP ready\r\n331 Please specify the password.\r\n"
                 "<offload><delay 1000>530 Login incorrect.\r\n"
                 "530 Please login with USER and PASS.\r\n");
    assert_int_equal(d->offloads, 1);
    ASSERT_REPLY(d, "USER reader\r\nPASS rpass\r\nPWD\r\n",
                 "331 Please specify the password.\r\n<offload>230 Login successful.\r\n"
                 "257 \"/\" is the current directory\r\n");
    assert_int_equal(d->offloads, 2);
    drv_free(d);
}

/* No hash, so nothing offloaded: anonymous names, a name too long to
 * match, a server without a users table. */
static void test_login_inline(void **state)
{
    (void)state;
    struct drv *d = drv_new();
    char in[256];
    char name[FTP_USER_MAX + 2];
    memset(name, 'u', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(in, sizeof in, "USER %s\r\nPASS x\r\nUSER ftp\r\nPASS x\r\n", name);
    ASSERT_REPLY(d, in,
                 "220 refserver FTP ready\r\n331 Please specify the password.\r\n"
                 "<delay 1000>530 Login incorrect.\r\n"
                 "331 Anonymous login ok, send your email as password.\r\n"
                 "230 Login successful.\r\n");
    assert_int_equal(d->offloads, 0);
    drv_free(d);
    const struct ftp_users *users = ctx.users;
    ctx.users = NULL;
    d = drv_new();
    ASSERT_REPLY(d, "USER writer\r\nPASS wpass\r\n",
                 "220 refserver FTP ready\r\n331 Please specify the password.\r\n"
                 "<delay 1000>530 Login incorrect.\r\n");
    assert_int_equal(d->offloads, 0);
    drv_free(d);
    ctx.users = users;
}

/* A driver that cannot run the job (a stop): the session closes. A
 * timeout that passed while the job ran: 421 and close, no login. */
static void test_login_offload_fails_or_expires(void **state)
{
    (void)state;
    struct drv *d = drv_new();
    d->offload_result = -1;
    ASSERT_REPLY(d, "USER writer\r\nPASS wpass\r\nPWD\r\n",
                 "220 refserver FTP ready\r\n331 Please specify the password.\r\n");
    assert_true(d->closed);
    drv_free(d);

    struct session *s = session_new(&ftp_proto, &ctx, "p");
    struct action a;
    session_next(s, &a);
    session_done(s, &a, (ssize_t)a.len);
    const char *in = "USER writer\r\nPASS wpass\r\nPWD\r\n";
    session_next(s, &a);
    assert_int_equal(session_feed(s, in, strlen(in)), strlen(in));
    session_next(s, &a);
    session_done(s, &a, (ssize_t)a.len); /* the 331 */
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_OFFLOAD);
    a.job(a.job_arg);
    session_expire(s); /* instead of session_done: the job is over, its result dropped */
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    assert_int_equal(a.len, strlen("421 Timeout.\r\n"));
    assert_memory_equal(a.buf, "421 Timeout.\r\n", a.len);
    session_done(s, &a, (ssize_t)a.len);
    session_next(s, &a);
    assert_int_equal(a.kind, ACT_CLOSE);
    session_free(s);
}

/* --login-delay: the delay asked for, and none at all for 0 */
static void test_login_delay_configured(void **state)
{
    (void)state;
    ctx.login_delay_ms = 250;
    struct drv *d = drv_new();
    ASSERT_REPLY(d, "USER nobody\r\nPASS guess\r\n",
                 "220 refserver FTP ready\r\n331 Please specify the password.\r\n"
                 "<delay 250>530 Login incorrect.\r\n");
    drv_free(d);
    ctx.login_delay_ms = 0;
    d = drv_new();
    ASSERT_REPLY(d, "USER nobody\r\nPASS guess\r\nUSER x\r\nPASS y\r\nUSER x\r\nPASS z\r\n",
                 "220 refserver FTP ready\r\n331 Please specify the password.\r\n"
                 "530 Login incorrect.\r\n331 Please specify the password.\r\n"
                 "530 Login incorrect.\r\n331 Please specify the password.\r\n"
                 "530 Login incorrect.\r\n");
    assert_int_equal(d->delays, 0);
    assert_true(d->closed); /* the third failure still closes */
    drv_free(d);
    ctx.login_delay_ms = FTP_BAD_LOGIN_DELAY_MS;
}

/* PHASE_HEAD while a command line is unfinished; expiry answers 421 and
 * closes, in any phase. */
static void test_phase_expire(void **state)
{
    (void)state;
    struct drv *d = drv_new();
    drv_send(d, "");
    assert_int_equal(session_phase(d->s), PHASE_IDLE);
    drv_send(d, "NO");
    assert_int_equal(session_phase(d->s), PHASE_HEAD);
    ASSERT_REPLY(d, "OP\r\n", "200 NOOP ok.\r\n");
    assert_int_equal(session_phase(d->s), PHASE_IDLE);
    drv_send(d, "USER anon");
    session_expire(d->s);
    ASSERT_REPLY(d, "", "421 Timeout.\r\n");
    assert_true(d->closed);
    drv_free(d);

    d = logged_in(); /* idle: the same answer */
    session_expire(d->s);
    ASSERT_REPLY(d, "", "421 Timeout.\r\n");
    assert_true(d->closed);
    drv_free(d);

    /* an overlong line being dropped is still an unfinished line */
    d = logged_in();
    char line[FTP_LINE_MAX + 10];
    memset(line, 'A', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    ASSERT_REPLY(d, line, "500 Command line too long.\r\n");
    assert_int_equal(session_phase(d->s), PHASE_HEAD);
    ASSERT_REPLY(d, "AAA\r\nNOOP\r\n", "200 NOOP ok.\r\n");
    assert_int_equal(session_phase(d->s), PHASE_IDLE);
    drv_free(d);
}

/* Expiry during an upload (the body timeout): 421, the temp file goes. */
static void test_expire_during_upload(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_CODE(d, "EPSV\r\n", 229);
    d->in = "STOR upload/slow.bin\r\n";
    d->in_len = strlen(d->in);
    struct action a;
    for (;;) {
        session_next(d->s, &a);
        if (a.kind == ACT_TRANSFER_IN) break;
        if (a.kind == ACT_READ) {
            d->in += session_feed(d->s, d->in, d->in_len);
            d->in_len = strlen(d->in);
        } else {
            session_done(d->s, &a, a.kind == ACT_WRITE ? (ssize_t)a.len : 0);
        }
    }
    assert_int_equal(write(a.fd, "part", 4), 4);
    session_done(d->s, &a, 4);
    assert_int_equal(temp_files("root/upload"), 1);
    session_expire(d->s);
    ASSERT_REPLY(d, "", "421 Timeout.\r\n");
    assert_true(d->closed);
    assert_int_equal(temp_files("root/upload"), 0);
    assert_false(scratch_exists("root/upload/slow.bin"));
    drv_free(d);
}

/* QUIT or ABOR during a transfer: abort_requested, the driver fails the
 * transfer, the upload is deleted, then the command is answered. */
static void test_abort_during_transfer(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    d->upload = "never committed";
    d->upload_len = strlen(d->upload);
    d->upload_end = 0;
    d->mid_input = "ABOR\r\n";
    ASSERT_CODE(d, "EPSV\r\n", 229);
    ASSERT_REPLY(d, "STOR upload/ab.bin\r\n",
                 "150 Ok to send data.\r\n426 Transfer aborted.\r\n226 Abort successful.\r\n");
    assert_true(d->mid_aborted);
    assert_false(scratch_exists("root/upload/ab.bin"));
    assert_int_equal(temp_files("root/upload"), 0);
    ASSERT_REPLY(d, "ABOR\r\n", "226 No transfer to abort.\r\n");

    /* QUIT, with Telnet IP/DM before it and in lower case, fed 3 bytes at
     * a time: the transfer goes on until the line is complete */
    d->upload_pos = 0;
    d->max_io = 2;
    d->mid_input = "\xff\xf4\xff\xf2quit\r\n";
    d->mid_chunk = 3;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    ASSERT_REPLY(d, "STOR upload/ab.bin\r\n",
                 "150 Ok to send data.\r\n426 Transfer aborted.\r\n221 Goodbye.\r\n");
    assert_int_equal(d->ins, 1 + 4); /* 3 transfers, the 4th fails */
    assert_int_equal(d->upload_pos, 6);
    assert_true(d->closed);
    assert_false(scratch_exists("root/upload/ab.bin"));
    assert_int_equal(temp_files("root/upload"), 0);
    drv_free(d);

    d = logged_in();
    d->mid_input = "NOOP\r\nQUIT\r\n"; /* a RETR, told to stop */
    ASSERT_CODE(d, "EPSV\r\n", 229);
    ASSERT_REPLY(d, "RETR big.bin\r\n",
                 "150 Opening BINARY mode data connection (307211 bytes).\r\n"
                 "426 Transfer aborted.\r\n200 NOOP ok.\r\n221 Goodbye.\r\n");
    assert_true(d->closed);
    drv_free(d);

    /* other commands wait for the transfer's end; a QUIT sent before the
     * transfer began (pipelined) does not abort it */
    d = logged_in();
    d->mid_input = "PWD\r\n";
    ASSERT_CODE(d, "EPSV\r\n", 229);
    ASSERT_REPLY(d, "RETR a.txt\r\n",
                 "150 Opening BINARY mode data connection (6 bytes).\r\n"
                 "226 Transfer complete.\r\n257 \"/\" is the current directory\r\n");
    assert_false(d->mid_aborted);
    assert_int_equal(d->dlen, 6);
    d->mid_input = "NOOP\r\n"; /* lands after the QUIT: never answered */
    ASSERT_CODE(d, "EPSV\r\n", 229);
    ASSERT_REPLY(d, "RETR a.txt\r\nQUIT\r\n",
                 "150 Opening BINARY mode data connection (6 bytes).\r\n"
                 "226 Transfer complete.\r\n221 Goodbye.\r\n");
    assert_false(d->mid_aborted);
    assert_int_equal(d->dlen, 6);
    assert_true(d->closed);
    drv_free(d);
}

/* More command bytes during a transfer than the session can hold: the
 * transfer is aborted rather than the driver left with bytes to feed. */
static void test_flood_during_transfer(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    static char flood[4096];
    for (size_t i = 0; i + 6 < sizeof flood; i += 6)
        memcpy(flood + i, "NOOP\r\n", 6);
    struct action a;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    d->in = "RETR big.bin\r\n";
    d->in_len = strlen(d->in);
    for (;;) {
        session_next(d->s, &a);
        if (a.kind == ACT_TRANSFER_OUT) break;
        if (a.kind == ACT_READ) {
            d->in += session_feed(d->s, d->in, d->in_len);
            d->in_len = strlen(d->in);
        } else {
            session_done(d->s, &a, a.kind == ACT_WRITE ? (ssize_t)a.len : 0);
        }
    }
    size_t took = session_feed(d->s, flood, strlen(flood));
    assert_true(took > 0 && took < strlen(flood));
    assert_true(session_abort_requested(d->s));
    session_done(d->s, &a, -1);
    drv_send(d, "");
    assert_non_null(strstr(d->ctrl, "426 Transfer aborted.\r\n200 NOOP ok.\r\n"));
    drv_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_login_anonymous),
        cmocka_unit_test(test_login_required),
        cmocka_unit_test(test_login_named),
        cmocka_unit_test(test_anonymous_read_only),
        cmocka_unit_test(test_ro_user_read_only),
        cmocka_unit_test(test_rw_user_writes),
        cmocka_unit_test(test_login_delay),
        cmocka_unit_test(test_login_delay_configured),
        cmocka_unit_test(test_login_offloaded),
        cmocka_unit_test(test_login_inline),
        cmocka_unit_test(test_login_offload_fails_or_expires),
        cmocka_unit_test(test_phase_expire),
        cmocka_unit_test(test_expire_during_upload),
        cmocka_unit_test(test_abort_during_transfer),
        cmocka_unit_test(test_flood_during_transfer),
    };
    return cmocka_run_group_tests(tests, ftp_fixture_setup, ftp_fixture_teardown);
}
