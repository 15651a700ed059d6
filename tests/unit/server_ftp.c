/* Unit tests of the FTP session (servers/core/ftp.c, ftp_cmds.c): the
 * commands, passive mode, transfers and the input stream, driven in memory
 * by the fake driver of ftp_fake.c (logged in as the fixture's rw user).
 * Logins, rights and the driver hooks are in server_ftp_login.c; the users
 * file, the listing lines and the line text have their own tests
 * (server_ftp_users.c, server_ftp_list.c, server_ftp_line.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "fsroot.h"
#include "ftp.h"
#include "ftp_fake.h"
#include "test_util.h"

/* ---- simple commands ---------------------------------------------------- */

static void test_simple_commands(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_REPLY(d, "SYST\r\n", "215 UNIX Type: L8\r\n");
    ASSERT_REPLY(d, "FEAT\r\n",
                 "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n MDTM\r\n"
                 " REST STREAM\r\n UTF8\r\n TVFS\r\n211 End\r\n");
    ASSERT_REPLY(d, "OPTS UTF8 ON\r\n", "200 Always in UTF8 mode.\r\n");
    ASSERT_CODE(d, "OPTS MLST type\r\n", 501);
    ASSERT_REPLY(d, "TYPE I\r\n", "200 Switching to Binary mode.\r\n");
    ASSERT_REPLY(d, "TYPE A\r\n", "200 Switching to ASCII mode.\r\n");
    ASSERT_REPLY(d, "type a n\r\n", "200 Switching to ASCII mode.\r\n");
    ASSERT_REPLY(d, "TYPE L 8\r\n", "200 Switching to Binary mode.\r\n");
    ASSERT_CODE(d, "TYPE E\r\n", 504);
    ASSERT_CODE(d, "TYPE L 7\r\n", 504);
    ASSERT_CODE(d, "TYPE\r\n", 501);
    ASSERT_CODE(d, "MODE S\r\n", 200);
    ASSERT_CODE(d, "MODE B\r\n", 504);
    ASSERT_CODE(d, "MODE\r\n", 501);
    ASSERT_CODE(d, "STRU F\r\n", 200);
    ASSERT_CODE(d, "STRU R\r\n", 504);
    ASSERT_REPLY(d, "NOOP\r\n", "200 NOOP ok.\r\n");
    const char *h = drv_send(d, "HELP\r\n");
    assert_true(strncmp(h, "214-", 4) == 0);
    assert_non_null(strstr(h, "\r\n214 Help OK.\r\n"));
    const char *st = drv_send(d, "STAT\r\n");
    assert_true(strncmp(st, "211-", 4) == 0);
    assert_non_null(strstr(st, "\r\n211 End of status.\r\n"));
    ASSERT_CODE(d, "STAT a.txt\r\n", 504);
    ASSERT_REPLY(d, "ABOR\r\n", "226 No transfer to abort.\r\n");
    ASSERT_REPLY(d, "ALLO 1000\r\n", "202 ALLO command ignored.\r\n");
    ASSERT_REPLY(d, "PORT 127,0,0,1,4,1\r\n", "502 Active mode not supported (use PASV/EPSV).\r\n");
    ASSERT_REPLY(d, "EPRT |1|127.0.0.1|1025|\r\n",
                 "502 Active mode not supported (use PASV/EPSV).\r\n");
    ASSERT_REPLY(d, "APPE a.txt\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "SITE CHMOD 777 a.txt\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "MLSD\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "RETRIEVE a.txt\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "R3TR a.txt\r\n", "500 Syntax error, command unrecognized.\r\n");
    ASSERT_REPLY(d, "\r\n", "500 Syntax error, command unrecognized.\r\n");
    ASSERT_REPLY(d, " NOOP\r\n", "500 Syntax error, command unrecognized.\r\n");
    /* the verb lookup: any case, whole verbs only (no prefixes, no extensions) */
    ASSERT_REPLY(d, "nOoP\r\n", "200 NOOP ok.\r\n");
    ASSERT_REPLY(d, "pwd\r\n", "257 \"/\" is the current directory\r\n");
    ASSERT_REPLY(d, "NOO\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "PW\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "PWDX\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "NOOPS\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "N\r\n", "502 Command not implemented.\r\n");
    ASSERT_REPLY(d, "NO@P\r\n", "500 Syntax error, command unrecognized.\r\n");
    assert_int_equal(d->opens + d->accepts, 0);
    ASSERT_REPLY(d, "QUIT\r\n", "221 Goodbye.\r\n");
    assert_true(d->closed);
    drv_free(d);
}

