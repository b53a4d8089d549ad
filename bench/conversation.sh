#!/usr/bin/env bash
# A coach's conversation, turn by turn, with and without the conversation
# kept in the KV cache: the users' v6 prompts and coaching cards, one Qwen3
# file in both roles (random weights, real shapes), every turn reaching the
# coach (bench/conversation_turns.js: the users' v7 exchanges, answers
# replayed). Per turn: the coach's prompt tokens, how many it evaluated, its
# time to the first token and the whole turn's time; alternating runs, the
# best of ROUNDS per turn. Then, where the budget dropped the oldest turns
# and the cache was moved over them, the KL of every evaluated position
# against a cold evaluation of the same prompt (bench/shift_kl.cpp).
# Usage: bench/conversation.sh [workdir]   SHAPE=qwen3-4b TYPE=Q4_K_M THREADS=2
#        TURNS="6 20" ROUNDS=2 PLAIN_TURNS=6 (conversations also run without
#        reuse) KL_TURNS=3 (moved turns compared; 0: none)
# workdir keeps the model file between runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
work="${1:-$(mktemp -d)}"
shape="${SHAPE:-qwen3-4b}" type="${TYPE:-Q4_K_M}" threads="${THREADS:-2}" rounds="${ROUNDS:-2}"
v7="$root/../shared/reference/mivalta-v7"
build="${JOSI_BUILD_DIR:-$root/build}"
mkdir -p "$work"
model="$work/$shape-$type.gguf"
bench_model "$shape" 1 "$type" "$model"
echo "== $shape $type ($(( $(stat -c %s "$model") / 1000000 )) MB), v6 preset, cards on, $threads threads; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

chat() {  # chat TURNS_FILE OUT [flags...]
  local turns="$1" out="$2"
  shift 2
  "$josi" chat --interpreter "$model" --preset v6 --knowledge "$v7/knowledge/knowledge.json" \
    --interpreter_prompt "$v7/prompts/josi_v6_interpreter.txt" --explainer_prompt "$v7/prompts/josi_v6_coach.txt" \
    --threads "$threads" --jsonl --conversation "$@" "$turns" > "$out" 2> "$out.err"
}

for n in ${TURNS:-6 20}; do
  node "$root/bench/conversation_turns.js" "$v7/data/conversations" "$root/data/chat_context.sample.json" "$n" > "$work/turns_$n.jsonl"
  # Only the conversations run both ways are timed against each other: best of ROUNDS.
  plain="" runs=1
  if [ "$n" -le "${PLAIN_TURNS:-6}" ]; then plain=1 runs="$rounds"; fi
  for ((r = 1; r <= runs; r++)); do
    chat "$work/turns_$n.jsonl" "$work/kept_${n}_$r.jsonl"
    [ -n "$plain" ] && chat "$work/turns_$n.jsonl" "$work/plain_${n}_$r.jsonl" --no-conversation-cache
  done
  node -e '
    const fs = require("fs");
    const [work, n, rounds] = [process.argv[1], +process.argv[2], +process.argv[3]];
    const load = (kind) => {
      const runs = [];
      for (let r = 1; r <= rounds; r++) {
        const f = `${work}/${kind}_${n}_${r}.jsonl`;
        if (fs.existsSync(f)) runs.push(fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l)));
      }
      return runs;
    };
    const best = (runs, t, get) => Math.min(...runs.map((run) => get(run[t])));
    const kept = load("kept"), plain = load("plain");
    console.log(`-- ${n} turns` + (rounds > 1 ? `, best of ${rounds} alternating runs` : ""));
    console.log("turn  prompt  kept: eval  moved  first ms   turn ms" + (plain.length ? " | plain: eval  first ms   turn ms  first x" : ""));
    let reusing = 0, third = 0;
    const first = [], prefix = kept[0][0].cache.explainer.reused;
    for (let t = 0; t < n; t++) {
      const a = kept[0][t], c = a.cache.explainer;
      if (t > 0 && c.reused > prefix) reusing++;
      if (t > 0 && c.evaluated * 3 <= a.explainer.prompt_tokens) third++;
      const ft = best(kept, t, (o) => o.timings_ms.explainer_first_token), tt = best(kept, t, (o) => o.timings_ms.total);
      first.push(ft);
      let line = `${String(t + 1).padStart(4)} ${String(a.explainer.prompt_tokens).padStart(7)} ${String(c.evaluated).padStart(11)} ${String(c.moved).padStart(6)} ${ft.toFixed(0).padStart(9)} ${tt.toFixed(0).padStart(9)}`;
      if (plain.length) {
        const p = plain[0][t];
        const pf = best(plain, t, (o) => o.timings_ms.explainer_first_token), pt = best(plain, t, (o) => o.timings_ms.total);
        line += ` | ${String(p.cache.explainer.evaluated).padStart(11)} ${pf.toFixed(0).padStart(9)} ${pt.toFixed(0).padStart(9)} ${(ft / pf).toFixed(2).padStart(8)}`;
      }
      console.log(line);
    }
    console.log(`turns 2-${n} reusing the conversation: ${reusing}/${n - 1} (${(100 * reusing / (n - 1)).toFixed(0)}%); evaluating at most 1/3 of the coach prompt: ${third}/${n - 1}`);
    if (n >= 5) console.log(`turn 5 time to first token / turn 1: ${(first[4] / first[0]).toFixed(2)}`);
  ' "$work" "$n" "$runs"
done

kl_turns="${KL_TURNS:-3}"
if [ "$kl_turns" -gt 0 ]; then
  last="${TURNS:-6 20}"; last="${last##* }"
  echo "-- moved cache vs cold evaluation, the $last-turn conversation (first $kl_turns moved turns)"
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  libs=""
  for lib in runtime check infer constrain kernels coach knowledge scoring data quant text formats json base; do
    libs="$libs $build/libjosi_$lib.a"
  done
  ${CXX:-c++} -O2 -DNDEBUG -std=c++20 -I"$root/src" "$root/bench/shift_kl.cpp" -o "$tmp/shift_kl" \
    -Wl,--start-group $libs -Wl,--end-group $(pkg-config --libs libpcre2-8 libutf8proc) -lfmt -pthread
  "$tmp/shift_kl" "$model" "$work/kept_${last}_1.jsonl" "$threads" f16 "$kl_turns"
fi
