/* Unit tests of the document root (servers/core/fsroot.c): decoding, lexical
 * resolution, opening with symlinks, listings, atomic uploads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsroot.h"
#include "test_util.h"

#if defined(__linux__) && !defined(SERVERMODELS_PORTABLE)
#include <linux/openat2.h>
#include <sys/syscall.h>

/* Whether the kernel under us (or the emulator) implements openat2. */
static bool kernel_has_openat2(void)
{
    struct open_how how = {.flags = O_RDONLY | O_DIRECTORY};
    long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
    if (fd >= 0) close((int)fd);
    return fd >= 0 || errno != ENOSYS;
}
#endif

static char rootdir[PATH_MAX];
static struct fsroot *root;

static int setup(void **state)
{
    (void)state;
    /* scratch_create gives the real path: absolute links must use it */
    assert_non_null(scratch_create("fsroot-test"));
    snprintf(rootdir, sizeof rootdir, "%s", scratch_path("root"));
    scratch_mkdir("root");
    scratch_mkdir("root/sub");
    scratch_mkdir("root/sub/deep");
    scratch_mkdir("root/.hdir");
    scratch_mkdir("root2");
    scratch_write_text("root/a.txt", "A");
    scratch_write_text("root/file.", "Dot at end");
    scratch_write_text("root/%2e", "literal percent name");
    scratch_write_text("root/sub/b.txt", "B");
    scratch_write_text("root/sub/deep/c.txt", "C");
    scratch_write_text("root/.hidden", "H");
    scratch_write_text("root/.hdir/x", "X");
    scratch_write_text("root2/secret", "S");
    scratch_write_text("outside.txt", "O");
    scratch_symlink("sub/b.txt", "root/link_in");
    scratch_symlink(scratch_path("root/a.txt"), "root/link_abs_in");
    scratch_symlink("../outside.txt", "root/link_out");
    scratch_symlink("/etc/passwd", "root/link_abs_out");
    /* "/x/root2" shares the prefix "/x/root" */
    scratch_symlink(scratch_path("root2/secret"), "root/link_sibling");
    scratch_symlink("../root2/secret", "root/link_sibling_rel");
    scratch_symlink("sub", "root/dir_in");
    scratch_symlink("..", "root/dir_out");
    scratch_symlink("../../a.txt", "root/sub/deep/up2");
    scratch_symlink("../../../outside.txt", "root/sub/deep/up3");
    scratch_symlink("loop", "root/loop");
    scratch_symlink(".hidden", "root/link_hidden");
    scratch_symlink("missing", "root/dangling");
    assert_int_equal(mkfifo(scratch_path("root/fifo"), 0644), 0);
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

static void test_new(void **state)
{
    (void)state;
    errno = 0;
    assert_null(fsroot_new(scratch_path("nope")));
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_null(fsroot_new(scratch_path("outside.txt")));
    assert_int_equal(errno, ENOTDIR);
    assert_string_equal(fsroot_path(root), rootdir);
}

static void test_decode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        const char *out;
    } cases[] = {
        {"/a.txt", FSROOT_OK, "/a.txt"},      {"/a%20b", FSROOT_OK, "/a b"},
        {"/%2e%2e/x", FSROOT_OK, "/../x"}, /* decoded; resolve refuses it */
        {"/%2E%2e/", FSROOT_OK, "/../"},      {"/%252e", FSROOT_OK, "/%2e"}, /* decoded once only */
        {"/%c3%a9", FSROOT_OK, "/\xc3\xa9"},  {"/..%2fx", FSROOT_EBADPATH, NULL},
        {"/%2F", FSROOT_EBADPATH, NULL},      {"/%5c", FSROOT_EBADPATH, NULL},
        {"/%5C..%5C", FSROOT_EBADPATH, NULL}, {"/a\\b", FSROOT_EBADPATH, NULL},
        {"/%00", FSROOT_EBADPATH, NULL},      {"/a%0a", FSROOT_EBADPATH, NULL},
        {"/%", FSROOT_EBADPATH, NULL},        {"/%4", FSROOT_EBADPATH, NULL},
        {"/%g0", FSROOT_EBADPATH, NULL},      {"/%0g", FSROOT_EBADPATH, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        int rc = fsroot_decode(cases[i].in, strlen(cases[i].in), out, sizeof out);
        if (rc != cases[i].rc) fail_msg("%s: rc %d, want %d", cases[i].in, rc, cases[i].rc);
        if (cases[i].out) assert_string_equal(out, cases[i].out);
    }
    /* A raw NUL inside the length. */
    char out[16];
    assert_int_equal(fsroot_decode("/a\0b", 4, out, sizeof out), FSROOT_EBADPATH);
    /* Too long for the buffer. */
    assert_int_equal(fsroot_decode("/abcdef", 7, out, 4), FSROOT_ETOOLONG);
    assert_int_equal(fsroot_decode("/abc", 4, out, 5), FSROOT_OK);
    assert_int_equal(fsroot_decode("/abcd", 5, out, 5), FSROOT_ETOOLONG);
}

