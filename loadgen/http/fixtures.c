/* fixtures.c - the deterministic fixture tree (see fixtures.h).
 *
 * Binary files come from splitmix64 with a fixed seed per file, written as
 * little-endian 64-bit words, so the bytes are the same on every machine and
 * every run (rand() would not be). Each file is generated in chunks and
 * compared with what is on disk; a file that differs (or is missing) is
 * written to a temporary name and renamed into place. */
#include "fixtures.h"

#include "os/atomicfile.h"
#include "splitmix64.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 65536 /* a multiple of 8: chunks do not split PRNG words */

struct fixture {
    const char *path;
    const char *text; /* NULL: size bytes of PRNG output from seed */
    uint64_t size;
    uint64_t seed;
};

static const char *const dirs[] = {"dir", "dir/sub", "ftp", "ftp/sub", "upload"};

static const struct fixture files[] = {
    {"index.html",
     "<!DOCTYPE html>\n<html><head><title>servermodels</title></head>\n"
     "<body><p>It works.</p></body></html>\n",
     0, 0},
    {"hello.txt", "Hello, world!\n", 0, 0},
    {"a.txt", "a\n", 0, 0},
    {"b.txt", "bb\nbb\n", 0, 0},
    {"c.txt", "The quick brown fox jumps over the lazy dog.\n", 0, 0},
    {"1k.bin", NULL, 1024, 1},
    {"64k.bin", NULL, 65536, 2},
    {"1m.bin", NULL, 1048576, 3},
    {"16m.bin", NULL, 16777216, 4},
    {"dir/readme.txt", "A nested directory.\n", 0, 0},
    {"dir/sub/one.txt", "one\n", 0, 0},
    {"dir/sub/two.bin", NULL, 4096, 5},
    {"ftp/alpha.txt", "alpha\n", 0, 0},
    {"ftp/beta.txt", "beta beta\n", 0, 0},
    {"ftp/gamma.bin", NULL, 2048, 6},
    {"ftp/delta.txt", "delta delta delta\n", 0, 0},
    {"ftp/sub/inner.txt", "inner\n", 0, 0},
};

struct gen {
    const struct fixture *fx;
    uint64_t off;
    uint64_t state;
};

static uint64_t fixture_size(const struct fixture *fx)
{
    return fx->text ? strlen(fx->text) : fx->size;
}

/* The next chunk of the file's bytes; returns its length (0 at the end). */
static size_t gen_next(struct gen *g, unsigned char *buf)
{
    uint64_t left = fixture_size(g->fx) - g->off;
    size_t n = left < CHUNK ? (size_t)left : CHUNK;
    if (g->fx->text) {
        memcpy(buf, g->fx->text + g->off, n);
    } else {
        for (size_t i = 0; i < n; i += 8) {
            uint64_t w = splitmix64(&g->state);
            for (size_t k = 0; k < 8 && i + k < n; k++)
                buf[i + k] = (unsigned char)(w >> (8 * k));
        }
    }
    g->off += n;
    return n;
}

static int read_full(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Does path already hold exactly the fixture's bytes? */
static bool up_to_date(const char *path, const struct fixture *fx, unsigned char *want,
                       unsigned char *have)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    struct stat sb;
    bool same =
        fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == fixture_size(fx);
    struct gen g = {.fx = fx, .state = fx->seed};
    size_t n;
    while (same && (n = gen_next(&g, want)) > 0)
        same = read_full(fd, have, n) == 0 && memcmp(want, have, n) == 0;
    close(fd);
    return same;
}

static int write_fixture(const char *path, const struct fixture *fx, unsigned char *buf)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return -1;
    struct gen g = {.fx = fx, .state = fx->seed};
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = gen_next(&g, buf)) > 0)
        rc = write_all(fd, buf, n);
    if (close(fd) != 0) rc = -1;
    if (rc == 0) rc = rename(tmp, path);
    if (rc != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s", path) >= sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
    struct stat sb;
    if (stat(p, &sb) != 0) return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int create_all(const char *dir, unsigned char *want, unsigned char *have, char *err,
                      size_t errlen)
{
    char path[PATH_MAX];
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, dirs[i]);
        if (make_dirs(path) != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, files[i].path) >= sizeof path) {
            snprintf(err, errlen, "%s: path too long", dir);
            return -1;
        }
        if (up_to_date(path, &files[i], want, have)) continue;
        if (write_fixture(path, &files[i], want) != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int fixtures_create(const char *dir, char *err, size_t errlen)
{
    if (!*dir) {
        snprintf(err, errlen, "fixtures: empty directory name");
        return -1;
    }
    unsigned char *want = malloc(CHUNK), *have = malloc(CHUNK);
    int rc = -1;
    if (want && have)
        rc = create_all(dir, want, have, err, errlen);
    else
        snprintf(err, errlen, "fixtures: out of memory");
    free(want);
    free(have);
    return rc;
}
