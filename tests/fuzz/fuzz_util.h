/* fuzz_util.h - what the fuzz targets share: invariant checks that abort
 * (so libFuzzer and the replay driver both report them), a scratch
 * directory removed at exit, and an open-fd census for leak checks. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Aborts with the message when cond is false: an invariant was violated. */
#define FZ_CHECK(cond, ...) ((cond) ? (void)0 : fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))
void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* mkdtemp("/tmp/fuzz-<tag>-XXXXXX"), removed recursively at exit; the path
 * (static storage) or an abort. */
const char *fz_scratch(const char *tag);
/* Creates path with contents (len bytes); aborts on failure. */
void fz_write(const char *path, const void *data, size_t len);
/* mkdir / symlink that abort on failure. */
void fz_mkdir(const char *path);
void fz_symlink(const char *target, const char *path);

/* Open-fd census: fz_fds_snapshot() once the target is set up, then
 * fz_fds_check() after every input aborts when an fd is open that was not
 * open at the snapshot (a leak). */
void fz_fds_snapshot(void);
void fz_fds_check(const char *what);

/* A deterministic cycle over the control bytes at the head of an input. */
struct fz_cycle {
    const uint8_t *v;
    size_t n, i;
};
static inline unsigned fz_next(struct fz_cycle *c)
{
    if (c->n == 0) return 0;
    unsigned x = c->v[c->i % c->n];
    c->i++;
    return x;
}

#endif
