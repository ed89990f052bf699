;; SIMD versus scalar kernels for `tern-bench`: dot products of two arrays of
;; i16 (i32x4.dot_i16x8_s) and of f32 (f32x4.mul/add), each written both ways.
;; Arrays live at 0 (a) and 4 MiB (b); `fill` writes the same data for both.
(module
  (memory (export "memory") 300)

  (func (export "fill") (param $n i32)
    (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store16 (i32.shl (local.get $i) (i32.const 1)) (i32.sub (i32.rem_u (local.get $i) (i32.const 200)) (i32.const 100)))
      (i32.store16 (i32.add (i32.const 0x400000) (i32.shl (local.get $i) (i32.const 1))) (i32.rem_u (local.get $i) (i32.const 7)))
      (f32.store (i32.add (i32.const 0x800000) (i32.shl (local.get $i) (i32.const 2))) (f32.convert_i32_u (i32.rem_u (local.get $i) (i32.const 13))))
      (f32.store (i32.add (i32.const 0xC00000) (i32.shl (local.get $i) (i32.const 2))) (f32.const 0.5))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))

  (func (export "dot_i16_scalar") (param $n i32) (result i32)
    (local $i i32) (local $acc i32) (local $p i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (i32.shl (local.get $i) (i32.const 1)))
      (local.set $acc (i32.add (local.get $acc)
        (i32.mul (i32.load16_s (local.get $p)) (i32.load16_s (i32.add (i32.const 0x400000) (local.get $p))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $acc))

  (func (export "dot_i16_simd") (param $n i32) (result i32)
    (local $i i32) (local $acc v128) (local $p i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (i32.shl (local.get $i) (i32.const 1)))
      (local.set $acc (i32x4.add (local.get $acc)
        (i32x4.dot_i16x8_s (v128.load (local.get $p)) (v128.load (i32.add (i32.const 0x400000) (local.get $p))))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $l)))
    (i32.add (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
             (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))

  (func (export "dot_f32_scalar") (param $n i32) (result f32)
    (local $i i32) (local $acc f32) (local $p i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (i32.shl (local.get $i) (i32.const 2)))
      (local.set $acc (f32.add (local.get $acc)
        (f32.mul (f32.load (i32.add (i32.const 0x800000) (local.get $p))) (f32.load (i32.add (i32.const 0xC00000) (local.get $p))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $acc))

  (func (export "dot_f32_simd") (param $n i32) (result f32)
    (local $i i32) (local $acc v128) (local $p i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (i32.shl (local.get $i) (i32.const 2)))
      (local.set $acc (f32x4.add (local.get $acc)
        (f32x4.mul (v128.load (i32.add (i32.const 0x800000) (local.get $p))) (v128.load (i32.add (i32.const 0xC00000) (local.get $p))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
             (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
)
