# Sourced by the coach benchmarks: where josi is, and the random-weight
# stand-in models they run on (real weights cannot be downloaded here).
root="$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)"
source "$root/scripts/lib/deps.sh"
josi="${JOSI:-$root/build/josi}"
[ -x "$josi" ] || { echo "bench: build josi first (scripts/test.sh)" >&2; exit 1; }
ref="$root/../shared/reference/mivalta-v5"

# bench_model PRESET SEED TYPE OUT: init-base PRESET with SEED -> export-gguf
# f16 -> quantize TYPE, written to OUT unless it is there already.
bench_model() {
  local preset="$1" seed="$2" type="$3" out="$4"
  [ -f "$out" ] && return 0
  local tmp="$out.parts"
  mkdir -p "$tmp"
  "$josi" init-base --preset "$preset" --tokenizer "$(josi_qwen_tokenizer)" --out "$tmp/base" --seed "$seed" >/dev/null 2>&1
  "$josi" export-gguf "$tmp/base" --outfile "$tmp/f16.gguf" --outtype f16 >/dev/null 2>&1
  rm -rf "$tmp/base"
  "$josi" quantize "$tmp/f16.gguf" "$out" "$type" >/dev/null 2>&1
  rm -rf "$tmp"
}

# bench_two_models WORKDIR DEFAULT_TURNS [TURNS]: sets work (WORKDIR, or a new
# temporary folder), turns and threads (THREADS, default 2), and makes the
# turn benchmarks' two 1.5b Q4_K_M models, WORK/q4_k_m_1.gguf and
# WORK/q4_k_m_2.gguf, unless they are there.
bench_two_models() {
  command -v /usr/bin/time >/dev/null || josi_apt_install time
  work="${1:-$(mktemp -d)}"
  turns="${3:-$2}"
  threads="${THREADS:-2}"
  for seed in 1 2; do bench_model 1.5b "$seed" Q4_K_M "$work/q4_k_m_$seed.gguf"; done
}

# bench_turns WORK N [REPLAYS]: N athlete turns from the users' validation
# split in WORK/turns.jsonl, and the same with the explainer cut to one token
# (the runs that measure the interpreter alone) in
# WORK/interpreter_turns.jsonl; the replays of the users' real answers: all
# 149 val_interpreter.jsonl targets in WORK/replay_interpreter.jsonl and
# REPLAYS (default 30) val_explainer_sequential.jsonl answers in
# WORK/replay_explainer.jsonl.
bench_turns() {
  local work="$1" n="$2" replays="${3:-30}"
  node "$root/bench/val_turns.js" "$ref/data/val_interpreter.jsonl" "$n" > "$work/turns.jsonl"
  node "$root/bench/val_turns.js" "$ref/data/val_interpreter.jsonl" "$n" '{"explainer": {"max_tokens": 1}}' \
    > "$work/interpreter_turns.jsonl"
  node "$root/bench/val_turns.js" "$ref/data/val_interpreter.jsonl" 149 '{"explainer": {"max_tokens": 1}}' replay \
    > "$work/replay_interpreter.jsonl"
  node "$root/bench/val_turns.js" "$ref/data/val_explainer_sequential.jsonl" "$replays" '{}' replay \
    > "$work/replay_explainer.jsonl"
}
