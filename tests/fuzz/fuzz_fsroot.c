/* fuzz_fsroot.c - path decoding, resolution and opening under the document
 * root (servers/core/fsroot.c) on arbitrary paths.
 *
 * Input: data[0] picks the operation, the rest is the path (or "cwd\npath"):
 *   0 HTTP: fsroot_decode + fsroot_resolve("/", ..., 0) + fsroot_open
 *   1 FTP:  cwd = resolve(cwd, DOTDOT), then resolve(cwd, path, DOTDOT) +
 *           fsroot_open + fsroot_stat
 *   2 FTP LIST: as 1, then fsroot_list
 *   3 DELE/MKD: as 1, then fsroot_open_parent
 *   4 STOR: as 1, then fsroot_upload_begin + fsroot_upload_abort
 * Invariants (abort on violation):
 *   - every fd handed out is a file or directory of the root (its st_dev and
 *     st_ino among those of the non-hidden entries made below), never a
 *     hidden file, never a file outside the root, close-on-exec; openat2,
 *     the walk and the traced walk agree (result and inode), and the walk
 *     looks names up only in directories, never a hidden one;
 *   - decode output has no control byte, NUL or backslash; resolve output is
 *     canonical ("/" or "/a/b": no empty, ".", ".." or hidden component);
 *   - listings hold no hidden name and are sorted; an upload's temp file is
 *     hidden and gone after abort; no fd leaks. */
#define _XOPEN_SOURCE 700 /* realpath() is XSI */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsroot.h"
#include "fuzz_util.h"

/* Harness state made once: the fixture root and the inodes it may serve. */
static struct fsroot *root;
static struct {
    dev_t dev;
    ino_t ino;
} allowed[64];
static size_t nallowed;

static void allow(const char *path)
{
    struct stat st;
    FZ_CHECK(lstat(path, &st) == 0, "lstat %s", path);
    FZ_CHECK(nallowed < sizeof allowed / sizeof allowed[0], "too many fixtures");
    allowed[nallowed].dev = st.st_dev;
    allowed[nallowed].ino = st.st_ino;
    nallowed++;
}

static bool is_allowed(const struct stat *st)
{
    for (size_t i = 0; i < nallowed; i++)
        if (allowed[i].dev == st->st_dev && allowed[i].ino == st->st_ino) return true;
    return false;
}

static void make_root(void)
{
    char d[300], p[700], q[700];
    FZ_CHECK(realpath(fz_scratch("fsroot"), d) != NULL, "realpath");
#define AT(rel) (snprintf(p, sizeof p, "%s/%s", d, rel), p)
#define LINK(target, rel) fz_symlink(target, AT(rel))
#define ABSLINK(target_rel, rel)                                                                   \
    (snprintf(q, sizeof q, "%s/%s", d, target_rel), fz_symlink(q, AT(rel)))
    /* outside the root, including a sibling whose name has the root's as prefix */
    fz_write(AT("outside.txt"), "out\n", 4);
    fz_mkdir(AT("root2"));
    fz_write(AT("root2/x.txt"), "out\n", 4);
    /* hidden: never served */
    fz_mkdir(AT("root"));
    fz_write(AT("root/.hidden"), "h\n", 2);
    fz_mkdir(AT("root/.hdir"));
    fz_write(AT("root/.hdir/e.txt"), "h\n", 2);
    fz_mkdir(AT("root/sub"));
    fz_write(AT("root/sub/.hid2"), "h\n", 2);
    /* served */
    allow(AT("root"));
    allow(AT("root/sub"));
    fz_write(AT("root/a.txt"), "a\n", 2);
    allow(p);
    fz_write(AT("root/b.html"), "b\n", 2);
    allow(p);
    fz_write(AT("root/sub/c.txt"), "c\n", 2);
    allow(p);
    fz_mkdir(AT("root/sub/deeper"));
    allow(p);
    fz_write(AT("root/sub/deeper/d.txt"), "d\n", 2);
    allow(p);
    fz_mkdir(AT("root/empty"));
    allow(p);
    /* links that stay inside */
    LINK("a.txt", "root/link_in");
    LINK("sub", "root/link_dir");
    LINK("sub/deeper", "root/link_deep");
    LINK("sub/../a.txt", "root/link_dotdot_in");
    LINK("../a.txt", "root/sub/link_back");
    LINK(".", "root/sub/link_self");
    LINK("../link_dir/deeper", "root/sub/link_chain");
    ABSLINK("root/a.txt", "root/link_abs_in");
    ABSLINK("root", "root/link_abs_root");
    /* links that leave, loop, dangle or point at hidden names */
    LINK("..", "root/link_up");
    LINK("../outside.txt", "root/link_out");
    LINK("../../outside.txt", "root/sub/link_esc");
    LINK("../root2/x.txt", "root/link_sibling");
    ABSLINK("outside.txt", "root/link_abs_out");
    ABSLINK("root2/x.txt", "root/link_prefix");
    ABSLINK("root/../outside.txt", "root/link_abs_dotdot");
    LINK("/", "root/link_slash");
    LINK(".hidden", "root/link_hidden");
    LINK(".hdir/e.txt", "root/link_hdir");
    LINK("sub/.hid2", "root/link_hid2");
    LINK("loop", "root/loop");
    LINK("loop_b", "root/loop_a");
    LINK("loop_a", "root/loop_b");
    LINK("nothere", "root/dangling");
    FZ_CHECK(mkfifo(AT("root/fifo"), 0644) == 0, "mkfifo: %s", strerror(errno));
    root = fsroot_new(AT("root"));
    FZ_CHECK(root != NULL, "fsroot_new: %s", strerror(errno));
#undef AT
#undef LINK
#undef ABSLINK
}

