/* filecache.h - the open-file cache of a document root: for each path
 * asked, its stat, and the whole file in memory when it is small (<= 16 KiB)
 * or an open fd when it is not; never served stale.
 *
 * Where files come from: a source (struct filecache_source below), which
 * opens paths by the document root's rules (fsroot.c makes each root's
 * cache with fsroot_open and fsroot_open_traced); the cache knows nothing
 * of those rules.
 *
 * Exactness (FILECACHE_INOTIFY, Linux): a miss walks the path with the
 * source's traced open and, BEFORE anything is read, puts an inotify watch
 * on every directory it looked a name up in (the symlinks' directories too)
 * and on the opened file itself; the entry remembers (watch, name) pairs.
 * The kernel queues an event before the syscall that changed the file
 * returns, and every lookup first drains the queue (one non-blocking read()
 * of the inotify fd: EAGAIN when nothing changed; the one syscall a hit
 * costs), dropping each entry an event names: a rename over the file, a
 * rewrite in place (IN_MODIFY, IN_CLOSE_WRITE), a chmod or a new link count
 * (IN_ATTRIB), a new or removed name (a symlink put in a directory of the
 * path), the move or removal of a directory on the way, a queue overflow
 * (everything goes). So a request that arrives after the change syscall
 * returned never gets the old bytes. Not seen: writes through a shared
 * mmap and changes made by another machine (NFS) - inotify does not report
 * them.
 *
 * FILECACHE_STAT (inotify missing: not Linux, inotify_init1 failing, no
 * /proc to name fds by): one fstatat of the path per hit, compared with the
 * cached st_dev, st_ino, st_mode, st_size, st_mtim and st_ctim. Exact for
 * renames, deletions, chmod and size changes; a rewrite in place of the
 * same size within one tick of the file system's clock is not seen (as
 * with nginx's open_file_cache). A path re-pointed by a symlink at the very
 * same inode is served, as the bytes already were.
 *
 * FILECACHE_OFF: every lookup opens the path (the source's open_path).
 *
 * Sharing: one cache per fsroot, used by every thread of the process under
 * one mutex; a borrowed entry (filecache_file) stays valid after it is
 * dropped from the table until filecache_release. Processes: the inotify
 * instance is made on the first lookup in a process; a cache that was set
 * up before a fork() starts afresh in the child (its own inotify instance:
 * two processes reading one inotify queue would each miss the other's
 * events). fork() must happen while no other thread is inside the cache.
 *
 * The environment variable REFSERVER_FILECACHE=inotify|stat|off chooses the
 * mode of the caches made with default limits (for tests and comparisons;
 * inotify is the default).
 */
#ifndef SERVERMODELS_FILECACHE_H
#define SERVERMODELS_FILECACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct filecache;
struct fc_entry;

/* Told by a traced open before each name is looked up in the directory fd
 * (name "." for the root itself), and with name NULL once the object is
 * open, before its fstat (fsroot.h: fsroot_open_traced). */
typedef void filecache_visit_fn(void *arg, int fd, const char *name);

/* How the cache opens a canonical path: an fd (st filled by fstat; a
 * regular file or a directory) or a negative error, which filecache_open
 * passes on (fsroot's FSROOT_*). root is handed to both; dirfd is the root
 * directory (the stat mode's fstatat, the inotify set-up's probe), open
 * while the cache lives. */
struct filecache_source {
    const void *root;
    int dirfd;
    int (*open_path)(const void *root, const char *path, struct stat *st);
    int (*open_traced)(const void *root, const char *path, struct stat *st,
                       filecache_visit_fn *visit, void *arg);
};

enum filecache_mode {
    FILECACHE_INOTIFY, /* exact; STAT where inotify is missing */
    FILECACHE_STAT,    /* one fstatat per hit */
    FILECACHE_OFF,     /* no cache */
};

/* Largest file kept in memory (HTTP copies it right after its headers). */
#define FILECACHE_SMALL_MAX 16384

struct filecache_limits {
    enum filecache_mode mode;
    size_t max_entries; /* paths cached (files and directories) */
    size_t max_bytes;   /* file bytes kept in memory, in all */
    size_t max_fds;     /* large files kept open */
    size_t small_max;   /* files up to this size are kept in memory (at most
                           FILECACHE_SMALL_MAX) */
};

/* The defaults: inotify, 1024 entries, 8 MiB, 64 fds, 16 KiB. */
#define FILECACHE_LIMITS_DEFAULT                                                                   \
    {                                                                                              \
        FILECACHE_INOTIFY, 1024, 8u << 20, 64, FILECACHE_SMALL_MAX                                 \
    }

/* A cache of what src opens (copied). lim NULL: the defaults, mode from
 * REFSERVER_FILECACHE. NULL when out of memory. Nothing is opened until the
 * first lookup. */
struct filecache *filecache_new(const struct filecache_source *src,
                                const struct filecache_limits *lim);
void filecache_free(struct filecache *c);

/* What a lookup gives; read it, then filecache_release it. */
struct filecache_file {
    struct stat st;
    const char *body;       /* regular file in memory: st.st_size bytes; else NULL */
    int fd;                 /* regular file not in memory: read it by offset only
                               (pread, sendfile: the fd may be shared); else -1 */
    struct fc_entry *entry; /* private */
    bool own_fd;            /* private */
};

/* Looks up a canonical path (fsroot_resolve's form) with the source's
 * rules: 0 (FSROOT_OK) and *f filled (a regular file or a directory), or
 * the source's error (FSROOT_*). */
int filecache_open(struct filecache *c, const char *path, struct filecache_file *f);
/* For a driver that takes its requests' bytes in batches (uring: the
 * completions one io_uring_enter returned; the event loops: what one wait's
 * readable sockets had, read before any is served): called after the
 * batch's bytes were all taken in and before its first request is handled.
 * Every change that returned before one of those bytes was sent queued its
 * inotify event before this call, so one drain after it sees them all:
 * this thread's lookups in c drain only at the first lookup after the call,
 * until it calls again or filecache_batch_more(). So the thread must call
 * one of them after every intake of request bytes. Other threads, and
 * drivers that never call it, drain at every lookup; c NULL puts this
 * thread back among them. Stat mode is not changed (its check is per path). */
void filecache_batch(struct filecache *c);
/* This thread took in more bytes: its next lookup drains (no-op in a thread
 * that is not in a batch: connio.c calls it after each read). */
void filecache_batch_more(void);
/* Gives a lookup's result back (no-op on a zeroed or released one). */
void filecache_release(struct filecache_file *f);

/* Drops every entry (their fds close once no lookup holds them). */
void filecache_flush(struct filecache *c);

struct filecache_stats {
    enum filecache_mode mode; /* in effect in this process (INOTIFY before the first lookup) */
    unsigned long hits, misses, invalidations, evictions;
    size_t entries, bytes, fds, watches;
};
void filecache_get_stats(struct filecache *c, struct filecache_stats *out);

#endif
