;; Hand-reduced companion of table64-copy-out-of-bounds.wat: bulk operations on
;; 64-bit tables and memories, in and out of bounds. wasmi 1.0.9 reports some of
;; these traps as table or memory errors; both engines must trap alike.
;; variant: 1005696
(module
  (table $t i64 2 13 funcref)
  (table $u i64 0 13 funcref)
  (memory $m i64 1 2)
  (elem $e func $f $f)
  (func $f)
  (func (export "copy") (param i64 i64 i64) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy-empty") (table.copy $u $u (i64.const 1) (i64.const 0) (i64.const 0)))
  (func (export "fill") (param i64 i64) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "init") (param i64 i32 i32) (table.init $t $e (local.get 0) (local.get 1) (local.get 2)))
  (func (export "grow") (param i64) (result i64) (table.grow $u (ref.null func) (local.get 0)))
  (func (export "mem-fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "mem-copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy-in-bounds") (table.copy $t $t (i64.const 1) (i64.const 0) (i64.const 1))))
