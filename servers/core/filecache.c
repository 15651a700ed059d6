/* filecache.c - the open-file cache (see filecache.h for what it promises).
 *
 * A hash table of entries keyed by canonical path, on an LRU list, under one
 * mutex. An entry's refs count the table (while it is in it) and each lookup
 * that borrowed it; the last one to let go frees it, so bytes and fds a
 * response is still sending survive the entry's invalidation, but no new
 * lookup sees them. In inotify mode every entry carries its dependencies,
 * (watch, name) pairs: an event on that watch about that name, or about the
 * watched object itself, drops it. */
#include "filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* SERVERMODELS_PORTABLE: POSIX only (the fstatat revalidation), as elsewhere. */
#if defined(__linux__) && !defined(SERVERMODELS_PORTABLE)
#include <sys/inotify.h>
#define HAVE_INOTIFY 1
/* What a watch reports, on a directory (its names) and on a file (itself). */
#define WATCH_MASK                                                                                 \
    (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE |            \
     IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
#endif

/* Dependencies of one entry: path depth + symlink hops + the file. A path
 * needing more is served uncached. */
#define MAX_DEPS 24
/* Dependency on the watched object itself (name hashes are never 0). */
#define SELF 0u
/* Events handled per drain pass before giving up and dropping everything. */
#define MAX_PENDING 64

struct fc_dep {
    int wd;
    uint32_t name; /* hash of the name looked up in the watched directory, or SELF */
};

struct fc_entry {
    struct fc_entry *hnext;       /* hash chain */
    struct fc_entry *prev, *next; /* LRU list, most recent first */
    atomic_uint refs;             /* the table's + one per borrower */
    int fd;                       /* a large regular file, else -1 */
    struct stat st;
    char *body;  /* a small regular file, else NULL */
    size_t cost; /* bytes charged to max_bytes */
    uint32_t hash;
    unsigned ndeps;
    struct fc_dep deps[MAX_DEPS];
    char path[];
};

struct fc_watch {
    int wd;
    unsigned refs; /* dependencies of cached entries on it */
};

struct filecache {
    struct filecache_source src;
    struct filecache_limits lim;
    pthread_mutex_t lock;
    /* the per-process part: set up on the first lookup in a process */
    unsigned epoch; /* fork_epoch it was set up in */
    bool ready;
    enum filecache_mode mode; /* in effect */
    int ifd;                  /* inotify, or -1 */
    struct fc_entry **buckets;
    size_t mask;
    struct fc_entry lru; /* sentinel */
    size_t n, bytes, fds;
    struct fc_watch *watches;
    size_t nwatches, capwatches;
    struct filecache_stats stats;
#ifdef HAVE_INOTIFY
    /* drain()'s read buffer, here and not on the stack: a 4 KiB array there
     * puts read()'s frame a page further down on every request, a page each
     * idle coroutine or thread would keep (under the lock, like the rest) */
    _Alignas(struct inotify_event) char events[4096];
#endif
};

/* fork() detection without a getpid() syscall per lookup: a child handler
 * bumps the epoch. It runs only in a new child, while it has one thread, so
 * the one global the cache has is never written concurrently. */
static unsigned fork_epoch;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* filecache_batch(): the cache this thread handles a batch for, and whether
 * it drained since the batch began (per thread: another thread's batch
 * began at another moment) */
static _Thread_local struct {
    const struct filecache *c;
    bool drained;
} batch;

static void on_fork_child(void)
{
    fork_epoch++;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

#ifdef HAVE_INOTIFY
static uint32_t name_hash(const char *s)
{
    return hash_str(s) | 1u; /* never SELF */
}
#endif

/* ---- entries ------------------------------------------------------------ */

static void entry_put(struct fc_entry *e)
{
    if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1) return;
    if (e->fd >= 0) close(e->fd);
    free(e->body);
    free(e);
}

static struct fc_entry **slot(struct filecache *c, const char *path, uint32_t h)
{
    struct fc_entry **p = &c->buckets[h & c->mask];
    while (*p && ((*p)->hash != h || strcmp((*p)->path, path) != 0))
        p = &(*p)->hnext;
    return p;
}

static void lru_unlink(struct fc_entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_push(struct filecache *c, struct fc_entry *e)
{
    e->next = c->lru.next;
    e->prev = &c->lru;
    c->lru.next->prev = e;
    c->lru.next = e;
}

/* ---- watches ------------------------------------------------------------- */

#ifdef HAVE_INOTIFY
/* Watches the object open as fd (through /proc, so exactly that inode).
 * Returns the watch descriptor, counted, or -1. */
static int watch_fd(struct filecache *c, int fd)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int wd = inotify_add_watch(c->ifd, p, WATCH_MASK);
    if (wd < 0) return -1;
    for (size_t i = 0; i < c->nwatches; i++)
        if (c->watches[i].wd == wd) {
            c->watches[i].refs++;
            return wd;
        }
    if (c->nwatches == c->capwatches) {
        size_t cap = c->capwatches ? 2 * c->capwatches : 64;
        struct fc_watch *w = realloc(c->watches, cap * sizeof *w);
        if (!w) {
            inotify_rm_watch(c->ifd, wd);
            return -1;
        }
        c->watches = w;
        c->capwatches = cap;
    }
    c->watches[c->nwatches++] = (struct fc_watch){wd, 1};
    return wd;
}
#endif

static void watch_unref(struct filecache *c, int wd)
{
    for (size_t i = 0; i < c->nwatches; i++) {
        if (c->watches[i].wd != wd) continue;
        if (--c->watches[i].refs == 0) {
#ifdef HAVE_INOTIFY
            if (c->ifd >= 0) inotify_rm_watch(c->ifd, wd);
#endif
            c->watches[i] = c->watches[--c->nwatches];
        }
        return;
    }
}

static void unref_deps(struct filecache *c, const struct fc_dep *d, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        watch_unref(c, d[i].wd);
}

/* Takes e out of the table (it lives on while borrowed). */
static void drop(struct filecache *c, struct fc_entry *e)
{
    struct fc_entry **p = slot(c, e->path, e->hash);
    *p = e->hnext;
    lru_unlink(e);
    c->n--;
    c->bytes -= e->cost;
    if (e->fd >= 0) c->fds--;
    unref_deps(c, e->deps, e->ndeps);
    entry_put(e);
}

static void drop_all(struct filecache *c)
{
    while (c->lru.next != &c->lru)
        drop(c, c->lru.next);
}

/* ---- invalidation -------------------------------------------------------- */

#ifdef HAVE_INOTIFY
struct event {
    int wd;
    uint32_t name; /* SELF for an event about the watched object */
};

static bool hit_by(const struct fc_entry *e, const struct event *ev, size_t nev)
{
    for (unsigned d = 0; d < e->ndeps; d++)
        for (size_t k = 0; k < nev; k++)
            if (e->deps[d].wd == ev[k].wd && (ev[k].name == SELF || ev[k].name == e->deps[d].name))
                return true;
    return false;
}

static void drop_hit(struct filecache *c, const struct event *ev, size_t nev)
{
    for (struct fc_entry *e = c->lru.next, *next; e != &c->lru; e = next) {
        next = e->next;
        if (!hit_by(e, ev, nev)) continue;
        drop(c, e);
        c->stats.invalidations++;
    }
}

/* Reads what inotify queued and drops what it names. Nothing queued (the
 * common case) costs one read() that fails with EAGAIN. */
static void drain(struct filecache *c)
{
    char *buf = c->events;
    for (;;) {
        ssize_t n = read(c->ifd, buf, sizeof c->events);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN) goto lost; /* cannot tell what changed */
            return;
        }
        struct event ev[MAX_PENDING];
        size_t nev = 0;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ie = (const struct inotify_event *)p;
            p += sizeof *ie + ie->len;
            if ((ie->mask & IN_Q_OVERFLOW) || nev == MAX_PENDING) goto lost;
            ev[nev].wd = ie->wd;
            ev[nev].name = ie->len && ie->name[0] ? name_hash(ie->name) : SELF;
            nev++;
        }
        drop_hit(c, ev, nev);
    }
