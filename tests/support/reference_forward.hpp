#pragma once
// Helpers the engine's tests share: a plain double-precision forward pass
// written from the architectures' definitions (not from Josi's engine), the
// engine's logits of a token list, and the kernel paths to compare.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/safetensors.hpp"
#include "infer/kv_cache.hpp"
#include "kernels/cpu_features.hpp"

namespace josi::test {

// The logits of every position of `tokens` from a Hugging Face directory of
// F32 safetensors, in doubles. Read from config.json: the shapes, an
// explicit head_dim, rope_theta, rms_norm_eps, tie_word_embeddings; q/k/v
// biases for model_type qwen2, the per-head q/k RMSNorm before RoPE for
// qwen3 (rotate-half RoPE, grouped-query attention, SwiGLU, for all). K and
// V pass through F16 as the engine's cache stores them, or with `q8_0_kv`
// through Q8_0 (per 32 values: d = max|x| / 127 in F16, x = round(x / d)·d).
// `biases` false ignores the biases (the llama relabelling of a qwen2 model).
class ReferenceForward {
 public:
  explicit ReferenceForward(const std::filesystem::path& dir, bool biases = true, bool q8_0_kv = false);
  std::vector<float> logits(const std::vector<int32_t>& tokens) const;

 private:
  std::vector<double> row(const formats::TensorView& t, int64_t r) const;
  std::vector<double> norm(const std::vector<double>& x, const std::string& weight) const;
  std::vector<double> linear(const std::string& name, const std::vector<double>& x, bool bias) const;
  void rope(std::vector<double>& v, int pos) const;

  formats::SafetensorsModel weights_;
  bool biases_ = false, qk_norm_ = false, tied_ = true, q8_0_kv_ = false;
  int hidden_ = 0, layers_ = 0, heads_ = 0, kv_heads_ = 0, head_dim_ = 0;
  double theta_ = 0, eps_ = 0;
};

// The engine's float32 logits of every position (`adapter_path` optional).
std::vector<float> all_logits(const std::filesystem::path& model_path, const std::vector<int32_t>& tokens,
                              size_t threads = 2, const std::filesystem::path& adapter_path = {},
                              infer::KvType kv_type = infer::KvType::f16);

// The logits of each token evaluated alone, one after another: compared
// with all_logits of the same tokens, a batch's rows must equal them bit
// for bit.
std::vector<float> one_by_one_logits(const std::filesystem::path& model_path, const std::vector<int32_t>& tokens,
                                     infer::KvType kv_type = infer::KvType::f16);

// max |a - b| / max |b|
double relative_difference(const std::vector<float>& a, const std::vector<float>& b);

// The kernel paths this machine runs.
std::vector<kernels::Isa> supported_isas();

// Restores the kernels' path when a test that switched it ends.
struct IsaGuard {
  kernels::Isa saved = kernels::active_isa();
  ~IsaGuard() { kernels::set_active_isa(saved); }
};

}  // namespace josi::test
