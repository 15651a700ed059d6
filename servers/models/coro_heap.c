/* coro_heap.c - the binary min-heap of coro_heap.h. */
#include "coro_heap.h"

#include <stdlib.h>

static void place(struct heap *h, size_t i, struct heap_node *node)
{
    h->v[i] = node;
    node->slot = i + 1;
}

static void sift_up(struct heap *h, size_t i)
{
    struct heap_node *node = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->key <= node->key) break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, node);
}

static void sift_down(struct heap *h, size_t i)
{
    struct heap_node *node = h->v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n) break;
        if (child + 1 < h->n && h->v[child + 1]->key < h->v[child]->key) child++;
        if (node->key <= h->v[child]->key) break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, node);
}

int heap_push(struct heap *h, struct heap_node *node)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct heap_node **v = realloc(h->v, cap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    place(h, h->n++, node);
    sift_up(h, h->n - 1);
    return 0;
}

void heap_remove(struct heap *h, struct heap_node *node)
{
    if (!node->slot) return;
    size_t i = node->slot - 1;
    node->slot = 0;
    struct heap_node *last = h->v[--h->n];
    if (i == h->n) return; /* it was the last one */
    place(h, i, last);
    if (i > 0 && h->v[(i - 1) / 2]->key > last->key)
        sift_up(h, i);
    else
        sift_down(h, i);
}

void heap_free(struct heap *h)
{
    free(h->v);
    *h = (struct heap){0};
}
