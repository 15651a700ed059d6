/* evtimers.c - the event loops' timers: connections in a binary min-heap by
 * deadline (nginx keeps its timers in a red-black tree for the same
 * reason). Every connection always has a deadline - the timeout that runs
 * for what it waits on, a delay's end, or NO_DEADLINE - so the heap is also
 * the list of all connections. A change costs O(log n); finding what is due
 * costs O(1) per connection due. */
#include "model.h"

#include <stdlib.h>

static void place(struct evtimers *t, size_t i, struct evconn *c)
{
    t->heap[i] = c;
    c->timer_slot = i;
}

static void sift_up(struct evtimers *t, size_t i)
{
    struct evconn *c = t->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (t->heap[parent]->deadline_ms <= c->deadline_ms) break;
        place(t, i, t->heap[parent]);
        i = parent;
    }
    place(t, i, c);
}

static void sift_down(struct evtimers *t, size_t i)
{
    struct evconn *c = t->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= t->count) break;
        if (child + 1 < t->count && t->heap[child + 1]->deadline_ms < t->heap[child]->deadline_ms)
            child++;
        if (c->deadline_ms <= t->heap[child]->deadline_ms) break;
        place(t, i, t->heap[child]);
        i = child;
    }
    place(t, i, c);
}

int evtimers_add(struct evtimers *t, struct evconn *c)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct evconn **h = realloc(t->heap, cap * sizeof *h);
        if (!h) return -1;
        t->heap = h;
        t->cap = cap;
    }
    place(t, t->count++, c);
    sift_up(t, t->count - 1);
    return 0;
}

void evtimers_remove(struct evtimers *t, struct evconn *c)
{
    size_t i = c->timer_slot;
    struct evconn *last = t->heap[--t->count];
    if (i == t->count) return;
    place(t, i, last);
    evtimers_update(t, last);
}

void evtimers_update(struct evtimers *t, struct evconn *c)
{
    size_t i = c->timer_slot;
    if (i > 0 && t->heap[(i - 1) / 2]->deadline_ms > c->deadline_ms)
        sift_up(t, i);
    else
        sift_down(t, i);
}

struct evconn *evtimers_due(const struct evtimers *t, uint64_t now_ms)
{
    return t->count && t->heap[0]->deadline_ms <= now_ms ? t->heap[0] : NULL;
}

int evtimers_wait_ms(const struct evtimers *t, uint64_t now_ms)
{
    return t->count ? ms_until(t->heap[0]->deadline_ms, now_ms) : -1;
}

void evtimers_free(struct evtimers *t)
{
    free(t->heap);
    *t = (struct evtimers){0};
}