static void test_resolve(void **state)
{
    (void)state;
    static const struct {
        const char *cwd, *path;
        int flags, rc;
        const char *out;
    } cases[] = {
        {"/", "/", 0, FSROOT_OK, "/"},
        {"/", "", 0, FSROOT_OK, "/"},
        {"/", "/a.txt", 0, FSROOT_OK, "/a.txt"},
        {"/", "//sub///b.txt", 0, FSROOT_OK, "/sub/b.txt"},
        {"/", "/./sub/./b.txt", 0, FSROOT_OK, "/sub/b.txt"},
        {"/", "/sub/", 0, FSROOT_OK, "/sub"},
        {"/sub", "b.txt", 0, FSROOT_OK, "/sub/b.txt"},
        {"/sub", "/a.txt", 0, FSROOT_OK, "/a.txt"}, /* absolute ignores cwd */
        {"/", "file.", 0, FSROOT_OK, "/file."},     /* trailing dot: an ordinary name */
        {"/", "/..", 0, FSROOT_EFORBIDDEN, NULL},
        {"/", "/sub/../a.txt", 0, FSROOT_EFORBIDDEN, NULL},
        {"/", "/sub/..", 0, FSROOT_EFORBIDDEN, NULL},
        {"/sub", "../a.txt", 0, FSROOT_EFORBIDDEN, NULL},
        {"/", "/.hidden", 0, FSROOT_ENOTFOUND, NULL},
        {"/", "/.hdir/x", 0, FSROOT_ENOTFOUND, NULL},
        {"/", "/sub/.x", 0, FSROOT_ENOTFOUND, NULL},
        {"/", "/...", 0, FSROOT_ENOTFOUND, NULL},
        {"/", "/a\\..\\b", 0, FSROOT_EBADPATH, NULL},
        /* FTP style: ".." goes up, never above the root */
        {"/sub/deep", "..", FSROOT_ALLOW_DOTDOT, FSROOT_OK, "/sub"},
        {"/sub", "../a.txt", FSROOT_ALLOW_DOTDOT, FSROOT_OK, "/a.txt"},
        {"/sub", "..", FSROOT_ALLOW_DOTDOT, FSROOT_OK, "/"},
        {"/sub", "../..", FSROOT_ALLOW_DOTDOT, FSROOT_EFORBIDDEN, NULL},
        {"/", "..", FSROOT_ALLOW_DOTDOT, FSROOT_EFORBIDDEN, NULL},
        {"/", "/../etc/passwd", FSROOT_ALLOW_DOTDOT, FSROOT_EFORBIDDEN, NULL},
        {"/", "/sub/../../x", FSROOT_ALLOW_DOTDOT, FSROOT_EFORBIDDEN, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[FSROOT_PATH_MAX];
        int rc = fsroot_resolve(root, cases[i].cwd, cases[i].path, cases[i].flags, out, sizeof out);
        if (rc != cases[i].rc)
            fail_msg("%s + %s: rc %d, want %d", cases[i].cwd, cases[i].path, rc, cases[i].rc);
        if (cases[i].out) assert_string_equal(out, cases[i].out);
    }
    /* Over FSROOT_PATH_MAX. */
    static char lng[FSROOT_PATH_MAX + 100];
    for (size_t i = 0; i + 2 < sizeof lng; i += 2)
        memcpy(lng + i, "/a", 2);
    char out[FSROOT_PATH_MAX];
    assert_int_equal(fsroot_resolve(root, "/", lng, 0, out, sizeof out), FSROOT_ETOOLONG);
}

/* How test_open_traversal opens: 0 openat2 (where the kernel has it), 1 the
 * walk, 2 the traced walk. */
static int open_how;

/* The traced walk's visitor: counts calls, checks what it is told. */
static int visits, opened_visits;
static void on_visit(void *arg, int fd, const char *name)
{
    (void)arg;
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    visits++;
    if (!name) {
        opened_visits++;
        return;
    }
    assert_true(S_ISDIR(st.st_mode));
    assert_true(strcmp(name, ".") == 0 || (name[0] != '.' && !strchr(name, '/')));
}

/* URL path -> decode -> resolve -> open: the HTTP path. Returns the status or
 * FSROOT_OK, and the first byte of the file in *c. */
static int open_url(const char *url, char *c)
{
    char dec[FSROOT_PATH_MAX], path[FSROOT_PATH_MAX];
    int rc = fsroot_decode(url, strlen(url), dec, sizeof dec);
    if (rc == FSROOT_OK) rc = fsroot_resolve(root, "/", dec, 0, path, sizeof path);
    if (rc != FSROOT_OK) return rc;
    struct stat st;
    int fd = open_how == 2 ? fsroot_open_traced(root, path, &st, on_visit, NULL)
                           : fsroot_open(root, path, &st);
    if (fd < 0) return fd;
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    *c = 0;
    if (S_ISREG(st.st_mode))
        assert_int_equal(read(fd, c, 1), st.st_size ? 1 : 0);
    else
        *c = 'd';
    close(fd);
    return FSROOT_OK;
}

static void test_open_traversal(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        int rc;
        char first;
    } cases[] = {
        {"/a.txt", FSROOT_OK, 'A'},
        {"/", FSROOT_OK, 'd'},
        {"/sub", FSROOT_OK, 'd'},
        {"/sub/deep/c.txt", FSROOT_OK, 'C'},
        {"/file.", FSROOT_OK, 'D'},
        {"/a.txt.", FSROOT_ENOTFOUND, 0},
        {"/%252e", FSROOT_OK, 'l'}, /* the file literally named "%2e" */
        {"/%252e%252e/a.txt", FSROOT_ENOTFOUND, 0},
        {"/..", FSROOT_EFORBIDDEN, 0},
        {"/../outside.txt", FSROOT_EFORBIDDEN, 0},
        {"/%2e%2e/outside.txt", FSROOT_EFORBIDDEN, 0},
        {"/%2E%2e/", FSROOT_EFORBIDDEN, 0},
        {"/sub/%2e%2e/%2e%2e/outside.txt", FSROOT_EFORBIDDEN, 0},
        {"/..%2foutside.txt", FSROOT_EBADPATH, 0},
        {"/sub%2fb.txt", FSROOT_EBADPATH, 0},
        {"/..%5coutside.txt", FSROOT_EBADPATH, 0},
        {"/a.txt%00.html", FSROOT_EBADPATH, 0},
        {"//etc/passwd", FSROOT_ENOTFOUND, 0}, /* stays under the root */
        {"/etc/passwd", FSROOT_ENOTFOUND, 0},
        {"/.hidden", FSROOT_ENOTFOUND, 0},
        {"/%2ehidden", FSROOT_ENOTFOUND, 0},
        {"/.hdir/x", FSROOT_ENOTFOUND, 0},
        {"/.hdir", FSROOT_ENOTFOUND, 0},
        {"/link_in", FSROOT_OK, 'B'},
        {"/link_abs_in", FSROOT_OK, 'A'},
        {"/dir_in/b.txt", FSROOT_OK, 'B'},
        {"/sub/deep/up2", FSROOT_OK, 'A'},
        {"/link_out", FSROOT_EFORBIDDEN, 0},
        {"/link_abs_out", FSROOT_EFORBIDDEN, 0},
        {"/link_sibling", FSROOT_EFORBIDDEN, 0},
        {"/link_sibling_rel", FSROOT_EFORBIDDEN, 0},
        {"/dir_out/outside.txt", FSROOT_EFORBIDDEN, 0},
        {"/dir_out", FSROOT_EFORBIDDEN, 0},
        {"/sub/deep/up3", FSROOT_EFORBIDDEN, 0},
        {"/loop", FSROOT_EFORBIDDEN, 0},
        {"/link_hidden", FSROOT_ENOTFOUND, 0},
        {"/dangling", FSROOT_ENOTFOUND, 0},
        {"/fifo", FSROOT_ENOTFOUND, 0}, /* neither file nor dir; must not block */
        {"/a.txt/x", FSROOT_ENOTFOUND, 0},
    };
#if defined(__linux__) && !defined(SERVERMODELS_PORTABLE)
    /* Linux 5.6 and later; but qemu's user mode (7.2, make test-cross) has
     * no openat2 (ENOSYS): then the root must fall back to the walk */
    assert_int_equal(fsroot_use_openat2(root, true), kernel_has_openat2());
#else
    assert_false(fsroot_use_openat2(root, true));
#endif
    for (open_how = 0; open_how < 3; open_how++) {
        fsroot_use_openat2(root, open_how == 0);
        visits = opened_visits = 0;
        int opened = 0;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char c = 0;
            int rc = open_url(cases[i].url, &c);
            if (rc != cases[i].rc)
                fail_msg("how %d: %s: rc %d, want %d", open_how, cases[i].url, rc, cases[i].rc);
            if (rc == FSROOT_OK && c != cases[i].first)
                fail_msg("how %d: %s: read '%c', want '%c'", open_how, cases[i].url, c,
                         cases[i].first);
            opened += rc == FSROOT_OK || cases[i].url[1] == 'f'; /* the FIFO opens, then 404 */
        }
        if (open_how == 2) {
            assert_int_equal(opened_visits, opened); /* once per object opened */
            assert_true(visits > 2 * opened);
        }
    }
    fsroot_use_openat2(root, true);
}

