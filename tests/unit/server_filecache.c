/* Unit tests of the open-file cache (servers/core/filecache.c): hits and
 * misses, every kind of change seen by the very next lookup (inotify mode
 * and the fstatat fallback), eviction by entries, bytes and fds, borrowed
 * entries outliving their invalidation, a fork, and threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "filecache.h"
#include "fsroot.h"
#include "test_util.h"

#define BIG (64 * 1024)

static struct fsroot *root;

static int setup(void **state)
{
    (void)state;
    assert_non_null(scratch_create("filecache-test"));
    scratch_mkdir("root");
    root = fsroot_new(scratch_path("root"));
    assert_non_null(root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fsroot_free(root);
    return scratch_remove();
}

/* ---- helpers -------------------------------------------------------------- */

static struct filecache *cache_new(enum filecache_mode mode)
{
    struct filecache_limits lim = FILECACHE_LIMITS_DEFAULT;
    lim.mode = mode;
    struct filecache *c = fsroot_cache_new(root, &lim);
    assert_non_null(c);
    return c;
}

static struct filecache_stats stats(struct filecache *c)
{
    struct filecache_stats s;
    filecache_get_stats(c, &s);
    return s;
}

/* The whole content of a lookup's file (malloc'ed, NUL-terminated). */
static char *content(const struct filecache_file *f)
{
    size_t n = (size_t)f->st.st_size;
    char *b = malloc(n + 1);
    assert_non_null(b);
    if (f->body) {
        memcpy(b, f->body, n);
    } else {
        assert_true(f->fd >= 0);
        assert_int_equal(pread(f->fd, b, n, 0), (ssize_t)n);
    }
    b[n] = '\0';
    return b;
}

/* Looks path up and checks its content (want NULL: rc expected instead). */
static void expect(struct filecache *c, const char *path, int rc, const char *want)
{
    struct filecache_file f;
    int got = filecache_open(c, path, &f);
    if (got != rc) fail_msg("%s: rc %d, want %d", path, got, rc);
    if (got == FSROOT_OK && want) {
        char *b = content(&f);
        if (strcmp(b, want) != 0) fail_msg("%s: \"%.40s\", want \"%.40s\"", path, b, want);
        free(b);
    }
    filecache_release(&f);
}

/* A new inode renamed over rel (what editors and deploys do). */
static void replace_text(const char *rel, const char *text)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.new", rel);
    scratch_write_text(tmp, text);
    assert_int_equal(rename(scratch_path(tmp), scratch_path(rel)), 0);
}

/* The same inode, rewritten (no O_TRUNC: a write and a truncate). */
static void rewrite_text(const char *rel, const char *text)
{
    int fd = open(scratch_path(rel), O_WRONLY);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(ftruncate(fd, (off_t)n), 0);
    close(fd);
}

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) n++;
    return n;
}

static const enum filecache_mode modes[] = {FILECACHE_INOTIFY, FILECACHE_STAT};

/* The mode a cache asked for m works in (the portable build has no inotify). */
static enum filecache_mode effective(enum filecache_mode m)
{
#if defined(__linux__) && !defined(SERVERMODELS_PORTABLE)
    return m;
#else
    return m == FILECACHE_INOTIFY ? FILECACHE_STAT : m;
#endif
}

/* ---- tests -------------------------------------------------------------- */

static void test_hit_and_miss(void **state)
{
    (void)state;
    scratch_write_text("root/hm.txt", "hello\n");
    scratch_mkdir("root/hmdir");
    for (size_t m = 0; m < 2; m++) {
        struct filecache *c = cache_new(modes[m]);
        expect(c, "/hm.txt", FSROOT_OK, "hello\n");
        expect(c, "/hm.txt", FSROOT_OK, "hello\n");
        expect(c, "/hmdir", FSROOT_OK, NULL);
        expect(c, "/hmdir", FSROOT_OK, NULL);
        expect(c, "/nope", FSROOT_ENOTFOUND, NULL);
        expect(c, "/nope", FSROOT_ENOTFOUND, NULL); /* failures are not cached */
        struct filecache_stats s = stats(c);
        assert_int_equal(s.mode, effective(modes[m]));
        assert_int_equal(s.misses, 4);
        assert_int_equal(s.hits, 2);
        assert_int_equal(s.entries, 2);
        assert_int_equal(s.bytes, 6);
        assert_int_equal(s.fds, 0); /* small files are kept in memory */
        struct filecache_file f;
        assert_int_equal(filecache_open(c, "/hmdir", &f), FSROOT_OK);
        assert_true(S_ISDIR(f.st.st_mode));
        assert_int_equal(f.fd, -1);
        assert_null(f.body);
        filecache_release(&f);
        filecache_release(&f); /* twice is harmless */
        filecache_free(c);
    }
    assert_int_equal(unlink(scratch_path("root/hm.txt")), 0);
}