static void test_pwd_cwd(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_REPLY(d, "PWD\r\n", "257 \"/\" is the current directory\r\n");
    ASSERT_REPLY(d, "CWD sub\r\n", "250 Directory successfully changed.\r\n");
    ASSERT_REPLY(d, "XPWD\r\n", "257 \"/sub\" is the current directory\r\n");
    ASSERT_CODE(d, "SIZE inner.txt\r\n", 213); /* relative to the cwd */
    ASSERT_CODE(d, "SIZE ../a.txt\r\n", 213);
    ASSERT_CODE(d, "SIZE /a.txt\r\n", 213);
    ASSERT_CODE(d, "CDUP\r\n", 250);
    ASSERT_REPLY(d, "PWD\r\n", "257 \"/\" is the current directory\r\n");
    ASSERT_CODE(d, "CDUP\r\n", 550); /* never above the root */
    ASSERT_CODE(d, "CWD ..\r\n", 550);
    ASSERT_CODE(d, "CWD ../..\r\n", 550);
    ASSERT_CODE(d, "CWD /..\r\n", 550);
    ASSERT_REPLY(d, "PWD\r\n", "257 \"/\" is the current directory\r\n");
    ASSERT_CODE(d, "XCWD /sub/\r\n", 250);
    ASSERT_CODE(d, "XCUP\r\n", 250);
    ASSERT_CODE(d, "CWD missing\r\n", 550);
    ASSERT_CODE(d, "CWD a.txt\r\n", 550);
    ASSERT_CODE(d, "CWD .hdir\r\n", 550);
    ASSERT_CODE(d, "CWD dir_out\r\n", 550);
    ASSERT_CODE(d, "CWD sub/../../sub\r\n", 550);
    ASSERT_CODE(d, "CWD\r\n", 501);
    ASSERT_REPLY(d, "PWD\r\n", "257 \"/\" is the current directory\r\n");
    ASSERT_CODE(d, "CWD q\"uote\r\n", 250);
    ASSERT_REPLY(d, "PWD\r\n", "257 \"/q\"\"uote\" is the current directory\r\n");
    drv_free(d);
}

/* ---- passive mode ------------------------------------------------------- */

static void test_pasv_epsv(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_REPLY(d, "PASV\r\n", "227 Entering Passive Mode (127,0,0,1,48,57).\r\n");
    assert_string_equal(d->trace, "O");
    ASSERT_REPLY(d, "EPSV\r\n", "229 Entering Extended Passive Mode (|||12345|)\r\n");
    ASSERT_REPLY(d, "EPSV 1\r\n", "229 Entering Extended Passive Mode (|||12345|)\r\n");
    ASSERT_CODE(d, "EPSV 3\r\n", 522);
    d->open_result = 1;
    d->ip = "::ffff:10.1.2.3";
    ASSERT_REPLY(d, "PASV\r\n", "227 Entering Passive Mode (10,1,2,3,0,1).\r\n");
    d->open_result = 65535;
    d->ip = "::1";
    ASSERT_REPLY(d, "PASV\r\n", "425 PASV needs IPv4, use EPSV.\r\n");
    assert_string_equal(d->trace, "OC"); /* the useless listener is closed */
    ASSERT_CODE(d, "RETR a.txt\r\n", 425);
    ASSERT_REPLY(d, "EPSV 2\r\n", "229 Entering Extended Passive Mode (|||65535|)\r\n");
    d->open_result = -1;
    ASSERT_REPLY(d, "EPSV\r\n", "425 Can't open data connection.\r\n");
    ASSERT_REPLY(d, "RETR a.txt\r\n", "425 Use PASV or EPSV first.\r\n");
    d->open_result = 2121;
    d->ip = "127.0.0.1";
    ASSERT_REPLY(d, "EPSV ALL\r\n", "200 EPSV ALL ok.\r\n");
    ASSERT_REPLY(d, "PASV\r\n", "500 PASV not allowed after EPSV ALL.\r\n");
    ASSERT_CODE(d, "EPSV\r\n", 229);
    drv_free(d);
}

/* ---- RETR --------------------------------------------------------------- */

static void test_retr(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_REPLY(d, "RETR a.txt\r\n", "425 Use PASV or EPSV first.\r\n");
    ASSERT_REPLY(d, "PASV\r\nRETR a.txt\r\n",
                 "227 Entering Passive Mode (127,0,0,1,48,57).\r\n"
                 "150 Opening BINARY mode data connection (6 bytes).\r\n"
                 "226 Transfer complete.\r\n");
    assert_string_equal(d->trace, "OATC");
    assert_int_equal(d->dlen, 6);
    assert_memory_equal(d->data, "hello\n", 6);
    /* the listener served one transfer */
    ASSERT_REPLY(d, "RETR a.txt\r\n", "425 Use PASV or EPSV first.\r\n");
    /* an empty file: accepted, nothing sent, closed */
    ASSERT_CODE(d, "EPSV\r\n", 229);
    const char *r = drv_send(d, "RETR empty.txt\r\n");
    assert_non_null(strstr(r, "\r\n226 Transfer complete.\r\n"));
    assert_string_equal(d->trace, "AC");
    assert_int_equal(d->dlen, 0);
    /* links inside the root are followed; TYPE A sends the bytes as they are */
    ASSERT_CODE(d, "TYPE A\r\n", 200);
    ASSERT_CODE(d, "EPSV\r\n", 229);
    r = drv_send(d, "RETR link_in\r\n");
    assert_non_null(strstr(r, "150 Opening ASCII mode"));
    assert_int_equal(d->dlen, 6);
    assert_memory_equal(d->data, "hello\n", 6);
    drv_free(d);
}

