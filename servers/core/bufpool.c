/* bufpool.c - per-thread free lists of I/O buffers (bufpool.h). */
#include "bufpool.h"

#include <pthread.h>
#include <stdlib.h>

/* Sizes kept (the few buffer sizes the sessions and drivers use), and how
 * many free buffers of each: enough for the requests of one loop turn
 * (uring holds an answer's buffer until its send completes, in the next
 * turn: with 32, 64 busy clients made it malloc and free 32 buffers of 48
 * KiB a turn, and glibc trimmed and regrew the heap, a brk and a page fault
 * every ~25 requests), few enough that what is kept stays small next to
 * 10,000 connections: only buffers once in use at the same time are kept,
 * and only their touched pages are resident. */
#define POOL_CLASSES 4
#define POOL_KEEP 128

struct pool_class {
    size_t size; /* 0: unused */
    unsigned n;
    void *free[POOL_KEEP];
};

struct pool {
    struct pool_class cls[POOL_CLASSES];
};

/* The thread's own lists, per thread by design (an event loop is one
 * thread), so no lock is needed. */
static _Thread_local struct {
    bool on;
    long in_use;
    struct pool own;
} cache;

/* The lists the other threads share: a thread that serves one client and
 * waits with it would keep its own buffers idle; here the next busy thread
 * takes them. malloc would do too, but glibc gives the top of the heap back
 * to the kernel when a 64 KiB answer's buffers are freed (a brk and fresh
 * zeroed pages per request for a process serving one client at a time). */
static struct pool shared;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

static struct pool_class *class_of(struct pool *p, size_t size)
{
    for (int i = 0; i < POOL_CLASSES; i++) {
        struct pool_class *c = &p->cls[i];
        if (c->size == size) return c;
        if (c->size == 0) {
            c->size = size;
            return c;
        }
    }
    return NULL; /* more sizes than classes: plain malloc for this one */
}

static void *take(struct pool *p, size_t size)
{
    struct pool_class *c = class_of(p, size);
    return c && c->n > 0 ? c->free[--c->n] : NULL;
}

static bool keep(struct pool *p, void *buf, size_t size)
{
    struct pool_class *c = class_of(p, size);
    if (!c || c->n == POOL_KEEP) return false;
    c->free[c->n++] = buf;
    return true;
}

void *bufpool_get(size_t size)
{
    void *buf;
    if (cache.on) {
        buf = take(&cache.own, size);
    } else {
        pthread_mutex_lock(&shared_lock);
        buf = take(&shared, size);
        pthread_mutex_unlock(&shared_lock);
    }
    if (!buf) buf = malloc(size);
    if (buf) cache.in_use++;
    return buf;
}

void bufpool_put(void *buf, size_t size)
{
    if (!buf) return;
    cache.in_use--;
    bool kept;
    if (cache.on) {
        kept = keep(&cache.own, buf, size);
    } else {
        pthread_mutex_lock(&shared_lock);
        kept = keep(&shared, buf, size);
        pthread_mutex_unlock(&shared_lock);
    }
    if (!kept) free(buf);
}

long bufpool_in_use(void)
{
    return cache.in_use;
}

void bufpool_cache(bool on)
{
    if (!on) {
        for (int i = 0; i < POOL_CLASSES; i++) {
            struct pool_class *c = &cache.own.cls[i];
            while (c->n > 0)
                free(c->free[--c->n]);
            c->size = 0;
        }
    }
    cache.on = on;
}
