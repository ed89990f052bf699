;; Canonical ABI task rules: reentrance during instantiation, backpressure
;; counter bounds, context slots per task, async-lifted exports that return
;; without `task.return`.

;; A core start function calling its own component's lifted export.
(assert_trap
  (component
    (core module $A (func (export "f") (result i32) (i32.const 1)))
    (core instance $a (instantiate $A))
    (func $f (result u32) (canon lift (core func $a "f")))
    (core func $g (canon lower (func $f)))
    (core module $B
      (import "" "g" (func $g (result i32)))
      (func $start (drop (call $g)))
      (start $start))
    (core instance $b (instantiate $B (with "" (instance (export "g" (func $g)))))))
  "cannot enter component instance")

;; A nested instance that finished instantiating can be called from a start
;; function of its parent.
(component
  (component $Child
    (core module $A (func (export "f") (result i32) (i32.const 1)))
    (core instance $a (instantiate $A))
    (func (export "f") (result u32) (canon lift (core func $a "f"))))
  (instance $child (instantiate $Child))
  (core func $g (canon lower (func $child "f")))
  (core module $B
    (import "" "g" (func $g (result i32)))
    (global $seen (mut i32) (i32.const 0))
    (func $start (global.set $seen (call $g)))
    (start $start)
    (func (export "seen") (result i32) (global.get $seen)))
  (core instance $b (instantiate $B (with "" (instance (export "g" (func $g))))))
  (func (export "seen") (result u32) (canon lift (core func $b "seen"))))
(assert_return (invoke "seen") (u32.const 1))

;; backpressure.dec below zero and backpressure.inc past 2^32-1 trap.
(component definition $Backpressure
  (core func $inc (canon backpressure.inc))
  (core func $dec (canon backpressure.dec))
  (core module $M
    (import "" "inc" (func $inc))
    (import "" "dec" (func $dec))
    (func (export "balanced") (call $inc) (call $inc) (call $dec) (call $dec))
    (func (export "under") (call $inc) (call $dec) (call $dec)))
  (core instance $m (instantiate $M (with "" (instance
    (export "inc" (func $inc)) (export "dec" (func $dec))))))
  (func (export "balanced") (canon lift (core func $m "balanced")))
  (func (export "under") (canon lift (core func $m "under"))))
(component instance $bp $Backpressure)
(assert_return (invoke "balanced"))
(assert_trap (invoke "under") "backpressure counter underflow")

;; context.get/set slots belong to the task: a new call starts at zero.
(component
  (core func $get (canon context.get i32 0))
  (core func $set (canon context.set i32 0))
  (core module $M
    (import "" "get" (func $get (result i32)))
    (import "" "set" (func $set (param i32)))
    (func (export "set-get") (param i32) (result i32)
      (call $set (local.get 0))
      (call $get))
    (func (export "get") (result i32) (call $get)))
  (core instance $m (instantiate $M (with "" (instance
    (export "get" (func $get)) (export "set" (func $set))))))
  (func (export "set-get") (param "v" u32) (result u32) (canon lift (core func $m "set-get")))
  (func (export "get") (result u32) (canon lift (core func $m "get"))))
(assert_return (invoke "set-get" (u32.const 42)) (u32.const 42))
(assert_return (invoke "get") (u32.const 0))

;; An async-lifted export with no result must still call `task.return`.
(component
  (core func $ret (canon task.return))
  (core module $M
    (import "" "ret" (func $ret))
    (func (export "good") (call $ret))
    (func (export "bad")))
  (core instance $m (instantiate $M (with "" (instance (export "ret" (func $ret))))))
  (func (export "good") async (canon lift (core func $m "good") async))
  (func (export "bad") async (canon lift (core func $m "bad") async)))
(assert_return (invoke "good"))
(assert_trap (invoke "bad") "async-lifted export failed to produce a result")
