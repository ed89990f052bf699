;; Component structure that inlining must get right: nested components,
;; outer aliases, instances built from exports, re-exports, a module
;; instantiated several times, and a component passed as an argument.

(component
  (core module $Counter
    (global $n (mut i32) (i32.const 0))
    (func (export "bump") (result i32)
      (global.set $n (i32.add (global.get $n) (i32.const 1)))
      (global.get $n)))
  ;; three independent instances of one static module
  (core instance $a (instantiate $Counter))
  (core instance $b (instantiate $Counter))
  (core instance $c (instantiate $Counter))
  (func $bump-a (result u32) (canon lift (core func $a "bump")))
  (func $bump-b (result u32) (canon lift (core func $b "bump")))
  (func $bump-c (result u32) (canon lift (core func $c "bump")))
  (instance $counters (export "a" (func $bump-a)) (export "b" (func $bump-b)))
  (export "counters" (instance $counters))
  (export "a" (func $bump-a))
  (export "b" (func $bump-b))
  (export "c" (func $bump-c))
)
(assert_return (invoke "a") (u32.const 1))
(assert_return (invoke "a") (u32.const 2))
(assert_return (invoke "b") (u32.const 1))
(assert_return (invoke "c") (u32.const 1))
(assert_return (invoke "a") (u32.const 3))

;; Outer aliases: a nested component uses its parent's module, and a
;; grand-child reaches two levels up.
(component
  (core module $Const (func (export "get") (result i32) (i32.const 42)))
  (component $Child
    (core instance $i (instantiate (module $Const)))
    (func (export "get") (result u32) (canon lift (core func $i "get")))
    (component $Grandchild
      (alias outer 2 $Const (core module $m))
      (core instance $j (instantiate $m))
      (func (export "get") (result u32) (canon lift (core func $j "get"))))
    (instance $g (instantiate $Grandchild))
    (export "deep" (func $g "get")))
  (instance $c (instantiate $Child))
  (export "get" (func $c "get"))
  (export "deep" (func $c "deep"))
)
(assert_return (invoke "get") (u32.const 42))
(assert_return (invoke "deep") (u32.const 42))

;; A component passed to another as an argument and instantiated twice
;; there; each instantiation has its own state.
(component
  (component $Cell
    (core module $M
      (global $v (mut i32) (i32.const 0))
      (func (export "inc") (result i32) (global.set $v (i32.add (global.get $v) (i32.const 10))) (global.get $v)))
    (core instance $m (instantiate $M))
    (func (export "inc") (result u32) (canon lift (core func $m "inc"))))
  (component $Twice
    (import "cell" (component $C (export "inc" (func (result u32)))))
    (instance $x (instantiate $C))
    (instance $y (instantiate $C))
    (export "x" (func $x "inc"))
    (export "y" (func $y "inc")))
  (instance $t (instantiate $Twice (with "cell" (component $Cell))))
  (export "x" (func $t "x"))
  (export "y" (func $t "y"))
)
(assert_return (invoke "x") (u32.const 10))
(assert_return (invoke "x") (u32.const 20))
(assert_return (invoke "y") (u32.const 10))

;; Core instances from exports, passed to a module, and an export that is a
;; lowered-then-lifted function of another component.
(component
  (component $Add
    (core module $M (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
    (core instance $m (instantiate $M))
    (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $m "add"))))
  (instance $add (instantiate $Add))
  (core func $add' (canon lower (func $add "add")))
  (core module $Use
    (import "math" "add" (func $add (param i32 i32) (result i32)))
    (func (export "triple") (param i32) (result i32)
      (call $add (local.get 0) (call $add (local.get 0) (local.get 0)))))
  (core instance $math (export "add" (func $add')))
  (core instance $use (instantiate $Use (with "math" (instance $math))))
  (func (export "triple") (param "x" u32) (result u32) (canon lift (core func $use "triple")))
)
(assert_return (invoke "triple" (u32.const 14)) (u32.const 42))
