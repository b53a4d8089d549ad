#!/usr/bin/env bash
# The seed's steps 3-4 on a Qwen2.5-1.5B-shaped model: init-base (bf16) ->
# export-gguf (f16) -> quantize (Q4_K_M, 2 threads). Prints seconds, peak
# resident memory and output sizes, with the ratio to the reference
# toolchain's figures on this machine kind (quantize 54 s; Q4_K_M file
# 986,045,536 bytes).
# Usage: bench/convert_1_5b.sh [workdir]   (needs ~8 GB free; removed after)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/deps.sh"
josi="${JOSI:-$root/build/josi}"
[ -x "$josi" ] || { echo "bench: build josi first (scripts/test.sh)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || josi_apt_install time
tokenizer="$(josi_qwen_tokenizer)"
[ -f "$tokenizer" ] || { echo "bench: $tokenizer missing (scripts/test.sh installs it)" >&2; exit 1; }
work="${1:-$(mktemp -d)}"
trap 'rm -rf "$work/base" "$work"/*.gguf' EXIT

measure() {  # label, command...: prints "label seconds peak_mib"
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || { cat "$work/stderr.txt" >&2; exit 1; }
  read -r secs kib < "$work/time.txt"
  echo "$label $secs $((kib / 1024))"
}

r1=$(measure init-base "$josi" init-base --preset 1.5b --tokenizer "$tokenizer" --out "$work/base")
r2=$(measure export-gguf "$josi" export-gguf "$work/base" --outfile "$work/f16.gguf" --outtype f16)
f16_bytes=$(stat -c %s "$work/f16.gguf")
r3=$(measure quantize "$josi" quantize "$work/f16.gguf" "$work/q4_k_m.gguf" Q4_K_M --threads 2 --keep-f16 --report "$work/report.json")
q_bytes=$(stat -c %s "$work/q4_k_m.gguf")

printf '%-12s %9s %10s %14s %18s\n' step seconds "peak MiB" "output bytes" "ratio to reference"
read -r l s m <<<"$r1"; printf '%-12s %9s %10s %14s %18s\n' "$l" "$s" "$m" "$(du -sb "$work/base" | cut -f1)" "-"
read -r l s m <<<"$r2"; printf '%-12s %9s %10s %14s %18s\n' "$l" "$s" "$m" "$f16_bytes" "-"
read -r l s m <<<"$r3"; printf '%-12s %9s %10s %14s %18s\n' "$l" "$s" "$m" "$q_bytes" \
  "$(awk -v s="$s" 'BEGIN{printf "time %.2fx of 54 s", s/54}')"
awk -v b="$q_bytes" 'BEGIN{printf "Q4_K_M size: %d bytes = %.4fx of 986,045,536 (%+.3f%%)\n", b, b/986045536, (b/986045536-1)*100}'
# Relative RMS error per block type over the 1.5b tensors, weighted by weight count.
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
const by = {};
for (const t of r.tensors) { if (t.dims.length < 2) continue; const n = t.dims.reduce((a, b) => a * b, 1);
  const e = by[t.type] || (by[t.type] = {n: 0, sq: 0, count: 0}); e.n += n; e.sq += t.relative_rms ** 2 * n; e.count++; }
for (const [k, e] of Object.entries(by)) console.log(`relative RMS ${k}: ${(Math.sqrt(e.sq / e.n) * 100).toFixed(3)}% over ${e.count} tensors`);
' "$work/report.json"
