#include "formats/ggml_type.hpp"

#include <array>
#include <limits>

#include "base/error.hpp"

namespace josi::formats {

namespace {

struct Row {
  GgmlType type;
  GgmlTypeInfo info;
};

// Block geometry of ggml's quantized blocks; the remaining sizes follow
// the same layouts (Q4_1: d, m, qs[16]; Q8_1: d, s, q[32]; Q2_K: scales[16],
// qs[64], d, dmin; Q3_K: hmask[32], qs[64], scales[12], d).
constexpr std::array<Row, 15> kTypes = {{
    {GgmlType::F32, {"F32", 1, 4}},
    {GgmlType::F16, {"F16", 1, 2}},
    {GgmlType::Q4_0, {"Q4_0", 32, 18}},
    {GgmlType::Q4_1, {"Q4_1", 32, 20}},
    {GgmlType::Q5_0, {"Q5_0", 32, 22}},
    {GgmlType::Q5_1, {"Q5_1", 32, 24}},
    {GgmlType::Q8_0, {"Q8_0", 32, 34}},
    {GgmlType::Q8_1, {"Q8_1", 32, 36}},
    {GgmlType::Q2_K, {"Q2_K", 256, 84}},
    {GgmlType::Q3_K, {"Q3_K", 256, 110}},
    {GgmlType::Q4_K, {"Q4_K", 256, 144}},
    {GgmlType::Q5_K, {"Q5_K", 256, 176}},
    {GgmlType::Q6_K, {"Q6_K", 256, 210}},
    {GgmlType::Q8_K, {"Q8_K", 256, 292}},
    {GgmlType::BF16, {"BF16", 1, 2}},
}};

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id) {
  for (const auto& row : kTypes)
    if (static_cast<uint32_t>(row.type) == id) return row.info;
  return std::nullopt;
}

GgmlTypeInfo ggml_type_info(GgmlType type) {
  auto info = ggml_type_info(static_cast<uint32_t>(type));
  // Only reachable through a cast of an unknown id into the enum.
  if (!info) throw Error("unknown ggml type id " + std::to_string(static_cast<uint32_t>(type)));
  return *info;
}

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  for (const auto& row : kTypes) {
    if (row.info.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) same = upper(name[i]) == row.info.name[i];
    if (same) return row.type;
  }
  return std::nullopt;
}

std::optional<size_t> ggml_row_bytes(GgmlType type, uint64_t n) {
  GgmlTypeInfo info = ggml_type_info(type);
  if (n % info.block_size != 0) return std::nullopt;
  uint64_t blocks = n / info.block_size;
  // Row lengths come from untrusted files: refuse a product that wraps.
  if (blocks > std::numeric_limits<size_t>::max() / info.type_size) return std::nullopt;
  return static_cast<size_t>(blocks * info.type_size);
}

}  // namespace josi::formats