static void check_fd(int fd, const char *what, const char *path)
{
    struct stat st;
    FZ_CHECK(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
    FZ_CHECK(is_allowed(&st), "%s(\"%s\") opened a file that is not a served fixture (ino %lu)",
             what, path, (unsigned long)st.st_ino);
}

static void check_canonical(const char *p)
{
    size_t n = strlen(p);
    FZ_CHECK(n > 0 && n < FSROOT_PATH_MAX && p[0] == '/', "not canonical: \"%s\"", p);
    if (n == 1) return;
    FZ_CHECK(p[n - 1] != '/', "trailing slash: \"%s\"", p);
    for (const char *c = p; c && *c; c = strchr(c + 1, '/')) {
        FZ_CHECK(c[1] != '/' && c[1] != '\0', "empty component: \"%s\"", p);
        FZ_CHECK(c[1] != '.', "dot or hidden component: \"%s\"", p);
    }
}

static void check_decoded(const char *out, size_t inlen)
{
    size_t n = strlen(out);
    FZ_CHECK(n <= inlen, "decode grew the path");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        FZ_CHECK(c >= 0x20 && c != 0x7f && c != '\\', "decode let byte 0x%02x through", c);
    }
}

/* The walk's visitor: every name looked up is one component, never hidden,
 * in a directory of the root. */
static void on_visit(void *arg, int fd, const char *name)
{
    (void)arg;
    struct stat st;
    FZ_CHECK(fstat(fd, &st) == 0, "visited a closed fd");
    if (!name) return; /* the opened object: checked by the caller */
    FZ_CHECK(S_ISDIR(st.st_mode), "name \"%s\" looked up in a non-directory", name);
    FZ_CHECK(strcmp(name, ".") == 0 || (name[0] != '.' && name[0] && !strchr(name, '/')),
             "visited name \"%s\"", name);
}

/* fsroot_open one way: the fd is checked and closed; returns the result
 * (the inode in *ino when open). */
static int open_one(const char *path, int how, ino_t *ino)
{
    struct stat st, st2;
    int fd = how == 2 ? fsroot_open_traced(root, path, &st, on_visit, NULL)
                      : fsroot_open(root, path, &st);
    FZ_CHECK(fd >= 0 || (fd >= FSROOT_EIO && fd <= FSROOT_EBADPATH), "bad result %d", fd);
    if (fd < 0) return fd;
    check_fd(fd, "fsroot_open", path);
    int fl = fcntl(fd, F_GETFD);
    FZ_CHECK(fl >= 0 && (fl & FD_CLOEXEC), "fsroot_open's fd is inherited by children");
    FZ_CHECK(fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino, "st does not match the fd");
    FZ_CHECK(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode), "neither file nor dir");
    *ino = st.st_ino;
    close(fd);
    return FSROOT_OK;
}

/* openat2 (where the kernel has it), the walk and the traced walk must
 * agree on every path. */