static void test_retr_big_partial(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    d->max_io = 4000; /* every transfer and write partial */
    ASSERT_CODE(d, "EPSV\r\n", 229);
    const char *r = drv_send(d, "RETR big.bin\r\n");
    assert_non_null(strstr(r, "226 Transfer complete.\r\n"));
    assert_int_equal(d->dlen, BIG_SIZE);
    assert_memory_equal(d->data, big, BIG_SIZE);
    assert_true(d->outs >= BIG_SIZE / 4000);
    drv_free(d);
}

static void test_rest(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_REPLY(d, "REST 1000\r\n", "350 Restart position accepted (1000).\r\n");
    ASSERT_CODE(d, "EPSV\r\n", 229); /* REST survives until the transfer */
    drv_send(d, "RETR big.bin\r\n");
    assert_int_equal(d->dlen, BIG_SIZE - 1000);
    assert_memory_equal(d->data, big + 1000, BIG_SIZE - 1000);
    /* used once */
    ASSERT_CODE(d, "EPSV\r\n", 229);
    drv_send(d, "RETR big.bin\r\n");
    assert_int_equal(d->dlen, BIG_SIZE);
    /* REST at the end: nothing to send */
    ASSERT_CODE(d, "REST 6\r\nEPSV\r\n", 350);
    assert_non_null(strstr(drv_send(d, "RETR a.txt\r\n"), "226 "));
    assert_int_equal(d->dlen, 0);
    ASSERT_CODE(d, "REST 7\r\nEPSV\r\n", 350);
    ASSERT_CODE(d, "RETR a.txt\r\n", 554);
    ASSERT_CODE(d, "REST abc\r\n", 501);
    ASSERT_CODE(d, "REST -1\r\n", 501);
    ASSERT_CODE(d, "REST 99999999999999999999999\r\n", 501);
    ASSERT_CODE(d, "REST\r\n", 501);
    ASSERT_CODE(d, "REST 0\r\n", 350);
    drv_free(d);
}

static void test_retr_errors(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    static const char *const refused[] = {
        "missing.txt",
        "sub",
        "/",
        ".hidden",
        ".hdir/x",
        "sub/../.hidden",
        "../outside.txt",
        "../../etc/passwd",
        "/../outside.txt",
        "/../../../../etc/passwd",
        "link_out",
        "dir_out/outside.txt",
        "sub/../../outside.txt",
        "a.txt/",
        "a\\b",
        "q\"uote",
    };
    ASSERT_CODE(d, "EPSV\r\n", 229);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "RETR %s\r\n", refused[i]);
        const char *r = drv_send(d, line);
        if (strcmp(r, "550 No such file or directory.\r\n") != 0)
            fail_msg("RETR %s: got '%s'", refused[i], r);
    }
    assert_int_equal(d->accepts, 0);
    ASSERT_CODE(d, "RETR\r\n", 501);
    /* the listener is still there for a good RETR */
    drv_send(d, "RETR a.txt\r\n");
    assert_int_equal(d->dlen, 6);
    /* a NUL or control byte in a path */
    ASSERT_CODE(d, "EPSV\r\n", 229);
    assert_int_equal(session_feed(d->s, "RETR a.t\0xt\r\n", 13), 13);
    ASSERT_CODE(d, "", 501);
    ASSERT_CODE(d, "RETR a\x01.txt\r\n", 501);
    drv_free(d);
}

static void test_data_failures(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    d->accept_result = -1;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    ASSERT_REPLY(d, "RETR a.txt\r\n",
                 "150 Opening BINARY mode data connection (6 bytes).\r\n"
                 "425 Can't open data connection.\r\n");
    assert_string_equal(d->trace, "AC");
    d->accept_result = 0;
    d->out_fail_after = 100000;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    const char *r = drv_send(d, "RETR big.bin\r\n");
    assert_non_null(strstr(r, "\r\n426 Connection closed; transfer aborted.\r\n"));
    assert_int_equal(d->data_closes, 2);
    d->out_fail_after = -1;
    ASSERT_CODE(d, "NOOP\r\n", 200); /* the session goes on */
    drv_free(d);
}

/* ---- listings ----------------------------------------------------------- */

