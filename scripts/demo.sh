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

step "Summary"
echo "datasets validated: 4 sample files; sequential data: $(wc -l < "$out/train_explainer_sequential.jsonl") train + $(wc -l < "$out/val_explainer_sequential.jsonl") val examples"
echo "coach filters run: postprocess, route, govern, parse-intent, memory extract/merge/patterns, prompt"
echo "outputs in $out"
