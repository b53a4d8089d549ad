#!/usr/bin/env bash
# What the adapters shape costs in quality: a LoRA adapter trained by
# `josi train` (r 16, the seven projections, long enough that it moves the
# model) on the tiny preset's random base, then per token KL divergence from
# the merged F16 model of (a) the merged model quantized to Q4_K_M, the
# merged shape's file, and (b) the base quantized to Q4_K_M with the F16
# adapter applied at run time, the adapters shape; with `josi eval
# --compare`. The users' interpreter examples (val_interpreter.jsonl: the
# only split of theirs in the interpreter's format) are cut in two: the
# first 48 train, the last 8 evaluate.
# Usage: bench/adapter_kl.sh [workdir] [steps]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="${1:-$(mktemp -d)}"
steps="${2:-40}"
mkdir -p "$work"
cd "$work"
data="$ref/data"
head -n 48 "$data/val_interpreter.jsonl" > train.jsonl
tail -n 8 "$data/val_interpreter.jsonl" > val.jsonl
[ -d base ] || "$josi" init-base --preset tiny --tokenizer "$(josi_qwen_tokenizer)" --out base --seed 1 >/dev/null
rm -rf run merged
"$josi" train --mode interpreter --base-model base --train-data train.jsonl --val-data val.jsonl --lr 5e-3 \
  --max-steps "$steps" --grad-accum 1 --lora-dropout 0 --early-stopping-patience 0 --output-dir run >train.log 2>&1
"$josi" merge --lora_path run/lora_weights --output_path merged --dtype f32 >/dev/null
"$josi" export-gguf merged --outfile merged-f16.gguf --outtype f16 >/dev/null
"$josi" export-gguf base --outfile base-f16.gguf --outtype f16 >/dev/null
"$josi" quantize merged-f16.gguf merged-q4_k_m.gguf Q4_K_M --keep-f16 >/dev/null
"$josi" quantize base-f16.gguf base-q4_k_m.gguf Q4_K_M --keep-f16 >/dev/null
"$josi" export-gguf --lora run/lora_weights --base base --outfile adapter-f16.gguf --outtype f16 >/dev/null
evaluate() {  # evaluate NAME MODEL [--adapter FILE]
  local name="$1" model="$2"
  shift 2
  "$josi" eval --model "$model" "$@" --data val.jsonl --mode interpreter --compare merged-f16.gguf --no-generate \
    --json > "eval-$name.json"
}
evaluate base-f16 base-f16.gguf
evaluate merged-q4 merged-q4_k_m.gguf
evaluate adapter base-q4_k_m.gguf --adapter adapter-f16.gguf
node - "$steps" <<'JS'
const fs = require("fs");
const read = (n) => JSON.parse(fs.readFileSync(`eval-${n}.json`, "utf8"));
const base = read("base-f16"), merged = read("merged-q4"), adapter = read("adapter");
const kl = (r) => r.compare.kl;
console.log(`KL from the merged F16 model, ${merged.answer_tokens} answer tokens of ${merged.examples} validation examples; ` +
  `adapter trained ${process.argv[2]} steps`);
console.log("| model | KL mean (nats/token) | KL p95 | KL max | top-1 agreement |");
console.log("|---|---:|---:|---:|---:|");
for (const [name, r] of [["base F16, no adapter (what training moved)", base], ["merged Q4_K_M", merged],
                         ["base Q4_K_M + F16 adapter at run time", adapter]])
  console.log(`| ${name} | ${kl(r).mean.toExponential(3)} | ${kl(r).p95.toExponential(3)} | ` +
              `${kl(r).max.toExponential(3)} | ${(100 * r.compare.top1_agreement).toFixed(2)}% |`);
const ratio = kl(adapter).mean / kl(merged).mean;
console.log(`\nadapter / merged KL mean: ${ratio.toFixed(3)} (target <= 1.10): ${ratio <= 1.10 ? "met" : "MISSED"}`);
JS
