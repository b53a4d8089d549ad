#!/bin/sh
# The josi chat runs bench/turn_report.js reads, in WORK: interpreter
# turns filling the prefix cache (first), full turns from it (cached, under
# /usr/bin/time for the peak resident size where there is one), --no-cache
# (uncached) and --no-constrain (free); then the replays of the users' real
# answers with forced-token batching and speculation on and off
# (replay_interpreter_on, _off; replay_explainer_on, _off). WORK holds
# turns.jsonl, interpreter_turns.jsonl, replay_interpreter.jsonl and
# replay_explainer.jsonl. POSIX sh, so a phone's `adb shell` runs it too.
# Usage: sh bench/turn_runs.sh JOSI INTERPRETER.gguf EXPLAINER.gguf PROMPTS_DIR WORK THREADS
set -eu
josi=$1 interpreter=$2 explainer=$3 prompts=$4 work=$5 threads=$6

run() {  # run NAME [chat arguments...]
  name=$1
  shift
  set -- "$josi" chat --interpreter "$interpreter" --explainer "$explainer" \
    --interpreter_prompt "$prompts/interpreter_system.txt" \
    --explainer_prompt "$prompts/explainer_sequential_system.txt" --threads "$threads" --jsonl "$@"
  if [ "$name" = cached ] && /usr/bin/time -f %M -o "$work/rss.txt" true 2>/dev/null; then
    set -- /usr/bin/time -f %M -o "$work/rss.txt" "$@"
  fi
  "$@" > "$work/$name.jsonl" 2> "$work/$name.err"
}

rm -rf "$work/prefix-cache" "$work/rss.txt"
run first --cache-dir "$work/prefix-cache" "$work/interpreter_turns.jsonl"
run cached --cache-dir "$work/prefix-cache" "$work/turns.jsonl"
run uncached --no-cache "$work/interpreter_turns.jsonl"
run free --no-constrain "$work/interpreter_turns.jsonl"
for set in interpreter explainer; do
  run "replay_${set}_on" --cache-dir "$work/prefix-cache" "$work/replay_$set.jsonl"
  run "replay_${set}_off" --cache-dir "$work/prefix-cache" --no-forced-batch --no-speculation "$work/replay_$set.jsonl"
done
