/* fuzz_util.c - see fuzz_util.h. */
#define _XOPEN_SOURCE 700
#include "fuzz_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    /* straight to fd 2: a target may have pointed stderr elsewhere */
    dprintf(2, "\n%s:%d: invariant violated: %s\n  ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vdprintf(2, fmt, ap);
    va_end(ap);
    dprintf(2, "\n");
    abort();
}

/* Test-harness state (the fixture directories), not part of the project. */
static char scratch[8][256];
static int nscratch;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_scratch(void)
{
    for (int i = 0; i < nscratch; i++)
        nftw(scratch[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_scratch(const char *tag)
{
    FZ_CHECK(nscratch < 8, "too many scratch dirs");
    char *d = scratch[nscratch];
    const char *tmp = getenv("TMPDIR");
    snprintf(d, sizeof scratch[0], "%s/fuzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    FZ_CHECK(mkdtemp(d) != NULL, "mkdtemp %s: %s", d, strerror(errno));
    if (nscratch++ == 0) atexit(rm_scratch);
    return d;
}

void fz_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FZ_CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
    FZ_CHECK(write(fd, data, len) == (ssize_t)len, "write %s", path);
    close(fd);
}

void fz_mkdir(const char *path)
{
    FZ_CHECK(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

void fz_symlink(const char *target, const char *path)
{
    FZ_CHECK(symlink(target, path) == 0, "symlink %s: %s", path, strerror(errno));
}

#define FD_SCAN 256
static bool fd_open_at_start[FD_SCAN];

void fz_fds_snapshot(void)
{
    for (int fd = 0; fd < FD_SCAN; fd++)
        fd_open_at_start[fd] = fcntl(fd, F_GETFD) != -1;
}

void fz_fds_check(const char *what)
{
    for (int fd = 0; fd < FD_SCAN; fd++)
        FZ_CHECK(fd_open_at_start[fd] || fcntl(fd, F_GETFD) == -1, "fd %d leaked (%s)", fd, what);
}
