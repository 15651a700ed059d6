/* coro_switch_x86_64.S - the coroutine switch for x86-64 (System V ABI).
 *
 * void coro_switch(void **save_sp, void *load_sp)
 *   Pushes the callee-saved registers (rbp, rbx, r12-r15) and the two
 *   callee-saved control words (MXCSR, x87 control word) on the current
 *   stack, stores rsp into *save_sp, switches to load_sp and pops the same
 *   frame from there; ret then continues the other side. Everything else is
 *   caller-saved, so the compiler has saved it around this call already.
 *   No system call (swapcontext makes one, sigprocmask, per switch).
 *
 * void coro_trampoline(void)
 *   Where a new coroutine's first switch returns to (coro.c prepares its
 *   stack): calls r12(rbx), i.e. coro_entry(c), which never returns.
 */
#if defined(__APPLE__)
#define SYM(name) _##name
#define FUNC(name) .globl SYM(name); .p2align 4; SYM(name):
#define END(name)
#else
#define SYM(name) name
#define FUNC(name) .globl name; .hidden name; .type name, @function; .p2align 4; name:
#define END(name) .size name, . - name
#endif

    .text
FUNC(coro_switch)
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
END(coro_switch)

FUNC(coro_trampoline)
    movq    %rbx, %rdi
    callq   *%r12
    ud2
END(coro_trampoline)

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack, "", @progbits
#endif
