;; Tern's own tests of `rethrow`: the exception of an enclosing catch is
;; thrown again, unchanged (same tag, same payload, same identity).

(module
  (tag $a)
  (tag $b)
  (tag $v (param i32))

  (func (export "rethrow-0")
    try
      throw $a
    catch $a
      rethrow 0
    end)

  (func (export "rethrow-from-catch-all") (param i32) (result i32)
    try (result i32)
      throw $a
    catch_all
      local.get 0
      i32.eqz
      if
        rethrow 1
      end
      i32.const 23
    end)

  ;; From nested catches: depth 1 is the inner catch ($a), depth 2 the outer ($b).
  (func (export "nested") (param i32) (result i32)
    try (result i32)
      try (result i32)
        throw $b
      catch $b
        try (result i32)
          throw $a
        catch $a
          local.get 0
          i32.const 0
          i32.eq
          if
            rethrow 1
          end
          local.get 0
          i32.const 1
          i32.eq
          if
            rethrow 2
          end
          i32.const 23
        end
      end
    catch $a
      i32.const 1
    catch $b
      i32.const 2
    end)

  ;; A rethrow inside a try body is caught by that try.
  (func (export "recatch") (param i32) (result i32)
    try (result i32)
      throw $a
    catch $a
      try (result i32)
        local.get 0
        i32.eqz
        if
          rethrow 2
        end
        i32.const 42
      catch $a
        i32.const 23
      end
    end)

  (func (export "payload-survives") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0
        throw $v
      catch $v
        drop
        rethrow 0
      end
    catch $v
    end)

  (func (export "stack-polymorphic")
    try
      throw $a
    catch $a
      i32.const 1
      rethrow 0
    end)

  ;; The same exception object: a rethrown exception caught as exnref by a
  ;; try_table, then compared by throwing it again and catching its payload.
  (func (export "to-try-table") (param i32) (result i32)
    block $h (result i32)
      try_table (result i32) (catch $v $h)
        try (result i32)
          local.get 0
          throw $v
        catch_all
          rethrow 0
        end
      end
    end)

  ;; A function recursing through handlers: each level rethrows its own
  ;; exception (its own local) after the inner levels have rethrown theirs,
  ;; so the one that escapes carries the outermost level's payload.
  (func $levels (param i32) (result i32)
    try (result i32)
      local.get 0
      throw $v
    catch $v
      drop
      local.get 0
      i32.eqz
      if
        rethrow 1
      end
      try (result i32)
        local.get 0
        i32.const 1
        i32.sub
        call $levels
      catch $v
        drop
        rethrow 1
      end
    end)
  (func (export "levels") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $levels
    catch $v
    end)
)

(assert_exception (invoke "rethrow-0"))
(assert_exception (invoke "rethrow-from-catch-all" (i32.const 0)))
(assert_return (invoke "rethrow-from-catch-all" (i32.const 1)) (i32.const 23))
(assert_return (invoke "nested" (i32.const 0)) (i32.const 1))
(assert_return (invoke "nested" (i32.const 1)) (i32.const 2))
(assert_return (invoke "nested" (i32.const 2)) (i32.const 23))
(assert_return (invoke "recatch" (i32.const 0)) (i32.const 23))
(assert_return (invoke "recatch" (i32.const 1)) (i32.const 42))
(assert_return (invoke "payload-survives" (i32.const 17)) (i32.const 17))
(assert_exception (invoke "stack-polymorphic"))
(assert_return (invoke "to-try-table" (i32.const 5)) (i32.const 5))
(assert_return (invoke "levels" (i32.const 0)) (i32.const 0))
(assert_return (invoke "levels" (i32.const 3)) (i32.const 3))

(assert_invalid (module (func rethrow 0)) "invalid rethrow label")
(assert_invalid (module (func block rethrow 0 end)) "invalid rethrow label")
(assert_invalid (module (func try rethrow 0 delegate 0)) "invalid rethrow label")
(assert_invalid (module (tag) (func try catch 0 try rethrow 0 catch_all end end)) "invalid rethrow label")
