/* peer_limit.c - --max-per-ip: how many sessions each client address has.
 *
 * One table per server, in shared anonymous memory: prefork's workers each
 * accept and count in the same table, fork's children inherit the mapping
 * (only the parent counts), threads share it anyway. A process-shared
 * mutex guards it; it is robust, so a worker killed while holding it does
 * not wedge the others. Open addressing with linear probing, keyed by the
 * address; a key whose count drops to 0 is removed by backward shift, so
 * nothing piles up over time. The table has room for twice the sessions
 * --max-conn admits (a 2^16 slot default without one), so it does not fill.
 */
#include "bsd_ext.h" /* MAP_ANONYMOUS: BSD, not POSIX 2008 */
#include "model.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct slot {
    struct peer_key key;
    unsigned count; /* 0: empty */
};

struct peer_limit {
    pthread_mutex_t lock;
    unsigned max;  /* sessions per address */
    size_t cap;    /* slots, a power of two */
    size_t used;   /* slots holding an address */
    size_t bytes;  /* the mapping's size */
    uint64_t seed; /* so that colliding addresses cannot be chosen from outside */
    struct slot slots[];
};

void peer_key_of(const struct sockaddr *sa, struct peer_key *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET6) {
        memcpy(out->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    } else if (sa->sa_family == AF_INET) {
        out->ip[10] = out->ip[11] = 0xff; /* ::ffff:a.b.c.d, as the v6 socket API spells it */
        memcpy(out->ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    }
}

struct peer_limit *peer_limit_new(unsigned max_per_ip, unsigned max_conn)
{
    size_t cap = 64;
    size_t want = max_conn ? 2 * (size_t)max_conn : 65536;
    while (cap < want)
        cap *= 2;
    size_t bytes = sizeof(struct peer_limit) + cap * sizeof(struct slot);
    struct peer_limit *pl =
        mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pl == MAP_FAILED) return NULL;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&pl->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        munmap(pl, bytes);
        errno = rc;
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pl->max = max_per_ip;
    pl->cap = cap;
    pl->bytes = bytes;
    pl->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
    return pl; /* the slots are zero: empty */
}

void peer_limit_free(struct peer_limit *pl)
{
    if (!pl) return;
    pthread_mutex_destroy(&pl->lock);
    munmap(pl, pl->bytes);
}

static void lock(struct peer_limit *pl)
{
    if (pthread_mutex_lock(&pl->lock) == EOWNERDEAD) pthread_mutex_consistent(&pl->lock);
}

static size_t home_of(const struct peer_limit *pl, const struct peer_key *k)
{
    uint64_t h = 1469598103934665603u ^ pl->seed; /* FNV-1a */
    for (size_t i = 0; i < sizeof k->ip; i++)
        h = (h ^ k->ip[i]) * 1099511628211u;
    return (size_t)(h ^ (h >> 29)) & (pl->cap - 1);
}

/* The slot holding k, or the empty slot where it would go. */
static size_t find(const struct peer_limit *pl, const struct peer_key *k)
{
    size_t i = home_of(pl, k);
    while (pl->slots[i].count && memcmp(&pl->slots[i].key, k, sizeof *k) != 0)
        i = (i + 1) & (pl->cap - 1);
    return i;
}

/* Whether home lies in the cyclic range (from, to]. */
static bool between(size_t from, size_t home, size_t to)
{
    return from < to ? from < home && home <= to : from < home || home <= to;
}

/* Empties slot i, moving later entries of its probe run back into the hole
 * so every key stays reachable from its home slot. */
static void remove_at(struct peer_limit *pl, size_t i)
{
    size_t mask = pl->cap - 1;
    for (size_t j = (i + 1) & mask; pl->slots[j].count; j = (j + 1) & mask) {
        if (between(i, home_of(pl, &pl->slots[j].key), j)) continue;
        pl->slots[i] = pl->slots[j];
        i = j;
    }
    pl->slots[i].count = 0;
    pl->used--;
}

bool peer_limit_enter(struct peer_limit *pl, const struct peer_key *k)
{
    if (!pl) return true;
    lock(pl);
    size_t i = find(pl, k);
    struct slot *s = &pl->slots[i];
    bool ok = s->count ? s->count < pl->max : pl->used + 1 < pl->cap; /* one slot stays empty */
    if (ok && !s->count) {
        s->key = *k;
        pl->used++;
    }
    if (ok) s->count++;
    pthread_mutex_unlock(&pl->lock);
    return ok;
}

void peer_limit_leave(struct peer_limit *pl, const struct peer_key *k)
{
    if (!pl) return;
    lock(pl);
    size_t i = find(pl, k);
    if (pl->slots[i].count && --pl->slots[i].count == 0) remove_at(pl, i);
    pthread_mutex_unlock(&pl->lock);
}
