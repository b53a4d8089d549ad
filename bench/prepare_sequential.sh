#!/usr/bin/env bash
# Times `josi prepare-sequential` on the users' reference data (the 1,120-line
# train explainer file against the val interpreter index, and the val split)
# and prints a table with the ratio to the 1-second target of issue 2.
# Usage: bench/prepare_sequential.sh [runs]   (default 5; median reported)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
josi="${JOSI:-$root/build/josi}"
ref="$root/../shared/reference/mivalta-v5"
runs="${1:-5}"
[ -x "$josi" ] || { echo "bench: build josi first (scripts/test.sh or scripts/demo.sh)" >&2; exit 1; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

median_ms() {  # runs the command $runs times, prints the median wall time in ms
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

ms=$(median_ms "$josi" prepare-sequential \
  --interpreter_train "$ref/data/val_interpreter.jsonl" --explainer_train "$ref/data/train_explainer.jsonl" \
  --output_train "$tmp/train.jsonl" \
  --interpreter_val "$ref/data/val_interpreter.jsonl" --explainer_val "$ref/data/val_explainer.jsonl" \
  --output_val "$tmp/val.jsonl" --system_prompt "$ref/prompts/explainer_sequential_system.txt")
bytes=$(( $(stat -c %s "$ref/data/train_explainer.jsonl") + $(stat -c %s "$ref/data/val_explainer.jsonl") + 2 * $(stat -c %s "$ref/data/val_interpreter.jsonl") ))
printf '%-44s %10s %10s %12s\n' "benchmark" "median ms" "target ms" "ratio"
printf '%-44s %10d %10d %11.3fx\n' "prepare-sequential (1120 + 128 explainer lines)" "$ms" 1000 "$(awk -v m="$ms" "BEGIN{print m/1000}")"
printf 'input: %.1f MB read, %d runs, %s\n' "$(awk -v b="$bytes" "BEGIN{print b/1000000}")" "$runs" "$(nproc) cores"