static void test_stat(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(fsroot_stat(root, "/sub/b.txt", &st), FSROOT_OK);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 1);
    assert_int_equal(fsroot_stat(root, "/sub", &st), FSROOT_OK);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(fsroot_stat(root, "/nope", &st), FSROOT_ENOTFOUND);
    assert_int_equal(fsroot_stat(root, "/.hidden", &st), FSROOT_ENOTFOUND);
}

static void test_list(void **state)
{
    (void)state;
    struct fsroot_entry *v;
    size_t n;
    assert_int_equal(fsroot_list(root, "/", &v, &n), FSROOT_OK);
    static const char *const want[] = {
        "%2e",     "a.txt",    "dangling",     "dir_in",           "dir_out",
        "fifo",    "file.",    "link_abs_in",  "link_abs_out",     "link_hidden",
        "link_in", "link_out", "link_sibling", "link_sibling_rel", "loop",
        "sub",
    };
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i].name, want[i]);
    assert_true(S_ISDIR(v[n - 1].st.st_mode));
    assert_true(S_ISLNK(v[3].st.st_mode)); /* dir_in: reported as a link */
    free(v);
    assert_int_equal(fsroot_list(root, "/sub", &v, &n), FSROOT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "b.txt");
    assert_string_equal(v[1].name, "deep");
    free(v);
    assert_int_equal(fsroot_list(root, "/dir_in", &v, &n), FSROOT_OK); /* link inside */
    assert_int_equal(n, 2);
    free(v);
    assert_int_equal(fsroot_list(root, "/dir_out", &v, &n), FSROOT_EFORBIDDEN);
    assert_int_equal(fsroot_list(root, "/.hdir", &v, &n), FSROOT_ENOTFOUND);
    assert_int_equal(fsroot_list(root, "/a.txt", &v, &n), FSROOT_ENOTFOUND);
    assert_null(v);
    assert_int_equal(n, 0);
}

