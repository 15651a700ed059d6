/* coro_switch_aarch64.S - the coroutine switch for AArch64 (AAPCS64).
 *
 * void coro_switch(void **save_sp, void *load_sp)
 *   Stores the callee-saved registers (x19-x28, fp, lr, and the low halves
 *   d8-d15 of v8-v15) in a 160-byte frame on the current stack, stores sp
 *   into *save_sp, switches to load_sp and loads the same frame from there;
 *   ret then jumps to the other side's lr. Everything else is caller-saved.
 *   No system call.
 *
 * void coro_trampoline(void)
 *   Where a new coroutine's first switch returns to (coro.c prepares its
 *   stack): calls x20(x19), i.e. coro_entry(c), which never returns.
 */
#if defined(__APPLE__)
#define SYM(name) _##name
#define FUNC(name) .globl SYM(name) %% .p2align 4 %% SYM(name):
#define END(name)
#else
#define SYM(name) name
#define FUNC(name) .globl name; .hidden name; .type name, %function; .p2align 4; name:
#define END(name) .size name, . - name
#endif

    .text
FUNC(coro_switch)
    sub     sp, sp, #160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x2, sp
    str     x2, [x0]
    mov     sp, x1
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    ret
END(coro_switch)

FUNC(coro_trampoline)
    mov     x0, x19
    blr     x20
    brk     #0
END(coro_trampoline)

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack, "", %progbits
#endif
