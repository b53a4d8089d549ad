#!/usr/bin/env bash
# Inference speed of josi bench (2 threads, median of 3) on the users' model
# shapes: Qwen2.5-1.5B (against the reference CPU engine's figures on this
# machine kind) and Qwen3-4B (the users' iPhone model; no figure of the
# reference to compare), each at Q4_K_M and Q8_0: prompt and generation
# tok/s, the read bandwidth measured in the same run, the generation limit
# it sets (bandwidth / bytes read per token) and the share of it reached,
# and peak resident memory; then the resident memory of `josi generate` on
# each Q4_K_M file against the target (file + KV cache + 200 MB).
# Usage: bench/engine.sh [workdir]   SHAPES="1.5b qwen3-4b" by default.
# workdir may already hold the files (1.5b: q4_k_m.gguf, q8_0.gguf;
# qwen3-4b: qwen3-4b-q4_k_m.gguf, qwen3-4b-q8_0.gguf); otherwise they are
# made by init-base -> export-gguf f16 -> quantize (qwen3-4b needs ~17 GB
# free while it runs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/deps.sh"
josi="${JOSI:-$root/build/josi}"
[ -x "$josi" ] || { echo "bench: build josi first (scripts/test.sh)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || josi_apt_install time
work="${1:-$(mktemp -d)}"
threads="${THREADS:-2}"
shapes="${SHAPES:-1.5b qwen3-4b}"

# The file of SHAPE at TYPE (q4_k_m, q8_0).
model_file() { if [ "$1" = 1.5b ]; then echo "$work/$2.gguf"; else echo "$work/$1-$2.gguf"; fi; }

for shape in $shapes; do
  if [ ! -f "$(model_file "$shape" q4_k_m)" ] || [ ! -f "$(model_file "$shape" q8_0)" ]; then
    tokenizer="$(josi_qwen_tokenizer)"
    "$josi" init-base --preset "$shape" --tokenizer "$tokenizer" --out "$work/$shape-base" >/dev/null
    "$josi" export-gguf "$work/$shape-base" --outfile "$work/$shape-f16.gguf" --outtype f16 >/dev/null
    rm -rf "$work/$shape-base"
    "$josi" quantize "$work/$shape-f16.gguf" "$(model_file "$shape" q4_k_m)" Q4_K_M --keep-f16 >/dev/null
    "$josi" quantize "$work/$shape-f16.gguf" "$(model_file "$shape" q8_0)" Q8_0 >/dev/null
  fi
done

# The reference engine's figures on this machine kind, 2 threads, quiet
# (issue 15's same-run comparisons, the top of each range): pp512 / tg64 tok/s.
declare -A ref_pp=([1.5b-q4_k_m]=100 [1.5b-q8_0]=93) ref_tg=([1.5b-q4_k_m]=25.9 [1.5b-q8_0]=14.2)
printf '%-16s %10s %7s %10s %7s %10s %9s %9s %9s\n' model "pp512 t/s" "x ref" "tg64 t/s" "x ref" "GB/s read" "tg limit" \
  "tg share" "peak MB"
for shape in $shapes; do
  for m in q4_k_m q8_0; do
    j=$("$josi" bench "$(model_file "$shape" "$m")" --pp 512 --tg 64 --repetitions 3 --threads "$threads" --json)
    node -e '
      const j = JSON.parse(process.argv[1]);
      const [m, rp, rt] = [process.argv[2], +process.argv[3], +process.argv[4]];
      const limit = j.read_bandwidth_bytes_per_s / j.bytes_per_token;
      const ratio = (v, r) => (r ? (v / r).toFixed(2) : "-").padStart(7);
      console.log([m.padEnd(16), j.pp_tokens_per_s.toFixed(2).padStart(10), ratio(j.pp_tokens_per_s, rp),
        j.tg_tokens_per_s.toFixed(2).padStart(10), ratio(j.tg_tokens_per_s, rt),
        (j.read_bandwidth_bytes_per_s / 1e9).toFixed(1).padStart(10), limit.toFixed(1).padStart(9),
        ((100 * j.bandwidth_share).toFixed(0) + "%").padStart(9), (j.peak_resident_bytes / 1e6).toFixed(0).padStart(9)].join(" "));' \
      "$j" "$shape-$m" "${ref_pp[$shape-$m]:-0}" "${ref_tg[$shape-$m]:-0}"
  done
done

# Resident memory while generating (tokenizer included) against the target:
# the file, the F16 KV cache of a 2048-token context, and 200 MB.
prompt="$(head -c 3000 "$root/data/prompts/interpreter_system.txt")"
for shape in $shapes; do
  file="$(model_file "$shape" q4_k_m)"
  /usr/bin/time -f "%M" -o "$work/rss.txt" "$josi" generate "$file" --prompt "$prompt" --max-tokens 64 \
    --threads "$threads" --seed 1 >/dev/null 2>"$work/gen.txt"
  kv=$("$josi" gguf info "$file" --json | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8")).metadata;
    const a = m["general.architecture"].value, get = (k) => m[`${a}.${k}`]?.value;
    const head = get("attention.key_length") ?? get("embedding_length") / get("attention.head_count");
    console.log(get("block_count") * 2048 * get("attention.head_count_kv") * head * 2 * 2);')
  node -e '
    const [shape, kib, file, kv] = [process.argv[1], +process.argv[2], +process.argv[3], +process.argv[4]];
    const target = file + kv + 200e6;
    console.log(`${shape} generate peak resident ${(kib * 1024 / 1e6).toFixed(0)} MB; target file ${(file / 1e6).toFixed(0)} MB + KV ${(kv / 1e6).toFixed(0)} MB + 200 MB = ${(target / 1e6).toFixed(0)} MB (${(kib * 1024 / target).toFixed(2)}x)`);' \
    "$shape" "$(cat "$work/rss.txt")" "$(stat -c %s "$file")" "$kv"
  tail -1 "$work/gen.txt"
done
