/* atomicfile.h - files that appear whole or not at all: written to a
 * temporary file next to the target, fsync'ed, renamed into place. Also the
 * one "message into err" helper the writers and readers share. */
#ifndef LOADGEN_ATOMICFILE_H
#define LOADGEN_ATOMICFILE_H

#include <stddef.h>
#include <stdio.h>

struct atomic_file {
    FILE *f;    /* write here */
    char *path; /* the target */
    char *tmp;  /* the temporary file */
};

/* Open a temporary file beside path, mode 0644 less the umask (as cp or a
 * shell's > would make it: results readable by a web server or a CI artifact
 * step). 0, or -1 with err. */
int atomic_open(struct atomic_file *a, const char *path, char *err, size_t errlen);
/* Flush, fsync, rename into place, free. On any failure the temporary file
 * is removed and -1 returned with err. */
int atomic_commit(struct atomic_file *a, char *err, size_t errlen);
/* Remove the temporary file and free (safe on a zeroed or failed one). */
void atomic_abort(struct atomic_file *a);

/* write(2) all n bytes (retrying short writes and EINTR). 0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t n);

/* vsnprintf into err; returns -1, so `return errf(err, errlen, ...)` reads well. */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
