#pragma once
// ggml tensor types as GGUF stores them: ids, block sizes and bytes per block
// (the GGUF format and ggml's quantized blocks, docs/architecture.md).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace josi::formats {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, BF16 = 30,
};

struct GgmlTypeInfo {
  std::string_view name;  // "F32", "Q4_K", ...
  size_t block_size;      // weights per block (1 for F32/F16/BF16)
  size_t type_size;       // bytes per block
};

// nullopt for an id this project does not know.
std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id);
GgmlTypeInfo ggml_type_info(GgmlType type);
std::optional<GgmlType> ggml_type_from_name(std::string_view name);  // case-insensitive

// Bytes of a row of `n` weights; nullopt when n is not a multiple of the block size.
std::optional<size_t> ggml_row_bytes(GgmlType type, uint64_t n);

}  // namespace josi::formats
