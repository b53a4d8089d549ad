// The ggml type table: ids, names, block geometry (formats.md "GGUF" and
// "Quantized blocks") and row sizes.
#include <gtest/gtest.h>

#include <limits>

#include "base/error.hpp"
#include "formats/ggml_type.hpp"

using namespace josi::formats;

namespace {

struct Expected {
  uint32_t id;
  const char* name;
  size_t block_size;
  size_t type_size;
};

// Hand-copied from the spec, not from the implementation's table.
const Expected kExpected[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},       {30, "BF16", 1, 2},     {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},    {8, "Q8_0", 32, 34},
    {9, "Q8_1", 32, 36},    {10, "Q2_K", 256, 84},  {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144},
    {13, "Q5_K", 256, 176}, {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},
};

TEST(GgmlType, TableMatchesSpec) {
  for (const auto& e : kExpected) {
    auto info = ggml_type_info(e.id);
    ASSERT_TRUE(info) << e.name;
    EXPECT_EQ(info->name, e.name);
    EXPECT_EQ(info->block_size, e.block_size) << e.name;
    EXPECT_EQ(info->type_size, e.type_size) << e.name;
    auto by_enum = ggml_type_info(static_cast<GgmlType>(e.id));
    EXPECT_EQ(by_enum.name, e.name);
  }
}

TEST(GgmlType, BlockSizesFollowTheLayouts) {
  // fp16 d + 32 int8, fp16 d + 16 nibble bytes, Q4_K = 2 fp16 + 12 scales + 128 nibble bytes, Q6_K = 128 + 64 + 16 + 2.
  EXPECT_EQ(ggml_type_info(GgmlType::Q8_0).type_size, 2u + 32u);
  EXPECT_EQ(ggml_type_info(GgmlType::Q4_0).type_size, 2u + 16u);
  EXPECT_EQ(ggml_type_info(GgmlType::Q4_K).type_size, 2u + 2u + 12u + 128u);
  EXPECT_EQ(ggml_type_info(GgmlType::Q5_K).type_size, 2u + 2u + 12u + 32u + 128u);
  EXPECT_EQ(ggml_type_info(GgmlType::Q6_K).type_size, 128u + 64u + 16u + 2u);
  EXPECT_EQ(ggml_type_info(GgmlType::Q8_K).type_size, 4u + 256u + 2u * 16u);
}

TEST(GgmlType, UnknownIdsAreNullopt) {
  for (uint32_t id : {4u, 5u, 16u, 17u, 24u, 29u, 31u, 1000u, std::numeric_limits<uint32_t>::max()})
    EXPECT_FALSE(ggml_type_info(id)) << id;
  EXPECT_THROW(ggml_type_info(static_cast<GgmlType>(4)), josi::Error);
}

TEST(GgmlType, NamesAreCaseInsensitive) {
  EXPECT_EQ(ggml_type_from_name("Q4_K"), GgmlType::Q4_K);
  EXPECT_EQ(ggml_type_from_name("q4_k"), GgmlType::Q4_K);
  EXPECT_EQ(ggml_type_from_name("bf16"), GgmlType::BF16);
  EXPECT_EQ(ggml_type_from_name("f32"), GgmlType::F32);
  EXPECT_FALSE(ggml_type_from_name("Q4_K_M"));  // a file type, not a tensor type
  EXPECT_FALSE(ggml_type_from_name(""));
  EXPECT_FALSE(ggml_type_from_name("Q4"));
  for (const auto& e : kExpected) EXPECT_EQ(ggml_type_from_name(e.name), static_cast<GgmlType>(e.id));
}

TEST(GgmlType, RowBytes) {
  EXPECT_EQ(ggml_row_bytes(GgmlType::F32, 896), 3584u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::F16, 3), 6u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::BF16, 1536), 3072u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q8_0, 896), 28u * 34u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_K, 1536), 6u * 144u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q6_K, 8960), 35u * 210u);
  EXPECT_EQ(ggml_row_bytes(GgmlType::Q4_0, 0), 0u);
  EXPECT_FALSE(ggml_row_bytes(GgmlType::Q8_0, 33));
  EXPECT_FALSE(ggml_row_bytes(GgmlType::Q4_K, 896));  // 896 = 3.5 super-blocks
  // A row length from a hostile file whose byte count would wrap.
  EXPECT_FALSE(ggml_row_bytes(GgmlType::F32, std::numeric_limits<uint64_t>::max()));
  EXPECT_FALSE(ggml_row_bytes(GgmlType::Q8_0, (std::numeric_limits<uint64_t>::max() / 32) * 32));
}

}  // namespace
