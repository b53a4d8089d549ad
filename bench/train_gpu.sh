#!/usr/bin/env bash
# The training benchmark on an NVIDIA GPU: `josi train` against transformers +
# PEFT on the same GPU, a Qwen2.5-1.5B-shaped base and the same data, with the
# seed's settings (batch 4 x accumulation 4, 2,048 tokens, bf16, gradient
# checkpointing). Reports tokens/s and peak GPU memory of both.
#
# The GPU machine needs a PyTorch installation with transformers, peft and
# tokenizers, and a C++20 compiler; nothing else. josi's other dependencies
# come in a kit made beforehand on a Debian machine:
#   bench/train_gpu.sh kit KIT_DIR          # Debian: headers, static libraries, tokenizer.json
#   bench/train_gpu.sh run KIT_DIR OUT_DIR  # GPU machine: build, model, data, both runs -> OUT_DIR/results.json
#   bench/train_gpu.sh build KIT_DIR TORCH_DIR OUT_BINARY  # only the build of josi-train
# `run` builds josi-train (the executable `josi train` runs) against the
# libtorch inside the PyTorch installation, with the compiler alone (the
# machine may have no CMake); a machine with the Debian packages builds josi
# and josi-train with CMake instead (docs/architecture.md, "The CUDA build").
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
steps="${JOSI_BENCH_STEPS:-4}"

