#!/usr/bin/env bash
# Rebuilds benches/workloads/workloads.wasm (the execution workloads of
# tern-bench) from src/ for wasm32-unknown-unknown
# (`rustup target add wasm32-unknown-unknown`), and expected.txt: each
# workload's checksum at its test size, computed by the native build of the
# same source (what Tern's `workloads` test compares its run of the .wasm with).
# With --check, nothing is copied: the script fails if a committed file differs
# from the fresh build (what the up-to-date test runs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target_dir="${TERN_WORKLOADS_TARGET_DIR:-$here/../../target/workloads}"

cargo build --quiet --release --locked --lib --target wasm32-unknown-unknown \
    --manifest-path "$here/Cargo.toml" --target-dir "$target_dir"
cargo build --quiet --release --locked --bin checksums \
    --manifest-path "$here/Cargo.toml" --target-dir "$target_dir"
built="$target_dir/wasm32-unknown-unknown/release/tern_workloads.wasm"
"$target_dir/release/checksums" > "$target_dir/expected.txt"

status=0
for f in workloads.wasm expected.txt; do
    fresh="$built"
    [[ "$f" == expected.txt ]] && fresh="$target_dir/expected.txt"
    if [[ "${1:-}" == "--check" ]]; then
        if ! cmp -s "$fresh" "$here/$f"; then
            echo "benches/workloads/$f is out of date: run benches/workloads/build.sh" >&2
            status=1
        fi
    else
        cp "$fresh" "$here/$f"
        echo "built benches/workloads/$f ($(wc -c < "$here/$f") bytes)"
    fi
done
exit $status
