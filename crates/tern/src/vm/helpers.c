// Entry into wasm with a landing pad for traps.
//
// tern_setjmp_call runs body(payload) after recording a jump buffer in
// *jmp_buf_out; it returns 1 when body returns normally and 0 when a trap (or a
// host error carried across wasm frames) jumped back with tern_longjmp. Only
// Cranelift-generated frames and frames with nothing left to drop are ever
// jumped over.
#include <setjmp.h>

int tern_setjmp_call(void **jmp_buf_out, void (*body)(void *), void *payload) {
  jmp_buf buf;
  if (setjmp(buf) != 0) {
    return 0;
  }
  *jmp_buf_out = &buf;
  body(payload);
  return 1;
}

void tern_longjmp(void *jmp_buf_ptr) {
  jmp_buf *buf = (jmp_buf *)jmp_buf_ptr;
  longjmp(*buf, 1);
}

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
