// Entries of the libcalls that may run a garbage collection (see
// `vm/gc_libcalls.rs`, "Safepoints"). Compiled wasm calls these instead of the
// Rust functions, so that the frame the wasm code called has a frame
// pointer: each entry passes its own frame address to the Rust body, which
// records it as the store's `last_wasm_exit_fp`, exactly as the
// wasm-to-host trampoline records its own. From that frame, [fp] is the
// calling wasm frame's frame pointer and [fp + 8] the return address into
// the wasm code (x86-64 and AArch64 frame records have this layout), which
// is what the stack-root walk starts from.
//
// Built with -fno-omit-frame-pointer and -fno-optimize-sibling-calls (see
// build.rs): an entry must keep its frame while the body runs, so the call
// must not become a tail jump; the empty asm after each call makes sure of
// it even without the flag. On AArch64 also with -mbranch-protection=none:
// a return address signed for pointer authentication (some compilers'
// default) would not be found in the code registry.
#include <stdint.h>

uint64_t tern_gc_alloc_body(void *vmctx, uint64_t size, void *exit_fp);
uint64_t tern_array_new_data_body(void *vmctx, uint32_t ty, uint32_t elem_size,
                                  uint32_t data, uint32_t src, uint32_t len,
                                  void *exit_fp);
uint64_t tern_array_new_elem_body(void *vmctx, uint32_t ty, uint32_t elem_size,
                                  uint32_t elem, uint32_t src, uint32_t len,
                                  void *exit_fp);
uint32_t tern_out_of_fuel_body(void *vmctx, void *exit_fp);
uint32_t tern_new_epoch_body(void *vmctx, void *exit_fp);

uint64_t tern_gc_alloc_entry(void *vmctx, uint64_t size) {
  uint64_t r = tern_gc_alloc_body(vmctx, size, __builtin_frame_address(0));
  __asm__ volatile("" : "+r"(r)::"memory");
  return r;
}

uint64_t tern_array_new_data_entry(void *vmctx, uint32_t ty, uint32_t elem_size,
                                   uint32_t data, uint32_t src, uint32_t len) {
  uint64_t r = tern_array_new_data_body(vmctx, ty, elem_size, data, src, len,
                                        __builtin_frame_address(0));
  __asm__ volatile("" : "+r"(r)::"memory");
  return r;
}

uint64_t tern_array_new_elem_entry(void *vmctx, uint32_t ty, uint32_t elem_size,
                                   uint32_t elem, uint32_t src, uint32_t len) {
  uint64_t r = tern_array_new_elem_body(vmctx, ty, elem_size, elem, src, len,
                                        __builtin_frame_address(0));
  __asm__ volatile("" : "+r"(r)::"memory");
  return r;
}

uint32_t tern_out_of_fuel_entry(void *vmctx) {
  uint32_t r = tern_out_of_fuel_body(vmctx, __builtin_frame_address(0));
  __asm__ volatile("" : "+r"(r)::"memory");
  return r;
}

uint32_t tern_new_epoch_entry(void *vmctx) {
  uint32_t r = tern_new_epoch_body(vmctx, __builtin_frame_address(0));
  __asm__ volatile("" : "+r"(r)::"memory");
  return r;
}

// The `throw` libcall (see `vm/unwind.rs`): the body unwinds from this
// frame and never returns here (it resumes at a wasm handler or longjmps to
// the activation's landing pad).
void tern_throw_body(void *vmctx, uint64_t exn, uint64_t tag, void *exit_fp);

void tern_throw_entry(void *vmctx, uint64_t exn, uint64_t tag) {
  tern_throw_body(vmctx, exn, tag, __builtin_frame_address(0));
  __asm__ volatile("" ::: "memory");
}
