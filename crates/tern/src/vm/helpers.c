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