/* Each change, on a path cached in both modes, is seen by the next lookup. */
static void test_every_change_is_seen(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        bool in = effective(modes[m]) == FILECACHE_INOTIFY;
        scratch_mkdir("root/ch");
        scratch_mkdir("root/ch/d");
        scratch_mkdir("root/ch/other");
        scratch_write_text("root/ch/d/f.txt", "version 1");
        scratch_write_text("root/ch/other/f.txt", "in other");
        struct filecache *c = cache_new(modes[m]);
        expect(c, "/ch/d/f.txt", FSROOT_OK, "version 1");
        expect(c, "/ch/d/f.txt", FSROOT_OK, "version 1");
        /* rename over */
        replace_text("root/ch/d/f.txt", "version 2");
        expect(c, "/ch/d/f.txt", FSROOT_OK, "version 2");
        /* rewrite in place (the fallback needs another size within a tick) */
        rewrite_text("root/ch/d/f.txt", in ? "version 3" : "version three");
        expect(c, "/ch/d/f.txt", FSROOT_OK, in ? "version 3" : "version three");
        /* chmod: root may still read it, but the entry must go */
        unsigned long inv = stats(c).invalidations;
        assert_int_equal(chmod(scratch_path("root/ch/d/f.txt"), 0), 0);
        expect(c, "/ch/d/f.txt", geteuid() == 0 ? FSROOT_OK : FSROOT_EFORBIDDEN, NULL);
        assert_true(stats(c).invalidations > inv);
        assert_int_equal(chmod(scratch_path("root/ch/d/f.txt"), 0644), 0);
        expect(c, "/ch/d/f.txt", FSROOT_OK, in ? "version 3" : "version three");
        /* a new symlink in a directory of the path */
        assert_int_equal(rename(scratch_path("root/ch/d"), scratch_path("root/ch/d.old")), 0);
        scratch_symlink("other", "root/ch/d");
        expect(c, "/ch/d/f.txt", FSROOT_OK, "in other");
        assert_int_equal(unlink(scratch_path("root/ch/d")), 0);
        assert_int_equal(rename(scratch_path("root/ch/d.old"), scratch_path("root/ch/d")), 0);
        expect(c, "/ch/d/f.txt", FSROOT_OK, in ? "version 3" : "version three");
        /* the parent directory renamed, then removed */
        assert_int_equal(rename(scratch_path("root/ch"), scratch_path("root/ch2")), 0);
        expect(c, "/ch/d/f.txt", FSROOT_ENOTFOUND, NULL);
        expect(c, "/ch2/d/f.txt", FSROOT_OK, in ? "version 3" : "version three");
        assert_int_equal(remove_tree(scratch_path("root/ch2/d")), 0);
        expect(c, "/ch2/d/f.txt", FSROOT_ENOTFOUND, NULL);
        /* deletion */
        expect(c, "/ch2/other/f.txt", FSROOT_OK, "in other");
        assert_int_equal(unlink(scratch_path("root/ch2/other/f.txt")), 0);
        expect(c, "/ch2/other/f.txt", FSROOT_ENOTFOUND, NULL);
        filecache_free(c);
        assert_int_equal(remove_tree(scratch_path("root/ch2")), 0);
    }
}

/* A symlink on the path: its target's directories are watched too. */
static void test_symlinked_path(void **state)
{
    (void)state;
    scratch_mkdir("root/sl");
    scratch_mkdir("root/sl/real");
    scratch_write_text("root/sl/real/f.txt", "real 1");
    scratch_symlink("real", "root/sl/link");
    struct filecache *c = cache_new(FILECACHE_INOTIFY);
    expect(c, "/sl/link/f.txt", FSROOT_OK, "real 1");
    expect(c, "/sl/link/f.txt", FSROOT_OK, "real 1");
    assert_int_equal(stats(c).hits, 1);
    replace_text("root/sl/real/f.txt", "real 2"); /* seen through the target's directory */
    expect(c, "/sl/link/f.txt", FSROOT_OK, "real 2");
    scratch_mkdir("root/sl/real2");
    scratch_write_text("root/sl/real2/f.txt", "second target");
    assert_int_equal(unlink(scratch_path("root/sl/link")), 0);
    scratch_symlink("real2", "root/sl/link"); /* the link itself re-pointed */
    expect(c, "/sl/link/f.txt", FSROOT_OK, "second target");
    assert_int_equal(rename(scratch_path("root/sl/real2"), scratch_path("root/sl/gone")), 0);
    expect(c, "/sl/link/f.txt", FSROOT_ENOTFOUND, NULL); /* the target moved away */
    scratch_symlink("../../outside", "root/sl/out");
    expect(c, "/sl/out", FSROOT_EFORBIDDEN, NULL); /* the walk's rules hold */
    filecache_free(c);
    assert_int_equal(remove_tree(scratch_path("root/sl")), 0);
}

