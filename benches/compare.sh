#!/usr/bin/env bash
# Side-by-side timings of Tern and wasmtime 48 on the same modules, through
# their command lines (so both include process start-up, parsing and compiling).
# Needs hyperfine (apt-get install hyperfine) and the anchor runtimes
# (../shared/tools/anchor-runtimes.sh). Prints hyperfine's tables.
set -euo pipefail
cd "$(dirname "$0")/.."
WASMTIME=${WASMTIME:-$HOME/.cache/tern-anchors/wasmtime/bin/wasmtime}
cargo build --release -q -p tern-cli -p tern-bench
TERN=target/release/tern
K=crates/bench/kernels.wat
# The generated 10,000-function module is written by tern-bench.
target/release/tern-bench >/dev/null
BIG=${TMPDIR:-/tmp}/tern-bench-10k.wasm
run() { hyperfine -N -w 2 -r "${RUNS:-10}" "$@"; }
run -n "tern nop" "$TERN run $K --invoke nop" -n "wasmtime nop" "$WASMTIME run -C cache=n --invoke nop $K"
run -n "tern fib 35" "$TERN run $K --invoke fib 35" -n "wasmtime fib 35" "$WASMTIME run -C cache=n --invoke fib $K 35"
run -n "tern sieve 1e7" "$TERN run $K --invoke sieve 10000000" -n "wasmtime sieve 1e7" "$WASMTIME run -C cache=n --invoke sieve $K 10000000"
run -n "tern mandel 1200" "$TERN run $K --invoke mandel 1200" -n "wasmtime mandel 1200" "$WASMTIME run -C cache=n --invoke mandel $K 1200"
run -n "tern 10k-function module" "$TERN run $BIG --invoke f0 0 0" -n "wasmtime 10k-function module" "$WASMTIME run -C cache=n --invoke f0 $BIG 0 0"
