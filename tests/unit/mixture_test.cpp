#include "quant/mixture.hpp"

#include <gtest/gtest.h>

#include <set>

using josi::formats::GgmlType;
using josi::quant::file_type_from_name;
using josi::quant::plan_tensor_type;
using josi::quant::use_more_bits;

namespace {

// The layers whose attn_v/ffn_down get Q6_K in a Q4_K_M model of n blocks.
std::set<int64_t> q6_layers(int64_t n, const std::string& part, int64_t row = 256) {
  auto q4km = *file_type_from_name("Q4_K_M");
  std::set<int64_t> out;
  for (int64_t i = 0; i < n; ++i)
    if (plan_tensor_type(q4km, "blk." + std::to_string(i) + "." + part, {static_cast<uint64_t>(row), 512}, n, false) ==
        GgmlType::Q6_K)
      out.insert(i);
  return out;
}

TEST(Mixture, UseMoreBitsRule) {
  // n = 28 (Qwen2.5-1.5B): n/8 = 3, 7n/8 = 24.
  std::set<int64_t> expected = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
  std::set<int64_t> got;
  for (int64_t i = 0; i < 28; ++i)
    if (use_more_bits(i, 28)) got.insert(i);
  EXPECT_EQ(got, expected);
}

TEST(Mixture, Q4KMAssignsQ6KExactlyToTheNamedLayers) {
  // tiny preset: 2 layers -> n/8 = 0, 7n/8 = 1: layer 1 only, and layer 0 when (0 - 0) % 3 == 2 (no).
  EXPECT_EQ(q6_layers(2, "attn_v.weight"), (std::set<int64_t>{1}));
  EXPECT_EQ(q6_layers(2, "ffn_down.weight"), (std::set<int64_t>{1}));
  // 12 layers: n/8 = 1, 7n/8 = 10: {0, 10, 11} plus (i - 1) % 3 == 2 -> {3, 6, 9}.
  EXPECT_EQ(q6_layers(12, "attn_v.weight"), (std::set<int64_t>{0, 3, 6, 9, 10, 11}));
  EXPECT_EQ(q6_layers(12, "ffn_down.weight"), (std::set<int64_t>{0, 3, 6, 9, 10, 11}));
  // Other matrices stay Q4_K.
  EXPECT_TRUE(q6_layers(12, "attn_q.weight").empty());
  EXPECT_TRUE(q6_layers(12, "ffn_up.weight").empty());
}

TEST(Mixture, OutputAndEmbedding) {
  auto q4km = *file_type_from_name("q4_k_m");
  // Tied: token_embd is the output matrix.
  EXPECT_EQ(plan_tensor_type(q4km, "token_embd.weight", {1536, 151936}, 28, false), GgmlType::Q6_K);
  // Separate output: the embedding takes the base type.
  EXPECT_EQ(plan_tensor_type(q4km, "token_embd.weight", {1536, 151936}, 28, true), GgmlType::Q4_K);
  EXPECT_EQ(plan_tensor_type(q4km, "output.weight", {1536, 151936}, 28, true), GgmlType::Q6_K);
  // Rows that are not a multiple of 256: Q8_0.
  EXPECT_EQ(plan_tensor_type(q4km, "output.weight", {896, 151936}, 24, true), GgmlType::Q8_0);
  // A Q8_0 file keeps its output at Q8_0.
  EXPECT_EQ(plan_tensor_type(*file_type_from_name("Q8_0"), "output.weight", {1536, 10}, 28, true), GgmlType::Q8_0);
}

TEST(Mixture, OneDimensionalTensorsStayF32) {
  auto q4km = *file_type_from_name("Q4_K_M");
  EXPECT_EQ(plan_tensor_type(q4km, "blk.0.attn_norm.weight", {1536}, 28, false), GgmlType::F32);
  EXPECT_EQ(plan_tensor_type(q4km, "blk.0.attn_q.bias", {1536}, 28, false), GgmlType::F32);
  EXPECT_EQ(plan_tensor_type(q4km, "output_norm.weight", {1536}, 28, false), GgmlType::F32);
}

TEST(Mixture, FallbackChainWhenRowsDoNotFit) {
  auto q4km = *file_type_from_name("Q4_K_M");
  auto q5km = *file_type_from_name("Q5_K_M");
  // Qwen2.5-0.5B: hidden 896 is 3.5 super-blocks.
  EXPECT_EQ(plan_tensor_type(q4km, "blk.4.attn_q.weight", {896, 896}, 24, false), GgmlType::Q5_0);
  EXPECT_EQ(plan_tensor_type(q5km, "blk.4.attn_q.weight", {896, 896}, 24, false), GgmlType::Q5_1);
  EXPECT_EQ(plan_tensor_type(q4km, "blk.0.attn_v.weight", {896, 128}, 24, false), GgmlType::Q8_0);  // Q6_K -> Q8_0
  EXPECT_EQ(plan_tensor_type(q4km, "blk.4.attn_q.weight", {100, 896}, 24, false), GgmlType::F16);  // nothing fits
  EXPECT_EQ(plan_tensor_type(*file_type_from_name("Q8_0"), "blk.4.attn_q.weight", {100, 8}, 24, false), GgmlType::F16);
}

TEST(Mixture, Q4KSRules) {
  auto q4ks = *file_type_from_name("Q4_K_S");
  EXPECT_EQ(plan_tensor_type(q4ks, "blk.3.attn_v.weight", {1536, 256}, 28, false), GgmlType::Q5_K);
  EXPECT_EQ(plan_tensor_type(q4ks, "blk.4.attn_v.weight", {1536, 256}, 28, false), GgmlType::Q4_K);
  EXPECT_EQ(plan_tensor_type(q4ks, "blk.2.ffn_down.weight", {8960, 1536}, 28, false), GgmlType::Q5_K);
  EXPECT_EQ(plan_tensor_type(q4ks, "blk.3.ffn_down.weight", {8960, 1536}, 28, false), GgmlType::Q4_K);
}

TEST(Mixture, FileTypeNamesAndIds) {
  EXPECT_EQ(file_type_from_name("Q4_K_M")->id, 15u);
  EXPECT_EQ(file_type_from_name("Q5_K_M")->id, 17u);
  EXPECT_EQ(file_type_from_name("Q4_K_S")->id, 14u);
  EXPECT_EQ(file_type_from_name("Q6_K")->id, 18u);
  EXPECT_EQ(file_type_from_name("Q8_0")->id, 7u);
  EXPECT_FALSE(file_type_from_name("Q3_K_XL").has_value());
}

}  // namespace
