#!/usr/bin/env bash
# The KV cache types on the users' phone model, one Qwen3 file serving both
# roles (v6 preset: the coach's context 4096, the interpreter's 2048):
#  1. memory: peak resident size of one coach turn with the users' v6
#     prompts whose coach prompt fills its context (a 60-turn history,
#     trimmed by the prompt builder to fit; the interpreter's answer
#     replayed, so the coach always runs and writes its 400 tokens), with
#     --kv-type f16 and q8_0, against
#     the target file + 0.6 GB + 250 MB; each role's prompt and generation
#     speed from the turn's own timings;
#  2. speed: josi bench --pp 512 --tg 64 with each type (2 threads);
#  3. accuracy, teacher-forced on the users' val_v7 examples (josi eval
#     --no_generate, the first EVAL_LIMIT): KL of the Q8_0-KV run against
#     the F16-KV run on the same file (Q4_K_M, Q8_0), and of the Q8_0 and
#     Q4_K_M weights against the F16 weights (all F16 KV);
#  4. greedy interpreter answers on the users' 149 v5 val messages
#     (bench/val_turns.js, the first AGREE_TURNS): the share of F16-KV
#     answer tokens the Q8_0-KV answer has at the same place.
# Usage: bench/kv_cache.sh [workdir]   SHAPE=qwen3-4b, EVAL_LIMIT=24,
#        AGREE_TURNS=149, AGREE_SHAPE=SHAPE, PARTS="memory speed kl agree"
# workdir keeps the model files between runs (qwen3-4b: ~15 GB while the
# F16 file is there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v /usr/bin/time >/dev/null || josi_apt_install time
work="${1:-$(mktemp -d)}"
shape="${SHAPE:-qwen3-4b}"
threads="${THREADS:-2}"
parts="${PARTS:-memory speed kl agree}"
v7="$root/../shared/reference/mivalta-v7"
mkdir -p "$work"

# model SHAPE TYPE: the file of SHAPE at TYPE (f16, q8_0, q4_k_m), made once.
model() {
  local file="$work/$1-$2.gguf"
  if [ ! -f "$file" ]; then
    if [ ! -f "$work/$1-f16.gguf" ]; then
      "$josi" init-base --preset "$1" --tokenizer "$(josi_qwen_tokenizer)" --out "$work/$1-base" >/dev/null 2>&1
      "$josi" export-gguf "$work/$1-base" --outfile "$work/$1-f16.gguf" --outtype f16 --preset v6 >/dev/null 2>&1
      rm -rf "$work/$1-base"
    fi
    [ "$2" = f16 ] || "$josi" quantize "$work/$1-f16.gguf" "$file" "${2^^}" --keep-f16 >/dev/null 2>&1
  fi
  echo "$file"
}

q4="$(model "$shape" q4_k_m)"
file_bytes=$(stat -c %s "$q4")