/* A large file is kept as an open fd; a rename over it gives a new one, and
 * the borrowed old one stays readable until it is released. */
static void test_big_file_and_borrowing(void **state)
{
    (void)state;
    static char a[BIG + 1], b[BIG + 1];
    memset(a, 'a', BIG);
    memset(b, 'b', BIG);
    int before = count_fds();
    for (size_t m = 0; m < 2; m++) {
        scratch_write("root/big.bin", a, BIG);
        struct filecache *c = cache_new(modes[m]);
        struct filecache_file old, cur;
        assert_int_equal(filecache_open(c, "/big.bin", &old), FSROOT_OK);
        assert_null(old.body);
        assert_true(old.fd >= 0);
        assert_int_equal(stats(c).fds, 1);
        scratch_write("root/big.bin.new", b, BIG);
        assert_int_equal(rename(scratch_path("root/big.bin.new"), scratch_path("root/big.bin")), 0);
        assert_int_equal(filecache_open(c, "/big.bin", &cur), FSROOT_OK);
        assert_true(cur.fd != old.fd);
        char *got = content(&cur);
        assert_string_equal(got, b);
        free(got);
        got = content(&old); /* a response still sending the old file */
        assert_string_equal(got, a);
        free(got);
        filecache_release(&old);
        filecache_release(&cur);
        /* deleted: the cache keeps neither its bytes nor its fd */
        assert_int_equal(unlink(scratch_path("root/big.bin")), 0);
        expect(c, "/big.bin", FSROOT_ENOTFOUND, NULL);
        assert_int_equal(stats(c).fds, 0);
        assert_int_equal(count_fds(), before + (effective(modes[m]) == FILECACHE_INOTIFY));
        filecache_free(c);
        assert_int_equal(count_fds(), before);
    }
}

static void test_eviction(void **state)
{
    (void)state;
    char name[64];
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "root/ev%d.txt", i);
        scratch_write(name, "0123456789", 10);
    }
    static char big[BIG];
    memset(big, 'x', sizeof big);
    scratch_write("root/ev_big1", big, sizeof big);
    scratch_write("root/ev_big2", big, sizeof big);
    struct filecache_limits lim = {FILECACHE_INOTIFY, 4, 25, 1, FILECACHE_SMALL_MAX};
    struct filecache *c = fsroot_cache_new(root, &lim);
    assert_non_null(c);
    expect(c, "/ev0.txt", FSROOT_OK, "0123456789");
    expect(c, "/ev1.txt", FSROOT_OK, "0123456789");
    expect(c, "/ev0.txt", FSROOT_OK, "0123456789"); /* ev0 is now the most recent */
    expect(c, "/ev2.txt", FSROOT_OK, "0123456789"); /* 30 bytes > 25: ev1 goes */
    struct filecache_stats s = stats(c);
    assert_int_equal(s.entries, 2);
    assert_int_equal(s.bytes, 20);
    assert_int_equal(s.evictions, 1);
    expect(c, "/ev0.txt", FSROOT_OK, "0123456789");
    assert_int_equal(stats(c).hits, 2);
    expect(c, "/ev1.txt", FSROOT_OK, "0123456789");
    assert_int_equal(stats(c).misses, 4);
    /* fds: one at most */
    expect(c, "/ev_big1", FSROOT_OK, NULL);
    expect(c, "/ev_big2", FSROOT_OK, NULL);
    s = stats(c);
    assert_int_equal(s.fds, 1);
    assert_true(s.entries <= 4);
    /* entries: four at most */
    for (int i = 3; i < 6; i++) {
        snprintf(name, sizeof name, "/ev%d.txt", i);
        expect(c, name, FSROOT_OK, "0123456789");
    }
    s = stats(c);
    assert_true(s.entries <= 4);
    assert_true(s.bytes <= 25);
    assert_true((s.watches > 0) == (effective(FILECACHE_INOTIFY) == FILECACHE_INOTIFY));
    filecache_flush(c);
    s = stats(c);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.fds, 0);
    assert_int_equal(s.watches, 0); /* no watch outlives the entries that needed it */
    filecache_free(c);
}

static void test_off_and_env(void **state)
{
    (void)state;
    scratch_write_text("root/off.txt", "off");
    struct filecache *c = cache_new(FILECACHE_OFF);
    struct filecache_file f;
    assert_int_equal(filecache_open(c, "/off.txt", &f), FSROOT_OK);
    assert_null(f.body);
    assert_true(f.fd >= 0);
    filecache_release(&f);
    assert_int_equal(filecache_open(c, "/off.txt", &f), FSROOT_OK);
    filecache_release(&f);
    assert_int_equal(stats(c).entries, 0);
    filecache_free(c);
    setenv("REFSERVER_FILECACHE", "stat", 1);
    c = fsroot_cache_new(root, NULL);
    expect(c, "/off.txt", FSROOT_OK, "off");
    assert_int_equal(stats(c).mode, FILECACHE_STAT);
    filecache_free(c);
    unsetenv("REFSERVER_FILECACHE");
    c = fsroot_cache_new(root, NULL);
    expect(c, "/off.txt", FSROOT_OK, "off");
    assert_int_equal(stats(c).mode, effective(FILECACHE_INOTIFY));
    filecache_free(c);
}

