#!/usr/bin/env bash
# Training throughput on this machine's CPU: `josi train` on the tiny preset
# (2 layers, hidden 256, the real 151,936-token vocabulary) with the seed's
# settings (batch 4 x accumulation 4, 2,048 tokens, LoRA r 16 on the seven
# projections) over Josi's sample interpreter data, with and without per-layer
# recomputation. Prints tokens/s over the steps after the first and the peak
# resident memory. The GPU counterpart is bench/train_gpu.sh.
# Usage: bench/train_tiny.sh [steps]   (default 4)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/deps.sh"
josi="${JOSI:-$root/build/josi}"
[ -x "$josi" ] || { echo "bench: build josi first (scripts/test.sh)" >&2; exit 1; }
tokenizer="$(josi_qwen_tokenizer)"
[ -f "$tokenizer" ] || { echo "bench: $tokenizer missing (scripts/test.sh installs it)" >&2; exit 1; }
steps="${1:-4}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$josi" init-base --preset tiny --tokenizer "$tokenizer" --out "$work/base" --seed 1 2>/dev/null >/dev/null
printf '%-26s %12s %14s %10s\n' run tokens/s "peak RSS MiB" seconds
for recompute in off on; do
  start=$(date +%s%N)
  "$josi" train --mode interpreter --base_model "$work/base" --train_data "$root/data/train_interpreter.jsonl" \
    --val_data "$root/data/val_interpreter.jsonl" --output_dir "$work/run-$recompute" --device cpu \
    --max_steps "$steps" --gradient_checkpointing "$recompute" --no_wandb >/dev/null 2>&1
  ms=$((($(date +%s%N) - start) / 1000000))
  node -e '
    const fs = require("fs"), dir = process.argv[1];
    const steps = fs.readFileSync(dir + "/metrics.jsonl", "utf8").trim().split("\n").map(JSON.parse).filter(l => "loss" in l);
    const timed = steps.slice(1);  // the first step includes one-time set-up
    const tokens = timed.reduce((s, l) => s + l.tokens, 0), secs = timed.reduce((s, l) => s + l.tokens / l.tokens_per_second, 0);
    const m = JSON.parse(fs.readFileSync(dir + "/training_metrics.json", "utf8"));
    console.log(`${process.argv[2].padEnd(26)} ${(tokens / secs).toFixed(0).padStart(12)} ${(m.peak_memory_bytes / 2 ** 20).toFixed(0).padStart(14)} ${(process.argv[3] / 1000).toFixed(1).padStart(10)}`);
  ' "$work/run-$recompute" "tiny, recomputation $recompute" "$ms"
done
