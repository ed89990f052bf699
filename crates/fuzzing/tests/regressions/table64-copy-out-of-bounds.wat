;; Cause: the harness, not Tern: wasmi 1.0.9 reports an out-of-bounds table.copy on a 64-bit
;; table as a table error instead of a trap code; the oracle now maps it to TableOutOfBounds.
;; tern-fuzz regression. Found as: Call divergence: set 0, export `2`[F32(3472883713)]: oracle Error("out of bounds table access: `table.copy`"), Tern Trap(TableOutOfBounds)
;; variant: 1005696
(module
  (type (;0;) (func (result f64 f32)))
  (type (;1;) (func (param f32) (result i64)))
  (table (;0;) i64 0 13 funcref)
  (global (;0;) (mut i32) i32.const 0)
  (global (;1;) i64 i64.const 0)
  (global (;2;) (mut i32) i32.const 0)
  (global (;3;) (mut i32) i32.const 0)
  (global (;4;) (mut i64) i64.const 0)
  (global (;5;) (mut i64) i64.const 0)
  (global (;6;) (mut i32) i32.const 0)
  (global (;7;) (mut i32) i32.const 39)
  (export "" (func 1))
  (func (;0;) (type 0) (result f64 f32)
    unreachable
  )
  (func (;1;) (type 1) (param f32) (result i64)
    (local f64 funcref funcref i32 f32 f32 f32 i64 i32)
    global.get 7
    if ;; label = @1
    else
      unreachable
    end
    global.get 7
    global.set 7
    local.get 1
    ref.null extern
    i64.const 1
    global.get 1
    nop
    local.get 9
    if ;; label = @1
      unreachable
    end
    local.get 9
    global.set 7
    local.get 8
    table.copy
    block (type 0) (result f64 f32) ;; label = @1
      i64.const 0
      br 1
      ref.null func
      local.get 4
      global.set 2
      call 0
      loop (type 0) (result f64 f32) ;; label = @2
        global.get 7
        if ;; label = @3
          unreachable
        end
        i32.const 0
        global.set 7
        f32.const 0x1.p-148 (;=0.000000000000000000000000000000000000000000003;)
        f32.const -0x1.0c50a2p-100 (;=-0.0000000000000000000000000000008268093;)
        global.get 0
        block (type 0) (result f64 f32) ;; label = @3
          i64.const 0
          i64.const 0
          loop (result i64) ;; label = @4
            global.get 7
            if ;; label = @5
              unreachable
            end
            global.get 7
            global.set 7
            i64.const 0
            f32.const -0x1.c4c294p+2 (;=-7.074376;)
            block (result i32) ;; label = @5
              local.get 2
              i32.const 0
              ref.null extern
              call 0
              f32.floor
              local.tee 5
              f32.const nan (;=NaN;)
              local.get 5
              local.get 5
              f32.eq
              select
              table.size 0
              i32.const -1704295551
              br 0 (;@5;)
              global.get 6
              global.set 6
              i64.const 1
              global.set 5
              global.get 3
              global.set 3
              i64.popcnt
              i64.extend8_s
              global.get 5
              i64.xor
              global.set 5
              i32.reinterpret_f32
              global.get 3
              i32.xor
              global.set 3
              i64.reinterpret_f64
              global.get 4
              i64.xor
              global.set 4
              drop
              i32.const 1
              i32.xor
              global.set 6
              drop
              i32.const 0
            end
            global.get 6
            i32.xor
            global.set 6
            i32.reinterpret_f32
            global.get 3
            i32.xor
            global.set 3
          end
          global.get 5
          i64.xor
          global.set 5
          global.get 5
          i64.xor
          global.set 5
          global.get 5
          i64.xor
          global.set 5
          f64.const 0x1p+0 (;=1;)
          f32.const -0x1.11d0f4p-63 (;=-0.00000000000000000011596568;)
        end
        i32.reinterpret_f32
        global.get 3
        i32.xor
        global.set 3
        i64.reinterpret_f64
        i64.const 1
        i64.xor
        global.set 4
        global.get 6
        i32.xor
        global.set 6
        i32.reinterpret_f32
        global.get 3
        i32.xor
        global.set 3
        i32.reinterpret_f32
        global.get 3
        i32.xor
        global.set 3
        f64.const -nan:0xfff8000000000 (;=NaN;)
        f32.const 0x1.p-141 (;=0.000000000000000000000000000000000000000000359;)
      end
      i32.reinterpret_f32
      i32.const 1
      i32.xor
      global.set 3
      i64.reinterpret_f64
      i64.const 0
      i64.xor
      global.set 4
      i32.reinterpret_f32
      global.get 3
      i32.xor
      global.set 3
      i64.reinterpret_f64
      global.get 4
      i64.xor
      global.set 4
      drop
      f64.const -nan:0xfffffff800000 (;=NaN;)
      f32.const 0x1.7996a6p-27 (;=0.000000010989271;)
    end
    i32.reinterpret_f32
    global.get 3
    i32.xor
    global.set 3
    i64.reinterpret_f64
    global.get 4
    i64.xor
    global.set 4
    drop
    i64.reinterpret_f64
    global.get 4
    i64.xor
    global.set 4
    i64.const 1
  )
)

