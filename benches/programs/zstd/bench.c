/* A real program for Tern's benchmarks: zstd 1.5.5 (the library, built from
 * source by benches/programs/build-zstd.sh) compressing and decompressing a
 * generated, text-like buffer at several levels, checking the round trip.
 * Prints one line per level; exits non-zero if a round trip differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "zstd.h"

static unsigned long long seed = 0x9E3779B97F4A7C15ull;

static unsigned next(void) {
    seed ^= seed >> 12;
    seed ^= seed << 25;
    seed ^= seed >> 27;
    return (unsigned)((seed * 0x2545F4914F6CDD1Dull) >> 32);
}

int main(int argc, char **argv) {
    static const char *words[] = {"tern", "wasm", "module", "artifact", "compile", "cranelift",
                                  "memory", "table", "global", "export", "import", "the", "a", "of"};
    size_t size = argc > 1 ? (size_t)atol(argv[1]) : (size_t)1 << 20;
    char *src = malloc(size);
    for (size_t i = 0; i < size;) {
        const char *w = words[next() % (sizeof words / sizeof *words)];
        for (; *w && i < size; w++) src[i++] = *w;
        if (i < size) src[i++] = next() % 9 ? ' ' : '\n';
    }
    size_t bound = ZSTD_compressBound(size);
    char *dst = malloc(bound), *back = malloc(size);
    for (int level = 1; level <= 9; level += 4) {
        size_t n = ZSTD_compress(dst, bound, src, size, level);
        if (ZSTD_isError(n)) { printf("compress: %s\n", ZSTD_getErrorName(n)); return 1; }
        size_t m = ZSTD_decompress(back, size, dst, n);
        if (ZSTD_isError(m) || m != size || memcmp(src, back, size)) { printf("round trip failed\n"); return 1; }
        printf("level %d: %zu -> %zu bytes\n", level, size, n);
    }
    return 0;
}