static void test_list(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_CODE(d, "PASV\r\n", 227);
    ASSERT_REPLY(d, "LIST\r\n",
                 "150 Here comes the directory listing.\r\n"
                 "226 Transfer complete.\r\n");
    d->data[d->dlen] = '\0';
    const char *l = d->data;
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[-d][-r][-w][-x][-r][-w][-x][-r][-w][-x] 1 ftp ftp +[0-9]+ "
                             "[A-Z][a-z][a-z] [ 1-3][0-9] ([0-2][0-9]:[0-5][0-9]|  [0-9]{4}) "
                             "[^ ].*$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    int lines = 0;
    for (const char *p = l; *p;) {
        const char *crlf = strstr(p, "\r\n");
        assert_non_null(crlf);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(crlf - p), p);
        if (regexec(&re, line, 0, NULL, 0) != 0) fail_msg("bad LIST line '%s'", line);
        lines++;
        p = crlf + 2;
    }
    regfree(&re);
    /* a.txt big.bin empty.txt link_in q"uote sub upload (+users.txt? no: outside root) */
    assert_int_equal(lines, 7);
    assert_non_null(strstr(l, " 6 "));
    assert_non_null(strstr(l, " a.txt\r\n"));
    assert_non_null(strstr(l, "\r\nd"));
    assert_non_null(strstr(l, " sub\r\n"));
    regex_t link; /* a link is shown as the file it points to */
    assert_int_equal(regcomp(&link, "\n-rw-r--r-- 1 ftp ftp +6 [^\r]* link_in\r\n", REG_EXTENDED),
                     0);
    assert_int_equal(regexec(&link, l, 0, NULL, 0), 0);
    regfree(&link);
    assert_null(strstr(l, "hid"));
    assert_null(strstr(l, "link_out"));
    assert_null(strstr(l, "dir_out"));
    /* ls options are ignored, paths are listed */
    ASSERT_CODE(d, "PASV\r\n", 227);
    drv_send(d, "LIST -la\r\n");
    assert_int_equal(d->dlen, strlen(l));
    assert_memory_equal(d->data, l, d->dlen);
    ASSERT_CODE(d, "PASV\r\n", 227);
    drv_send(d, "LIST -l -a sub\r\n");
    d->data[d->dlen] = '\0';
    assert_non_null(strstr(d->data, " inner.txt\r\n"));
    assert_int_equal(strchr(d->data, '\n') - d->data + 1, (long)d->dlen); /* one line */
    ASSERT_CODE(d, "PASV\r\n", 227);
    drv_send(d, "LIST sub/inner.txt\r\n"); /* a file: its own line */
    d->data[d->dlen] = '\0';
    assert_true(strncmp(d->data, "-rw", 3) == 0);
    assert_non_null(strstr(d->data, " 6 "));
    assert_non_null(strstr(d->data, " inner.txt\r\n"));
    ASSERT_CODE(d, "CWD sub\r\n", 250);
    ASSERT_CODE(d, "PASV\r\n", 227);
    drv_send(d, "LIST\r\n");
    d->data[d->dlen] = '\0';
    assert_non_null(strstr(d->data, " inner.txt\r\n"));
    ASSERT_CODE(d, "CDUP\r\n", 250);
    ASSERT_CODE(d, "PASV\r\n", 227); /* a refused LIST leaves the listener */
    static const char *const refused[] = {"missing", "..",   ".hdir",  "dir_out",
                                          "-la ..",  "/../", ".hidden"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "LIST %s\r\n", refused[i]);
        ASSERT_REPLY(d, line, "550 No such file or directory.\r\n");
        snprintf(line, sizeof line, "NLST %s\r\n", refused[i]);
        ASSERT_REPLY(d, line, "550 No such file or directory.\r\n");
    }
    ASSERT_REPLY(d, "LIST\r\n",
                 "150 Here comes the directory listing.\r\n"
                 "226 Transfer complete.\r\n");
    ASSERT_REPLY(d, "LIST\r\n", "425 Use PASV or EPSV first.\r\n");
    drv_free(d);
}

static void test_nlst(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_CODE(d, "EPSV\r\n", 229);
    drv_send(d, "NLST\r\n");
    d->data[d->dlen] = '\0';
    assert_string_equal(d->data, "a.txt\r\nbig.bin\r\nempty.txt\r\nlink_in\r\nq\"uote\r\n"
                                 "sub\r\nupload\r\n");
    ASSERT_CODE(d, "EPSV\r\n", 229);
    drv_send(d, "NLST sub\r\n");
    d->data[d->dlen] = '\0';
    assert_string_equal(d->data, "inner.txt\r\n");
    scratch_mkdir("root/emptydir");
    ASSERT_CODE(d, "EPSV\r\n", 229);
    const char *r = drv_send(d, "NLST emptydir\r\n");
    assert_non_null(strstr(r, "226 "));
    assert_int_equal(d->dlen, 0);
    ASSERT_CODE(d, "RMD emptydir\r\n", 250);
    drv_free(d);
}

