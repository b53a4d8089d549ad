#!/usr/bin/env bash
# How often the interpreter's output is a schema-valid GATCRequest, with and
# without the output constraint, on a random-weight model (which writes
# garbage unless constrained): COUNT turns cycling through the users'
# validation messages, each with its own seed and the seed's sampling
# (temperature 0.45, top-p 0.9, 150 tokens). The raw text is checked against
# the schema by `josi data validate`; the turn's own "valid" is after the
# post-processor, which is what the engine would get.
# Usage: bench/constraint_validity.sh [workdir] [count]   (tiny preset; ~15 min for 1000 on 2 cores)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="${1:-$(mktemp -d)}"
count="${2:-1000}"
model="$work/tiny-q4_k_m.gguf"
bench_model tiny 1 Q4_K_M "$model"
# The explainer is cut to one token: only the interpreter is measured.
node "$root/bench/val_turns.js" "$ref/data/val_interpreter.jsonl" "$count" '{"explainer": {"max_tokens": 1}}' > "$work/turns.jsonl"
half=$(( (count + 1) / 2 ))
head -n "$half" "$work/turns.jsonl" > "$work/a.jsonl"
tail -n +"$((half + 1))" "$work/turns.jsonl" > "$work/b.jsonl"
run() {  # label, flags...: two processes of one thread, half the turns each
  local label="$1"; shift
  "$josi" chat --interpreter "$model" --threads 1 --jsonl "$@" "$work/a.jsonl" > "$work/$label-a.out" 2>/dev/null &
  "$josi" chat --interpreter "$model" --threads 1 --jsonl "$@" "$work/b.jsonl" > "$work/$label-b.out" 2>/dev/null
  wait
  cat "$work/$label-a.out" "$work/$label-b.out" > "$work/$label.jsonl"
  # Each raw output as a training example's target, for the schema check.
  node -e '
    const fs = require("fs");
    for (const l of fs.readFileSync(process.argv[1], "utf8").trim().split("\n")) {
      const o = JSON.parse(l);
      console.log(JSON.stringify({messages: [{role: "user", content: "x"}, {role: "assistant", content: o.interpreter.raw}]}));
    }' "$work/$label.jsonl" > "$work/$label-raw.jsonl"
  "$josi" data validate "$work/$label-raw.jsonl" --mode interpreter --json > "$work/$label-validate.json" || true
}
start=$(date +%s)
run constrained
run free --no-constrain
node - "$work" "$(( $(date +%s) - start ))" <<'JS'
const fs = require("fs");
const [work, seconds] = process.argv.slice(2);
console.log("interpreter output on a random-weight model (tiny preset, Q4_K_M), the seed's sampling");
console.log("mode".padEnd(16) + "turns".padStart(7) + "raw schema-valid".padStart(18) + "valid after post-processing".padStart(30) + "tokens".padStart(8));
for (const [label, name] of [["constrained", "constrained"], ["free", "--no-constrain"]]) {
  const rows = fs.readFileSync(`${work}/${label}.jsonl`, "utf8").trim().split("\n").map(JSON.parse);
  const rawValid = JSON.parse(fs.readFileSync(`${work}/${label}-validate.json`, "utf8")).valid_examples;
  const valid = rows.filter((o) => o.interpreter.valid).length;
  const tokens = rows.reduce((a, o) => a + o.interpreter.tokens, 0) / rows.length;
  console.log(name.padEnd(16) + String(rows.length).padStart(7) + `${rawValid} (${(100 * rawValid / rows.length).toFixed(1)}%)`.padStart(18) +
    `${valid} (${(100 * valid / rows.length).toFixed(1)}%)`.padStart(30) + tokens.toFixed(0).padStart(8));
}
console.log(`(${seconds} s for both)`);
JS
