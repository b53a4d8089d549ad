#!/usr/bin/env bash
# Fuzzes every reader with libFuzzer (clang, ASan, UBSan) for N seconds each,
# growing fuzz/corpus/<name>/ with the new inputs it finds.
# Usage: scripts/fuzz.sh [seconds-per-target]   (default 60)
set -euo pipefail
JOSI_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$JOSI_ROOT/scripts/lib/deps.sh"
JOSI_DEBIAN_PACKAGES+=(clang libclang-rt-14-dev)
josi_install_deps
seconds="${1:-60}"
build="$JOSI_ROOT/build-fuzz"
CC=clang CXX=clang++ cmake -S "$JOSI_ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DJOSI_FUZZ=ON -DJOSI_WERROR=OFF -DBUILD_TESTING=OFF >/dev/null
for src in "$JOSI_ROOT"/fuzz/*_fuzz.cpp; do
  target="$(basename "$src" .cpp)"
  name="${target%_fuzz}"
  ninja -C "$build" "$target" >/dev/null
  mkdir -p "$JOSI_ROOT/fuzz/corpus/$name" "$build/crashes/$name"
  echo "== $target: ${seconds}s"
  "$build/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -artifact_prefix="$build/crashes/$name/" "$JOSI_ROOT/fuzz/corpus/$name" 2>&1 | tail -n 3
done
