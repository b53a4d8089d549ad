#!/usr/bin/env bash
# Cross-builds Josi for aarch64 Linux into build-arm64/ with Debian's
# cross compiler: libjosi (shared and static), josi without the libtorch
# trainer, the C example and the tests scripts/test-arm64.sh runs under
# qemu. Installs what it needs. Usage: scripts/build-arm64.sh [ninja targets...]
set -euo pipefail
JOSI_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$JOSI_ROOT/scripts/lib/deps.sh"

josi_install_deps
josi_install_arm64_deps
build="${JOSI_ARM64_BUILD_DIR:-$JOSI_ROOT/build-arm64}"
cmake -S "$JOSI_ROOT" -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$JOSI_ROOT/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOSI_WERROR=ON -DJOSI_TRAINER=OFF -DJOSI_JVM=OFF \
  -DJOSI_NPM_DIR="$JOSI_NPM_DIR" >/dev/null
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(josi josi_shared josi_static coach_turn coach_api_test kernels_test)
ninja -C "$build" "${targets[@]}"
