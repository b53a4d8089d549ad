#!/usr/bin/env bash
source /work/main/bench/lib.sh
bench_model qwen3-4b 1 Q4_K_M /work/models/conv/qwen3-4b-Q4_K_M.gguf
echo made