static void do_open(const char *path)
{
    ino_t ino[3] = {0, 0, 0};
    bool fast = fsroot_use_openat2(root, true);
    int rc0 = open_one(path, 0, &ino[0]);
    fsroot_use_openat2(root, false);
    int rc1 = open_one(path, 1, &ino[1]);
    int rc2 = open_one(path, 2, &ino[2]);
    fsroot_use_openat2(root, fast);
    FZ_CHECK(rc0 == rc1 && ino[0] == ino[1], "openat2 (%d) and the walk (%d) disagree on %s", rc0,
             rc1, path);
    FZ_CHECK(rc1 == rc2 && ino[1] == ino[2], "the traced walk (%d) disagrees (%d) on %s", rc2, rc1,
             path);
    struct stat st2;
    int rc = fsroot_stat(root, path, &st2);
    FZ_CHECK((rc == FSROOT_OK) == (rc0 == FSROOT_OK), "fsroot_stat disagrees with fsroot_open");
}

static void do_list(const char *path)
{
    struct fsroot_entry *v;
    size_t n;
    int rc = fsroot_list(root, path, &v, &n);
    if (rc != FSROOT_OK) {
        FZ_CHECK(v == NULL && n == 0, "failed list left entries");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(v[i].name[0] != '.' && v[i].name[0] != '\0', "listed \"%s\"", v[i].name);
        FZ_CHECK(strchr(v[i].name, '/') == NULL, "listed a name with '/'");
        FZ_CHECK(i == 0 || strcmp(v[i - 1].name, v[i].name) < 0, "listing not sorted");
    }
    free(v);
}

static void do_parent(const char *path)
{
    char leaf[FSROOT_NAME_MAX + 1];
    int fd = fsroot_open_parent(root, path, leaf, sizeof leaf);
    if (fd < 0) return;
    check_fd(fd, "fsroot_open_parent", path);
    FZ_CHECK(leaf[0] && leaf[0] != '.' && !strchr(leaf, '/'), "bad leaf \"%s\"", leaf);
    close(fd);
}

static void do_upload(const char *path)
{
    struct fsroot_upload u;
    if (fsroot_upload_begin(root, path, 0644, &u) != FSROOT_OK) return;
    check_fd(u.dirfd, "fsroot_upload_begin", path);
    FZ_CHECK(u.tmp[0] == '.', "temp file \"%s\" is not hidden", u.tmp);
    FZ_CHECK(u.leaf[0] && u.leaf[0] != '.', "bad leaf \"%s\"", u.leaf);
    int dir = dup(u.dirfd);
    FZ_CHECK(dir >= 0, "dup");
    char tmp[sizeof u.tmp];
    memcpy(tmp, u.tmp, sizeof tmp);
    fsroot_upload_abort(&u);
    struct stat st;
    FZ_CHECK(fstatat(dir, tmp, &st, AT_SYMLINK_NOFOLLOW) != 0, "temp file left after abort");
    close(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root) {
        make_root();
        fz_fds_snapshot();
    }
    if (size < 1 || size > 3 * FSROOT_PATH_MAX) return 0;
    int op = data[0] % 5;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    char buf[3 * FSROOT_PATH_MAX + 1], cwd[FSROOT_PATH_MAX], path[FSROOT_PATH_MAX];
    if (op == 0) {
        char dec[FSROOT_PATH_MAX];
        if (fsroot_decode(in, n, dec, sizeof dec) != FSROOT_OK) return 0;
        check_decoded(dec, n);
        if (fsroot_resolve(root, "/", dec, 0, path, sizeof path) != FSROOT_OK) return 0;
        check_canonical(path);
        do_open(path);
    } else {
        /* C strings, as the FTP session hands them over: "cwd\npath". */
        memcpy(buf, in, n);
        buf[n] = '\0';
        char *nl = strchr(buf, '\n'), *p = buf;
        strcpy(cwd, "/");
        if (nl) {
            *nl = '\0';
            p = nl + 1;
            if (fsroot_resolve(root, "/", buf, FSROOT_ALLOW_DOTDOT, cwd, sizeof cwd) != FSROOT_OK)
                return 0;
            check_canonical(cwd);
        }
        if (fsroot_resolve(root, cwd, p, FSROOT_ALLOW_DOTDOT, path, sizeof path) != FSROOT_OK)
            return 0;
        check_canonical(path);
        if (op == 1)
            do_open(path);
        else if (op == 2)
            do_list(path);
        else if (op == 3)
            do_parent(path);
        else
            do_upload(path);
    }
    fz_fds_check("fsroot");
    return 0;
}