static void test_list_huge(void **state)
{
    (void)state;
    scratch_mkdir("root/huge");
    char name[300], rel[400];
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "%03d-%0200d", i, 0);
        snprintf(rel, sizeof rel, "root/huge/%s", name);
        scratch_write(rel, "x", 1);
    }
    struct drv *d = logged_in();
    d->max_io = 3000;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    drv_send(d, "NLST huge\r\n");
    assert_true(d->outs > 10); /* streamed in chunks, not one buffer */
    assert_int_equal(d->dlen, (size_t)N * (204 + 2));
    d->data[d->dlen] = '\0';
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "%03d-%0200d\r\n", i, 0);
        assert_memory_equal(d->data + (size_t)i * 206, name, 206);
    }
    ASSERT_CODE(d, "EPSV\r\n", 229);
    drv_send(d, "LIST huge\r\n");
    size_t lines = 0;
    for (size_t i = 0; i < d->dlen; i++)
        lines += d->data[i] == '\n';
    assert_int_equal(lines, N);
    drv_free(d);
    assert_int_equal(remove_tree(scratch_path("root/huge")), 0);
}

/* ---- STOR --------------------------------------------------------------- */

static void test_stor(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    d->upload = big;
    d->upload_len = BIG_SIZE;
    d->upload_end = 0;
    d->max_io = 10000;
    d->watch = "root/upload/new.bin";
    ASSERT_CODE(d, "EPSV\r\n", 229);
    const char *r = drv_send(d, "STOR upload/new.bin\r\n");
    assert_string_equal(r, "150 Ok to send data.\r\n226 Transfer complete.\r\n");
    assert_true(d->watch_checks > 10);
    assert_int_equal(d->trace[0], 'A');
    assert_int_equal(d->trace[d->tlen - 1], 'C');
    size_t len;
    char *got = read_whole_file(scratch_path("root/upload/new.bin"), &len);
    assert_non_null(got);
    assert_int_equal(len, BIG_SIZE);
    assert_memory_equal(got, big, BIG_SIZE);
    free(got);
    assert_int_equal(temp_files("root/upload"), 0);
    ASSERT_REPLY(d, "SIZE upload/new.bin\r\n", "213 307211\r\n");

    /* replacing a file: the old one stays whole until the commit */
    d->upload = "new content\n";
    d->upload_len = 12;
    d->upload_pos = 0;
    d->watch = NULL;
    ASSERT_CODE(d, "CWD upload\r\nEPSV\r\n", 250);
    assert_non_null(strstr(drv_send(d, "STOR new.bin\r\n"), "226 "));
    got = read_whole_file(scratch_path("root/upload/new.bin"), &len);
    assert_string_equal(got, "new content\n");
    free(got);
    ASSERT_REPLY(d, "DELE new.bin\r\n", "250 Delete operation successful.\r\n");
    assert_false(scratch_exists("root/upload/new.bin"));
    drv_free(d);
}

/* Modes: a new file is 0666 & ~umask, a new directory 0777 & ~umask; a
 * STOR over a file keeps that file's mode. */
static mode_t mode_of(const char *rel)
{
    struct stat st;
    assert_int_equal(lstat(scratch_path(rel), &st), 0);
    return st.st_mode & 07777;
}

static void test_stor_modes(void **state)
{
    (void)state;
    mode_t saved = umask(0); /* only ctx.umask counts here */
    struct drv *d = logged_in();
    d->upload = "m";
    d->upload_len = 1;
    static const struct {
        mode_t umask, file, dir;
    } cases[] = {{022, 0644, 0755}, {027, 0640, 0750}, {0, 0666, 0777}, {077, 0600, 0700}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ctx.umask = cases[i].umask;
        d->upload_pos = 0;
        ASSERT_CODE(d, "EPSV\r\n", 229);
        assert_non_null(strstr(drv_send(d, "STOR upload/m.txt\r\n"), "226 "));
        assert_int_equal(mode_of("root/upload/m.txt"), cases[i].file);
        ASSERT_CODE(d, "MKD upload/md\r\n", 257);
        assert_int_equal(mode_of("root/upload/md"), cases[i].dir);
        ASSERT_CODE(d, "RMD upload/md\r\n", 250);
        /* over an existing file: its mode stays, whatever the umask */
        assert_int_equal(chmod(scratch_path("root/upload/m.txt"), 0604), 0);
        d->upload_pos = 0;
        ASSERT_CODE(d, "EPSV\r\n", 229);
        assert_non_null(strstr(drv_send(d, "STOR upload/m.txt\r\n"), "226 "));
        assert_int_equal(mode_of("root/upload/m.txt"), 0604);
        ASSERT_CODE(d, "DELE upload/m.txt\r\n", 250);
    }
    ctx.umask = 0;
    umask(saved);
    drv_free(d);
}

