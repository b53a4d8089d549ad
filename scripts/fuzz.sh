#!/usr/bin/env bash
# Fuzzes every target (the readers and the turn boundary) with libFuzzer
# (clang, ASan, UBSan) for N seconds each, or only the named ones, growing
# fuzz/corpus/<name>/ with the new inputs it finds.
# Usage: scripts/fuzz.sh [seconds-per-target [name...]]   (default 60, all)
#   JOSI_FUZZ_SANITIZERS=undefined: UBSan only, several times the executions
#   per second (its own build directory, build-fuzz-undefined).
set -euo pipefail
JOSI_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$JOSI_ROOT/scripts/lib/deps.sh"
JOSI_DEBIAN_PACKAGES+=(clang libclang-rt-14-dev)
josi_install_deps
seconds="${1:-60}"
shift || true
sanitizers="${JOSI_FUZZ_SANITIZERS:-address,undefined}"
build="$JOSI_ROOT/build-fuzz"
[ "$sanitizers" = "address,undefined" ] || build="$JOSI_ROOT/build-fuzz-${sanitizers//,/-}"
CC=clang CXX=clang++ cmake -S "$JOSI_ROOT" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DJOSI_FUZZ=ON -DJOSI_FUZZ_SANITIZERS="$sanitizers" -DJOSI_WERROR=OFF -DBUILD_TESTING=OFF >/dev/null
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in "$JOSI_ROOT"/fuzz/*_fuzz.cpp; do names+=("$(basename "$src" _fuzz.cpp)"); done
fi
for name in "${names[@]}"; do
  target="${name}_fuzz"
  ninja -C "$build" "$target" >/dev/null
  mkdir -p "$JOSI_ROOT/fuzz/corpus/$name" "$build/crashes/$name"
  echo "== $target: ${seconds}s"
  "$build/fuzz/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$name/" "$JOSI_ROOT/fuzz/corpus/$name" 2>&1 | tail -n 14
done
