#pragma once
// A Qwen2 or llama model read from a GGUF file for inference: the
// hyperparameters from its metadata and views of every weight in the file's
// memory map (never copied). All shapes, types and metadata are checked when
// the model opens, so a bad file fails before any work starts.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/gguf.hpp"

namespace josi::infer {

// How RoPE pairs dimensions: Qwen2 rotates dimension j with j + head_dim/2;
// llama GGUF files (whose Q/K rows were permuted at export) rotate 2j with 2j+1.
enum class RopeStyle { neox, interleaved };

struct HParams {
  std::string architecture;  // "qwen2" | "llama"
  int64_t n_vocab = 0;       // embedding rows
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-6f;
  RopeStyle rope = RopeStyle::neox;
};

// A 2-D weight in the map: `rows` output features of `cols` inputs each.
struct Weight {
  formats::GgmlType type = formats::GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;
  uint64_t bytes() const { return row_bytes * static_cast<uint64_t>(rows); }
};

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> bq, bk, bv;  // empty when the model has no Q/K/V biases
  Weight wq, wk, wv, wo, gate, up, down;
};

class Model {
 public:
  // Throws josi::Error naming the file for: an architecture other than qwen2
  // or llama, missing or inconsistent metadata, a missing tensor, a tensor of
  // the wrong shape, or a weight type the engine cannot multiply.
  explicit Model(const std::filesystem::path& path);

  const HParams& hparams() const { return hparams_; }
  const formats::GgufFile& file() const { return file_; }
  // Frees metadata the engine does not read (see GgufFile::release).
  void release_metadata(const std::string& key) { file_.release(key); }
  const Weight& token_embd() const { return token_embd_; }
  const Weight& output() const { return output_; }  // token_embd when tied
  bool tied_output() const { return tied_output_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  // Weight bytes one generated token reads: every matrix once (the embedding
  // row is negligible).
  uint64_t bytes_per_token() const;

 private:
  Weight weight(const std::string& name, int64_t rows, int64_t cols) const;
  std::vector<float> vector(const std::string& name, int64_t n, bool required = true) const;

  formats::GgufFile file_;
  HParams hparams_;
  Weight token_embd_, output_;
  bool tied_output_ = false;
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
};

}  // namespace josi::infer