static void test_stor_aborted(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    d->upload = big;
    d->upload_len = BIG_SIZE / 2;
    d->upload_end = -1; /* the data connection breaks half-way */
    d->watch = "root/upload/half.bin";
    ASSERT_CODE(d, "EPSV\r\n", 229);
    const char *r = drv_send(d, "STOR upload/half.bin\r\n");
    assert_string_equal(r, "150 Ok to send data.\r\n426 Connection closed; transfer aborted.\r\n");
    assert_false(scratch_exists("root/upload/half.bin"));
    assert_int_equal(temp_files("root/upload"), 0);
    /* the accept fails: nothing left either */
    d->accept_result = -1;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    r = drv_send(d, "STOR upload/half.bin\r\n");
    assert_non_null(strstr(r, "425 Can't open data connection.\r\n"));
    assert_false(scratch_exists("root/upload/half.bin"));
    assert_int_equal(temp_files("root/upload"), 0);
    drv_free(d);

    /* the control connection ends while the upload waits for its data
     * connection, or while it runs: the upload is dropped */
    d = logged_in();
    d->accept_result = 0;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    d->in = "STOR upload/gone.bin\r\n";
    d->in_len = strlen(d->in);
    struct action a;
    for (;;) { /* run until the session asks to accept */
        session_next(d->s, &a);
        if (a.kind == ACT_ACCEPT_DATA) break;
        if (a.kind == ACT_READ) {
            d->in += session_feed(d->s, d->in, d->in_len);
            d->in_len = strlen(d->in);
        } else {
            assert_int_equal(a.kind, ACT_WRITE);
            session_done(d->s, &a, (ssize_t)a.len);
        }
    }
    assert_int_equal(temp_files("root/upload"), 1);
    assert_int_equal(session_feed(d->s, "", 0), 0); /* EOF on the control connection */
    drv_run(d, false);
    assert_true(d->closed);
    assert_int_equal(temp_files("root/upload"), 0);
    drv_free(d);

    d = logged_in();
    d->upload = "abc";
    d->upload_len = 3;
    d->upload_end = 0;
    ASSERT_CODE(d, "EPSV\r\n", 229);
    d->in = "STOR upload/gone2.bin\r\n";
    d->in_len = strlen(d->in);
    for (bool fed_eof = false;;) {
        session_next(d->s, &a);
        if (a.kind == ACT_CLOSE) break;
        if (a.kind == ACT_READ) {
            d->in += session_feed(d->s, d->in, d->in_len);
            d->in_len = strlen(d->in);
        } else if (a.kind == ACT_WRITE) {
            session_done(d->s, &a, (ssize_t)a.len);
        } else if (a.kind == ACT_TRANSFER_IN) {
            ssize_t n = do_transfer_in(d, &a);
            if (!fed_eof) assert_int_equal(session_feed(d->s, "", 0), 0);
            fed_eof = true;
            session_done(d->s, &a, n);
        } else {
            session_done(d->s, &a, 0);
        }
    }
    assert_false(scratch_exists("root/upload/gone2.bin"));
    assert_int_equal(temp_files("root/upload"), 0);
    drv_free(d);
}

static void test_stor_errors(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_CODE(d, "STOR upload/x\r\n", 425);
    ASSERT_CODE(d, "EPSV\r\n", 229);
    static const char *const refused[] = {"nodir/x",      "sub",     "/",          ".evil",
                                          "upload/.evil", "../x",    "/../x",      "dir_out/x",
                                          "upload/",      ".hdir/x", "upload/new/"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "STOR %s\r\n", refused[i]);
        int code = atoi(drv_send(d, line));
        if (code != 550) fail_msg("STOR %s: got '%s'", refused[i], d->ctrl);
    }
    assert_int_equal(d->accepts, 0);
    assert_false(scratch_exists("root/.evil"));
    assert_false(scratch_exists("x"));
    ASSERT_CODE(d, "STOR\r\n", 501);
    ASSERT_CODE(d, "REST 5\r\n", 350);
    ASSERT_CODE(d, "STOR upload/x\r\n", 554);
    assert_int_equal(temp_files("root/upload"), 0);
    assert_int_equal(temp_files("root"), 0);
    drv_free(d);
}

/* ---- file commands ------------------------------------------------------ */

static void test_size_mdtm(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_REPLY(d, "SIZE a.txt\r\n", "213 6\r\n");
    ASSERT_REPLY(d, "SIZE big.bin\r\n", "213 307211\r\n");
    ASSERT_REPLY(d, "SIZE link_in\r\n", "213 6\r\n");
    ASSERT_REPLY(d, "SIZE empty.txt\r\n", "213 0\r\n");
    static const char *const refused[] = {
        "sub", "missing", ".hidden", "link_out", "a.txt/", "../outside.txt", "dir_out/outside.txt"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "SIZE %s\r\n", refused[i]);
        ASSERT_REPLY(d, line, "550 No such file or directory.\r\n");
        snprintf(line, sizeof line, "MDTM %s\r\n", refused[i]);
        ASSERT_REPLY(d, line, "550 No such file or directory.\r\n");
    }
    ASSERT_CODE(d, "SIZE\r\n", 501);
    ASSERT_CODE(d, "MDTM\r\n", 501);
    struct timespec ts[2] = {{1612325106, 0}, {1612325106, 0}}; /* 2021-02-03 04:05:06 UTC */
    assert_int_equal(utimensat(AT_FDCWD, scratch_path("root/a.txt"), ts, 0), 0);
    ASSERT_REPLY(d, "MDTM a.txt\r\n", "213 20210203040506\r\n");
    drv_free(d);
}

