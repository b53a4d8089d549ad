#!/usr/bin/env bash
# One athlete turn through both models on the 1.5b-shaped Q4_K_M files, with
# the users' real system prompts and messages from their validation split:
# time to the first interpreter token with the cached prefix against
# --no-cache, a restart that loads the prefixes from a cache directory
# against evaluating them, interpreter and explainer turn times, the output
# constraint's cost per token next to the sampler's, and the peak resident
# memory with both models loaded against the two files + both KV caches +
# 250 MB; then the users' real answers replayed (all 149 val_interpreter.jsonl
# targets, REPLAYS=30 val_explainer_sequential.jsonl answers) with forced-token
# batching and speculation on and off: forward passes and generation time per
# answer, drafts kept, and plain decoding's share of the read-bandwidth limit.
# Usage: bench/turn.sh [workdir] [turns]   workdir may hold q4_k_m_1.gguf and
# q4_k_m_2.gguf (two seeds of init-base 1.5b -> export-gguf f16 -> quantize
# are made otherwise; ~7 GB free needed while they are).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_two_models "${1:-}" 4 "${2:-}"

bench_turns "$work" "$turns" "${REPLAYS:-30}"
"$josi" bench "$work/q4_k_m_1.gguf" --pp 0 --tg 32 --repetitions 3 --threads "$threads" --json > "$work/bench.json"
sh "$root/bench/turn_runs.sh" "$josi" "$work/q4_k_m_1.gguf" "$work/q4_k_m_2.gguf" "$ref/prompts" "$work" "$threads"
node "$root/bench/turn_report.js" "$work" "$(stat -c %s "$work/q4_k_m_1.gguf")" "$(stat -c %s "$work/q4_k_m_2.gguf")" "$(cat "$work/rss.txt" 2>/dev/null || echo -)"