lost:
    c->stats.invalidations += c->n;
    drop_all(c);
    /* what is still queued concerns entries just dropped */
    while (read(c->ifd, buf, sizeof c->events) > 0) {
    }
}
#endif

/* Stat mode: does the path still name the cached object, unchanged? */
static bool still_valid(const struct filecache *c, const struct fc_entry *e)
{
    struct stat st;
    const char *rel = e->path[1] ? e->path + 1 : ".";
    if (fstatat(c->src.dirfd, rel, &st, 0) != 0) return false;
    const struct stat *o = &e->st;
    return st.st_dev == o->st_dev && st.st_ino == o->st_ino && st.st_mode == o->st_mode &&
           st.st_size == o->st_size && st.st_mtim.tv_sec == o->st_mtim.tv_sec &&
           st.st_mtim.tv_nsec == o->st_mtim.tv_nsec && st.st_ctim.tv_sec == o->st_ctim.tv_sec &&
           st.st_ctim.tv_nsec == o->st_ctim.tv_nsec;
}

/* ---- per-process set-up -------------------------------------------------- */

/* In a forked child: the parent's inotify queue and fds are not ours to
 * use. Close our copies (never inotify_rm_watch: the watches belong to the
 * instance the parent still reads) and start again. */
static void forget_parent(struct filecache *c)
{
    if (c->ifd >= 0) close(c->ifd);
    c->ifd = -1;
    c->nwatches = 0;
    drop_all(c);
    c->ready = false;
    c->epoch = fork_epoch;
}