static void test_dele_mkd_rmd(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    scratch_write("root/upload/del.txt", "x", 1);
    ASSERT_REPLY(d, "DELE upload/del.txt\r\n", "250 Delete operation successful.\r\n");
    assert_false(scratch_exists("root/upload/del.txt"));
    ASSERT_CODE(d, "DELE upload/del.txt\r\n", 550);
    ASSERT_CODE(d, "DELE sub\r\n", 550);
    assert_true(scratch_exists("root/sub"));
    ASSERT_CODE(d, "DELE ../outside.txt\r\n", 550);
    ASSERT_CODE(d, "DELE dir_out/outside.txt\r\n", 550);
    ASSERT_CODE(d, "DELE .hidden\r\n", 550);
    ASSERT_CODE(d, "DELE /\r\n", 550);
    ASSERT_CODE(d, "DELE a.txt/\r\n", 550);
    assert_true(scratch_exists("root/a.txt"));
    ASSERT_CODE(d, "DELE\r\n", 501);
    assert_true(scratch_exists("outside.txt"));
    assert_true(scratch_exists("root/.hidden"));

    ASSERT_REPLY(d, "MKD upload/newdir\r\n", "257 \"/upload/newdir\" created\r\n");
    assert_true(scratch_exists("root/upload/newdir"));
    ASSERT_CODE(d, "MKD upload/newdir\r\n", 550);
    ASSERT_CODE(d, "CWD upload\r\n", 250);
    ASSERT_REPLY(d, "XMKD a\"b\r\n", "257 \"/upload/a\"\"b\" created\r\n");
    /* 0xff is Telnet's IAC: doubled on input, so doubled again in the reply */
    ASSERT_REPLY(d, "MKD \xff\xffx\r\n", "257 \"/upload/\xff\xffx\" created\r\n");
    ASSERT_CODE(d, "XRMD a\"b\r\n", 250);
    ASSERT_CODE(d, "MKD .evil\r\n", 550);
    ASSERT_CODE(d, "MKD ../../evil\r\n", 550);
    ASSERT_CODE(d, "MKD nodir/x\r\n", 550);
    ASSERT_CODE(d, "MKD\r\n", 501);
    assert_false(scratch_exists("evil"));
    scratch_write("root/upload/newdir/f", "x", 1);
    ASSERT_CODE(d, "RMD newdir\r\n", 550); /* not empty */
    ASSERT_CODE(d, "DELE newdir/f\r\n", 250);
    ASSERT_REPLY(d, "RMD newdir\r\n", "250 Remove directory operation successful.\r\n");
    assert_false(scratch_exists("root/upload/newdir"));
    ASSERT_CODE(d, "RMD newdir\r\n", 550);
    ASSERT_CODE(d, "RMD /\r\n", 550);
    ASSERT_CODE(d, "RMD ../../sub\r\n", 550);
    ASSERT_CODE(d, "RMD /sub/inner.txt\r\n", 550);
    ASSERT_CODE(d, "RMD\r\n", 501);
    drv_free(d);
}

/* ---- the input stream --------------------------------------------------- */

static void test_overlong_line(void **state)
{
    (void)state;
    char line[2100];
    memset(line, 'A', 2000);
    memcpy(line, "NOOP ", 5);
    strcpy(line + 2000, "\r\nNOOP\r\n");
    for (size_t chunk = 1; chunk <= 4096; chunk = chunk * 7 + 1) {
        struct drv *d = logged_in();
        d->chunk = chunk;
        ASSERT_REPLY(d, line, "500 Command line too long.\r\n200 NOOP ok.\r\n");
        drv_free(d);
    }
    /* 512 bytes with CRLF is still a line */
    struct drv *d = logged_in();
    memset(line, 'x', 510);
    memcpy(line, "NOOP ", 5);
    strcpy(line + 510, "\r\n");
    ASSERT_REPLY(d, line, "200 NOOP ok.\r\n");
    line[510] = 'x';
    strcpy(line + 511, "\r\n");
    ASSERT_REPLY(d, line, "500 Command line too long.\r\n");
    drv_free(d);
}

static void test_line_ends_and_telnet(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    ASSERT_REPLY(d, "NOOP\n", "200 NOOP ok.\r\n");
    ASSERT_REPLY(d, "pwd\r\n", "257 \"/\" is the current directory\r\n");
    ASSERT_REPLY(d,
                 "\xff\xf4\xff\xf2"
                 "ABOR\r\n",
                 "226 No transfer to abort.\r\n");
    ASSERT_REPLY(d, "NO\xff\xfb\x01OP\r\n", "200 NOOP ok.\r\n");
    ASSERT_REPLY(d, "NOOP\r\nNOOP", "200 NOOP ok.\r\n"); /* the rest waits for its LF */
    ASSERT_REPLY(d, "\r\n", "200 NOOP ok.\r\n");
    drv_free(d);
}

