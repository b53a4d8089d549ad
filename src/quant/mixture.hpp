#pragma once
// Which block type each tensor of a model gets for a file type such as
// Q4_K_M (llama.cpp's choices for
// Qwen2-like dense models): 1-D tensors stay F32, the output matrix gets
// more bits, and some attn_v / ffn_down layers get Q6_K.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/ggml_type.hpp"

namespace josi::quant {

struct FileType {
  std::string_view name;   // "Q4_K_M"
  uint32_t id;             // general.file_type
  formats::GgmlType base;  // type of most 2-D weights
};

// Known: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q6_K, Q5_K_S, Q5_K_M, Q4_K_S, Q4_K_M (case-insensitive).
std::optional<FileType> file_type_from_name(std::string_view name);
std::vector<std::string_view> file_type_names();

// use_more_bits(i, n): i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2 (integer division).
bool use_more_bits(int64_t layer, int64_t n_layers);

// The type of tensor `name` with GGUF dims (dims[0] = row length) in a model
// of `n_layers` blocks; `has_output` = the model has its own output.weight
// (false when it reuses token_embd). Falls back when rows do not fit:
// Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, then F16.
formats::GgmlType plan_tensor_type(const FileType& file_type, const std::string& name,
                                   const std::vector<uint64_t>& dims, int64_t n_layers, bool has_output);

}  // namespace josi::quant