if [[ " $parts " == *" memory "* ]]; then
  # One turn filling both contexts: the sample ChatContext with 60 long earlier turns.
  node -e '
    const turn = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]);
    const words = "easy aerobic running builds the base while the long run adds endurance and the tempo work adds speed".split(" ");
    turn.message = "Why does my plan have so many easy runs instead of intervals?";
    turn.context.history = [];
    for (let i = 0; i < 60; i++) {
      const text = Array.from({ length: 90 }, (_, j) => words[(i * 7 + j) % words.length]).join(" ");
      turn.context.history.push({ role: i % 2 ? "assistant" : "user", message: `Turn ${i}: ${text}.`, ts: "2026-03-13T06:40:00Z" });
    }
    // The request as the interpreter writes it (json.dumps spacing, which its output constraint keeps).
    const replay = `{"action": "answer_question", "question": ${JSON.stringify(turn.message)}}`;
    turn.options = { seed: 1, interpreter: { replay } };
    console.log(JSON.stringify(turn));' "$root/data/samples/chat.jsonl" > "$work/long_turn.jsonl"
  echo "== one coach turn filling both contexts, $shape Q4_K_M ($((file_bytes / 1000000)) MB), both roles on the file, $threads threads"
  # Bytes per position of all layers' keys and values in F16.
  per_position=$("$josi" gguf info "$q4" --json | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8")).metadata;
    const a = m["general.architecture"].value, get = (k) => m[`${a}.${k}`]?.value;
    const head = get("attention.key_length") ?? get("embedding_length") / get("attention.head_count");
    console.log(get("block_count") * get("attention.head_count_kv") * head * 2 * 2);')
  printf '%-6s %10s %10s %9s %11s %11s %11s %11s %14s\n' kv "peak MB" "target MB" "x target" "interp pos" "coach pos" \
    "pp tok/s" "coach tg/s" "KV at caps MB"
  for kv in f16 q8_0; do
    /usr/bin/time -f %M -o "$work/rss.txt" "$josi" chat --interpreter "$q4" --preset v6 --kv-type "$kv" \
      --interpreter_prompt "$v7/prompts/josi_v6_interpreter.txt" --explainer_prompt "$v7/prompts/josi_v6_coach.txt" \
      --threads "$threads" --jsonl "$work/long_turn.jsonl" > "$work/turn_$kv.json" 2> "$work/turn_$kv.err"
    node -e '
      const [kv, kib, file, resultPath, perPosition] = [process.argv[1], +process.argv[2], +process.argv[3], process.argv[4], +process.argv[5]];
      const r = JSON.parse(require("fs").readFileSync(resultPath, "utf8"));
      const i = r.interpreter, c = r.explainer, t = r.timings_ms;
      if (r.route !== "explainer" || !c) throw new Error(`the coach did not run: ${r.route}`);
      const target = file + 0.6e9 + 250e6, peak = kib * 1024;
      // The prompt tokens each turn evaluated (the system-prompt prefixes were ready at open).
      const prompt = i.prompt_tokens - r.cache.interpreter_prefix_tokens + c.prompt_tokens - r.cache.explainer_prefix_tokens;
      const promptMs = t.interpreter_prompt + t.explainer_prompt;
      const kv_mb = (kv === "f16" ? 1 : 34 / 64) * perPosition * (2048 + 4096) / 1e6;
      console.log([kv.padEnd(6), (peak / 1e6).toFixed(0).padStart(10), (target / 1e6).toFixed(0).padStart(10),
        (peak / target).toFixed(2).padStart(9), String(i.prompt_tokens + i.tokens).padStart(11),
        String(c.prompt_tokens + c.tokens).padStart(11), (1000 * prompt / promptMs).toFixed(1).padStart(11),
        (1000 * c.tokens / t.explainer_generate).toFixed(2).padStart(11), kv_mb.toFixed(0).padStart(11)].join(" "));' \
      "$kv" "$(cat "$work/rss.txt")" "$file_bytes" "$work/turn_$kv.json" "$per_position"
  done
fi

if [[ " $parts " == *" speed "* ]]; then
  echo "== josi bench --pp 512 --tg 64 --repetitions 3, $shape Q4_K_M, $threads threads"
  for kv in f16 q8_0; do
    "$josi" bench "$q4" --pp 512 --tg 64 --repetitions 3 --threads "$threads" --kv-type "$kv" --json |
      node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(`${j.kv_type.padEnd(6)} pp512 ${j.pp_tokens_per_s.toFixed(2)} tok/s, tg64 ${j.tg_tokens_per_s.toFixed(2)} tok/s, read ${(j.read_bandwidth_bytes_per_s / 1e9).toFixed(1)} GB/s, tg ${(100 * j.bandwidth_share).toFixed(0)}% of its limit`);'
  done
fi

if [[ " $parts " == *" kl "* ]]; then
  limit="${EVAL_LIMIT:-24}"
  echo "== teacher-forced KL on the first $limit val_v7 examples (josi eval --no_generate), $shape"
  eval_kl() {  # eval_kl LABEL MODEL REFERENCE KV
    "$josi" eval --model "$2" --compare "$3" --kv-type "$4" --data "$v7/data/val_v7_unified.jsonl" --mode explainer \
      --max_seq_length 4096 --limit "$limit" --no_generate --threads "$threads" --json 2>/dev/null |
      node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")), c = j.compare;
        console.log(`${process.argv[1].padEnd(34)} KL mean ${c.kl.mean.toExponential(3)}, p95 ${c.kl.p95.toExponential(3)}, max ${c.kl.max.toExponential(3)} nats/token; top-1 ${(100 * c.top1_agreement).toFixed(2)}%; ${j.answer_tokens} tokens`);' "$1"
  }
  eval_kl "Q4_K_M, Q8_0 KV vs F16 KV" "$q4" "$q4" q8_0
  q8="$(model "$shape" q8_0)"
  eval_kl "Q8_0 KV vs F16 KV on the Q8_0 file" "$q8" "$q8" q8_0
  f16="$(model "$shape" f16)"
  eval_kl "Q8_0 weights vs F16 weights" "$q8" "$f16" f16
  eval_kl "Q4_K_M weights vs F16 weights" "$q4" "$f16" f16
fi

if [[ " $parts " == *" agree "* ]]; then
  n="${AGREE_TURNS:-149}"
  agree_file="$(model "${AGREE_SHAPE:-$shape}" q4_k_m)"
  echo "== greedy interpreter answers, ${AGREE_SHAPE:-$shape} Q4_K_M, the first $n of the users' 149 val messages"
  node "$root/bench/val_turns.js" "$ref/data/val_interpreter.jsonl" "$n" \
    '{"temperature": 0, "explainer": {"max_tokens": 1}}' > "$work/agree_turns.jsonl"
  for kv in f16 q8_0; do
    "$josi" chat --interpreter "$agree_file" --preset v6 --kv-type "$kv" --threads "$threads" --jsonl \
      --cache-dir "$work/prefix-$kv" "$work/agree_turns.jsonl" > "$work/agree_$kv.jsonl" 2>/dev/null
  done
  node -e '
    const fs = require("fs");
    const read = (f) => fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l).interpreter.raw);
    const a = read(process.argv[1]), b = read(process.argv[2]);
    fs.writeFileSync(process.argv[3], [...a, ...b].map((s) => JSON.stringify(s)).join("\n") + "\n");' \
    "$work/agree_f16.jsonl" "$work/agree_q8_0.jsonl" "$work/agree_texts.jsonl"
  "$josi" tokenize --tokenizer "$agree_file" --jsonl "$work/agree_texts.jsonl" > "$work/agree_ids.jsonl"
  node -e '
    const ids = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const n = ids.length / 2;
    let same = 0, total = 0, identical = 0;
    for (let i = 0; i < n; i++) {
      const [a, b] = [ids[i], ids[n + i]];
      total += a.length;
      for (let j = 0; j < a.length; j++) if (a[j] === b[j]) same++;
      if (a.length === b.length && a.every((t, j) => t === b[j])) identical++;
    }
    console.log(`${n} answers, ${total} F16-KV tokens: ${(100 * same / total).toFixed(2)}% of them matched in place by the Q8_0-KV answer; ${identical} answers identical`);' \
    "$work/agree_ids.jsonl"
fi
