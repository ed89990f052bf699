#!/usr/bin/env bash
# Times the file-heavy test program (fsbench: FILES files of KIB KiB written,
# read back twice, stat'ed, listed, renamed and removed) under `tern run`,
# under wasmtime when one is given, and natively; prints each run's wall time
# and the median. Compilation is included (neither runtime caches code here).
#   tests/programs/bench.sh [RUNS] [FILES] [KIB]
# Environment: TERN (default target/release/tern), WASMTIME (a wasmtime
# binary; skipped when unset), NATIVE (default target/release/fsbench).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-7}" files="${2:-400}" kib="${3:-64}"
tern="${TERN:-$root/target/release/tern}"
native="${NATIVE:-$root/target/release/fsbench}"
wasm="$root/tests/programs/wasm/fsbench.wasm"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

declare -A cmds=([tern]="$tern run --dir $dir::/b $wasm /b $files $kib" [native]="$native $dir $files $kib")
if [[ -n "${WASMTIME:-}" ]]; then
    cmds[wasmtime]="$WASMTIME run -C cache=n --dir $dir::/b $wasm /b $files $kib"
fi
declare -A times
for ((i = 0; i < runs; i++)); do
    for name in "${!cmds[@]}"; do
        start=$(date +%s%N)
        ${cmds[$name]} > /dev/null
        end=$(date +%s%N)
        times[$name]+="$(( (end - start) / 1000000 )) "
    done
done
for name in "${!cmds[@]}"; do
    sorted=$(tr ' ' '\n' <<< "${times[$name]}" | grep . | sort -n | tr '\n' ' ')
    median=$(tr ' ' '\n' <<< "$sorted" | grep . | sed -n "$(( (runs + 1) / 2 ))p")
    printf '%-9s median %5d ms   runs (ms): %s\n' "$name" "$median" "$sorted"
done
