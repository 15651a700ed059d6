/* bufpool.h - I/O buffers that idle connections give back.
 *
 * A connection waiting for its next request holds no input or output
 * buffer (DESIGN.md section 3, as nginx frees a keep-alive connection's
 * buffers): it takes one when bytes arrive or an answer is built, and
 * gives it back once the bytes are consumed or sent. So 10,000 idle
 * clients cost their small state, not 10,000 buffers.
 *
 * Taking and giving back happen on every request, so a thread that runs
 * an event loop turns on a cache: a per-thread free list per buffer size
 * (the loop's free list), a few dozen pointers, no lock. Threads that
 * serve one client each (thread, fork, ...) leave it off: their buffers
 * go back to malloc, where any thread can reuse them, instead of staying
 * with a connection that sleeps. */
#ifndef SERVERMODELS_BUFPOOL_H
#define SERVERMODELS_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>

/* A buffer of size bytes (uninitialised), or NULL when out of memory. */
void *bufpool_get(size_t size);
/* Gives back a buffer bufpool_get(size) returned; NULL is ignored. */
void bufpool_put(void *buf, size_t size);
/* This thread keeps given-back buffers for reuse (on), or frees them and
 * what it kept (off: call it before an event loop's thread ends). */
void bufpool_cache(bool on);
/* Buffers this thread took and has not given back (what the tests look at:
 * an idle session holds none). */
long bufpool_in_use(void);

#endif
