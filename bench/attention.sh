#!/usr/bin/env bash
# The prompt's attention at depth, blocked against the reference
# (bench/attention_bench.cpp), on the path this CPU runs and, with
# JOSI_ISA=avx2 (or scalar), on a narrower one.
# Usage: bench/attention.sh [threads] [depths...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${JOSI_BUILD_DIR:-$root/build}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
${CXX:-c++} -O2 -DNDEBUG -std=c++20 -Wall -Wextra -Werror -I"$root/src" "$root/bench/attention_bench.cpp" -o "$tmp/bench" \
  "$build/libjosi_infer.a" "$build/libjosi_kernels.a" "$build/libjosi_quant.a" "$build/libjosi_formats.a" \
  "$build/libjosi_json.a" "$build/libjosi_base.a" $(pkg-config --libs libpcre2-8 libutf8proc) -lfmt -pthread
"$tmp/bench" "$@"