static void set_up(struct filecache *c)
{
    if (c->epoch != fork_epoch) forget_parent(c);
    if (c->ready) return;
    c->ready = true;
    c->mode = c->lim.mode;
    if (c->mode != FILECACHE_INOTIFY) return;
    c->mode = FILECACHE_STAT;
#ifdef HAVE_INOTIFY
    c->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (c->ifd < 0) return;
    /* Watching by /proc/self/fd must work (no /proc in a chroot: stat mode). */
    int wd = watch_fd(c, c->src.dirfd);
    if (wd < 0) {
        close(c->ifd);
        c->ifd = -1;
        return;
    }
    watch_unref(c, wd);
    c->mode = FILECACHE_INOTIFY;
#endif
}

/* ---- a miss -------------------------------------------------------------- */

/* Collects a walk's dependencies, watching each directory before a name is
 * looked up in it and the opened object before its stat is taken. */
struct trace {
    struct filecache *c;
    struct fc_dep deps[MAX_DEPS];
    unsigned n;
    bool failed;
};

static void on_visit(void *arg, int fd, const char *name)
{
    struct trace *t = arg;
    if (t->failed) return;
#ifdef HAVE_INOTIFY
    int wd = t->n < MAX_DEPS ? watch_fd(t->c, fd) : -1;
    if (wd >= 0) {
        t->deps[t->n++] = (struct fc_dep){wd, name ? name_hash(name) : SELF};
        return;
    }
#else
    (void)fd;
    (void)name;
#endif
    t->failed = true;
}

/* Reads a whole small file; false when it changed size under us. */
static bool read_all(int fd, char *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += (size_t)n;
    }
    char extra;
    return pread(fd, &extra, 1, (off_t)size) == 0;
}

/* A new entry for what was opened, or NULL when it is not to be cached
 * (fd then stays the caller's). On success the entry owns fd (closed
 * unless kept) and the trace's dependencies. */
