#!/usr/bin/env bash
# The two ways to ship the two roles, on 1.5b-shaped models: merged (two
# full Q4_K_M files, the seed's) against adapters (one Q4_K_M base and each
# role's r-16 LoRA adapter on the seven projections in F16, applied at run
# time). Measures the bytes an athlete downloads, the peak resident memory of
# `josi chat` with both roles loaded and turns run (the users' prompts and
# messages, prefixes from a filled cache, as the app restarts), a turn's
# latency, and the time of a token with and without an adapter (`josi bench
# --adapter`, which alternates the two in one process).
# The adapters have random factors (bench/random_adapter.js) of the shape
# `josi train` writes: their size and cost are a trained one's.
# Usage: bench/adapter.sh [workdir] [turns]   workdir may hold q4_k_m_1.gguf
# and q4_k_m_2.gguf as bench/turn.sh makes them; q4_k_m_1 is the base.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_two_models "${1:-}" 2 "${2:-}"
reps="${REPS:-7}"
base="$work/q4_k_m_1.gguf"
out="$work/adapter"
mkdir -p "$out/shape"

# The base's config.json from its own GGUF metadata: the adapters are made for it.
"$josi" gguf info "$base" --json | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8")).metadata, v = (k) => m["qwen2." + k].value;
  console.log(JSON.stringify({architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", hidden_size: v("embedding_length"),
    intermediate_size: v("feed_forward_length"), num_hidden_layers: v("block_count"),
    num_attention_heads: v("attention.head_count"), num_key_value_heads: v("attention.head_count_kv"),
    max_position_embeddings: v("context_length"), vocab_size: m["tokenizer.ggml.tokens"].count,
    rope_theta: v("rope.freq_base"), rms_norm_eps: v("attention.layer_norm_rms_epsilon"), tie_word_embeddings: true,
    torch_dtype: "bfloat16"}));' > "$out/shape/config.json"
for role_seed in interpreter:1 explainer:2; do
  role="${role_seed%%:*}"
  if [ ! -f "$out/$role.gguf" ]; then
    node "$root/bench/random_adapter.js" "$out/shape/config.json" "$out/peft-$role" "${role_seed#*:}"
    "$josi" export-gguf --lora "$out/peft-$role" --base "$out/shape" --outfile "$out/$role.gguf" --outtype f16 >/dev/null
    rm -rf "$out/peft-$role"
  fi
done

# A token's time with and without the adapter, the two alternated in one
# process so a busy host's drift falls on both.
"$josi" bench "$base" --pp 128 --tg 64 --repetitions "$reps" --threads "$threads" --adapter "$out/interpreter.gguf" \
  --json > "$out/bench_adapter.json"

# Turns through both roles: a first run fills each shape's prefix cache, the measured one restarts from it.
bench_turns "$out" "$turns" 1
chat() {  # chat NAME [model arguments...]
  local name="$1"
  shift
  local args=("$josi" chat "$@" --interpreter_prompt "$ref/prompts/interpreter_system.txt"
    --explainer_prompt "$ref/prompts/explainer_sequential_system.txt" --threads "$threads" --jsonl
    --cache-dir "$out/cache-$name")
  "${args[@]}" "$out/interpreter_turns.jsonl" > "$out/$name-first.jsonl" 2> "$out/$name-first.err"
  /usr/bin/time -f %M -o "$out/$name.rss" "${args[@]}" "$out/turns.jsonl" > "$out/$name.jsonl" 2> "$out/$name.err"
}
rm -rf "$out"/cache-*
chat merged --interpreter "$work/q4_k_m_1.gguf" --explainer "$work/q4_k_m_2.gguf"
chat adapters --base "$base" --interpreter-adapter "$out/interpreter.gguf" --explainer-adapter "$out/explainer.gguf"

node - "$out" "$work/q4_k_m_1.gguf" "$work/q4_k_m_2.gguf" <<'JS'
const fs = require("fs");
const [out, m1, m2] = process.argv.slice(2);
const size = (f) => fs.statSync(f).size;
const lines = (f) => fs.readFileSync(`${out}/${f}`, "utf8").trim().split("\n").map(JSON.parse);
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const MB = (b) => (b / 1e6).toFixed(1);
const row = (...cells) => console.log(`| ${cells.join(" | ")} |`);
const merged = size(m1) + size(m2);
const adapters = size(m1) + size(`${out}/interpreter.gguf`) + size(`${out}/explainer.gguf`);
console.log("| measure | merged (two Q4_K_M files) | adapters (Q4_K_M base + two F16 adapters) | adapters / merged | target |");
console.log("|---|---:|---:|---:|---|");
row("download (MB)", `${MB(size(m1))} + ${MB(size(m2))} = ${MB(merged)}`,
    `${MB(size(m1))} + ${MB(size(`${out}/interpreter.gguf`))} + ${MB(size(`${out}/explainer.gguf`))} = ${MB(adapters)}`,
    (adapters / merged).toFixed(3), "<= 0.55");
const rss = (name) => 1024 * Number(fs.readFileSync(`${out}/${name}.rss`, "utf8").trim().split("\n").pop());
row("peak resident, both roles loaded + turns (MB)", MB(rss("merged")), MB(rss("adapters")),
    (rss("adapters") / rss("merged")).toFixed(3), "<= 0.60");
const turns = (name) => lines(`${name}.jsonl`);
const t = (name, k) => mean(turns(name).map((r) => r.timings_ms[k]));
const tokens = (name, role) => mean(turns(name).map((r) => (r[role] ? r[role].tokens : 0)));
for (const [label, key] of [["interpreter first token (ms)", "interpreter_first_token"], ["whole turn (ms)", "total"]])
  row(label, t("merged", key).toFixed(0), t("adapters", key).toFixed(0), (t("adapters", key) / t("merged", key)).toFixed(3), "");
row("tokens per turn, interpreter + explainer", `${tokens("merged", "interpreter").toFixed(0)} + ${tokens("merged", "explainer").toFixed(0)}`,
    `${tokens("adapters", "interpreter").toFixed(0)} + ${tokens("adapters", "explainer").toFixed(0)}`, "", "");
const bench = JSON.parse(fs.readFileSync(`${out}/bench_adapter.json`, "utf8"));
console.log("\n| `josi bench` (1.5b Q4_K_M base) | without adapter | with the r-16 F16 adapter | cost of the adapter | target |");
console.log("|---|---:|---:|---:|---|");
for (const [label, k] of [["generated token (tg64, ms)", "tg"], ["prompt token (pp128, ms)", "pp"]]) {
  const a = 1000 / bench[`${k}_base_tokens_per_s`], b = 1000 / bench[`${k}_tokens_per_s`];
  row(label, a.toFixed(2), b.toFixed(2), `${(100 * bench[`${k}_adapter_cost`]).toFixed(1)}%`, k === "tg" ? "<= 5%" : "");
}
console.log(`\ncost: median over ${bench.repetitions} repetitions of the paired ratio, the two contexts alternated token by token; adapter in memory ${MB(bench.adapter_bytes)} MB; ` +
            `${turns("merged").length} turns per shape`);
JS
