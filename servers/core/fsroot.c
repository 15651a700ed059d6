/* fsroot.c - the document root (see fsroot.h for the rules).
 *
 * The root owns its open-file cache, and the dependency runs one way:
 * fsroot -> filecache. The cache is handed the root's way of opening a
 * path (struct filecache_source: the root's fd, fsroot_open and
 * fsroot_open_traced) and knows nothing of the rules, so it reads as a
 * cache alone; the rules stay here, in one place. Owning it, the root
 * gives every user its cache with it (fsroot_cache): HTTP and the models
 * pass a root around, never a root and a cache that must match. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath() is XSI: the portable build asks for POSIX only */
#endif
#include "fsroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filecache.h"

#if defined(__linux__) && defined(__has_include) && !defined(SERVERMODELS_PORTABLE)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#include <sys/syscall.h>
#ifdef SYS_openat2
#define HAVE_OPENAT2 1
#endif
#endif
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif

/* How every file and directory is opened: never a controlling tty, never
 * blocking on a FIFO (regular files ignore O_NONBLOCK, so it stays set:
 * no fcntl per file), never inherited by a child. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* Symlink hops allowed in one walk (Linux's own limit is 40). */
#define MAX_HOPS 40

struct fsroot {
    int fd;
    size_t len;   /* strlen(path) */
    char *path;   /* realpath of the root */
    bool openat2; /* resolve with openat2 (probed at fsroot_new) */
    struct filecache *cache;
};

/* The one-syscall resolution (Linux 5.6+): the canonical path, relative to
 * the root's fd, with RESOLVE_NO_SYMLINKS so any symlink on the way makes it
 * fail with ELOOP and the walk below takes over: the walk alone knows the
 * rules for links (absolute targets spelled under the root, no hidden names
 * in targets). RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS are the second
 * line: a canonical path has no "..", and no link is followed anyway.
 * Returns an fd, FSROOT_* for a definite refusal, or NEED_WALK. */
#define NEED_WALK (-100)
static int open_beneath(const struct fsroot *r, const char *rel)
{
#ifdef HAVE_OPENAT2
    struct open_how how = {
        .flags = OPEN_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, r->fd, rel, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    switch (errno) {
    case ENOENT:
    case ENOTDIR:
        return FSROOT_ENOTFOUND;
    case EACCES:
    case EPERM:
        return FSROOT_EFORBIDDEN;
    case ENAMETOOLONG:
        return FSROOT_ETOOLONG;
    default: /* ELOOP (a symlink), EXDEV, EAGAIN (a rename raced), ENOSYS... */
        return NEED_WALK;
    }
#else
    (void)r;
    (void)rel;
    return NEED_WALK;
#endif
}

bool fsroot_use_openat2(struct fsroot *r, bool on)
{
    r->openat2 = false;
    if (!on) return false;
    int fd = open_beneath(r, ".");
    if (fd < 0) return false;
    close(fd);
    return r->openat2 = true;
}

int fsroot_fd(const struct fsroot *r)
{
    return r->fd;
}

struct filecache *fsroot_cache(const struct fsroot *r)
{
    return r->cache;
}

/* The cache's source: the root's opens, under the cache's types. */
static int cache_open(const void *r, const char *path, struct stat *st)
{
    return fsroot_open(r, path, st);
}

static int cache_open_traced(const void *r, const char *path, struct stat *st,
                             filecache_visit_fn *visit, void *arg)
{
    return fsroot_open_traced(r, path, st, visit, arg);
}

struct filecache *fsroot_cache_new(const struct fsroot *r, const struct filecache_limits *lim)
{
    struct filecache_source src = {r, r->fd, cache_open, cache_open_traced};
    return filecache_new(&src, lim);
}

struct fsroot *fsroot_new(const char *dir)
{
    struct fsroot *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r->fd < 0) goto fail;
    r->path = realpath(dir, NULL);
    if (!r->path) goto fail;
    r->len = strlen(r->path);
    /* "/" as the root: the prefix check wants no trailing slash. */
    if (r->len == 1) r->len = 0;
    fsroot_use_openat2(r, true);
    r->cache = fsroot_cache_new(r, NULL);
    if (!r->cache) goto fail;
    return r;
fail:;
    int e = errno;
    fsroot_free(r);
    errno = e;
    return NULL;
}

