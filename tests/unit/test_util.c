/* Fixture helpers shared by every unit test (see test_util.h). */
#define _XOPEN_SOURCE 700 /* nftw() and its FTW_DEPTH / FTW_PHYS flags */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#ifndef PROJECT_SOURCE_DIR
#error "tests/CMakeLists.txt defines PROJECT_SOURCE_DIR for test_util.c"
#endif

enum { RING = 16 };

static char scratch[PATH_MAX];

/* One of RING static buffers, in turn, so a caller may hold a few results. */
static char *next_buffer(void)
{
    static char ring[RING][PATH_MAX + 256];
    static unsigned slot;
    return ring[slot++ % RING];
}

static const char *joined(const char *dir, const char *rel)
{
    char *p = next_buffer();
    int n = snprintf(p, PATH_MAX + 256, "%s/%s", dir, rel);
    assert_true(n > 0 && n < PATH_MAX + 256);
    return p;
}

const char *scratch_create(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(tmpl) || !realpath(tmpl, scratch)) {
        scratch[0] = '\0';
        return NULL;
    }
    return scratch;
}

int scratch_remove(void)
{
    if (!scratch[0]) return 0;
    int rc = remove_tree(scratch);
    scratch[0] = '\0';
    return rc;
}

const char *scratch_dir(void)
{
    return scratch;
}

const char *scratch_path(const char *rel)
{
    assert_true(scratch[0] != '\0'); /* scratch_create() first */
    return joined(scratch, rel);
}

const char *scratch_write(const char *rel, const void *data, size_t len)
{
    const char *p = scratch_path(rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        print_error("%s: %s\n", p, strerror(errno));
        fail();
    }
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
    return p;
}

const char *scratch_write_text(const char *rel, const char *text)
{
    return scratch_write(rel, text, strlen(text));
}

void scratch_mkdir(const char *rel)
{
    assert_int_equal(mkdir(scratch_path(rel), 0755), 0);
}

void scratch_symlink(const char *target, const char *rel)
{
    assert_int_equal(symlink(target, scratch_path(rel)), 0);
}

bool scratch_exists(const char *rel)
{
    struct stat st;
    return lstat(scratch_path(rel), &st) == 0;
}

int scratch_count_entries(const char *rel, const char *prefix)
{
    DIR *d = opendir(scratch_path(rel));
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break; /* end of file (or an error, checked below) */
        cap *= 2;
        buf = realloc(buf, cap);
        assert_non_null(buf);
    }
    assert_false(ferror(f));
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static int saved_stderr = -1;

void capture_stderr_begin(void)
{
    assert_int_equal(saved_stderr, -1); /* not nested */
    fflush(stderr);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    const char *p = scratch_write("stderr.log", "", 0);
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
}

char *capture_stderr_end(void)
{
    assert_true(saved_stderr >= 0); /* capture_stderr_begin() first */
    fflush(stderr);
    assert_int_equal(dup2(saved_stderr, 2), 2);
    close(saved_stderr);
    saved_stderr = -1;
    char *text = read_whole_file(scratch_path("stderr.log"), NULL);
    assert_non_null(text);
    return text;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

int remove_tree(const char *path)
{
    /* FTW_DEPTH: a directory after its entries; FTW_PHYS: links, not targets. */
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *repo_path(const char *rel)
{
    return joined(PROJECT_SOURCE_DIR, rel);
}

static const char *wanted_suffix; /* scandir's filter has no user pointer */

static int has_wanted_suffix(const struct dirent *e)
{
    size_t n = strlen(e->d_name), k = strlen(wanted_suffix);
    return n > k && strcmp(e->d_name + n - k, wanted_suffix) == 0;
}

int for_each_file(const char *dir, const char *suffix, void (*each)(const char *path))
{
    struct dirent **names;
    wanted_suffix = suffix;
    int n = scandir(dir, &names, has_wanted_suffix, alphasort);
    if (n < 0) {
        print_error("%s: %s\n", dir, strerror(errno));
        fail();
    }
    for (int i = 0; i < n; i++) {
        each(joined(dir, names[i]->d_name));
        free(names[i]);
    }
    free(names);
    return n;
}

void run_captured(int (*cmd)(int, char **, FILE *, FILE *), int argc, const char **argv,
                  struct captured *res)
{
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    res->rc = cmd(argc, (char **)argv, out, err);
    rewind(out);
    rewind(err);
    size_t n = fread(res->out, 1, sizeof res->out - 1, out);
    res->out[n] = '\0';
    n = fread(res->err, 1, sizeof res->err - 1, err);
    res->err[n] = '\0';
    fclose(out);
    fclose(err);
}
