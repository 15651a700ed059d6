/* coro_heap.h - a binary min-heap of deadlines (the coroutine scheduler's
 * timers, as libev's): O(log n) insert and remove, O(1) earliest.
 *
 * Nodes are embedded in their owners and know their slot, so any node can be
 * removed (a coroutine woken by its fd before its deadline). */
#ifndef SERVERMODELS_CORO_HEAP_H
#define SERVERMODELS_CORO_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_node {
    uint64_t key; /* the deadline */
    size_t slot;  /* index in the heap + 1; 0 = not in it */
};

struct heap {
    struct heap_node **v;
    size_t n, cap;
};

/* 0, or -1 when out of memory (the node is then not in the heap). */
int heap_push(struct heap *h, struct heap_node *node);
/* Removes node if it is in the heap. */
void heap_remove(struct heap *h, struct heap_node *node);
/* The earliest node, NULL if empty. */
static inline struct heap_node *heap_top(const struct heap *h)
{
    return h->n ? h->v[0] : NULL;
}
void heap_free(struct heap *h);

#endif