/* A cache set up before fork(): the child starts its own (its lookups do
 * not eat the parent's events), and both see a change made in the child. */
static void test_fork(void **state)
{
    (void)state;
    scratch_write_text("root/fork.txt", "before");
    struct filecache *c = cache_new(FILECACHE_INOTIFY);
    expect(c, "/fork.txt", FSROOT_OK, "before");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct filecache_file f;
        int ok = filecache_open(c, "/fork.txt", &f) == FSROOT_OK && f.body &&
                 memcmp(f.body, "before", 6) == 0;
        filecache_release(&f);
        replace_text("root/fork.txt", "after!");
        ok = ok && filecache_open(c, "/fork.txt", &f) == FSROOT_OK && f.body &&
             memcmp(f.body, "after!", 6) == 0;
        filecache_release(&f);
        ok = ok && stats(c).misses == 3 && stats(c).hits == 0; /* its own, empty cache */
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect(c, "/fork.txt", FSROOT_OK, "after!");
    filecache_free(c);
}

/* Threads look up while the main thread replaces the file: a lookup begun
 * after a replacement returned never sees an older version. */
struct racer {
    struct filecache *c;
    atomic_int *version; /* published after each replacement returned */
    int bad;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < 3000; i++) {
        int v = atomic_load(r->version);
        struct filecache_file f;
        if (filecache_open(r->c, "/race.txt", &f) != FSROOT_OK || !f.body) {
            r->bad++;
            continue;
        }
        char text[32];
        size_t n = (size_t)f.st.st_size < sizeof text - 1 ? (size_t)f.st.st_size : 0;
        memcpy(text, f.body, n);
        text[n] = '\0';
        if (atoi(text) < v) r->bad++;
        filecache_release(&f);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    scratch_write_text("root/race.txt", "0");
    atomic_int version = 0;
    struct filecache *c = cache_new(FILECACHE_INOTIFY);
    struct racer r[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        r[i] = (struct racer){c, &version, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    char text[32];
    for (int v = 1; v <= 200; v++) {
        snprintf(text, sizeof text, "%d", v);
        replace_text("root/race.txt", text);
        atomic_store(&version, v);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].bad, 0);
    }
    filecache_free(c);
}

/* filecache_batch(): a change made before the batch began is seen by its
 * first lookup; within the batch the queue is drained once (a change made
 * after that may wait for the next batch: its request came later); a new
 * batch, more bytes taken in (filecache_batch_more), or another thread, sees
 * it at once. */
static void *lookup_fresh(void *arg)
{
    expect(arg, "/batch.txt", FSROOT_OK, "3");
    return NULL;
}

static void test_batch(void **state)
{
    (void)state;
    scratch_write_text("root/batch.txt", "1");
    struct filecache *c = cache_new(FILECACHE_INOTIFY);
    expect(c, "/batch.txt", FSROOT_OK, "1");
    replace_text("root/batch.txt", "2");
    filecache_batch(c);
    expect(c, "/batch.txt", FSROOT_OK, "2");
    replace_text("root/batch.txt", "3");
    if (effective(FILECACHE_INOTIFY) == FILECACHE_INOTIFY) /* not drained again */
        expect(c, "/batch.txt", FSROOT_OK, "2");
    pthread_t t; /* another thread drains at every lookup */
    assert_int_equal(pthread_create(&t, NULL, lookup_fresh, c), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    filecache_batch(c);
    expect(c, "/batch.txt", FSROOT_OK, "3");
    replace_text("root/batch.txt", "3b");
    filecache_batch_more(); /* more bytes came in: the next lookup drains */
    expect(c, "/batch.txt", FSROOT_OK, "3b");
    filecache_batch(NULL); /* this thread back to a drain per lookup */
    replace_text("root/batch.txt", "4");
    expect(c, "/batch.txt", FSROOT_OK, "4");
    filecache_free(c);
    assert_int_equal(unlink(scratch_path("root/batch.txt")), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_miss),   cmocka_unit_test(test_every_change_is_seen),
        cmocka_unit_test(test_symlinked_path), cmocka_unit_test(test_big_file_and_borrowing),
        cmocka_unit_test(test_eviction),       cmocka_unit_test(test_off_and_env),
        cmocka_unit_test(test_fork),           cmocka_unit_test(test_threads),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
