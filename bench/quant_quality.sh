#!/usr/bin/env bash
# What quantization costs, as `josi eval --compare` measures it: Q8_0 and
# Q4_K_M against the F16 export of the same 1.5b-shaped model, teacher-forced
# on the users' interpreter validation split with their system prompt (each
# model evaluates it once). Prints per-token KL divergence, top-1 agreement,
# the eval_loss difference and the time, and Q4_K_M's KL as a multiple of
# Q8_0's.
# Usage: bench/quant_quality.sh [workdir] [examples]   workdir may hold
# f16.gguf, q8_0.gguf and q4_k_m.gguf (made from init-base 1.5b --seed 1
# otherwise; ~6 GB). examples: the first N of the 149 (default 40).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="${1:-$(mktemp -d)}"
examples="${2:-40}"
threads="${THREADS:-2}"
if [ ! -f "$work/f16.gguf" ]; then
  "$josi" init-base --preset 1.5b --tokenizer "$(josi_qwen_tokenizer)" --out "$work/base" --seed 1 >/dev/null 2>&1
  "$josi" export-gguf "$work/base" --outfile "$work/f16.gguf" --outtype f16 >/dev/null 2>&1
  rm -rf "$work/base"
fi
for type in q8_0 q4_k_m; do
  [ -f "$work/$type.gguf" ] || "$josi" quantize "$work/f16.gguf" "$work/$type.gguf" "$type" --keep-f16 >/dev/null 2>&1
  "$josi" eval --model "$work/$type.gguf" --compare "$work/f16.gguf" --data "$ref/data/val_interpreter.jsonl" \
    --mode interpreter --limit "$examples" --no_generate --threads "$threads" --json > "$work/$type.json" 2>/dev/null
done

node - "$work" <<'JS'
const fs = require("fs");
const work = process.argv[2];
const r = Object.fromEntries(["q8_0", "q4_k_m"].map((t) => [t, JSON.parse(fs.readFileSync(`${work}/${t}.json`, "utf8"))]));
const size = (t) => (fs.statSync(`${work}/${t}.gguf`).size / 2 ** 20).toFixed(0);
console.log(`josi eval --compare f16.gguf, ${r.q8_0.examples} interpreter validation examples, ${r.q8_0.answer_tokens} answer tokens`);
console.log("| file | MiB | KL mean | KL median | KL p99 | top-1 agreement | Δ eval_loss | seconds |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const [t, e] of Object.entries(r)) {
  const c = e.compare;
  console.log(`| ${t} | ${size(t)} | ${c.kl.mean.toExponential(3)} | ${c.kl.median.toExponential(3)} | ${c.kl.p99.toExponential(3)} | ` +
    `${(100 * c.top1_agreement).toFixed(2)}% | ${c.delta_eval_loss.toExponential(2)} | ${e.seconds.toFixed(0)} |`);
}
console.log(`Q4_K_M KL / Q8_0 KL: ${(r.q4_k_m.compare.kl.mean / r.q8_0.compare.kl.mean).toFixed(1)}x ` +
  `(Q8_0 closer: ${r.q8_0.compare.kl.mean < r.q4_k_m.compare.kl.mean})`);
JS