void fsroot_free(struct fsroot *r)
{
    if (!r) return;
    filecache_free(r->cache);
    if (r->fd >= 0) close(r->fd);
    free(r->path);
    free(r);
}

const char *fsroot_path(const struct fsroot *r)
{
    return r->path;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int fsroot_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(in[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) return FSROOT_EBADPATH;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
            /* An encoded separator would hide a component boundary. */
            if (c == '/') return FSROOT_EBADPATH;
        }
        if (c < 0x20 || c == 0x7f || c == '\\') return FSROOT_EBADPATH;
        if (o + 1 >= cap) return FSROOT_ETOOLONG;
        out[o++] = (char)c;
    }
    if (o >= cap) return FSROOT_ETOOLONG;
    out[o] = '\0';
    return FSROOT_OK;
}

/* Appends the components of p to out[0..*len) (canonical form, no trailing
 * slash, "" standing for the root while building). */
static int join(char *out, size_t cap, size_t *len, const char *p, int flags)
{
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p) break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (memchr(p, '\\', n)) return FSROOT_EBADPATH;
        if (n == 1 && p[0] == '.') {
            /* "." is the same directory */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (!(flags & FSROOT_ALLOW_DOTDOT) || *len == 0) return FSROOT_EFORBIDDEN;
            while (*len > 0 && out[*len - 1] != '/')
                (*len)--;
            if (*len > 0) (*len)--; /* the slash itself */
        } else if (p[0] == '.') {
            return FSROOT_ENOTFOUND; /* hidden */
        } else if (n > FSROOT_NAME_MAX) {
            return FSROOT_ETOOLONG;
        } else {
            if (*len + 1 + n + 1 > cap) return FSROOT_ETOOLONG;
            out[(*len)++] = '/';
            memcpy(out + *len, p, n);
            *len += n;
        }
        p += n;
    }
    return FSROOT_OK;
}

int fsroot_resolve(const struct fsroot *root, const char *cwd, const char *path, int flags,
                   char *out, size_t cap)
{
    (void)root;
    if (cap < 2) return FSROOT_ETOOLONG;
    size_t len = 0;
    int rc = FSROOT_OK;
    if (path[0] != '/' && cwd) rc = join(out, cap, &len, cwd, flags | FSROOT_ALLOW_DOTDOT);
    if (rc == FSROOT_OK) rc = join(out, cap, &len, path, flags);
    if (rc != FSROOT_OK) return rc;
    if (len == 0) out[len++] = '/';
    out[len] = '\0';
    return FSROOT_OK;
}

static int map_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return FSROOT_ENOTFOUND;
    case EACCES:
    case EPERM:
    case ELOOP:
        return FSROOT_EFORBIDDEN;
    case ENAMETOOLONG:
        return FSROOT_ETOOLONG;
    default:
        errno = e;
        return FSROOT_EIO;
    }
}

/* comp (in directory dirfd) is a symlink: rewrites cur (dir part cur[0..dirlen),
 * rest = what followed comp) to the link's target, canonical, or refuses it. */
static int follow(const struct fsroot *r, int dirfd, const char *comp, char *cur, size_t dirlen,
                  const char *rest)
{
    char target[FSROOT_PATH_MAX], joined[2 * FSROOT_PATH_MAX];
    ssize_t n = readlinkat(dirfd, comp, target, sizeof target - 1);
    if (n < 0) return map_errno(errno);
    if ((size_t)n >= sizeof target - 1) return FSROOT_ETOOLONG;
    target[n] = '\0';
    int len;
    if (target[0] == '/') {
        /* Absolute: only a target spelled under the root's realpath, at a
         * component boundary (so /srv/root2 is not inside /srv/root). */
        if (strncmp(target, r->path, r->len) != 0) return FSROOT_EFORBIDDEN;
        if (target[r->len] != '\0' && target[r->len] != '/') return FSROOT_EFORBIDDEN;
        len = snprintf(joined, sizeof joined, "/%s%s", target + r->len, rest);
    } else {
        len = snprintf(joined, sizeof joined, "%.*s/%s%s", (int)dirlen, cur, target, rest);
    }
    if (len < 0 || (size_t)len >= sizeof joined) return FSROOT_ETOOLONG;
    /* ".." in a target may go up, but never above the root. */
    return fsroot_resolve(r, "/", joined, FSROOT_ALLOW_DOTDOT, cur, FSROOT_PATH_MAX);
}

