/* bufpool.c - per-thread free lists of I/O buffers (bufpool.h). */
#include "bufpool.h"

#include <stdlib.h>

/* Sizes kept (the few buffer sizes the sessions and drivers use), and how
 * many free buffers of each: enough for the requests of one loop turn,
 * few enough that what is kept stays small next to 10,000 connections. */
#define POOL_CLASSES 4
#define POOL_KEEP 32

struct pool_class {
    size_t size; /* 0: unused */
    unsigned n;
    void *free[POOL_KEEP];
};

/* The thread's own lists: the one piece of state here, per thread by
 * design (an event loop is one thread), so no lock is needed. */
static _Thread_local struct {
    bool on;
    long in_use;
    struct pool_class cls[POOL_CLASSES];
} cache;

static struct pool_class *class_of(size_t size)
{
    for (int i = 0; i < POOL_CLASSES; i++) {
        struct pool_class *c = &cache.cls[i];
        if (c->size == size) return c;
        if (c->size == 0) {
            c->size = size;
            return c;
        }
    }
    return NULL; /* more sizes than classes: plain malloc for this one */
}

void *bufpool_get(size_t size)
{
    void *buf = NULL;
    if (cache.on) {
        struct pool_class *c = class_of(size);
        if (c && c->n > 0) buf = c->free[--c->n];
    }
    if (!buf) buf = malloc(size);
    if (buf) cache.in_use++;
    return buf;
}

void bufpool_put(void *buf, size_t size)
{
    if (!buf) return;
    cache.in_use--;
    if (cache.on) {
        struct pool_class *c = class_of(size);
        if (c && c->n < POOL_KEEP) {
            c->free[c->n++] = buf;
            return;
        }
    }
    free(buf);
}

long bufpool_in_use(void)
{
    return cache.in_use;
}

void bufpool_cache(bool on)
{
    if (!on) {
        for (int i = 0; i < POOL_CLASSES; i++) {
            struct pool_class *c = &cache.cls[i];
            while (c->n > 0)
                free(c->free[--c->n]);
            c->size = 0;
        }
    }
    cache.on = on;
}
