;; Tern's own tests of `delegate`: the exception is thrown again from
;; directly inside the target label, where only the handlers around that
;; label apply.

(module
  (tag $a)
  (tag $b)
  (tag $v (param i32))

  (func $throw-a-if (param i32)
    local.get 0
    if
      throw $a
    end)

  (func (export "to-outer-try") (param i32) (result i32)
    try $outer (result i32)
      try (result i32)
        local.get 0
        call $throw-a-if
        i32.const 1
      delegate $outer
    catch $a
      i32.const 2
    end)

  ;; The middle try would catch $a, but the delegate skips it.
  (func (export "skips-the-middle") (result i32)
    try $outer (result i32)
      try (result i32)
        try (result i32)
          throw $a
        delegate $outer
      catch $a
        i32.const 2
      end
    catch $a
      i32.const 3
    end)

  ;; A block label: the try around the block handles it.
  (func (export "to-block") (result i32)
    try (result i32)
      block
        try
          throw $a
        delegate 0
      end
      i32.const 0
    catch_all
      i32.const 1
    end)

  ;; The target try is running a handler: it does not catch again, the
  ;; next one out does.
  (func (export "to-try-in-handler") (result i32)
    try (result i32)
      try
        throw $a
      catch $a
        try
          throw $b
        delegate 0
      end
      i32.const 0
    catch $b
      i32.const 5
    end)

  (func (export "to-caller")
    try
      try
        throw $a
      delegate 1
    catch_all
    end)

  (func $deep (export "to-caller-from-deep") (param i32) (result i32)
    try (result i32)
      block (result i32)
        loop (result i32)
          try (result i32)
            local.get 0
            throw $v
          delegate 3
        end
      end
    catch_all
      i32.const -1
    end)

  (func (export "caller-catches") (param i32) (result i32)
    try (result i32)
      local.get 0
      call $deep
    catch $v
      i32.const 1000
      i32.add
    end)

  (func $select (param i32)
    block
      block
        block
          local.get 0
          br_table 0 1 2
        end
        return
      end
      throw $a
    end
    throw $b)

  (func (export "merge") (param i32 i32) (result i32)
    try $t (result i32)
      local.get 0
      call $select
      try (result i32)
        local.get 1
        call $select
        i32.const 1
      delegate $t
    catch $a
      i32.const 2
    end)

  ;; Chains: a delegate to a try that itself delegates.
  (func (export "chain") (result i32)
    try $top (result i32)
      try $mid (result i32)
        try (result i32)
          i32.const 7
          throw $v-seven
        delegate $mid
      delegate $top
    catch $v-seven
    end)
  (tag $v-seven (param i32))

  ;; A try_table between the delegate and its target is skipped.
  (func (export "skips-try-table") (result i32)
    try $outer (result i32)
      block $h
        try_table (catch_all $h)
          try
            throw $a
          delegate $outer
        end
      end
      i32.const 0
    catch $a
      i32.const 4
    end)

  ;; Delegating past handlers inside a handler of the same function.
  (func (export "from-handler") (result i32)
    try $outer (result i32)
      try (result i32)
        throw $a
      catch_all
        try (result i32)
          try (result i32)
            throw $b
          delegate $outer
        catch $b
          i32.const 1
        end
      end
    catch $b
      i32.const 2
    end)

  ;; Typed delegate with block parameters.
  (func (export "with-params") (param i32) (result i32)
    try $t (result i32)
      local.get 0
      try (param i32) (result i32)
        i32.const 2
        i32.mul
        local.get 0
        i32.const 3
        i32.eq
        if
          throw $a
        end
      delegate $t
    catch $a
      i32.const -3
    end)
)

(assert_return (invoke "to-outer-try" (i32.const 0)) (i32.const 1))
(assert_return (invoke "to-outer-try" (i32.const 1)) (i32.const 2))
(assert_return (invoke "skips-the-middle") (i32.const 3))
(assert_return (invoke "to-block") (i32.const 1))
(assert_return (invoke "to-try-in-handler") (i32.const 5))
(assert_exception (invoke "to-caller"))
(assert_exception (invoke "to-caller-from-deep" (i32.const 4)))
(assert_return (invoke "caller-catches" (i32.const 4)) (i32.const 1004))
(assert_return (invoke "merge" (i32.const 0) (i32.const 0)) (i32.const 1))
(assert_return (invoke "merge" (i32.const 1) (i32.const 0)) (i32.const 2))
(assert_exception (invoke "merge" (i32.const 2) (i32.const 0)))
(assert_return (invoke "merge" (i32.const 0) (i32.const 1)) (i32.const 2))
(assert_exception (invoke "merge" (i32.const 0) (i32.const 2)))
(assert_return (invoke "chain") (i32.const 7))
(assert_return (invoke "skips-try-table") (i32.const 4))
(assert_return (invoke "from-handler") (i32.const 2))
(assert_return (invoke "with-params" (i32.const 4)) (i32.const 8))
(assert_return (invoke "with-params" (i32.const 3)) (i32.const -3))

(assert_invalid (module (func try delegate 1)) "unknown label")
