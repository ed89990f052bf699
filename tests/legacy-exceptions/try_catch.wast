;; Tern's own tests of the legacy `try`/`catch`/`catch_all` instructions
;; (flat syntax: the `wast` crate reads no folded `(try (do …))` form).
;; Run by `crates/wast/tests/spec.rs` (`legacy_exceptions`) with
;; `Config::wasm_legacy_exceptions(true)`.

(module
  (tag $thrower (export "tag"))
  (func (export "throw") (throw $thrower))
)
(register "other")

(module
  (import "other" "tag" (tag $imported))
  (import "other" "throw" (func $throw-imported))
  (tag $plain)
  (tag $other)
  (tag $i32 (param i32))
  (tag $pair (param i32 i64))
  (tag $three (param f32 f64 i32))

  (func $maybe-throw (param i32)
    local.get 0
    if
      throw $plain
    end)

  (func (export "caught") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $maybe-throw
      i32.const 10
    catch $plain
      i32.const 20
    end)

  (func (export "second-clause") (param i32) (result i32)
    try (result i32)
      local.get 0
      i32.eqz
      if
        throw $plain
      end
      local.get 0
      throw $i32
    catch $plain
      i32.const -1
    catch $i32
      i32.const 100
      i32.add
    end)

  (func (export "catch-all-after-tags") (param i32) (result i32)
    try (result i32)
      local.get 0
      i32.eqz
      if
        throw $plain
      end
      throw $other
    catch $plain
      i32.const 1
    catch_all
      i32.const 2
    end)

  (func (export "multi-value-payload") (result i32 i64)
    try (result i32 i64)
      i32.const 7
      i64.const 8
      throw $pair
    catch $pair
    end)

  (func (export "three-payload") (result f64)
    (local f32 f64 i32)
    try (result f32 f64 i32)
      f32.const 1.5
      f64.const 2.25
      i32.const 3
      throw $three
    catch $three
    end
    local.set 2
    local.set 1
    local.set 0
    local.get 0
    f64.promote_f32
    local.get 1
    f64.add
    local.get 2
    f64.convert_i32_s
    f64.add)

  ;; Block types with parameters: the try consumes its parameter.
  (func (export "try-with-params") (param i32) (result i32)
    local.get 0
    try (param i32) (result i32)
      i32.const 1
      i32.add
      local.get 0
      i32.const 5
      i32.eq
      if
        throw $plain
      end
    catch $plain
      i32.const 99
    end)

  (func (export "try-with-params-payload") (param i32) (result i32 i32)
    i32.const 3
    local.get 0
    try (param i32 i32) (result i32 i32)
      throw $pair-of-i32
    catch $pair-of-i32
    end)
  (tag $pair-of-i32 (param i32 i32))

  (func (export "uncaught-tag") (result i32)
    try (result i32)
      throw $other
    catch $plain
      i32.const 1
    end)

  (func (export "catchless") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0
        call $maybe-throw
        i32.const 5
      end
    catch $plain
      i32.const 6
    end)

  (func (export "traps-not-caught") (result i32)
    try (result i32)
      unreachable
    catch_all
      i32.const 1
    end)

  (func $div (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.div_s)
  (func (export "trap-in-callee") (param i32) (result i32)
    try (result i32)
      i32.const 12
      local.get 0
      call $div
    catch_all
      i32.const -1
    end)

  (func (export "imported-tag") (result i32)
    try (result i32)
      call $throw-imported
      i32.const 0
    catch $imported
      i32.const 1
    end)

  (func (export "imported-tag-missed") (result i32)
    try (result i32)
      try (result i32)
        call $throw-imported
        i32.const 0
      catch $plain
        i32.const 1
      end
    catch_all
      i32.const 2
    end)

  ;; Branches out of the body, out of a handler and through br_table.
  (func (export "branches") (param i32) (result i32)
    block $out (result i32)
      try (result i32)
        i32.const 1
        local.get 0
        br_table 0 1 2
      catch_all
        i32.const 3
        br $out
      end
      i32.const 10
      i32.add
    end)

  (func (export "br-from-handler") (param i32) (result i32)
    block $out (result i32)
      try (result i32)
        throw $plain
      catch $plain
        local.get 0
        local.get 0
        br_if $out
        drop
        i32.const 40
      end
      i32.const 2
      i32.add
    end)

  (func (export "loop-retry") (result i32)
    (local $tries i32)
    loop $again
      try
        local.get $tries
        i32.const 1
        i32.add
        local.set $tries
        local.get $tries
        i32.const 5
        i32.lt_u
        if
          throw $plain
        end
      catch $plain
        br $again
      end
    end
    local.get $tries)

  (func $throw-void (throw $plain))
  (func (export "return-call-leaves-the-try")
    try
      return_call $throw-void
    catch $plain
    end)

  ;; A legacy try inside a try_table, and a try_table inside a legacy try.
  (func (export "legacy-in-try-table") (param i32) (result i32)
    block $h (result i32)
      try_table (result i32) (catch $i32 $h)
        try (result i32)
          local.get 0
          throw $i32
        catch $plain
          i32.const 0
        end
      end
    end)

  (func (export "try-table-in-legacy") (param i32) (result i32)
    try (result i32)
      block $h
        try_table (catch $other $h)
          local.get 0
          throw $i32
        end
      end
      i32.const 0
    catch $i32
      i32.const 1000
      i32.add
    end)

  (func (export "exnref-from-legacy-to-try-table") (result i32)
    block $h (result exnref)
      try_table (catch_all_ref $h)
        try
          throw $plain
        catch_all
          i32.const 1
          throw $i32
        end
      end
      unreachable
    end
    drop
    i32.const 77)

  (func (export "trap-in-handler") (result i32)
    try (result i32)
      throw $plain
    catch $plain
      i32.const 0
      i32.const 0
      i32.div_u
    end)

  (func (export "empty")
    try
    catch $plain
    catch_all
    end)
)

(assert_return (invoke "caught" (i32.const 0)) (i32.const 10))
(assert_return (invoke "caught" (i32.const 1)) (i32.const 20))
(assert_return (invoke "second-clause" (i32.const 0)) (i32.const -1))
(assert_return (invoke "second-clause" (i32.const 5)) (i32.const 105))
(assert_return (invoke "catch-all-after-tags" (i32.const 0)) (i32.const 1))
(assert_return (invoke "catch-all-after-tags" (i32.const 1)) (i32.const 2))
(assert_return (invoke "multi-value-payload") (i32.const 7) (i64.const 8))
(assert_return (invoke "three-payload") (f64.const 6.75))
(assert_return (invoke "try-with-params" (i32.const 1)) (i32.const 2))
(assert_return (invoke "try-with-params" (i32.const 5)) (i32.const 99))
(assert_return (invoke "try-with-params-payload" (i32.const 4)) (i32.const 3) (i32.const 4))
(assert_exception (invoke "uncaught-tag"))
(assert_return (invoke "catchless" (i32.const 0)) (i32.const 5))
(assert_return (invoke "catchless" (i32.const 1)) (i32.const 6))
(assert_trap (invoke "traps-not-caught") "unreachable")
(assert_return (invoke "trap-in-callee" (i32.const 4)) (i32.const 3))
(assert_trap (invoke "trap-in-callee" (i32.const 0)) "integer divide by zero")
(assert_return (invoke "imported-tag") (i32.const 1))
(assert_return (invoke "imported-tag-missed") (i32.const 2))
(assert_return (invoke "branches" (i32.const 0)) (i32.const 11))
(assert_return (invoke "branches" (i32.const 1)) (i32.const 1))
(assert_return (invoke "branches" (i32.const 7)) (i32.const 1))
(assert_return (invoke "br-from-handler" (i32.const 0)) (i32.const 42))
(assert_return (invoke "br-from-handler" (i32.const 9)) (i32.const 9))
(assert_return (invoke "loop-retry") (i32.const 5))
(assert_exception (invoke "return-call-leaves-the-try"))
(assert_return (invoke "legacy-in-try-table" (i32.const 31)) (i32.const 31))
(assert_return (invoke "try-table-in-legacy" (i32.const 3)) (i32.const 1003))
(assert_return (invoke "exnref-from-legacy-to-try-table") (i32.const 77))
(assert_trap (invoke "trap-in-handler") "integer divide by zero")
(assert_return (invoke "empty"))

(assert_invalid
  (module (func (result i32) try (result i32) end))
  "type mismatch")
(assert_invalid
  (module (tag (param i64)) (func (result i32) try (result i32) i32.const 1 catch 0 end))
  "type mismatch")
(assert_invalid
  (module (func try catch 3 end))
  "unknown tag")
