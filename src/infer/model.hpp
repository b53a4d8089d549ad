#pragma once
// A Qwen2, Qwen3 or llama model for inference, from a GGUF file or from a Hugging
// Face directory (config.json and safetensors, as `josi merge` writes it):
// the hyperparameters from the metadata or config, and views of every weight
// in the files' memory maps (F32, F16 and BF16 safetensors are engine types
// as they are). All shapes, types and metadata are checked when the model
// opens, so a bad file fails before any work starts. Where the active path
// multiplies a layout other than the file's faster (Q4_K, Q6_K and Q8_0 layer
// matrices on AVX-512), those matrices are rearranged once at load and
// their file pages dropped, so memory stays one copy of the weights.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <memory>
#include <optional>

#include "base/large_buffer.hpp"
#include "formats/gguf.hpp"
#include "kernels/matmul.hpp"

namespace josi::infer {

// How RoPE pairs dimensions: Qwen2 rotates dimension j with j + head_dim/2;
// llama GGUF files (whose Q/K rows were permuted at export) rotate 2j with 2j+1.
enum class RopeStyle { neox, interleaved };

struct HParams {
  std::string architecture;  // GGUF name: "qwen2" | "qwen3" | "llama"
  int64_t n_vocab = 0;       // embedding rows
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;       // n_embd / n_head unless the model says (Qwen3: 128)
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-6f;
  RopeStyle rope = RopeStyle::neox;
  bool qk_norm = false;  // a per-head RMSNorm on q and k before RoPE (Qwen3)
};

// A 2-D weight: `rows` output features of `cols` inputs each, in the map
// or, where the active path multiplies another layout faster, rearranged
// into it at load (`layout`).
struct Weight {
  formats::GgmlType type = formats::GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  size_t row_bytes = 0;  // in the file's row layout
  kernels::WeightLayout layout = kernels::WeightLayout::rows;
  uint64_t bytes() const { return row_bytes * static_cast<uint64_t>(rows); }  // in the file
};

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> bq, bk, bv;  // empty when the model has no Q/K/V biases
  std::vector<float> q_norm, k_norm;  // [head_dim] each; empty without per-head q/k norms
  Weight wq, wk, wv, wo, gate, up, down;
};

// A tensor where the model's files hold it; dims in GGUF order (row length first).
struct TensorRef {
  formats::GgmlType type = formats::GgmlType::F32;
  const uint8_t* data = nullptr;
  std::vector<uint64_t> dims;
};

class Model {
 public:
  // `path`: a .gguf file or a Hugging Face model directory. Throws
  // josi::Error naming it for: an architecture other than qwen2, qwen3 or llama,
  // missing or inconsistent metadata, a missing tensor, a tensor of the wrong
  // shape, or a weight type the engine cannot multiply.
  explicit Model(const std::filesystem::path& path);
  ~Model();
  Model(Model&&) noexcept;

  const HParams& hparams() const { return hparams_; }
  const std::filesystem::path& path() const { return path_; }
  // The GGUF file, or nullptr for a Hugging Face directory.
  const formats::GgufFile* gguf() const { return gguf_.get(); }
  // Frees GGUF metadata the engine does not read (see GgufFile::release).
  void release_metadata(const std::string& key);
  // The end-of-text tokens the files name (GGUF eos_token_id, config.json eos_token_id).
  const std::vector<int32_t>& eos_tokens() const { return eos_tokens_; }
  // Bytes of the weights' files.
  uint64_t file_bytes() const { return file_bytes_; }
  const Weight& token_embd() const { return token_embd_; }
  const Weight& output() const { return output_; }  // token_embd when tied
  bool tied_output() const { return tied_output_; }
  const std::vector<float>& output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  // Weight bytes one generated token reads: every matrix once (the embedding
  // row is negligible).
  uint64_t bytes_per_token() const;

 private:
  void open_gguf();
  void open_directory();
  void read_weights();
  std::optional<TensorRef> tensor(const std::string& name) const;  // by its GGUF name
  Weight weight(const std::string& name, int64_t rows, int64_t cols) const;
  void arrange_for_active_path();
  std::vector<float> vector(const std::string& name, int64_t n, bool required = true) const;

  std::filesystem::path path_;
  std::unique_ptr<formats::GgufFile> gguf_;
  struct Directory;
  std::unique_ptr<Directory> directory_;
  HParams hparams_;
  std::vector<int32_t> eos_tokens_;
  uint64_t file_bytes_ = 0;
  Weight token_embd_, output_;
  bool tied_output_ = false;
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
  base::LargeBuffer arranged_;  // the rearranged weights' bytes
};

}  // namespace josi::infer
