/* Fixture helpers shared by every unit test: one scratch directory per test
 * program (created by the group setup, removed by the group teardown), files
 * written, read and removed in it. A helper that cannot do its job fails the
 * running test through cmocka, so callers need not check for errors. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Creates a new directory $TMPDIR/PREFIX-XXXXXX ($TMPDIR defaults to /tmp)
 * and makes it the scratch directory of the helpers below. The path is the
 * real one (no symlink in it), so absolute symlinks into it resolve to
 * themselves. Returns the path, or NULL on error. */
const char *scratch_create(const char *prefix);

/* Removes the scratch directory and everything in it. 0, or -1. */
int scratch_remove(void);

/* The scratch directory ("" when there is none). */
const char *scratch_dir(void);

/* SCRATCH/rel. The result lives in one of a ring of static buffers: it stays
 * valid for the next 15 calls of scratch_path() and the helpers below. */
const char *scratch_path(const char *rel);

/* Creates or truncates SCRATCH/rel with the len bytes at data; returns its
 * path (as scratch_path does). scratch_write_text writes a C string. */
const char *scratch_write(const char *rel, const void *data, size_t len);
const char *scratch_write_text(const char *rel, const char *text);

void scratch_mkdir(const char *rel);
void scratch_symlink(const char *target, const char *rel);

/* True if SCRATCH/rel exists (a dangling symlink exists). */
bool scratch_exists(const char *rel);

/* How many entries of directory SCRATCH/rel have names starting with prefix
 * ("" counts all; "." and ".." are never counted). */
int scratch_count_entries(const char *rel, const char *prefix);

/* The whole file at path, malloc'ed and NUL-terminated (the caller frees);
 * its length in *len if len is not NULL. NULL if it cannot be opened. */
char *read_whole_file(const char *path, size_t *len);

/* Removes path and, for a directory, everything below it, without following
 * symlinks (nftw, depth first). 0, or -1 with errno set. */
int remove_tree(const char *path);

/* Redirects file descriptor 2 into a scratch file until capture_stderr_end(),
 * which restores it and returns what was written (malloc'ed, NUL-terminated;
 * the caller frees). */
void capture_stderr_begin(void);
char *capture_stderr_end(void);

/* PROJECT_SOURCE_DIR/rel, e.g. repo_path("scenarios"), as scratch_path. */
const char *repo_path(const char *rel);

/* Calls each(path) for every entry of dir whose name ends in suffix, in name
 * order. Returns how many there were; fails the test if dir cannot be read. */
int for_each_file(const char *dir, const char *suffix, void (*each)(const char *path));

/* A command whose main takes its output streams (loadgen's merge_main,
 * scenario_from_log_main, compare_main), run with both captured. */
struct captured {
    int rc;
    char out[65536], err[8192];
};
void run_captured(int (*cmd)(int, char **, FILE *, FILE *), int argc, const char **argv,
                  struct captured *res);

#endif
