#!/usr/bin/env bash
# Rebuilds the committed guest components of the `bindgen!` tests
# (tests/bindgen-guests/wasm/*.wasm) from the crates beside this script, for
# wasm32-unknown-unknown (`rustup target add wasm32-unknown-unknown`), then
# turned into components of their WIT worlds (which `wit-bindgen` embeds in
# each core module) by the `componentize` tool beside them, built on the
# same `wit-component` release as Tern. (The toolchain's `wasm-component-ld`
# is older and does not read `import name: interface` worlds.) With --check, nothing is copied: the script fails if a
# committed file differs from the fresh build (what the up-to-date test runs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/wasm"
target_dir="${TERN_GUESTS_TARGET_DIR:-$here/../../target/bindgen-guests}"
guests=(types resources twice with ownership)

packages=()
for g in "${guests[@]}"; do packages+=(-p "bindgen-guest-$g"); done
cargo build --quiet --release --locked --target wasm32-unknown-unknown "${packages[@]}" \
    --manifest-path "$here/Cargo.toml" --target-dir "$target_dir"
cargo build --quiet --release --locked -p componentize \
    --manifest-path "$here/Cargo.toml" --target-dir "$target_dir"

status=0
for g in "${guests[@]}"; do
    built="$target_dir/$g.component.wasm"
    "$target_dir/release/componentize" \
        "$target_dir/wasm32-unknown-unknown/release/bindgen_guest_$g.wasm" "$built"
    if [[ "${1:-}" == "--check" ]]; then
        if ! cmp -s "$built" "$out/$g.wasm"; then
            echo "tests/bindgen-guests/wasm/$g.wasm is out of date: run tests/bindgen-guests/build.sh" >&2
            status=1
        fi
    else
        cp "$built" "$out/$g.wasm"
        echo "built tests/bindgen-guests/wasm/$g.wasm ($(wc -c < "$out/$g.wasm") bytes)"
    fi
done
exit $status