static void read_back(const char *rel, const char *want)
{
    struct stat st;
    int fd = fsroot_open(root, rel, &st);
    assert_true(fd >= 0);
    char buf[64] = "";
    assert_int_equal(read(fd, buf, sizeof buf - 1), (ssize_t)strlen(want));
    assert_string_equal(buf, want);
    close(fd);
}

/* Entries of a directory under the root, hidden ones included. */
static size_t count_entries(const char *dir)
{
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "root%s", dir);
    return (size_t)scratch_count_entries(rel, "");
}

static void test_upload(void **state)
{
    (void)state;
    size_t before = count_entries("/sub");
    struct fsroot_upload u;
    assert_int_equal(fsroot_upload_begin(root, "/sub/new.txt", 0644, &u), FSROOT_OK);
    assert_int_equal(write(u.fd, "new!", 4), 4);
    /* Not visible under its name, not listed, while in progress. */
    struct stat st;
    assert_int_equal(fsroot_stat(root, "/sub/new.txt", &st), FSROOT_ENOTFOUND);
    struct fsroot_entry *v;
    size_t n;
    assert_int_equal(fsroot_list(root, "/sub", &v, &n), FSROOT_OK);
    assert_int_equal(n, 2);
    free(v);
    assert_int_equal(count_entries("/sub"), before + 1); /* the hidden temp file */
    assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
    read_back("/sub/new.txt", "new!");
    assert_int_equal(count_entries("/sub"), before + 1);
    /* Replaces an existing file atomically. */
    assert_int_equal(fsroot_upload_begin(root, "/sub/new.txt", 0644, &u), FSROOT_OK);
    assert_int_equal(write(u.fd, "v2", 2), 2);
    read_back("/sub/new.txt", "new!");
    assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
    read_back("/sub/new.txt", "v2");
    /* Abort leaves nothing behind. */
    assert_int_equal(fsroot_upload_begin(root, "/sub/gone.txt", 0644, &u), FSROOT_OK);
    assert_int_equal(write(u.fd, "x", 1), 1);
    fsroot_upload_abort(&u);
    assert_int_equal(fsroot_stat(root, "/sub/gone.txt", &st), FSROOT_ENOTFOUND);
    assert_int_equal(count_entries("/sub"), before + 1);
    /* Through a symlinked directory inside the root. */
    assert_int_equal(fsroot_upload_begin(root, "/dir_in/via.txt", 0644, &u), FSROOT_OK);
    assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
    assert_int_equal(fsroot_stat(root, "/sub/via.txt", &st), FSROOT_OK);
    /* Refused: out of the root, into a missing dir, the root itself. */
    assert_int_equal(fsroot_upload_begin(root, "/dir_out/x", 0644, &u), FSROOT_EFORBIDDEN);
    assert_int_equal(fsroot_upload_begin(root, "/nodir/x", 0644, &u), FSROOT_ENOTFOUND);
    assert_int_equal(fsroot_upload_begin(root, "/", 0644, &u), FSROOT_EFORBIDDEN);
    assert_int_equal(fsroot_upload_begin(root, "/.hdir/x", 0644, &u), FSROOT_ENOTFOUND);
    assert_int_equal(unlink(scratch_path("root/sub/new.txt")), 0);
    assert_int_equal(unlink(scratch_path("root/sub/via.txt")), 0);
}

