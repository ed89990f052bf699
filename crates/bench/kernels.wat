;; Compute kernels for `tern-bench` and for side-by-side runs with other runtimes
;; (`benches/compare.sh`): recursive fib, a sieve of Eratosthenes over linear
;; memory, and a float-heavy Mandelbrot loop.
(module $kernels
  (memory (export "memory") 160)

  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; Counts the primes below $n (at most 10,000,000: one byte per number).
  (func (export "sieve") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $count i32)
    (call $memory.fill_loop (local.get $n))
    (local.set $i (i32.const 2))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (i32.mul (local.get $i) (local.get $i)) (local.get $n)))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $inner_done
              (loop $inner
                (br_if $inner_done (i32.ge_u (local.get $j) (local.get $n)))
                (i32.store8 (local.get $j) (i32.const 1))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $inner)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.set $i (i32.const 2))
    (block $count_done
      (loop $count_loop
        (br_if $count_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $count (i32.add (local.get $count) (i32.eqz (i32.load8_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $count_loop)))
    (local.get $count))

  ;; Zeroes bytes [0, $n) with a plain loop (MVP: no bulk memory).
  (func $memory.fill_loop (param $n i32)
    (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (i64.store (local.get $i) (i64.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $l))))

  ;; Sum of Mandelbrot escape iterations over a $size x $size grid (max 200 each).
  (func (export "mandel") (param $size i32) (result i32)
    (local $px i32) (local $py i32) (local $it i32) (local $total i32)
    (local $cx f64) (local $cy f64) (local $x f64) (local $y f64) (local $t f64)
    (block $ydone (loop $yl
      (br_if $ydone (i32.ge_u (local.get $py) (local.get $size)))
      (local.set $px (i32.const 0))
      (block $xdone (loop $xl
        (br_if $xdone (i32.ge_u (local.get $px) (local.get $size)))
        (local.set $cx (f64.sub (f64.div (f64.mul (f64.convert_i32_u (local.get $px)) (f64.const 3.0))
                                         (f64.convert_i32_u (local.get $size))) (f64.const 2.0)))
        (local.set $cy (f64.sub (f64.div (f64.mul (f64.convert_i32_u (local.get $py)) (f64.const 2.0))
                                         (f64.convert_i32_u (local.get $size))) (f64.const 1.0)))
        (local.set $x (f64.const 0)) (local.set $y (f64.const 0)) (local.set $it (i32.const 0))
        (block $esc (loop $il
          (br_if $esc (i32.ge_u (local.get $it) (i32.const 200)))
          (br_if $esc (f64.gt (f64.add (f64.mul (local.get $x) (local.get $x)) (f64.mul (local.get $y) (local.get $y))) (f64.const 4.0)))
          (local.set $t (f64.add (f64.sub (f64.mul (local.get $x) (local.get $x)) (f64.mul (local.get $y) (local.get $y))) (local.get $cx)))
          (local.set $y (f64.add (f64.mul (f64.mul (f64.const 2.0) (local.get $x)) (local.get $y)) (local.get $cy)))
          (local.set $x (local.get $t))
          (local.set $it (i32.add (local.get $it) (i32.const 1)))
          (br $il)))
        (local.set $total (i32.add (local.get $total) (local.get $it)))
        (local.set $px (i32.add (local.get $px) (i32.const 1)))
        (br $xl)))
      (local.set $py (i32.add (local.get $py) (i32.const 1)))
      (br $yl)))
    (local.get $total))

  (func (export "nop"))
)
