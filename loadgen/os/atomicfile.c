/* atomicfile.c - files that appear whole or not at all (see atomicfile.h). */
#include "atomicfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The process's umask (umask(2) can only be read by setting it). */
static mode_t current_umask(void)
{
    mode_t m = umask(022);
    umask(m);
    return m;
}

static void release(struct atomic_file *a)
{
    free(a->path);
    free(a->tmp);
    *a = (struct atomic_file){0};
}

int atomic_open(struct atomic_file *a, const char *path, char *err, size_t errlen)
{
    *a = (struct atomic_file){0};
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) {
        release(a);
        return errf(err, errlen, "%s: out of memory", path);
    }
    snprintf(a->tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    /* mkstemp() makes it 0600, and the mode survives the rename: results
     * are as readable as any file the user makes. */
    if (fd >= 0 && fchmod(fd, 0644 & ~current_umask()) == 0) a->f = fdopen(fd, "w");
    if (!a->f) {
        errf(err, errlen, "%s: %s", a->tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(a->tmp);
        }
        release(a);
        return -1;
    }
    return 0;
}

int atomic_commit(struct atomic_file *a, char *err, size_t errlen)
{
    int rc = 0;
    if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0)
        rc = errf(err, errlen, "%s: %s", a->tmp, strerror(errno ? errno : EIO));
    if (fclose(a->f) != 0 && rc == 0) rc = errf(err, errlen, "%s: %s", a->tmp, strerror(errno));
    a->f = NULL;
    if (rc == 0 && rename(a->tmp, a->path) != 0)
        rc = errf(err, errlen, "%s: %s", a->path, strerror(errno));
    if (rc != 0) unlink(a->tmp);
    release(a);
    return rc;
}

void atomic_abort(struct atomic_file *a)
{
    if (a->f) {
        fclose(a->f);
        unlink(a->tmp);
    }
    release(a);
}

int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
