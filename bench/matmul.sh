#!/usr/bin/env bash
# Matmul kernels: GFLOP/s and GB/s per weight type × instruction set ×
# threads on the Qwen2.5-1.5B shapes (bench/matmul_bench.cpp), as a Markdown
# table. Arguments go to the driver, e.g. --types Q4_K,Q6_K --threads 2.
# Usage: bench/matmul.sh [--types T,...] [--isas I,...] [--threads N,...] [--seconds S]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${JOSI_BUILD_DIR:-$root/build}"
for lib in kernels quant text formats json base; do
  [ -e "$build/libjosi_$lib.a" ] || { echo "bench: missing $build/libjosi_$lib.a (build with scripts/test.sh first)" >&2; exit 1; }
done
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# The driver links the build's own libraries (the kernels carry their ISA flags).
${CXX:-c++} -O2 -DNDEBUG -std=c++20 -Wall -Wextra -Werror -I"$root/src" "$root/bench/matmul_bench.cpp" -o "$tmp/bench" \
  "$build/libjosi_kernels.a" "$build/libjosi_quant.a" "$build/libjosi_text.a" "$build/libjosi_formats.a" \
  "$build/libjosi_json.a" "$build/libjosi_base.a" $(pkg-config --libs libpcre2-8 libutf8proc) -lfmt -pthread
"$tmp/bench" "$@"
