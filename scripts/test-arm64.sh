#!/usr/bin/env bash
# Runs the arm64 build (scripts/build-arm64.sh) under qemu-user, on a CPU
# with the dot product (-cpu max) and on one without (-cpu cortex-a53, so
# the ARMv8.0 NEON path is taken): the kernel tests, the engine's exactness
# tests on the tiny models (the host's josi makes the model files: the
# emulator cannot exec the arm64 one), then one coach turn through libjosi's
# C example on the host build's tiny model.
# Usage: scripts/test-arm64.sh   (after scripts/test.sh has made build/)
set -euo pipefail
JOSI_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
build="${JOSI_ARM64_BUILD_DIR:-$JOSI_ROOT/build-arm64}"
host="${JOSI_BUILD_DIR:-$JOSI_ROOT/build}"
"$JOSI_ROOT/scripts/build-arm64.sh" kernels_test inference_test coach_turn josi_shared josi_static josi
model="$host/tests/capi/tiny.gguf"
if [ ! -f "$model" ]; then
  echo "josi: $model is missing: run scripts/test.sh first (its CApi.TinyModel test makes it)" >&2
  exit 1
fi
run() { qemu-aarch64 -cpu "$1" -L / "${@:2}"; }
for cpu in max cortex-a53; do
  echo "== kernels_test, qemu -cpu $cpu"
  run "$cpu" "$build/tests/kernels_test" --gtest_brief=1
  echo "== inference_test (every path against scalar, greedy token for token), qemu -cpu $cpu"
  JOSI_TEST_JOSI="$host/josi" run "$cpu" "$build/tests/inference_test" --gtest_brief=1 \
    --gtest_filter='Inference.F32Matches*:Inference.EveryWeightType*:Inference.Greedy*:Inference.OneBatch*'
done
echo "== coach_turn (libjosi.so for aarch64), qemu -cpu max"
turn="$build/arm64-turn.json"
head -n 1 "$JOSI_ROOT/data/samples/chat.jsonl" | sed 's/}$/, "options": {"seed": 1, "max_tokens": 40}}/' > "$turn"
result="$(run max "$build/tests/coach_turn" "$model" "$model" "$turn" 2>/dev/null)"
case "$result" in
  '{"route": '*) echo "ok: ${result:0:60}..." ;;
  *) echo "josi: the arm64 coach turn gave no result: $result" >&2; exit 1 ;;
esac
