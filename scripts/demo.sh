#!/usr/bin/env bash
# The main job on the project's own sample data: every capability Josi has,
# end to end, with a short summary. Outputs go to build/demo/.
set -euo pipefail
JOSI_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$JOSI_ROOT/scripts/lib/deps.sh"

josi_install_deps
josi_install_npm_peers
build="${JOSI_BUILD_DIR:-$JOSI_ROOT/build}"
josi_build "$build" RelWithDebInfo josi >/dev/null
josi="$build/josi"
out="$build/demo"
mkdir -p "$out"
cd "$JOSI_ROOT"

step() { printf '\n== %s\n' "$*"; }

step "1. Validate the sample datasets"
"$josi" data validate data/train_interpreter.jsonl data/val_interpreter.jsonl --mode interpreter
"$josi" data validate data/train_explainer.jsonl data/val_explainer.jsonl --mode explainer

step "2. Prepare the sequential explainer data"
"$josi" prepare-sequential \
  --output_train "$out/train_explainer_sequential.jsonl" --output_val "$out/val_explainer_sequential.jsonl"
"$josi" data validate "$out/train_explainer_sequential.jsonl" --mode explainer

step "3. Coach layers on sample inputs (JSONL in, JSONL out)"
run_filter() {  # name, input, command...
  local name="$1" input="$2"; shift 2
  "$josi" coach "$@" "$input" > "$out/$name.out.jsonl"
  echo "-- coach $* ($(wc -l < "$out/$name.out.jsonl") lines) -> $out/$name.out.jsonl"
  head -c 600 "$out/$name.out.jsonl"; echo
}
run_filter postprocess data/samples/postprocess.jsonl postprocess
run_filter route data/samples/route.jsonl route
run_filter govern data/samples/govern.jsonl govern
run_filter parse_intent data/samples/parse_intent.jsonl parse-intent
run_filter memory_extract data/samples/memory_extract.jsonl memory extract
run_filter memory_merge data/samples/memory_merge.jsonl memory merge
run_filter memory_patterns data/samples/memory_patterns.jsonl memory patterns
run_filter prompt data/samples/prompt.jsonl prompt

step "4. A tiny Qwen2 base model -> GGUF F16 -> Q4_K_M (the seed's steps 3-4)"
tokenizer="$(josi_qwen_tokenizer)"
rm -rf "$out/base"
"$josi" init-base --preset tiny --tokenizer "$tokenizer" --out "$out/base" --seed 1 2>/dev/null
"$josi" export-gguf "$out/base" --outfile "$out/josi-tiny-f16.gguf" --outtype f16 2>/dev/null
"$josi" gguf info "$out/josi-tiny-f16.gguf" | head -n 12
f16_bytes=$(stat -c %s "$out/josi-tiny-f16.gguf")
"$josi" quantize "$out/josi-tiny-f16.gguf" "$out/josi-tiny-q4_k_m.gguf" Q4_K_M --report "$out/quantize-report.json" 2>/dev/null
"$josi" gguf info "$out/josi-tiny-q4_k_m.gguf" --tensors | tail -n 8
"$josi" gguf set-version "$out/josi-tiny-q4_k_m.gguf" "$out/josi-tiny-q4_k_m-v2.gguf" 2

step "5. The tokenizer, read from the GGUF file"
"$josi" tokenize --tokenizer "$out/josi-tiny-q4_k_m.gguf" "Why is today an easy day? <|im_start|> stays text"
printf 'athlete text: %s tokens\n' "$("$josi" tokenize --tokenizer "$out/josi-tiny-q4_k_m.gguf" --count "I'm sick, can't train this week")"

step "6. The engine: generation and speed on the tiny Q4_K_M (random weights, so the text is noise)"
"$josi" generate "$out/josi-tiny-q4_k_m.gguf" --prompt "What is Zone 2?" --max-tokens 16 --seed 1
"$josi" bench "$out/josi-tiny-q4_k_m.gguf" --pp 128 --tg 16 --repetitions 1

step "7. The coach turn: a scripted josi chat --jsonl conversation (both roles on the tiny model)"
# Random weights, so the texts are noise; the constrained interpreter still
# writes a valid GATCRequest every turn, and the routes follow from it.
show_turns() {
  node -e '
    for (const l of require("fs").readFileSync(0, "utf8").trim().split("\n")) {
      const o = JSON.parse(l), t = o.timings_ms;
      if (o.error) { console.log("error: " + o.error); continue; }
      const reply = o.reply === null ? "(request for the engine: " + JSON.stringify(o.request).slice(0, 60) + "...)" : JSON.stringify(o.reply.slice(0, 50));
      console.log(`${o.route.padEnd(9)} ${o.action.padEnd(15)} valid=${o.interpreter.valid} prefix ${o.cache.interpreter_prefix_tokens} cached, ` +
        `interpreter ${t.interpreter_prompt.toFixed(0)}+${t.interpreter_generate.toFixed(0)} ms, total ${t.total.toFixed(0)} ms  ${reply}`);
    }'
}
rm -rf "$out/prefix-cache"
"$josi" chat --interpreter "$out/josi-tiny-q4_k_m.gguf" --jsonl data/samples/chat.jsonl --cache-dir "$out/prefix-cache" \
  > "$out/chat.out.jsonl" 2> "$out/chat.err"
grep prefix "$out/chat.err"
show_turns < "$out/chat.out.jsonl"
echo "-- again with the same cache directory: the prefixes come from their cache files, the turns repeat exactly"
"$josi" chat --interpreter "$out/josi-tiny-q4_k_m.gguf" --jsonl data/samples/chat.jsonl --cache-dir "$out/prefix-cache" \
  > "$out/chat2.out.jsonl" 2> "$out/chat2.err"
grep prefix "$out/chat2.err"
node -e '
  const [a, b] = process.argv.slice(1).map((f) => require("fs").readFileSync(f, "utf8").trim().split("\n").map((l) => { const o = JSON.parse(l); delete o.timings_ms; return JSON.stringify(o); }));
  console.log(a.every((l, i) => l === b[i]) ? "identical turns" : "turns differ");' "$out/chat.out.jsonl" "$out/chat2.out.jsonl"

step "Summary"
echo "datasets validated: 4 sample files; sequential data: $(wc -l < "$out/train_explainer_sequential.jsonl") train + $(wc -l < "$out/val_explainer_sequential.jsonl") val examples"
echo "coach filters run: postprocess, route, govern, parse-intent, memory extract/merge/patterns, prompt"
echo "tiny model: $f16_bytes bytes F16 -> $(stat -c %s "$out/josi-tiny-q4_k_m.gguf") bytes Q4_K_M"
echo "coach turns: $(wc -l < "$out/chat.out.jsonl") through josi chat -> $out/chat.out.jsonl"
echo "outputs in $out"
