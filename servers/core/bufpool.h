/* bufpool.h - I/O buffers that idle connections give back.
 *
 * A connection waiting for its next request holds no input or output
 * buffer (DESIGN.md section 3, as nginx frees a keep-alive connection's
 * buffers): it takes one when bytes arrive or an answer is built, and
 * gives it back once the bytes are consumed or sent. So 10,000 idle
 * clients cost their small state, not 10,000 buffers.
 *
 * Taking and giving back happen on every request, so they are free lists
 * per buffer size, a few dozen pointers each. A thread that runs an event
 * loop turns on its own (the loop's free list: no lock). Threads that
 * serve one client each (thread, threadpool, a forked process) leave it
 * off and share one list under a mutex: a buffer kept by a thread whose
 * client sleeps would be as idle as the client. */
#ifndef SERVERMODELS_BUFPOOL_H
#define SERVERMODELS_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>

/* A buffer of size bytes (uninitialised), or NULL when out of memory. */
void *bufpool_get(size_t size);
/* Gives back a buffer bufpool_get(size) returned; NULL is ignored. */
void bufpool_put(void *buf, size_t size);
/* This thread keeps given-back buffers in its own lists (on), or frees
 * what it kept and shares the common lists again (off: call it before an
 * event loop's thread ends). */
void bufpool_cache(bool on);
/* Buffers this thread took and has not given back (what the tests look at:
 * an idle session holds none). */
long bufpool_in_use(void);

#endif
