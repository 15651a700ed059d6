/* coro.c - stackful coroutines (coro.h): stacks, the switch, sanitizers.
 *
 * Two ways to switch, chosen at build time:
 *   asm       coro_switch(&save_sp, load_sp) in coro_switch_<cpu>.S pushes the
 *             callee-saved registers on the current stack, stores the stack
 *             pointer, loads the other one and pops its registers. A new
 *             coroutine's stack is prepared so that this first "return"
 *             lands in coro_trampoline, which calls coro_entry(c).
 *   ucontext  swapcontext(), the portable fallback (CMake defines
 *             CORO_HAVE_ASM only for x86-64 and aarch64; CORO_FORCE_UCONTEXT
 *             forces the fallback, for the benchmark's comparison).
 */
#include "bsd_ext.h" /* MAP_ANON, MAP_NORESERVE, mincore: BSD, not POSIX 2008 */
#if defined(__APPLE__) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 600 /* ucontext on macOS */
#endif
#include "coro.h"
#include "platform.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(CORO_HAVE_ASM) && !defined(CORO_FORCE_UCONTEXT) &&                                     \
    (defined(__x86_64__) || defined(__aarch64__))
#define CORO_ASM 1
#else
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__SANITIZE_THREAD__)
#define CORO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#elif __has_feature(thread_sanitizer)
#define CORO_TSAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef CORO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef CORO_ASM
/* coro_switch_<cpu>.S */
void coro_switch(void **save_sp, void *load_sp);
void coro_trampoline(void);
#endif

struct coro {
#ifdef CORO_ASM
    void *sp;        /* its stack pointer while it is not running */
    void *caller_sp; /* the resumer's, while it runs */
#else
    ucontext_t self, caller;
#endif
    coro_fn fn;
    void *arg;
    bool done;
    struct coro *prev; /* the coroutine that resumed it (NULL: the thread) */
    char *map;         /* the mapping: guard page, then the stack */
    size_t map_size;
    char *stack; /* lowest usable byte */
    size_t stack_size;
#ifdef CORO_ASAN
    void *fake_stack;                /* ASan's fake frames of the side that left */
    const void *caller_stack_bottom; /* the resumer's stack, to switch back */
    size_t caller_stack_size;
#endif
#ifdef CORO_TSAN
    void *tsan_fiber, *tsan_caller;
#endif
};

static _Thread_local struct coro *current;

/* ---- stacks: mmap'd with a guard page, a few cached per thread ---- */

enum { STACK_CACHE_MAX = 64 };

static _Thread_local struct {
    char *map[STACK_CACHE_MAX];
    size_t map_size;
    int n;
} stack_cache;

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

size_t coro_default_stack(void)
{
#if defined(CORO_ASAN) || defined(CORO_TSAN)
    return 256 * 1024;
#else
    return 128 * 1024;
#endif
}

static char *stack_map(size_t map_size)
{
    if (stack_cache.n > 0 && stack_cache.map_size == map_size)
        return stack_cache.map[--stack_cache.n];
    int flags = MAP_PRIVATE | MAP_ANON;
#ifdef MAP_NORESERVE
    flags |= MAP_NORESERVE;
#endif
#ifdef MAP_STACK
    flags |= MAP_STACK;
#endif
    char *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (map == MAP_FAILED) return NULL;
    if (mprotect(map, page_size(), PROT_NONE) < 0) { /* the guard, at the low end */
        int err = errno;
        munmap(map, map_size);
        errno = err;
        return NULL;
    }
    return map;
}

static void stack_unmap(char *map, size_t map_size)
{
    if (stack_cache.n == 0) stack_cache.map_size = map_size;
    if (stack_cache.map_size == map_size && stack_cache.n < STACK_CACHE_MAX)
        stack_cache.map[stack_cache.n++] = map;
    else
        munmap(map, map_size);
}

void coro_release_cache(void)
{
    while (stack_cache.n > 0)
        munmap(stack_cache.map[--stack_cache.n], stack_cache.map_size);
}

size_t coro_stack_touched(const struct coro *c)
{
#if SM_LINUX
    size_t page = page_size(), pages = c->stack_size / page, touched = 0;
    unsigned char *vec = malloc(pages);
    if (!vec) return 0;
    if (mincore(c->stack, c->stack_size, vec) == 0)
        for (size_t i = 0; i < pages; i++)
            touched += vec[i] & 1;
    free(vec);
    return touched * page;
#else
    (void)c;
    return 0;
#endif
}

/* ---- telling the sanitizers about switches ---- */

/* Before leaving for the stack [bottom, bottom+size); save: where ASan keeps
 * the fake frames of the side we leave (NULL: it never runs again). */
static void san_leave(void **save, const void *bottom, size_t size, void *tsan_to)
{
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(save, bottom, size);
#else
    (void)save;
    (void)bottom;
    (void)size;
#endif
#ifdef CORO_TSAN
    __tsan_switch_to_fiber(tsan_to, 0);
#else
    (void)tsan_to;
#endif
}

/* After arriving; from_*: receives the stack we came from. */
static void san_arrive(void *fake, const void **from_bottom, size_t *from_size)
{
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, from_bottom, from_size);
#else
    (void)fake;
    (void)from_bottom;
    (void)from_size;
#endif
}

