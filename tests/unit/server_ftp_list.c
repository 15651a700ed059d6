/* Unit tests of LIST/NLST (servers/core/ftp_list.c): the line format on
 * fixed entries and dates, and the listings of a real directory (what is
 * shown, links, a single file, chunks). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsroot.h"
#include "ftp_list.h"
#include "test_util.h"

/* 2023-11-14 22:13:20 UTC */
#define NOW ((time_t)1700000000)
#define DAY (24L * 3600)

/* ---- the line format ---------------------------------------------------- */

static struct stat st_of(mode_t mode, off_t size, time_t mtime)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = mode;
    st.st_size = size;
    st.st_mtime = mtime;
    return st;
}

/* The line for name/st must be want (NULL: not shown). */
static void assert_line(const char *name, struct stat st, enum ftp_list_style style,
                        const char *want)
{
    char buf[FTP_LIST_LINE_MAX];
    memset(buf, 'z', sizeof buf);
    size_t n = ftp_list_format(name, &st, style, NOW, buf, sizeof buf);
    if (!want) {
        if (n != 0) fail_msg("'%s' shown as '%.*s'", name, (int)n, buf);
        return;
    }
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

static void test_format_long(void **state)
{
    (void)state;
    assert_line("a.txt", st_of(S_IFREG | 0644, 123456, NOW - 10000), FTP_LIST_LONG,
                "-rw-r--r-- 1 ftp ftp       123456 Nov 14 19:26 a.txt\r\n");
    assert_line("sub", st_of(S_IFDIR | 0755, 4096, NOW - 10000), FTP_LIST_LONG,
                "drwxr-xr-x 1 ftp ftp         4096 Nov 14 19:26 sub\r\n");
    assert_line("odd", st_of(S_IFREG | 04751, 0, NOW), FTP_LIST_LONG,
                "-rwxr-x--x 1 ftp ftp            0 Nov 14 22:13 odd\r\n");
    assert_line("none", st_of(S_IFREG, 7, NOW), FTP_LIST_LONG,
                "---------- 1 ftp ftp            7 Nov 14 22:13 none\r\n");
    assert_line("huge", st_of(S_IFREG | 0600, 12345678901234LL, NOW), FTP_LIST_LONG,
                "-rw------- 1 ftp ftp 12345678901234 Nov 14 22:13 huge\r\n");
    assert_line("with space \xc3\xa9", st_of(S_IFREG | 0644, 1, NOW), FTP_LIST_LONG,
                "-rw-r--r-- 1 ftp ftp            1 Nov 14 22:13 with space \xc3\xa9\r\n");
}

static void test_format_dates(void **state)
{
    (void)state;
    struct stat st = st_of(S_IFREG | 0644, 1, 0);
    static const struct {
        time_t mtime;
        const char *date;
    } cases[] = {
        {NOW - 180 * DAY + 1, "May 18 22:13"}, /* within six months: the time */
        {NOW - 180 * DAY, "May 18  2023"},     /* six months ago: the year */
        {NOW + 3600, "Nov 14 23:13"},          /* an hour ahead is still "now" */
        {NOW + 3601, "Nov 14  2023"},          /* further ahead: the year */
        {1500000000, "Jul 14  2017"},
        {NOW - 9 * DAY, "Nov  5 22:13"}, /* a one-digit day is padded */
        {0, "Jan  1  1970"},
        {INT64_MAX, "Jan  1  1970"}, /* gmtime_r cannot say: the epoch */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[128], buf[FTP_LIST_LINE_MAX];
        st.st_mtime = cases[i].mtime;
        snprintf(want, sizeof want, "-rw-r--r-- 1 ftp ftp            1 %s f\r\n", cases[i].date);
        assert_true(ftp_list_format("f", &st, FTP_LIST_LONG, NOW, buf, sizeof buf) > 0);
        if (strcmp(buf, want) != 0) fail_msg("case %zu: got '%s', want '%s'", i, buf, want);
    }
}

static void test_format_names(void **state)
{
    (void)state;
    assert_line("a.txt", st_of(S_IFREG | 0644, 9, NOW), FTP_LIST_NAMES, "a.txt\r\n");
    assert_line("sub", st_of(S_IFDIR | 0755, 9, NOW), FTP_LIST_NAMES, "sub\r\n");
}

static void test_format_not_shown(void **state)
{
    (void)state;
    for (int style = FTP_LIST_LONG; style <= FTP_LIST_NAMES; style++) {
        assert_line("fifo", st_of(S_IFIFO | 0644, 0, NOW), style, NULL);
        assert_line("link", st_of(S_IFLNK | 0777, 5, NOW), style, NULL); /* unfollowed */
        assert_line("sock", st_of(S_IFSOCK | 0755, 0, NOW), style, NULL);
        assert_line("new\nline", st_of(S_IFREG | 0644, 1, NOW), style, NULL);
        assert_line("cr\r", st_of(S_IFREG | 0644, 1, NOW), style, NULL);
        assert_line("del\x7f", st_of(S_IFDIR | 0755, 1, NOW), style, NULL);
    }
}

static void test_format_room(void **state)
{
    (void)state;
    struct stat st = st_of(S_IFREG | 0644, 1, NOW);
    char buf[16];
    /* "abc\r\n" is 5 bytes and needs a sixth for the NUL */
    assert_int_equal(ftp_list_format("abc", &st, FTP_LIST_NAMES, NOW, buf, 6), 5);
    assert_string_equal(buf, "abc\r\n");
    assert_int_equal(ftp_list_format("abc", &st, FTP_LIST_NAMES, NOW, buf, 5), 0);
    assert_int_equal(ftp_list_format("abc", &st, FTP_LIST_LONG, NOW, buf, sizeof buf), 0);
    /* the longest name fits the longest line */
    char name[FSROOT_NAME_MAX + 1], line[FTP_LIST_LINE_MAX];
    memset(name, 'n', FSROOT_NAME_MAX);
    name[FSROOT_NAME_MAX] = '\0';
    st.st_size = INT64_MAX;
    size_t n = ftp_list_format(name, &st, FTP_LIST_LONG, NOW, line, sizeof line);
    assert_true(n > FSROOT_NAME_MAX);
    assert_memory_equal(line + n - FSROOT_NAME_MAX - 2, name, FSROOT_NAME_MAX);
}

/* ---- listings of a directory -------------------------------------------- */

static char rootdir[600];
static struct fsroot *root;

/* A directory, FIFO or file with exactly this mode (the scratch helpers
 * create with the umask's modes; listings show modes). */
static void make(const char *rel, mode_t mode)
{
    const char *p = scratch_path(rel);
    if (S_ISDIR(mode)) {
        assert_int_equal(mkdir(p, mode & 07777), 0);
    } else if (S_ISFIFO(mode)) {
        assert_int_equal(mkfifo(p, mode & 07777), 0);
    } else {
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "hello\n", 6), 6);
        close(fd);
    }
    assert_int_equal(chmod(p, mode & 07777), 0); /* whatever the umask */
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(scratch_create("ftp-list"));
    snprintf(rootdir, sizeof rootdir, "%s", scratch_path("root"));
    make("root", S_IFDIR | 0755);
    make("root/a.txt", S_IFREG | 0644);
    make("root/sub", S_IFDIR | 0750);
    make("root/sub/inner.txt", S_IFREG | 0600);
    make("root/.hidden", S_IFREG | 0644);
    make("root/fifo", S_IFIFO | 0644);
    make("root/bad\nname", S_IFREG | 0644);
    make("outside.txt", S_IFREG | 0644);
    scratch_symlink("a.txt", "root/link_in");
    scratch_symlink("../outside.txt", "root/link_out");
    scratch_symlink("../a.txt", "root/sub/up");
    scratch_symlink("missing", "root/dangling");
    root = fsroot_new(rootdir);
    assert_non_null(root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fsroot_free(root);
    return scratch_remove();
}

