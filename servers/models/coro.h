/* coro.h - stackful coroutines: a stack, a saved context, and a switch.
 *
 * Asymmetric, as Lua's or gevent's greenlets: coro_resume() runs a coroutine
 * until it calls coro_yield() (or returns), then comes back to the resumer.
 * One thread resumes its own coroutines; nothing here is shared between
 * threads (the current coroutine is thread-local).
 *
 * The switch saves only the callee-saved registers (the caller of the switch
 * function has saved the rest, as for any call), so it is a few instructions
 * and no system call: coro_switch_x86_64.S and coro_switch_aarch64.S. Other
 * CPUs, or a build with CORO_FORCE_UCONTEXT, use ucontext's swapcontext(),
 * which costs a sigprocmask() system call per switch.
 *
 * Stacks are mmap'd with a PROT_NONE guard page below them, so an overflow
 * is a SIGSEGV at the guard instead of silent corruption of a neighbour; the
 * pages are touched lazily, so an idle coroutine costs only what its deepest
 * call touched. AddressSanitizer and ThreadSanitizer are told about every
 * switch (their fiber annotations), so sanitizer builds keep working.
 */
#ifndef SERVERMODELS_CORO_H
#define SERVERMODELS_CORO_H

#include <stdbool.h>
#include <stddef.h>

struct coro;

typedef void (*coro_fn)(void *arg);

/* The stack size coro_new() uses for 0: 128 KiB, 256 KiB under a sanitizer.
 * Why: the deepest client measured (coro_stack_touched() after each client
 * of the HTTP, FTP and echo integration suites, x86-64) touched 32 KiB, in
 * Debug and RelWithDebInfo builds alike: HTTP and FTP resolve paths with
 * 4-16 KiB of path buffers on the stack (http.c, fsroot.c, ftp_cmds.c), and
 * where sendfile() is missing, send_file_range() adds a 16 KiB buffer.
 * 128 KiB leaves 4x of that: an overflow would kill the whole server (all its
 * clients), while the unused part costs only address space, since pages
 * are touched lazily (an idle client holds what its deepest call touched).
 * Sanitizers grow every frame (ASan: 40 KiB measured), hence 256 KiB. */
size_t coro_default_stack(void);

/* A coroutine that will run fn(arg) on a stack of stack_size bytes (0: the
 * default; rounded up to whole pages), not started yet. NULL with errno. */
struct coro *coro_new(coro_fn fn, void *arg, size_t stack_size);

/* Frees a coroutine that has finished or never started (its stack goes to a
 * small per-thread cache, so a busy server does not mmap per connection). */
void coro_free(struct coro *c);

/* Runs c until it yields or returns. Only from outside any coroutine or from
 * another coroutine that is not c. */
void coro_resume(struct coro *c);

/* From inside a coroutine: back to whoever resumed it. */
void coro_yield(void);

/* The coroutine running now, NULL outside any. */
struct coro *coro_current(void);

/* True once fn returned. */
bool coro_done(const struct coro *c);

/* "asm" or "ucontext": how this build switches. */
const char *coro_switch_kind(void);

/* Bytes of c's stack ever touched (resident pages, via mincore): how deep it
 * went. 0 if the platform cannot tell. */
size_t coro_stack_touched(const struct coro *c);

/* Frees the stacks this thread has cached (at the end of a scheduler). */
void coro_release_cache(void);

#endif