#ifdef CORO_ASAN
#define FAKE(c) (&(c)->fake_stack)
#define CALLER_BOTTOM(c) ((c)->caller_stack_bottom)
#define CALLER_SIZE(c) ((c)->caller_stack_size)
#define CALLER_BOUNDS(c) (&(c)->caller_stack_bottom), (&(c)->caller_stack_size)
#else
#define FAKE(c) ((void **)NULL)
#define CALLER_BOTTOM(c) ((const void *)NULL)
#define CALLER_SIZE(c) ((size_t)0)
#define CALLER_BOUNDS(c) NULL, NULL
#endif
#ifdef CORO_TSAN
#define TSAN_SELF(c) ((c)->tsan_fiber)
#define TSAN_CALLER(c) ((c)->tsan_caller)
#else
#define TSAN_SELF(c) NULL
#define TSAN_CALLER(c) NULL
#endif

/* ---- the context switch ---- */

static void coro_entry(void *arg)
{
    struct coro *c = arg;
    san_arrive(NULL, CALLER_BOUNDS(c));
    c->fn(c->arg);
    c->done = true;
    san_leave(NULL, CALLER_BOTTOM(c), CALLER_SIZE(c), TSAN_CALLER(c)); /* never back */
#ifdef CORO_ASM
    coro_switch(&c->sp, c->caller_sp);
#else
    setcontext(&c->caller);
#endif
    abort(); /* a finished coroutine is never resumed */
}

#ifdef CORO_ASM
/* The frame coro_switch pops on the first switch to c. Keep in step with
 * coro_switch_<cpu>.S. */
static void prepare_stack(struct coro *c)
{
    uintptr_t top = ((uintptr_t)c->stack + c->stack_size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* from the saved sp up: mxcsr+x87 cw, r15, r14, r13, r12, rbx, rbp, ret;
     * then 16 zero bytes, so the trampoline starts 16-byte aligned and a
     * backtrace ends there */
    uint64_t *f = (uint64_t *)(top - 80);
    memset(f, 0, 80);
    f[0] = 0x1F80 | ((uint64_t)0x037F << 32); /* the ABI's initial MXCSR, x87 CW */
    f[4] = (uint64_t)(uintptr_t)coro_entry;   /* r12: called by the trampoline */
    f[5] = (uint64_t)(uintptr_t)c;            /* rbx: its argument */
    f[7] = (uint64_t)(uintptr_t)coro_trampoline;
#elif defined(__aarch64__)
    /* x19..x28, x29 (fp), x30 (lr), d8..d15: 20 slots of 8 bytes */
    uint64_t *f = (uint64_t *)(top - 160);
    memset(f, 0, 160);
    f[0] = (uint64_t)(uintptr_t)c;                /* x19: the argument */
    f[1] = (uint64_t)(uintptr_t)coro_entry;       /* x20: called by the trampoline */
    f[11] = (uint64_t)(uintptr_t)coro_trampoline; /* x30: where ret goes */
#endif
    c->sp = f;
}
#else
/* swapcontext() returns twice: kept out of line so no caller's variable
 * lives across it (-Wclobbered). */
__attribute__((noinline)) static void uc_switch(ucontext_t *save, ucontext_t *load)
{
    swapcontext(save, load);
}

static void uc_entry(void)
{
    coro_entry(current); /* coro_resume set it; makecontext passes only ints */
}

/* getcontext() returns twice too. */
__attribute__((noinline)) static int uc_prepare(struct coro *c)
{
    if (getcontext(&c->self) < 0) return -1;
    c->self.uc_stack.ss_sp = c->stack;
    c->self.uc_stack.ss_size = c->stack_size;
    c->self.uc_link = NULL;
    makecontext(&c->self, uc_entry, 0);
    return 0;
}
#endif

struct coro *coro_new(coro_fn fn, void *arg, size_t stack_size)
{
    size_t page = page_size();
    if (!stack_size) stack_size = coro_default_stack();
    stack_size = (stack_size + page - 1) / page * page;
    struct coro *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fn = fn;
    c->arg = arg;
    c->map_size = stack_size + page;
    c->map = stack_map(c->map_size);
    if (!c->map) {
        free(c);
        return NULL;
    }
    c->stack = c->map + page;
    c->stack_size = stack_size;
#ifdef CORO_ASM
    prepare_stack(c);
#else
    if (uc_prepare(c) < 0) {
        coro_free(c);
        return NULL;
    }
#endif
#ifdef CORO_TSAN
    c->tsan_fiber = __tsan_create_fiber(0);
#endif
    return c;
}

void coro_free(struct coro *c)
{
    if (!c) return;
#ifdef CORO_TSAN
    __tsan_destroy_fiber(c->tsan_fiber);
#endif
    stack_unmap(c->map, c->map_size);
    free(c);
}

void coro_resume(struct coro *c)
{
    void *fake = NULL;
    c->prev = current;
    current = c;
#ifdef CORO_TSAN
    c->tsan_caller = __tsan_get_current_fiber();
#endif
    san_leave(&fake, c->stack, c->stack_size, TSAN_SELF(c));
#ifdef CORO_ASM
    coro_switch(&c->caller_sp, c->sp);
#else
    uc_switch(&c->caller, &c->self);
#endif
    san_arrive(fake, NULL, NULL);
    current = c->prev;
}

void coro_yield(void)
{
    struct coro *c = current;
    san_leave(FAKE(c), CALLER_BOTTOM(c), CALLER_SIZE(c), TSAN_CALLER(c));
#ifdef CORO_ASM
    coro_switch(&c->sp, c->caller_sp);
#else
    uc_switch(&c->self, &c->caller);
#endif
#ifdef CORO_ASAN
    san_arrive(c->fake_stack, CALLER_BOUNDS(c));
#endif
}

struct coro *coro_current(void)
{
    return current;
}

bool coro_done(const struct coro *c)
{
    return c->done;
}

const char *coro_switch_kind(void)
{
#ifdef CORO_ASM
    return "asm";
#else
    return "ucontext";
#endif
}
