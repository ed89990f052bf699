#!/usr/bin/env bash
# Rebuilds benches/programs/zstd.wasm: zstd 1.5.5 plus bench.c, for wasm32-wasi,
# with Debian's clang, lld and wasi-libc
# (apt-get install clang lld wasi-libc libclang-rt-dev-wasm32).
# The zstd sources are taken from the `zstd-sys` crate's vendored copy
# (ZSTD_LIB=path/to/zstd/lib to use another); the name section is kept.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib=${ZSTD_LIB:-$(ls -d "$HOME"/.cargo/registry/src/*/zstd-sys-2.0.9+zstd.1.5.5/zstd/lib 2>/dev/null | head -1)}
[ -d "$lib" ] || { echo "zstd sources not found: set ZSTD_LIB (e.g. cargo fetch a project using zstd-sys 2.0.9)" >&2; exit 1; }
clang --target=wasm32-wasi -O2 -DZSTD_DISABLE_ASM -DZSTD_LEGACY_SUPPORT=0 \
    -I"$lib" -I"$lib/common" "$here/zstd/bench.c" \
    "$lib"/common/*.c "$lib"/compress/*.c "$lib"/decompress/*.c \
    -o "$here/zstd.wasm"
echo "built benches/programs/zstd.wasm ($(wc -c < "$here/zstd.wasm") bytes)"