static struct fc_entry *entry_new(struct filecache *c, const char *path, uint32_t h, int fd,
                                  const struct stat *st, const struct trace *t)
{
    const struct filecache_limits *l = &c->lim;
    bool reg = S_ISREG(st->st_mode);
    size_t size = reg ? (size_t)st->st_size : 0;
    bool small = reg && size <= l->small_max;
    if (l->max_entries == 0 || (small && size > l->max_bytes) || (reg && !small && !l->max_fds))
        return NULL;
    size_t plen = strlen(path);
    struct fc_entry *e = calloc(1, sizeof *e + plen + 1);
    if (!e) return NULL;
    if (small && !(e->body = malloc(size ? size : 1))) goto fail;
    if (small && !read_all(fd, e->body, size)) goto fail;
    memcpy(e->path, path, plen + 1);
    e->hash = h;
    e->st = *st;
    e->cost = small ? size : 0;
    e->fd = reg && !small ? fd : -1;
    if (e->fd < 0) close(fd);
    e->ndeps = t->n;
    memcpy(e->deps, t->deps, t->n * sizeof t->deps[0]);
    atomic_init(&e->refs, 1);
    return e;
fail:
    free(e->body);
    free(e);
    return NULL;
}

/* The least recently used entry that counts against a limit now exceeded. */
static struct fc_entry *victim(struct filecache *c)
{
    const struct filecache_limits *l = &c->lim;
    bool entries = c->n > l->max_entries, bytes = c->bytes > l->max_bytes;
    for (struct fc_entry *e = c->lru.prev; e != &c->lru; e = e->prev)
        if (entries || (bytes && e->cost) || (!bytes && e->fd >= 0)) return e;
    return NULL;
}

static void insert(struct filecache *c, struct fc_entry *e)
{
    struct fc_entry **p = slot(c, e->path, e->hash);
    if (*p) drop(c, *p); /* cannot happen: looked up under the same lock */
    e->hnext = NULL;
    *slot(c, e->path, e->hash) = e;
    lru_push(c, e);
    c->n++;
    c->bytes += e->cost;
    if (e->fd >= 0) c->fds++;
    while (c->n > c->lim.max_entries || c->bytes > c->lim.max_bytes || c->fds > c->lim.max_fds) {
        struct fc_entry *v = victim(c);
        if (!v) break;
        drop(c, v);
        c->stats.evictions++;
    }
}

static void lend(struct fc_entry *e, struct filecache_file *f)
{
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    f->entry = e;
    f->st = e->st;
    f->body = e->body;
    f->fd = e->fd;
}

/* An open fd handed out as it is (not cached): a directory's is closed. */
static void hand_out(int fd, const struct stat *st, struct filecache_file *f)
{
    f->st = *st;
    if (S_ISDIR(st->st_mode)) {
        close(fd);
        return;
    }
    f->fd = fd;
    f->own_fd = true;
}

static int load(struct filecache *c, const char *path, uint32_t h, struct filecache_file *f)
{
    struct trace t = {.c = c};
    struct stat st;
    int fd = c->mode == FILECACHE_INOTIFY ? c->src.open_traced(c->src.root, path, &st, on_visit, &t)
                                          : c->src.open_path(c->src.root, path, &st);
    struct fc_entry *e = fd >= 0 && !t.failed ? entry_new(c, path, h, fd, &st, &t) : NULL;
    if (!e) {
        unref_deps(c, t.deps, t.n);
        if (fd >= 0) hand_out(fd, &st, f);
        return fd >= 0 ? 0 : fd;
    }
    insert(c, e);
    lend(e, f);
#ifdef HAVE_INOTIFY
    /* A change between the watches and the reads: the reads saw it, but
     * the entry must not outlive this answer. */
    if (c->mode == FILECACHE_INOTIFY) drain(c);
#endif
    return 0;
}

/* ---- the interface -------------------------------------------------------- */