make_kit() {
  local kit="$1"
  source "$root/scripts/lib/deps.sh"
  local build="${JOSI_BUILD_DIR:-$root/build}"
  [ -f "$build/generated/embedded/schemas.cpp" ] || { echo "bench: configure $build first (scripts/test.sh)" >&2; exit 1; }
  rm -rf "$kit" && mkdir -p "$kit/include" "$kit/lib" "$kit/generated"
  cp -r /usr/include/nlohmann /usr/include/valijson /usr/include/CLI /usr/include/pcre2.h /usr/include/utf8proc.h "$kit/include/"
  cp /usr/lib/x86_64-linux-gnu/libpcre2-8.a /usr/lib/x86_64-linux-gnu/libutf8proc.a "$kit/lib/"
  cp -r "$build/generated/embedded" "$kit/generated/"
  rm -f "$kit"/generated/embedded/*.new
  cp "$(josi_qwen_tokenizer)" "$kit/tokenizer.json"
  du -sh "$kit"
}

# Compiles josi-train with the compiler alone: every source of the layers it
# uses, in parallel, linked against the PyTorch installation's libtorch.
# JOSI_CXXFLAGS adds compiler and linker flags.
build_josi() {
  local kit torch_dir="$2" out="$3" cxx="${CXX:-g++}" abi=0
  kit="$(cd "$1" && pwd)"
  # The string ABI of the libraries: C++11 std::string symbols carry "cxx11".
  [ "$(nm -DC "$torch_dir/lib/libc10.so" | grep -c "std::__cxx11::basic_string")" -gt 0 ] && abi=1
  local flags=(${JOSI_CXXFLAGS:-} -std=c++20 -O2 -DNDEBUG -w -D_GLIBCXX_USE_CXX11_ABI="$abi" -I"$root/src" -I"$kit/include" -I"$kit/generated"
               -isystem "$torch_dir/include" -isystem "$torch_dir/include/torch/csrc/api/include")
  local sources=("$root"/src/{base,json,formats,text,data,train}/*.cpp "$kit"/generated/embedded/*.cpp
                 "$root"/src/cli/{train,josi_train_main,run_cli,options}.cpp)
  local objs="$out.objs" s
  for s in "${sources[@]}"; do mkdir -p "$objs$(dirname "$s")"; done
  printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -I{} "$cxx" "${flags[@]}" -c {} -o "$objs{}.o" || return 1
  local cuda=()
  [ -f "$torch_dir/lib/libtorch_cuda.so" ] &&
    cuda=(-Wl,--no-as-needed "$torch_dir/lib/libtorch_cuda.so" "$torch_dir/lib/libc10_cuda.so" -Wl,--as-needed)
  "$cxx" $(find "$objs" -name '*.o') -o "$out" "${cuda[@]}" "$torch_dir/lib/libtorch.so" "$torch_dir/lib/libtorch_cpu.so" \
    "$torch_dir/lib/libc10.so" -Wl,-rpath,"$torch_dir/lib" "$kit/lib/libpcre2-8.a" "$kit/lib/libutf8proc.a" -lpthread -ldl ${JOSI_CXXFLAGS:-}
}

# A Qwen2.5-1.5B-shaped Hugging Face directory with random weights, made on the GPU.
make_model() {
  local kit="$1" dir="$2"
  python3 - "$dir" <<'PY'
import sys, torch, transformers
config = transformers.Qwen2Config(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
    num_key_value_heads=2, max_position_embeddings=32768, vocab_size=151936, rope_theta=1000000.0, rms_norm_eps=1e-6,
    tie_word_embeddings=True, bos_token_id=151643, eos_token_id=151645, torch_dtype="bfloat16")
torch.manual_seed(0)
with torch.device("cuda"):
    model = transformers.Qwen2ForCausalLM(config).to(torch.bfloat16)
model.save_pretrained(sys.argv[1], safe_serialization=True)
PY
  cp "$kit/tokenizer.json" "$dir/"
}

run_bench() {
  local kit="$1" out="$2"
  mkdir -p "$out"
  local work; work="$(mktemp -d)"
  {
    nvidia-smi; "${CXX:-g++}" --version | head -1; cmake --version 2>/dev/null | head -1; ninja --version 2>/dev/null
    python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI); print("cmake prefix", torch.utils.cmake_prefix_path); print("transformers", transformers.__version__, "peft", peft.__version__)'
    nproc; free -g | head -2
  } >"$out/env.txt" 2>&1
  cat "$out/env.txt"
  local torch_dir; torch_dir=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
  local start=$SECONDS
  (build_josi "$kit" "$torch_dir" "$work/josi-train" >"$out/build.log" 2>&1; echo $? >"$out/build.rc") &
  local build_pid=$!
  make_model "$kit" "$work/base" >"$out/model.log" 2>&1 || { echo "bench: model creation failed"; tail "$out/model.log"; }
  python3 "$root/bench/long_examples.py" 64 "$work/train.jsonl"
  python3 "$root/bench/long_examples.py" 4 "$work/val.jsonl"
  wait "$build_pid"
  echo "build rc $(cat "$out/build.rc") after $((SECONDS - start)) s"; tail -5 "$out/build.log"

  local smi=(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200)
  if [ "$(cat "$out/build.rc")" = 0 ]; then
    "${smi[@]}" >"$out/smi_josi.txt" & local smi_pid=$!
    timeout 300 "$work/josi-train" train --mode explainer --base_model "$work/base" --train_data "$work/train.jsonl" \
      --val_data "$work/val.jsonl" --output_dir "$work/run" --device cuda --max_steps "$steps" --no_wandb >"$out/josi_train.log" 2>&1
    echo "josi train rc $?"; kill "$smi_pid"; tail -4 "$out/josi_train.log"
    cp "$work/run"/{metrics.jsonl,training_metrics.json,training_config.json} "$out/" 2>/dev/null
  fi
  "${smi[@]}" >"$out/smi_peft.txt" & local smi_pid=$!
  timeout 300 python3 "$root/bench/peft_baseline.py" "$work/base" "$work/train.jsonl" "$steps" >"$out/peft.json" 2>"$out/peft.log"
  echo "peft rc $?"; kill "$smi_pid"; tail -3 "$out/peft.log"; cat "$out/peft.json"

  python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def smi_peak(name):
    path = os.path.join(out, name)
    values = [int(v) for v in open(path).read().split() if v.isdigit()] if os.path.exists(path) else []
    return max(values) if values else None
result = {"device": open(os.path.join(out, "env.txt")).read().split("\n")[0:12]}
try:
    lines = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if '"loss"' in l]
    timed = lines[1:] or lines  # the first step includes CUDA warm-up
    seconds = sum(l["tokens"] / l["tokens_per_second"] for l in timed)
    summary = json.load(open(os.path.join(out, "training_metrics.json")))
    result["josi"] = {"tokens_per_second": sum(l["tokens"] for l in timed) / seconds,
                      "peak_gpu_memory_in_use_mib": summary["peak_memory_bytes"] / 2**20,
                      "nvidia_smi_peak_mib": smi_peak("smi_josi.txt"), "losses": [l["loss"] for l in lines]}
except (OSError, ValueError, KeyError, ZeroDivisionError) as e:
    result["josi"] = {"error": repr(e)}
try:
    peft = json.load(open(os.path.join(out, "peft.json")))
    result["peft"] = {"tokens_per_second": peft["tokens_per_second"],
                      "peak_gpu_memory_in_use_mib": peft["device_used_bytes"] / 2**20,
                      "peak_allocated_mib": peft["peak_allocated_bytes"] / 2**20,
                      "nvidia_smi_peak_mib": smi_peak("smi_peft.txt"), "versions": peft["versions"]}
except (OSError, ValueError, KeyError) as e:
    result["peft"] = {"error": repr(e)}
json.dump(result, open(os.path.join(out, "results.json"), "w"), indent=1)
print(json.dumps({k: v for k, v in result.items() if k != "device"}, indent=1))
PY
  rm -rf "$work"
}

case "${1:-}" in
  kit) make_kit "${2:?kit directory}" ;;
  build) build_josi "${2:?kit directory}" "${3:?torch directory}" "${4:?output binary}" ;;
  run) run_bench "${2:?kit directory}" "${3:?output directory}" ;;
  *) echo "usage: bench/train_gpu.sh kit KIT_DIR | run KIT_DIR OUT_DIR | build KIT_DIR TORCH_DIR OUT_BINARY" >&2; exit 2 ;;
esac
