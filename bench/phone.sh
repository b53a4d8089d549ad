#!/usr/bin/env bash
# The engine and coach-turn benchmarks on a real arm64 phone, ready to run:
# makes the two 1.5b-shaped Q4_K_M models and the validation turns here,
# then prints the adb commands that push them with an arm64 josi, run
# `josi bench` and bench/turn_runs.sh on the device, pull the results and
# report them with bench/turn_report.js, as bench/turn.sh does on this
# machine. Nothing here has an arm64 CPU; no arm64 speed is measured here.
#
# With --emulate it instead runs the cross-built josi (scripts/build-arm64.sh)
# under qemu-aarch64 -cpu max on a tiny model, once per instruction-set path,
# and prints each path's emulated time relative to the scalar path's: a
# figure of how much work each path leaves the emulator, not of a phone's
# speed.
#
# Usage: bench/phone.sh [workdir]             (PRESET=1.5b, THREADS=4, TURNS=4,
#                                              BUILD=build-android, DEVICE_DIR)
#        bench/phone.sh --emulate [workdir]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

emulate() {
  local work="$1" arm64="${JOSI_ARM64_BUILD_DIR:-$root/build-arm64}"
  "$root/scripts/build-arm64.sh" josi >/dev/null
  bench_model tiny 1 Q4_K_M "$work/tiny_q4_k_m.gguf"
  echo "qemu-aarch64 -cpu max, josi bench --pp 64 --tg 16, 1 thread, tiny preset Q4_K_M"
  echo "emulated seconds are TCG's, not a phone's: compare paths with each other only"
  printf '%-14s %14s %10s %14s %10s\n' path "pp64 emul. s" "x scalar" "tg16 emul. s" "x scalar"
  local pp0="" tg0="" isa j pp tg
  for isa in scalar neon neon_dotprod neon_i8mm; do
    j=$(JOSI_ISA="$isa" qemu-aarch64 -cpu max -L / "$arm64/josi" bench "$work/tiny_q4_k_m.gguf" \
        --pp 64 --tg 16 --repetitions 3 --threads 1 --json)
    read -r pp tg < <(node -e 'const j = JSON.parse(process.argv[1]);
      if (j.isa !== process.argv[2]) throw new Error(`ran ${j.isa}, asked ${process.argv[2]}`);
      console.log(64 / j.pp_tokens_per_s, 16 / j.tg_tokens_per_s);' "$j" "$isa")
    [ -n "$pp0" ] || { pp0="$pp"; tg0="$tg"; }
    node -e 'const [isa, pp, tg, pp0, tg0] = process.argv.slice(1);
      console.log([isa.padEnd(14), (+pp).toFixed(3).padStart(14), (pp / pp0).toFixed(2).padStart(10),
                   (+tg).toFixed(3).padStart(14), (tg / tg0).toFixed(2).padStart(10)].join(" "));' \
      "$isa" "$pp" "$tg" "$pp0" "$tg0"
  done
}

device_commands() {
  local work="$1" preset="${PRESET:-1.5b}" threads="${THREADS:-4}" build="${BUILD:-$root/build-android}"
  local dev="${DEVICE_DIR:-/data/local/tmp/josi}" seed
  for seed in 1 2; do bench_model "$preset" "$seed" Q4_K_M "$work/q4_k_m_$seed.gguf"; done
  bench_turns "$work" "${TURNS:-4}"
  cp "$ref/prompts/interpreter_system.txt" "$ref/prompts/explainer_sequential_system.txt" "$root/bench/turn_runs.sh" "$work/"
  local sizes
  sizes="$(stat -c %s "$work/q4_k_m_1.gguf") $(stat -c %s "$work/q4_k_m_2.gguf")"
  cat <<EOF
# Models, turns and prompts are ready in $work.
# 1. Build josi for the phone (docs/integration.md, "Building for the phone"):
#      cmake -S $root -B $build -G Ninja -DCMAKE_TOOLCHAIN_FILE=\$ANDROID_NDK/build/cmake/android.toolchain.cmake \\
#        -DANDROID_ABI=arm64-v8a -DANDROID_PLATFORM=android-26 -DJOSI_TRAINER=OFF -DJOSI_JVM=OFF -DBUILD_TESTING=OFF
#      ninja -C $build josi
#    (a Linux arm64 board runs scripts/build-arm64.sh's build-arm64/josi instead: use BUILD=build-arm64).
# 2. Then, with the phone on adb:
adb shell mkdir -p $dev
adb push $build/josi $work/q4_k_m_1.gguf $work/q4_k_m_2.gguf $work/turns.jsonl $work/interpreter_turns.jsonl $work/replay_interpreter.jsonl $work/replay_explainer.jsonl $work/interpreter_system.txt $work/explainer_sequential_system.txt $work/turn_runs.sh $dev/
adb shell "cd $dev && ./josi bench q4_k_m_1.gguf --pp 512 --tg 64 --repetitions 3 --threads $threads"
adb shell "cd $dev && ./josi bench q4_k_m_1.gguf --pp 0 --tg 32 --repetitions 3 --threads $threads --json > bench.json"
adb shell "cd $dev && sh turn_runs.sh ./josi q4_k_m_1.gguf q4_k_m_2.gguf . . $threads"
adb pull $dev/bench.json $work/
for f in first cached uncached free replay_interpreter_on replay_interpreter_off replay_explainer_on replay_explainer_off; do adb pull $dev/\$f.jsonl $dev/\$f.err $work/; done
node $root/bench/turn_report.js $work $sizes -
# 3. Record the device, its CPU (adb shell cat /proc/cpuinfo) and both outputs in docs/benchmarks.md.
EOF
}

if [ "${1:-}" = --emulate ]; then
  emulate "${2:-$(mktemp -d)}"
else
  device_commands "${1:-$(mktemp -d)}"
fi
