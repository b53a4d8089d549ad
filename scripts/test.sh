#!/usr/bin/env bash
# Installs what is missing, builds with -Werror and runs every test, then
# the arm64 build's under emulation (scripts/test-arm64.sh; not when ctest
# arguments choose a subset, nor with JOSI_SKIP_ARM64=1).
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
JOSI_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$JOSI_ROOT/scripts/lib/deps.sh"

josi_install_deps
josi_install_npm_peers
if [ ! -d "$JOSI_ROOT/../shared/reference/mivalta-v5" ]; then
  echo "josi: ../shared/reference/mivalta-v5 is missing beside the checkout; the reference-data tests need it" >&2
  exit 1
fi
build="${JOSI_BUILD_DIR:-$JOSI_ROOT/build}"
josi_build "$build" RelWithDebInfo
(cd "$build" && ctest --output-on-failure -j "$(nproc)" "$@")
# The arm64 build under emulation, after a whole run (its coach turn uses a
# model the host tests make).
if [ $# -eq 0 ] && [ -z "${JOSI_SKIP_ARM64:-}" ]; then
  JOSI_BUILD_DIR="$build" "$JOSI_ROOT/scripts/test-arm64.sh"
fi
