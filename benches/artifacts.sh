#!/usr/bin/env bash
# Precompiled artifacts, measured: first Tern in-process (compile vs
# Module::deserialize vs Module::deserialize_file, instantiation of compiled vs
# loaded modules), then Tern against wasmtime 48 through their command lines on
# the same modules: `compile`, and `run --allow-precompiled` of each one's own
# artifact (process start, load, instantiate and a trivial call).
# Needs hyperfine (apt-get install hyperfine) and wasmtime 48
# (../shared/tools/anchor-runtimes.sh). Not part of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
WASMTIME=${WASMTIME:-$HOME/.cache/tern-anchors/wasmtime/bin/wasmtime}
RUNS=${RUNS:-20}
cargo build --release -q -p tern-cli
cargo run --release -q -p tern --example artifacts
TERN=target/release/tern
DIR=${TMPDIR:-/tmp}/tern-artifacts-bench
GEN=$DIR/gen10k.wasm
ZSTD=benches/programs/zstd.wasm
$TERN compile $GEN -o $DIR/gen10k.tern.cwasm
$WASMTIME compile $GEN -o $DIR/gen10k.wasmtime.cwasm
$TERN compile $ZSTD -o $DIR/zstd.tern.cwasm
$WASMTIME compile $ZSTD -o $DIR/zstd.wasmtime.cwasm
ls -l $DIR/*.cwasm
# run RUNS hyperfine-arguments...
run() { local runs=$1; shift; hyperfine -N -w 2 -r "$runs" --export-markdown - "$@"; }
run 3 -n "tern compile 10k" "$TERN compile $GEN -o $DIR/x.cwasm" \
    -n "wasmtime compile 10k" "$WASMTIME compile $GEN -o $DIR/y.cwasm"
run "$RUNS" -n "tern run precompiled 10k" "$TERN run --allow-precompiled $DIR/gen10k.tern.cwasm --invoke f0 0 0" \
    -n "wasmtime run precompiled 10k" "$WASMTIME run --allow-precompiled --invoke f0 $DIR/gen10k.wasmtime.cwasm 0 0"
run 3 -n "tern compile zstd" "$TERN compile $ZSTD -o $DIR/x.cwasm" \
    -n "wasmtime compile zstd" "$WASMTIME compile $ZSTD -o $DIR/y.cwasm"
# zstd.wasm's argument is the buffer size: 1000 bytes keeps the run itself tiny.
run "$RUNS" -n "tern run precompiled zstd" "$TERN run --allow-precompiled $DIR/zstd.tern.cwasm 1000" \
    -n "wasmtime run precompiled zstd" "$WASMTIME run --allow-precompiled $DIR/zstd.wasmtime.cwasm 1000"
