// Entry into wasm with a landing pad for traps.
//
// tern_enter_wasm(jmp_buf_out, entry, vmctx, values, wasm_call) records a
// landing pad in *jmp_buf_out, then calls the array-call trampoline
// entry(vmctx, vmctx, values, wasm_call). It returns 1 when the trampoline
// returns normally and 0 when a trap (or a host error carried across wasm
// frames) jumped back with tern_longjmp(*jmp_buf_out). Only
// Cranelift-generated frames and frames with nothing left to drop are ever
// jumped over.
//
// On x86-64 the landing pad is this entry's own frame: the entry saves the
// callee-saved registers (and keeps a frame record, so frame-pointer walks
// pass through it) and stores its stack pointer as the "jump buffer";
// tern_longjmp puts that stack pointer back, pops the saved registers and
// returns 0 from the entry to its caller, exactly what a longjmp to a setjmp
// done at the entry would do. That is all a landing pad needs (the signal
// mask is never changed: the trap handler is installed with SA_NODEFER and an
// empty mask), and it costs a few instructions where libc's setjmp also
// mangles pointers and records the signal-mask flag on every call. Other
// architectures use libc's setjmp/longjmp for the same contract.
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl tern_enter_wasm\n"
        ".type tern_enter_wasm,@function\n"
        "tern_enter_wasm:\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  push %rbx\n"
        "  push %r12\n"
        "  push %r13\n"
        "  push %r14\n"
        "  push %r15\n"
        // Six pushes after the call's return address: 16-byte aligned again
        // after eight more bytes, as the call below requires.
        "  sub $8, %rsp\n"
        "  mov %rsp, (%rdi)\n"
        "  mov %rsi, %rax\n"
        "  mov %rdx, %rdi\n"
        "  mov %rdx, %rsi\n"
        "  mov %rcx, %rdx\n"
        "  mov %r8, %rcx\n"
        "  call *%rax\n"
        "  mov $1, %eax\n"
        ".Ltern_enter_wasm_return:\n"
        "  add $8, %rsp\n"
        "  pop %r15\n"
        "  pop %r14\n"
        "  pop %r13\n"
        "  pop %r12\n"
        "  pop %rbx\n"
        "  pop %rbp\n"
        "  ret\n"
        ".size tern_enter_wasm, .-tern_enter_wasm\n"
        ".globl tern_longjmp\n"
        ".type tern_longjmp,@function\n"
        "tern_longjmp:\n"
        "  mov %rdi, %rsp\n"
        "  xor %eax, %eax\n"
        "  jmp .Ltern_enter_wasm_return\n"
        ".size tern_longjmp, .-tern_longjmp\n");
#else
#include <setjmp.h>

typedef void (*tern_array_entry)(void *, void *, void *, const void *);

int tern_enter_wasm(void **jmp_buf_out, tern_array_entry entry, void *vmctx,
                    void *values, const void *wasm_call) {
  jmp_buf buf;
  if (setjmp(buf) != 0) {
    return 0;
  }
  *jmp_buf_out = &buf;
  entry(vmctx, vmctx, values, wasm_call);
  return 1;
}

void tern_longjmp(void *jmp_buf_ptr) {
  jmp_buf *buf = (jmp_buf *)jmp_buf_ptr;
  longjmp(*buf, 1);
}
#endif

// tern_resume(pc, sp, fp, payload): resumes compiled wasm code at an
// exception handler (see `vm/unwind.rs`): sets the stack pointer and frame
// pointer of the frame that owns the handler, puts the exnref in the first
// exception-payload register of Cranelift's `tail` convention (the second
// is zeroed) and jumps. Never returns.
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl tern_resume\n"
        ".type tern_resume,@function\n"
        "tern_resume:\n"
        "  mov %rsi, %rsp\n"
        "  mov %rdx, %rbp\n"
        "  mov %rcx, %rax\n"
        "  xor %edx, %edx\n"
        "  jmp *%rdi\n"
        ".size tern_resume, .-tern_resume\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl tern_resume\n"
        ".type tern_resume,%function\n"
        "tern_resume:\n"
        "  mov x16, x0\n"
        "  mov sp, x1\n"
        "  mov x29, x2\n"
        "  mov x0, x3\n"
        "  mov x1, xzr\n"
        "  br x16\n"
        ".size tern_resume, .-tern_resume\n");
#else
#error "tern_resume: exception resume is implemented for x86_64 and aarch64 only"
#endif

// tern_clear_icache(start, len): makes code just written to [start,
// start + len) visible to instruction fetch on this core and, through the
// broadcast cache maintenance, to the others' caches (see
// `vm/code_memory.rs`). The compiler's builtin is the whole job: nothing on
// x86-64 (instruction fetch is coherent with data writes there), and on
// AArch64 a data-cache clean and an instruction-cache invalidate per line,
// each followed by a barrier.
void tern_clear_icache(void *start, unsigned long len) {
  __builtin___clear_cache((char *)start, (char *)start + len);
}