static void close_dir(const struct fsroot *r, int fd)
{
    if (fd >= 0 && fd != r->fd) close(fd);
}

/* Who watches a walk (fsroot_open_traced): see fsroot.h. */
struct tracer {
    fsroot_visit_fn *visit;
    void *arg;
};

static void trace(const struct tracer *t, int fd, const char *name)
{
    if (t) t->visit(t->arg, fd, name);
}

/* Walks a canonical path from the root. parent: stop before the last
 * component, copy it to leaf and return the directory's fd. Otherwise return
 * an fd of the path itself (read-only, non-blocking so a FIFO cannot hang). */
static int walk(const struct fsroot *r, const char *path, char *leaf, size_t leafcap,
                const struct tracer *t)
{
    char cur[FSROOT_PATH_MAX];
    int rc = fsroot_resolve(r, "/", path, 0, cur, sizeof cur);
    if (rc != FSROOT_OK) return rc;
    int hops = 0;
restart:;
    int dirfd = r->fd;
    size_t i = 1;
    if (cur[1] == '\0') { /* the root itself */
        if (leaf) return FSROOT_EFORBIDDEN;
        trace(t, r->fd, ".");
        int fd = openat(r->fd, ".", OPEN_FLAGS | O_DIRECTORY);
        return fd >= 0 ? fd : map_errno(errno);
    }
    for (;;) {
        const char *slash = strchr(cur + i, '/');
        size_t n = slash ? (size_t)(slash - (cur + i)) : strlen(cur + i);
        bool last = slash == NULL;
        char comp[FSROOT_NAME_MAX + 1];
        memcpy(comp, cur + i, n);
        comp[n] = '\0';
        if (last && leaf) {
            if (n + 1 > leafcap) {
                close_dir(r, dirfd);
                return FSROOT_ETOOLONG;
            }
            memcpy(leaf, comp, n + 1);
            if (dirfd == r->fd) dirfd = openat(r->fd, ".", OPEN_FLAGS | O_DIRECTORY);
            return dirfd >= 0 ? dirfd : map_errno(errno);
        }
        trace(t, dirfd, comp);
        int fd = openat(dirfd, comp, OPEN_FLAGS | O_NOFOLLOW | (last ? 0 : O_DIRECTORY));
        if (fd < 0) {
            int e = errno;
            struct stat st;
            if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                rc = ++hops > MAX_HOPS ? FSROOT_EFORBIDDEN
                                       : follow(r, dirfd, comp, cur, i - 1, cur + i + n);
                close_dir(r, dirfd);
                if (rc != FSROOT_OK) return rc;
                goto restart;
            }
            close_dir(r, dirfd);
            return map_errno(e);
        }
        close_dir(r, dirfd);
        if (last) return fd;
        dirfd = fd;
        i += n + 1;
    }
}

/* The fstat of a freshly opened fd, which must be a regular file or a
 * directory. Returns fd, or an error (fd closed). */
static int settle(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return map_errno(e);
    }
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
        close(fd);
        return FSROOT_ENOTFOUND;
    }
    return fd;
}

int fsroot_open(const struct fsroot *root, const char *path, struct stat *st)
{
    int fd = NEED_WALK;
    if (root->openat2) {
        char canon[FSROOT_PATH_MAX];
        int rc = fsroot_resolve(root, "/", path, 0, canon, sizeof canon);
        if (rc != FSROOT_OK) return rc;
        fd = open_beneath(root, canon[1] ? canon + 1 : ".");
    }
    if (fd == NEED_WALK) fd = walk(root, path, NULL, 0, NULL);
    if (fd < 0) return fd;
    return settle(fd, st);
}

int fsroot_open_traced(const struct fsroot *root, const char *path, struct stat *st,
                       fsroot_visit_fn *visit, void *arg)
{
    struct tracer t = {visit, arg};
    int fd = walk(root, path, NULL, 0, &t);
    if (fd < 0) return fd;
    trace(&t, fd, NULL);
    return settle(fd, st);
}

