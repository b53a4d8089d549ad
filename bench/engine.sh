#!/usr/bin/env bash
# Inference speed on the 1.5b-shaped models (josi bench, 2 threads, median of
# 3) against the reference CPU engine's figures on this machine kind, the
# bandwidth share of generation, and the resident memory of `josi generate`
# against the target (file + KV cache + 200 MB).
# Usage: bench/engine.sh [workdir]   workdir may already hold q4_k_m.gguf and
# q8_0.gguf (made by init-base 1.5b -> export-gguf f16 -> quantize otherwise;
# needs ~7 GB free while it runs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/deps.sh"
josi="${JOSI:-$root/build/josi}"
[ -x "$josi" ] || { echo "bench: build josi first (scripts/test.sh)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || josi_apt_install time
work="${1:-$(mktemp -d)}"
threads="${THREADS:-2}"

if [ ! -f "$work/q4_k_m.gguf" ] || [ ! -f "$work/q8_0.gguf" ]; then
  tokenizer="$(josi_qwen_tokenizer)"
  "$josi" init-base --preset 1.5b --tokenizer "$tokenizer" --out "$work/base" >/dev/null
  "$josi" export-gguf "$work/base" --outfile "$work/f16.gguf" --outtype f16 >/dev/null
  rm -rf "$work/base"
  "$josi" quantize "$work/f16.gguf" "$work/q4_k_m.gguf" Q4_K_M --keep-f16 >/dev/null
  "$josi" quantize "$work/f16.gguf" "$work/q8_0.gguf" Q8_0 >/dev/null
fi

# The reference engine's figures on this machine kind, 2 threads, quiet
# (issue 15's same-run comparisons, the top of each range): pp512 / tg64 tok/s.
declare -A ref_pp=([q4_k_m]=100 [q8_0]=93) ref_tg=([q4_k_m]=25.9 [q8_0]=14.2)
printf '%-8s %10s %8s %10s %8s %10s %10s %12s\n' model "pp512 t/s" "x ref" "tg64 t/s" "x ref" "GB/s read" "tg limit" "tg share"
for m in q4_k_m q8_0; do
  j=$("$josi" bench "$work/$m.gguf" --pp 512 --tg 64 --repetitions 3 --threads "$threads" --json)
  node -e '
    const j = JSON.parse(process.argv[1]);
    const [m, rp, rt] = [process.argv[2], +process.argv[3], +process.argv[4]];
    const limit = j.read_bandwidth_bytes_per_s / j.bytes_per_token;
    console.log([m.padEnd(8), j.pp_tokens_per_s.toFixed(2).padStart(10), (j.pp_tokens_per_s / rp).toFixed(2).padStart(8),
      j.tg_tokens_per_s.toFixed(2).padStart(10), (j.tg_tokens_per_s / rt).toFixed(2).padStart(8),
      (j.read_bandwidth_bytes_per_s / 1e9).toFixed(1).padStart(10), limit.toFixed(1).padStart(10),
      ((100 * j.bandwidth_share).toFixed(0) + "%").padStart(12)].join(" "));' "$j" "$m" "${ref_pp[$m]}" "${ref_tg[$m]}"
done

# Resident memory while generating (tokenizer included) against the target.
prompt="$(head -c 3000 "$root/data/prompts/interpreter_system.txt")"
/usr/bin/time -f "%M" -o "$work/rss.txt" "$josi" generate "$work/q4_k_m.gguf" --prompt "$prompt" --max-tokens 64 \
  --threads "$threads" --seed 1 >/dev/null 2>"$work/gen.txt"
kib=$(cat "$work/rss.txt")
file=$(stat -c %s "$work/q4_k_m.gguf")
node -e '
  const [kib, file] = [+process.argv[1], +process.argv[2]];
  const kv = 28 * 2048 * 256 * 2 * 2;  // layers x context x kv width x (K, V) x f16
  const target = file + kv + 200e6;
  console.log(`generate peak resident ${(kib * 1024 / 1e6).toFixed(0)} MB; target file ${(file / 1e6).toFixed(0)} MB + KV ${(kv / 1e6).toFixed(0)} MB + 200 MB = ${(target / 1e6).toFixed(0)} MB (${(kib * 1024 / target).toFixed(2)}x)`);' "$kib" "$file"
tail -1 "$work/gen.txt"
