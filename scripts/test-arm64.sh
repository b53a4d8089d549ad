#!/usr/bin/env bash
# Tests the arm64 build (scripts/build-arm64.sh) here, under qemu-user:
#  - what it made: aarch64 ELF files, and a libjosi.so that needs no torch,
#    curl or TLS library;
#  - on each emulated CPU, that the widest path it has is chosen, and the
#    kernel tests (every fast path against the scalar reference);
#  - on -cpu max, which has every path (SDOT and SMMLA), the engine's
#    exactness tests across scalar, neon, neon_dotprod and neon_i8mm on the
#    tiny Qwen2 and Qwen3 models (the host's josi makes the model files: the emulator cannot
#    exec the arm64 one), and one coach turn through libjosi's C example.
# Usage: scripts/test-arm64.sh   (after scripts/test.sh has made build/)
set -euo pipefail
JOSI_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
build="${JOSI_ARM64_BUILD_DIR:-$JOSI_ROOT/build-arm64}"
host="${JOSI_BUILD_DIR:-$JOSI_ROOT/build}"
"$JOSI_ROOT/scripts/build-arm64.sh" kernels_test attention_test inference_test qwen3_test coach_turn josi_shared josi_static josi
model="$host/tests/capi/tiny.gguf"
if [ ! -f "$model" ]; then
  echo "josi: $model is missing: run scripts/test.sh first (its CApi.TinyModel test makes it)" >&2
  exit 1
fi
fail() { echo "josi: test-arm64: $*" >&2; exit 1; }
run() { qemu-aarch64 -cpu "$1" -L / "${@:2}"; }

echo "== the build's files"
library="$(readlink -f "$build/libjosi.so")"
for f in "$library" "$build/josi"; do
  description="$(file -b "$f")"
  case "$description" in
    ELF\ 64-bit*ARM\ aarch64*) echo "ok: ${f#"$build/"}: ${description%%, BuildID*}" ;;
    *) fail "$f is not an aarch64 ELF file: $description" ;;
  esac
done
needed="$(aarch64-linux-gnu-readelf -d "$library" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
if grep -Eiq 'torch|c10|curl|ssl|crypto|gnutls|nghttp' <<<"$needed"; then fail "libjosi.so needs $needed"; fi
echo "ok: libjosi.so needs only: $needed"

# CPU model, the path it must choose.
for cpu_path in max:neon_i8mm cortex-a76:neon_dotprod cortex-a53:neon; do
  cpu="${cpu_path%%:*}"
  echo "== kernels_test, qemu -cpu $cpu (must choose ${cpu_path#*:})"
  JOSI_EXPECT_BEST_ISA="${cpu_path#*:}" run "$cpu" "$build/tests/kernels_test" --gtest_brief=1
done

echo "== attention_test (blocked attention against the reference, batch against one token), qemu -cpu max"
run max "$build/tests/attention_test" --gtest_brief=1

echo "== inference_test (every path against scalar, greedy token for token), qemu -cpu max"
JOSI_TEST_JOSI="$host/josi" run max "$build/tests/inference_test" --gtest_brief=1 \
  --gtest_filter='Inference.F32Matches*:Inference.EveryWeightType*:Inference.Greedy*:Inference.OneBatch*'

echo "== qwen3_test (Qwen3: every path against the plain forward pass and scalar), qemu -cpu max"
JOSI_TEST_JOSI="$host/josi" run max "$build/tests/qwen3_test" --gtest_brief=1 \
  --gtest_filter='Qwen3.F32Matches*:Qwen3.EveryWeightType*:Qwen3.OneBatch*'

turn="$build/arm64-turn.json"
head -n 1 "$JOSI_ROOT/data/samples/chat.jsonl" | sed 's/}$/, "options": {"seed": 1, "max_tokens": 40}}/' > "$turn"
for file in "$model" "$host/tests/capi/qwen3-tiny.gguf"; do
  echo "== coach_turn (libjosi.so for aarch64) on ${file##*/}, qemu -cpu max"
  result="$(run max "$build/tests/coach_turn" "$file" "$file" "$turn" 2>/dev/null)"
  case "$result" in
    '{"route": '*) echo "ok: ${result:0:60}..." ;;
    *) fail "the arm64 coach turn on $file gave no result: $result" ;;
  esac
done
