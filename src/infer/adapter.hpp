#pragma once
// A LoRA adapter applied at run time on top of a shared base model: every
// adapted projection computes y = W·x + (alpha / r)·B·(A·x), so one mapped
// base serves several fine-tuned roles, each a small file kept at full
// precision. The file is a GGUF LoRA adapter as `josi export-gguf --lora`
// writes it (and llama.cpp reads it): general.type "adapter", adapter.type
// "lora", adapter.lora.alpha, tensors blk.N.<proj>.weight.lora_a [in, r] and
// .lora_b [r, out] (GGUF order) in F32, F16 or BF16. Everything is checked
// against the base when the adapter opens.
//
// The A factors of projections that read the same input (q, k, v; gate, up)
// are stacked into one matrix, so the context computes them in one product,
// a slice at a time where that input is written (infer/adapter_input.hpp);
// each B then rides on its base projection as a kernels::LowRankTerm. Both
// are in kernels/low_rank.hpp's panels.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/large_buffer.hpp"
#include "formats/ggml_type.hpp"
#include "formats/josi_metadata.hpp"
#include "infer/model.hpp"

namespace josi::infer {

// One adapted projection inside its group.
struct AdaptedOutput {
  const uint8_t* bt = nullptr;  // B in panels, of AdapterGroup::type; null: not adapted
  int64_t rank = 0;
  int64_t offset = 0;  // its first row in the group's stacked A (its first column of u)
  float scale = 0;     // alpha / rank
};

// The adapted projections that read one input.
struct AdapterGroup {
  formats::GgmlType type = formats::GgmlType::F32;  // of A and B: F16 when the file's are, F32 otherwise
  const uint8_t* a = nullptr;  // stacked A: [rank × cols] in panels; null: nothing is adapted
  int64_t rank = 0;            // rows of the stacked A (the sum of its outputs' ranks)
  int64_t cols = 0;
  std::array<AdaptedOutput, 3> outputs;  // q, k, v | o | gate, up | down
};

struct AdapterLayer {
  AdapterGroup attention_in, attention_out, ffn_in, ffn_out;
  // The four in that order, the order of the projection names' groups.
  std::array<AdapterGroup*, 4> groups() { return {&attention_in, &attention_out, &ffn_in, &ffn_out}; }
};

class Adapter {
 public:
  // Reads `path` for `base` (which must outlive the adapter). Throws
  // josi::Error naming the file for: a file that is not a LoRA adapter, a
  // missing alpha, another architecture or shape than the base's, a tensor
  // that is not an adapted projection, an A without its B, ranks that
  // disagree, a type other than F32, F16 or BF16.
  Adapter(const std::filesystem::path& path, const Model& base);

  const std::filesystem::path& path() const { return path_; }
  const Model& base() const { return base_; }
  const std::vector<AdapterLayer>& layers() const { return layers_; }
  float alpha() const { return alpha_; }
  size_t adapted_projections() const { return adapted_; }
  // Bytes the adapter holds in memory.
  uint64_t bytes() const { return bytes_; }
  // The preset and prompt layout the file names ("" where it does not).
  const formats::TrainedAs& trained_as() const { return trained_as_; }

 private:
  std::filesystem::path path_;
  const Model& base_;
  float alpha_ = 0;
  size_t adapted_ = 0;
  uint64_t bytes_ = 0;
  formats::TrainedAs trained_as_;
  std::vector<AdapterLayer> layers_;
  base::LargeBuffer factors_;  // every factor in panels, layer after layer
};

// The GGUF names of the projections an adapter may adapt, in the order of
// their groups and outputs: attn_q, attn_k, attn_v, attn_output, ffn_gate,
// ffn_up, ffn_down.
const std::array<const char*, 7>& adapted_projection_names();

}  // namespace josi::infer
