;; Runtime rules of the component model: post-return cannot call out, a
;; trapped instance cannot be entered again, realloc results are checked.

(component definition $PostReturnCallsOut
  (import "log" (func $log))
  (core func $log' (canon lower (func $log)))
  (core module $M
    (import "" "log" (func $log))
    (func (export "f") (result i32) (i32.const 1))
    (func (export "f-post") (param i32) (call $log)))
  (core instance $m (instantiate $M (with "" (instance (export "log" (func $log'))))))
  (func (export "f") (result u32) (canon lift (core func $m "f") (post-return (core func $m "f-post"))))
)
(component instance $i $PostReturnCallsOut)
(assert_trap (invoke "f") "cannot leave component instance")

(component definition $Poisoned
  (core module $M
    (func (export "boom") unreachable)
    (func (export "ok") (result i32) (i32.const 5)))
  (core instance $m (instantiate $M))
  (func (export "boom") (canon lift (core func $m "boom")))
  (func (export "ok") (result u32) (canon lift (core func $m "ok")))
)
(component instance $i $Poisoned)
(assert_return (invoke "ok") (u32.const 5))
(assert_trap (invoke "boom") "unreachable")
(assert_trap (invoke "ok") "cannot enter component instance")

(component definition $BadRealloc
  (core module $M
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 65535))
    (func (export "f") (param i32 i32) (result i32) (local.get 1)))
  (core instance $m (instantiate $M))
  (func (export "f") (param "s" string) (result u32)
    (canon lift (core func $m "f") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
)
(component instance $i $BadRealloc)
(assert_return (invoke "f" (str.const "x")) (u32.const 1))
(component instance $i $BadRealloc)
(assert_trap (invoke "f" (str.const "xy")) "realloc return: beyond end of memory")
