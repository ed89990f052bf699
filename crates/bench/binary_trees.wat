;; binary-trees (the Computer Language Benchmarks Game program) on Wasm GC:
;; build and check complete binary trees whose nodes are GC structs, so the
;; figure is allocation plus, with a collector, collection. `run(n)` follows
;; the game's program with min_depth 4 and max_depth = max(6, n): a stretch
;; tree of depth max_depth + 1, a long-lived tree of depth max_depth kept
;; across the loop, then for each depth d = 4, 6, ..., max_depth,
;; 2^(max_depth - d + 4) trees of depth d, each built and checked; the
;; long-lived tree is checked last. The result is the wrapping sum of every
;; check (a tree of depth d has 2^(d+1) - 1 nodes), compared by the
;; benchmark with the formula and between runtimes.
(module
  (type $node (struct (field (ref null $node)) (field (ref null $node))))

  ;; A complete tree of depth $d (a leaf has two null children).
  (func $make (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else
        (struct.new $node
          (call $make (i32.sub (local.get $d) (i32.const 1)))
          (call $make (i32.sub (local.get $d) (i32.const 1)))))))

  ;; The number of nodes of tree $t.
  (func $check (param $t (ref $node)) (result i32)
    (local $left (ref null $node))
    (local.set $left (struct.get $node 0 (local.get $t)))
    (if (result i32) (ref.is_null (local.get $left))
      (then (i32.const 1))
      (else
        (i32.add (i32.const 1)
          (i32.add
            (call $check (ref.as_non_null (local.get $left)))
            (call $check (ref.as_non_null (struct.get $node 1 (local.get $t)))))))))

  (func (export "run") (param $n i32) (result i32)
    (local $max i32) (local $sum i32) (local $long (ref null $node))
    (local $d i32) (local $iterations i32) (local $i i32)
    (local.set $max (select (local.get $n) (i32.const 6)
                      (i32.gt_s (local.get $n) (i32.const 6))))
    ;; The stretch tree.
    (local.set $sum (call $check (call $make (i32.add (local.get $max) (i32.const 1)))))
    (local.set $long (call $make (local.get $max)))
    (local.set $d (i32.const 4))
    (block $done
      (loop $depths
        (br_if $done (i32.gt_s (local.get $d) (local.get $max)))
        (local.set $iterations
          (i32.shl (i32.const 1)
            (i32.add (i32.sub (local.get $max) (local.get $d)) (i32.const 4))))
        (local.set $i (i32.const 0))
        (loop $trees
          (local.set $sum
            (i32.add (local.get $sum) (call $check (call $make (local.get $d)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $trees (i32.lt_s (local.get $i) (local.get $iterations))))
        (local.set $d (i32.add (local.get $d) (i32.const 2)))
        (br $depths)))
    (i32.add (local.get $sum) (call $check (ref.as_non_null (local.get $long))))))