/* The whole listing of path (the canonical path; cut as open cuts it). */
static int list_all(char *path, enum ftp_list_style style, char *out, size_t cap)
{
    struct ftp_listing l;
    int rc = ftp_listing_open(&l, root, path);
    size_t len = ftp_listing_fill(&l, root, path, style, out, cap);
    out[len] = '\0';
    assert_int_equal(ftp_listing_fill(&l, root, path, style, out + len, cap - len), 0);
    ftp_listing_close(&l);
    return rc;
}

static void test_listing_dir(void **state)
{
    (void)state;
    char path[FSROOT_PATH_MAX] = "/", out[8192];
    assert_int_equal(list_all(path, FTP_LIST_NAMES, out, sizeof out), FSROOT_OK);
    /* no hidden name, FIFO, control byte, link out of the root or dangling */
    assert_string_equal(out, "a.txt\r\nlink_in\r\nsub\r\n");
    assert_string_equal(path, "/");

    assert_int_equal(list_all(path, FTP_LIST_LONG, out, sizeof out), FSROOT_OK);
    char *line2 = strchr(out, '\n') + 1, *line3 = strchr(line2, '\n') + 1;
    assert_memory_equal(out, "-rw-r--r-- 1 ftp ftp            6 ", 34);
    /* a link inside the root: shown as the file it points to */
    assert_memory_equal(line2, "-rw-r--r-- 1 ftp ftp            6 ", 34);
    assert_non_null(strstr(line2, " link_in\r\n"));
    assert_memory_equal(line3, "drwxr-x--- 1 ftp ftp ", 21);
    assert_string_equal(line3 + strlen(line3) - 6, " sub\r\n");
}

