#!/usr/bin/env bash
# Rebuilds the committed WebAssembly test programs (tests/programs/wasm/*.wasm)
# from their sources in tests/programs/rust, for the wasm32-wasip1 target
# (`rustup target add wasm32-wasip1`), and the same programs as WASI 0.2
# components for wasm32-wasip2 (tests/programs/wasm/p2/*.wasm). Debug info is left out and the name
# section kept, so traps show function names and the files stay small.
# The C program in tests/programs/c is built too when clang and wasi-libc are
# installed. With --check, nothing is copied: the script fails if a committed
# file differs from the fresh build (what the up-to-date test runs).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/tests/programs/wasm"
target_dir="${TERN_PROGRAMS_TARGET_DIR:-$root/target/wasm-programs}"
programs=(wc wasi-demo fsbench)

CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo build --quiet --release --target wasm32-wasip1 -p tern-test-programs \
    --manifest-path "$root/Cargo.toml" --target-dir "$target_dir"
CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=debuginfo \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo build --quiet --release --target wasm32-wasip2 -p tern-test-programs \
    --manifest-path "$root/Cargo.toml" --target-dir "$target_dir"
p2_programs=(wc wasi-demo fsbench net)

# The C program, with Debian's clang and wasi-libc (packages clang, lld,
# wasi-libc, libclang-rt-dev-wasm32), when they are installed.
clang="${WASI_CLANG:-clang}"
c_programs=(cdemo)
if "$clang" --target=wasm32-wasi -O2 -Wall -Werror -o "$target_dir/cdemo.wasm" "$root/tests/programs/c/cdemo.c" 2>/dev/null; then
    programs+=("${c_programs[@]}")
else
    echo "clang with wasi-libc not found: not building tests/programs/c" >&2
fi

status=0
for p in "${programs[@]}"; do
    built="$target_dir/wasm32-wasip1/release/$p.wasm"
    [[ -f "$target_dir/$p.wasm" && " ${c_programs[*]} " == *" $p "* ]] && built="$target_dir/$p.wasm"
    if [[ "${1:-}" == "--check" ]]; then
        if ! cmp -s "$built" "$out/$p.wasm"; then
            echo "tests/programs/wasm/$p.wasm is out of date: run tests/programs/build.sh" >&2
            status=1
        fi
    else
        cp "$built" "$out/$p.wasm"
        echo "built tests/programs/wasm/$p.wasm ($(wc -c < "$out/$p.wasm") bytes)"
    fi
done
mkdir -p "$out/p2"
for p in "${p2_programs[@]}"; do
    built="$target_dir/wasm32-wasip2/release/$p.wasm"
    if [[ "${1:-}" == "--check" ]]; then
        if ! cmp -s "$built" "$out/p2/$p.wasm"; then
            echo "tests/programs/wasm/p2/$p.wasm is out of date: run tests/programs/build.sh" >&2
            status=1
        fi
    else
        cp "$built" "$out/p2/$p.wasm"
        echo "built tests/programs/wasm/p2/$p.wasm ($(wc -c < "$out/p2/$p.wasm") bytes)"
    fi
done
exit $status