static const char session_script[] =
    "USER anonymous\r\nPASS x@\r\nSYST\r\nTYPE I\r\nPWD\r\nCWD sub\r\nPASV\r\nLIST\r\n"
    "CDUP\r\nEPSV\r\nRETR a.txt\r\nSIZE big.bin\r\nNOOP\r\nQUIT\r\n";

static void run_script(struct drv *d)
{
    d->in = session_script;
    d->in_len = strlen(session_script);
    drv_run(d, true);
    assert_true(d->closed);
}

static void test_pipelined_and_split(void **state)
{
    (void)state;
    struct drv *ref = drv_new();
    run_script(ref);
    const char *want = ref->ctrl;
    assert_non_null(strstr(want, "220 refserver FTP ready\r\n331 "));
    assert_non_null(strstr(want, "\r\n226 Transfer complete.\r\n213 307211\r\n200 NOOP ok.\r\n"
                                 "221 Goodbye.\r\n"));
    assert_string_equal(ref->trace, "OATCOATC");
    size_t n = strlen(session_script);
    for (size_t chunk = 1; chunk <= 17; chunk++) { /* every chunk size */
        struct drv *d = drv_new();
        d->chunk = chunk;
        d->max_io = chunk; /* partial writes as well */
        run_script(d);
        assert_string_equal(d->ctrl, want);
        drv_free(d);
    }
    for (size_t cut = 1; cut < n; cut++) { /* two feeds, split at every byte */
        struct drv *d = drv_new();
        char first[sizeof session_script];
        memcpy(first, session_script, cut);
        first[cut] = '\0';
        d->in = first;
        d->in_len = cut;
        drv_run(d, false);
        d->in = session_script + cut;
        d->in_len = n - cut;
        drv_run(d, true);
        assert_true(d->closed);
        assert_string_equal(d->ctrl, want);
        assert_string_equal(d->trace, ref->trace);
        drv_free(d);
    }
    drv_free(ref);
}

static void test_backpressure(void **state)
{
    (void)state;
    enum { N = 2000 };
    char *in = malloc(N * 6 + 1);
    assert_non_null(in);
    for (int i = 0; i < N; i++)
        memcpy(in + i * 6, "NOOP\r\n", 6);
    in[N * 6] = '\0';
    struct drv *d = logged_in();
    d->max_io = 100;
    /* offered all at once: the session takes what it can hold */
    size_t used = session_feed(d->s, in, N * 6);
    assert_true(used > 0 && used < N * 6);
    d->in = in + used;
    d->in_len = N * 6 - used;
    d->clen = 0;
    drv_run(d, false);
    assert_int_equal(d->clen, (size_t)N * 14);
    for (int i = 0; i < N; i++)
        assert_memory_equal(d->ctrl + i * 14, "200 NOOP ok.\r\n", 14);
    free(in);
    drv_free(d);
}

static void test_eof(void **state)
{
    (void)state;
    struct drv *d = logged_in();
    d->in = "NOOP\r\nNOO"; /* a last line without LF is dropped */
    d->in_len = strlen(d->in);
    d->clen = 0;
    drv_run(d, true);
    assert_true(d->closed);
    assert_string_equal(d->ctrl, "200 NOOP ok.\r\n");
    drv_free(d);
    /* a write error closes */
    d = drv_new();
    struct action a;
    session_next(d->s, &a);
    assert_int_equal(a.kind, ACT_WRITE);
    session_done(d->s, &a, -1);
    session_next(d->s, &a);
    assert_int_equal(a.kind, ACT_CLOSE);
    drv_free(d);
}

static void test_access_log(void **state)
{
    (void)state;
    ctx.access_log = true;
    capture_stderr_begin();
    struct drv *d = logged_in();
    drv_send(d, "EPSV\r\nRETR a.txt\r\nEPSV\r\nRETR missing\r\nNOOP\r\n");
    drv_free(d);
    ctx.access_log = false;
    char *log = capture_stderr_end();
    assert_string_equal(log, "127.0.0.1:4242 \"RETR /a.txt\" 226 6\n");
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_commands),
        cmocka_unit_test(test_pwd_cwd),
        cmocka_unit_test(test_pasv_epsv),
        cmocka_unit_test(test_retr),
        cmocka_unit_test(test_retr_big_partial),
        cmocka_unit_test(test_rest),
        cmocka_unit_test(test_retr_errors),
        cmocka_unit_test(test_data_failures),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_nlst),
        cmocka_unit_test(test_list_huge),
        cmocka_unit_test(test_stor),
        cmocka_unit_test(test_stor_modes),
        cmocka_unit_test(test_stor_aborted),
        cmocka_unit_test(test_stor_errors),
        cmocka_unit_test(test_size_mdtm),
        cmocka_unit_test(test_dele_mkd_rmd),
        cmocka_unit_test(test_overlong_line),
        cmocka_unit_test(test_line_ends_and_telnet),
        cmocka_unit_test(test_pipelined_and_split),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_access_log),
    };
    return cmocka_run_group_tests(tests, ftp_fixture_setup, ftp_fixture_teardown);
}