static enum filecache_mode mode_from_env(void)
{
    const char *v = getenv("REFSERVER_FILECACHE");
    if (!v || !*v || strcmp(v, "inotify") == 0) return FILECACHE_INOTIFY;
    if (strcmp(v, "stat") == 0) return FILECACHE_STAT;
    if (strcmp(v, "off") == 0) return FILECACHE_OFF;
    fprintf(stderr, "REFSERVER_FILECACHE=%s: not inotify, stat or off; using inotify\n", v);
    return FILECACHE_INOTIFY;
}

struct filecache *filecache_new(const struct filecache_source *src,
                                const struct filecache_limits *lim)
{
    static const struct filecache_limits defaults = FILECACHE_LIMITS_DEFAULT;
    pthread_once(&atfork_once, register_atfork);
    struct filecache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->src = *src;
    c->lim = lim ? *lim : defaults;
    if (!lim) c->lim.mode = mode_from_env();
    if (c->lim.small_max > FILECACHE_SMALL_MAX) c->lim.small_max = FILECACHE_SMALL_MAX;
    size_t nb = 16;
    while (nb < c->lim.max_entries)
        nb *= 2;
    c->buckets = calloc(nb, sizeof *c->buckets);
    if (!c->buckets || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->buckets);
        free(c);
        return NULL;
    }
    c->mask = nb - 1;
    c->lru.next = c->lru.prev = &c->lru;
    c->ifd = -1;
    c->epoch = fork_epoch;
    c->mode = c->lim.mode;
    return c;
}

void filecache_free(struct filecache *c)
{
    if (!c) return;
    if (c->epoch != fork_epoch) forget_parent(c);
    drop_all(c);
    if (c->ifd >= 0) close(c->ifd);
    pthread_mutex_destroy(&c->lock);
    free(c->watches);
    free(c->buckets);
    free(c);
}

int filecache_open(struct filecache *c, const char *path, struct filecache_file *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (c->lim.mode == FILECACHE_OFF) {
        struct stat st;
        int fd = c->src.open_path(c->src.root, path, &st);
        if (fd >= 0) hand_out(fd, &st, f);
        return fd >= 0 ? 0 : fd;
    }
    uint32_t h = hash_str(path);
    pthread_mutex_lock(&c->lock);
    set_up(c);
#ifdef HAVE_INOTIFY
    if (c->mode == FILECACHE_INOTIFY && !(batch.c == c && batch.drained)) {
        drain(c);
        batch.drained = batch.c == c;
    }
#endif
    struct fc_entry *e = *slot(c, path, h);
    if (e && c->mode == FILECACHE_STAT && !still_valid(c, e)) {
        drop(c, e);
        c->stats.invalidations++;
        e = NULL;
    }
    int rc = 0;
    if (e) {
        c->stats.hits++;
        lru_unlink(e);
        lru_push(c, e);
        lend(e, f);
    } else {
        c->stats.misses++;
        rc = load(c, path, h, f);
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void filecache_batch(struct filecache *c)
{
    batch.c = c;
    batch.drained = false;
}

void filecache_batch_more(void)
{
    batch.drained = false;
}

void filecache_release(struct filecache_file *f)
{
    if (f->entry)
        entry_put(f->entry);
    else if (f->own_fd && f->fd >= 0)
        close(f->fd);
    f->entry = NULL;
    f->own_fd = false;
    f->fd = -1;
    f->body = NULL;
}

void filecache_flush(struct filecache *c)
{
    pthread_mutex_lock(&c->lock);
    drop_all(c);
    pthread_mutex_unlock(&c->lock);
}

void filecache_get_stats(struct filecache *c, struct filecache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->mode = c->mode;
    out->entries = c->n;
    out->bytes = c->bytes;
    out->fds = c->fds;
    out->watches = c->nwatches;
    pthread_mutex_unlock(&c->lock);
}