static void test_listing_subdir_link(void **state)
{
    (void)state;
    char path[FSROOT_PATH_MAX] = "/sub", out[8192];
    assert_int_equal(list_all(path, FTP_LIST_NAMES, out, sizeof out), FSROOT_OK);
    /* "up" is resolved in /sub, where it leads to /a.txt */
    assert_string_equal(out, "inner.txt\r\nup\r\n");
}

static void test_listing_file(void **state)
{
    (void)state;
    char path[FSROOT_PATH_MAX] = "/sub/inner.txt", out[8192];
    assert_int_equal(list_all(path, FTP_LIST_LONG, out, sizeof out), FSROOT_OK);
    assert_string_equal(path, "/sub"); /* cut to the directory */
    assert_memory_equal(out, "-rw------- 1 ftp ftp            6 ", 34);
    assert_string_equal(out + strlen(out) - 12, " inner.txt\r\n");

    strcpy(path, "/a.txt");
    assert_int_equal(list_all(path, FTP_LIST_NAMES, out, sizeof out), FSROOT_OK);
    assert_string_equal(path, "/");
    assert_string_equal(out, "a.txt\r\n");

    /* a FIFO asked for by name is not found (fsroot shows files and dirs) */
    strcpy(path, "/fifo");
    assert_int_equal(list_all(path, FTP_LIST_NAMES, out, sizeof out), FSROOT_ENOTFOUND);
    assert_string_equal(out, "");
    assert_string_equal(path, "/fifo");
}

static void test_listing_missing(void **state)
{
    (void)state;
    char path[FSROOT_PATH_MAX] = "/nope", out[8192];
    assert_int_equal(list_all(path, FTP_LIST_LONG, out, sizeof out), FSROOT_ENOTFOUND);
    assert_string_equal(out, "");
    assert_string_equal(path, "/nope"); /* untouched */
    struct ftp_listing l;
    strcpy(path, "/dangling");
    assert_int_equal(ftp_listing_open(&l, root, path), FSROOT_ENOTFOUND);
    ftp_listing_close(&l);
    ftp_listing_close(&l); /* twice is harmless */
}

/* Many long names: chunks never pass cap, and together make the listing. */
static void test_listing_chunks(void **state)
{
    (void)state;
    char name[FSROOT_NAME_MAX + 1];
    make("root/many", S_IFDIR | 0755);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "root/many/%03d-", i);
        memset(name + strlen(name), 'x', 200);
        name[214] = '\0';
        make(name, S_IFREG | 0644);
    }
    char path[FSROOT_PATH_MAX] = "/many";
    static char whole[64 * 1024], joined[64 * 1024];
    assert_int_equal(list_all(path, FTP_LIST_LONG, whole, sizeof whole), FSROOT_OK);

    struct ftp_listing l;
    assert_int_equal(ftp_listing_open(&l, root, path), FSROOT_OK);
    size_t cap = 2 * FTP_LIST_LINE_MAX, len = 0, n, chunks = 0;
    char chunk[2 * FTP_LIST_LINE_MAX];
    while ((n = ftp_listing_fill(&l, root, path, FTP_LIST_LONG, chunk, cap)) > 0) {
        assert_true(n <= cap);
        memcpy(joined + len, chunk, n);
        len += n;
        chunks++;
    }
    joined[len] = '\0';
    ftp_listing_close(&l);
    assert_int_equal(chunks, 20); /* two lines a chunk */
    assert_string_equal(joined, whole);
    /* every entry is there: 40 lines of one length (same names' length) */
    size_t line_len = (size_t)(strchr(whole, '\n') - whole) + 1;
    assert_int_equal(strlen(whole), 40 * line_len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_long),         cmocka_unit_test(test_format_dates),
        cmocka_unit_test(test_format_names),        cmocka_unit_test(test_format_not_shown),
        cmocka_unit_test(test_format_room),         cmocka_unit_test(test_listing_dir),
        cmocka_unit_test(test_listing_subdir_link), cmocka_unit_test(test_listing_file),
        cmocka_unit_test(test_listing_missing),     cmocka_unit_test(test_listing_chunks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