int fsroot_stat(const struct fsroot *root, const char *path, struct stat *st)
{
    int fd = fsroot_open(root, path, st);
    if (fd < 0) return fd;
    close(fd);
    return FSROOT_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct fsroot_entry *)a)->name, ((const struct fsroot_entry *)b)->name);
}

int fsroot_list(const struct fsroot *root, const char *path, struct fsroot_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct stat st;
    int fd = fsroot_open(root, path, &st);
    if (fd < 0) return fd;
    if (!S_ISDIR(st.st_mode)) {
        close(fd);
        return FSROOT_ENOTFOUND;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return map_errno(e);
    }
    struct fsroot_entry *v = NULL;
    size_t len = 0, cap = 0;
    int rc = FSROOT_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (de->d_name[0] == '.' || nl > FSROOT_NAME_MAX) continue;
        if (len == cap) {
            cap = cap ? 2 * cap : 16;
            struct fsroot_entry *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                rc = FSROOT_EIO;
                break;
            }
            v = nv;
        }
        if (fstatat(dirfd(d), de->d_name, &v[len].st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        memcpy(v[len].name, de->d_name, nl + 1);
        len++;
    }
    closedir(d);
    if (rc != FSROOT_OK) {
        free(v);
        return rc;
    }
    if (len == 0) {
        free(v);
        v = NULL;
    } else {
        qsort(v, len, sizeof *v, by_name);
    }
    *out = v;
    *n = len;
    return FSROOT_OK;
}

int fsroot_open_parent(const struct fsroot *root, const char *path, char *leaf, size_t cap)
{
    return walk(root, path, leaf, cap, NULL);
}

int fsroot_upload_begin(const struct fsroot *root, const char *path, mode_t new_mode,
                        struct fsroot_upload *u)
{
    u->fd = -1;
    u->new_mode = new_mode & 0777;
    u->dirfd = fsroot_open_parent(root, path, u->leaf, sizeof u->leaf);
    if (u->dirfd < 0) return u->dirfd;
    /* A hidden name: never served nor listed while incomplete. Unique enough
     * from time, pid and the stack address; O_EXCL settles collisions. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long seed =
        (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^ (unsigned long)(uintptr_t)u;
    for (int tries = 0; tries < 100; tries++) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        snprintf(u->tmp, sizeof u->tmp, ".upload-%08lx", (seed >> 16) & 0xffffffffUL);
        u->fd =
            openat(u->dirfd, u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (u->fd >= 0) return FSROOT_OK;
        if (errno != EEXIST) break;
    }
    int rc = map_errno(errno);
    close(u->dirfd);
    u->dirfd = -1;
    return rc;
}

/* The upload takes the place of the file it replaces: same permissions
 * (setuid/setgid dropped: new content), and as root the same owner; else
 * the mode for new files. */
static int upload_settle(struct fsroot_upload *u)
{
    struct stat old;
    bool replaces =
        fstatat(u->dirfd, u->leaf, &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(old.st_mode);
    mode_t mode = replaces ? old.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID) : u->new_mode;
    if (replaces && geteuid() == 0 && fchown(u->fd, old.st_uid, old.st_gid) != 0)
        return map_errno(errno);
    if (fchmod(u->fd, mode) != 0) return map_errno(errno);
    return FSROOT_OK;
}

int fsroot_upload_commit(struct fsroot_upload *u)
{
    int rc = upload_settle(u);
    if (close(u->fd) != 0 && rc == FSROOT_OK) rc = FSROOT_EIO;
    if (rc == FSROOT_OK && renameat(u->dirfd, u->tmp, u->dirfd, u->leaf) != 0)
        rc = map_errno(errno);
    if (rc != FSROOT_OK) unlinkat(u->dirfd, u->tmp, 0);
    close(u->dirfd);
    u->fd = u->dirfd = -1;
    return rc;
}

void fsroot_upload_abort(struct fsroot_upload *u)
{
    if (u->fd >= 0) close(u->fd);
    if (u->dirfd >= 0) {
        unlinkat(u->dirfd, u->tmp, 0);
        close(u->dirfd);
    }
    u->fd = u->dirfd = -1;
}
