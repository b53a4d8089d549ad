#include "quant/mixture.hpp"

#include <array>
#include <cctype>

namespace josi::quant {

using formats::GgmlType;

namespace {

const std::array<FileType, 12> kFileTypes = {{
    {"F32", 0, GgmlType::F32},       {"F16", 1, GgmlType::F16},       {"Q4_0", 2, GgmlType::Q4_0},
    {"Q8_0", 7, GgmlType::Q8_0},     {"Q5_0", 8, GgmlType::Q5_0},     {"Q5_1", 9, GgmlType::Q5_1},
    {"Q4_K_S", 14, GgmlType::Q4_K},  {"Q4_K_M", 15, GgmlType::Q4_K}, {"Q5_K_S", 16, GgmlType::Q5_K},
    {"Q5_K_M", 17, GgmlType::Q5_K},  {"Q6_K", 18, GgmlType::Q6_K},   {"BF16", 32, GgmlType::BF16},
}};

bool is_k_mixture(const FileType& t) { return t.base == GgmlType::Q4_K || t.base == GgmlType::Q5_K || t.base == GgmlType::Q6_K; }

// "blk.12.attn_v.weight" -> 12; -1 when the name has no block index.
int64_t block_index(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  size_t end = name.find('.', 4);
  if (end == std::string::npos) return -1;
  try {
    return std::stoll(name.substr(4, end - 4));
  } catch (...) {
    return -1;
  }
}

bool has_part(const std::string& name, const char* part) { return name.find(part) != std::string::npos; }

// The next type down the fallback chain for rows of `row` weights.
GgmlType fit(GgmlType type, uint64_t row) {
  for (;;) {
    if (formats::ggml_row_bytes(type, row)) return type;
    switch (type) {
      case GgmlType::Q4_K: type = GgmlType::Q5_0; break;
      case GgmlType::Q5_K: type = GgmlType::Q5_1; break;
      case GgmlType::Q6_K: type = GgmlType::Q8_0; break;
      default: return GgmlType::F16;
    }
  }
}

}  // namespace

std::optional<FileType> file_type_from_name(std::string_view name) {
  for (const auto& t : kFileTypes) {
    if (t.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(name[i])) == t.name[i];
    if (same) return t;
  }
  return std::nullopt;
}

std::vector<std::string_view> file_type_names() {
  std::vector<std::string_view> names;
  for (const auto& t : kFileTypes) names.push_back(t.name);
  return names;
}

bool use_more_bits(int64_t layer, int64_t n_layers) {
  return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

GgmlType plan_tensor_type(const FileType& file_type, const std::string& name, const std::vector<uint64_t>& dims,
                          int64_t n_layers, bool has_output) {
  if (dims.size() < 2) return GgmlType::F32;  // norms and biases
  const uint64_t row = dims[0];
  GgmlType type = file_type.base;
  if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) return type;

  const bool is_output = name == "output.weight" || (!has_output && name == "token_embd.weight");
  if (is_output) {
    // The output projection is the most sensitive matrix: more bits unless the file is already 8-bit.
    if (type != GgmlType::Q8_0) type = formats::ggml_row_bytes(GgmlType::Q6_K, row) ? GgmlType::Q6_K : GgmlType::Q8_0;
    return fit(type, row);
  }
  const int64_t layer = block_index(name);
  const bool m_mixture = file_type.name == "Q4_K_M" || file_type.name == "Q5_K_M";
  const bool q4_k_s = file_type.name == "Q4_K_S";
  if (layer >= 0 && is_k_mixture(file_type)) {
    if (has_part(name, ".attn_v.weight")) {
      if (m_mixture && use_more_bits(layer, n_layers)) type = GgmlType::Q6_K;
      else if (q4_k_s && layer < 4) type = GgmlType::Q5_K;
    } else if (has_part(name, ".ffn_down.weight")) {
      if (m_mixture && use_more_bits(layer, n_layers)) type = GgmlType::Q6_K;
      else if (q4_k_s && layer < n_layers / 8) type = GgmlType::Q5_K;
    }
  }
  return fit(type, row);
}

}  // namespace josi::quant