/* The mode of a file under the root (stat, following no link). */
static mode_t mode_of(const char *rel)
{
    struct stat st;
    char r[PATH_MAX];
    snprintf(r, sizeof r, "root%s", rel);
    assert_int_equal(lstat(scratch_path(r), &st), 0);
    return st.st_mode & 07777;
}

/* A committed upload has the replaced file's mode (setuid/setgid off), or
 * new_mode for a new file, whatever the process umask; the temp file is
 * private meanwhile. */
static void test_upload_mode(void **state)
{
    (void)state;
    mode_t saved = umask(077); /* must not matter */
    struct fsroot_upload u;
    assert_int_equal(fsroot_upload_begin(root, "/sub/m.txt", 0664, &u), FSROOT_OK);
    struct stat st;
    assert_int_equal(fstat(u.fd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
    assert_int_equal(mode_of("/sub/m.txt"), 0664);

    static const mode_t kept[] = {0640, 0755, 0600, 0444, 0604};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        assert_int_equal(chmod(scratch_path("root/sub/m.txt"), kept[i]), 0);
        assert_int_equal(fsroot_upload_begin(root, "/sub/m.txt", 0666, &u), FSROOT_OK);
        assert_int_equal(write(u.fd, "x", 1), 1);
        assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
        assert_int_equal(mode_of("/sub/m.txt"), kept[i]);
    }
    assert_int_equal(chmod(scratch_path("root/sub/m.txt"), 06755), 0);
    assert_int_equal(fsroot_upload_begin(root, "/sub/m.txt", 0666, &u), FSROOT_OK);
    assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
    assert_int_equal(mode_of("/sub/m.txt"), 0755);
    /* the owner: as root the old file's (fchown); otherwise ours, since
     * only root may give a file away */
    uid_t owner = geteuid() == 0 ? 65534 : geteuid();
    gid_t group = geteuid() == 0 ? 65534 : getegid();
    if (geteuid() == 0) assert_int_equal(chown(scratch_path("root/sub/m.txt"), owner, group), 0);
    assert_int_equal(fsroot_upload_begin(root, "/sub/m.txt", 0666, &u), FSROOT_OK);
    assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
    assert_int_equal(lstat(scratch_path("root/sub/m.txt"), &st), 0);
    assert_int_equal(st.st_uid, owner);
    assert_int_equal(st.st_gid, group);
    assert_int_equal(st.st_mode & 07777, 0755);
    /* a symlink is not a file to take the mode of: replaced by a new file */
    scratch_symlink("../a.txt", "root/sub/m_link");
    assert_int_equal(fsroot_upload_begin(root, "/sub/m_link", 0640, &u), FSROOT_OK);
    assert_int_equal(fsroot_upload_commit(&u), FSROOT_OK);
    assert_int_equal(mode_of("/sub/m_link"), 0640);
    umask(saved);
    assert_int_equal(unlink(scratch_path("root/sub/m.txt")), 0);
    assert_int_equal(unlink(scratch_path("root/sub/m_link")), 0);
}

static void test_open_parent(void **state)
{
    (void)state;
    char leaf[FSROOT_NAME_MAX + 1];
    int fd = fsroot_open_parent(root, "/sub/deep/c.txt", leaf, sizeof leaf);
    assert_true(fd >= 0);
    assert_string_equal(leaf, "c.txt");
    struct stat st;
    assert_int_equal(fstatat(fd, leaf, &st, 0), 0);
    close(fd);
    fd = fsroot_open_parent(root, "/a.txt", leaf, sizeof leaf);
    assert_true(fd >= 0);
    assert_string_equal(leaf, "a.txt");
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),         cmocka_unit_test(test_decode),
        cmocka_unit_test(test_resolve),     cmocka_unit_test(test_open_traversal),
        cmocka_unit_test(test_stat),        cmocka_unit_test(test_list),
        cmocka_unit_test(test_upload),      cmocka_unit_test(test_open_parent),
        cmocka_unit_test(test_upload_mode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
