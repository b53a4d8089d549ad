// formats.md "safetensors": dtype names and sizes; half-precision conversions
// round to nearest even like PyTorch (checked exhaustively and against values
// from Python's struct 'e' format, which rounds the same way).
#include "formats/dtype.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "base/error.hpp"

using namespace josi::formats;

namespace {

float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t to_bits(float f) { return std::bit_cast<uint32_t>(f); }
bool f16_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }
bool bf16_is_nan(uint16_t b) { return (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0; }

}  // namespace

TEST(DType, NamesAndSizes) {
  struct Row {
    DType dtype;
    const char* name;
    size_t size;
  };
  const Row rows[] = {{DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
                      {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
                      {DType::I16, "I16", 2}, {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
                      {DType::BOOL, "BOOL", 1}};
  for (const Row& row : rows) {
    EXPECT_EQ(dtype_name(row.dtype), row.name);
    EXPECT_EQ(dtype_size(row.dtype), row.size) << row.name;
    EXPECT_EQ(dtype_from_name(row.name), row.dtype);
  }
}

TEST(DType, UnknownNameIsAnError) {
  for (const char* name : {"F8_E4M3", "f32", "", "U64", "F32 "}) {
    try {
      dtype_from_name(name);
      FAIL() << name;
    } catch (const josi::Error& e) {
      EXPECT_EQ(std::string(e.what()), std::string("unknown dtype \"") + name + "\"");
    }
  }
  // A name from a hostile file cannot break the one-line message.
  try {
    dtype_from_name("A\nB");
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown dtype \"A\\x0aB\"");
  }
}

TEST(DType, F16KnownValues) {
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(f32_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));   // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));   // smallest normal
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7c01)));  // signalling NaN stays a NaN
}

TEST(DType, F16RoundsToNearestEven) {
  // Normal range: halfway cases go to the even mantissa.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  // Overflow: 65520 is the tie between 65504 and 65536 (odd mantissa) -> inf.
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::max()), 0x7c00);
  // Subnormals: 2^-25 is the tie between 0 and the smallest subnormal.
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(f32_to_f16(-std::ldexp(1.0f, -25)), 0x8000);
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(3 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
  // Between the largest subnormal and the smallest normal.
  EXPECT_EQ(f32_to_f16(from_bits(0x387fe000)), 0x0400);
  EXPECT_EQ(f32_to_f16(from_bits(0x387fc000)), 0x03ff);
}

TEST(DType, F16MatchesPythonStruct) {
  // (f32 bits, struct.pack('<e', f)) computed with CPython.
  const std::pair<uint32_t, uint16_t> cases[] = {
      {0x3dcccccd, 0x2e66}, {0xbdcccccd, 0xae66}, {0x40490fd0, 0x4248}, {0x3727c5ac, 0x00a8},
      {0x3380d959, 0x0001}, {0x33000000, 0x0000}, {0x33c00000, 0x0002}, {0x477fef00, 0x7bff},
      {0x3eaaaaab, 0x3555}, {0xc49a5225, 0xe4d3}, {0x36eae18b, 0x0075}, {0x3f803000, 0x3c02},
      {0x387fe000, 0x0400}, {0x387fc000, 0x03ff}};
  for (auto [bits, half] : cases) EXPECT_EQ(f32_to_f16(from_bits(bits)), half) << std::hex << bits;
}

TEST(DType, F16RoundTripsEveryHalf) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const auto half = static_cast<uint16_t>(h);
    const float f = f16_to_f32(half);
    if (f16_is_nan(half)) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << h;
      EXPECT_TRUE(f16_is_nan(f32_to_f16(f))) << std::hex << h;
      EXPECT_EQ(f32_to_f16(f) & 0x8000, half & 0x8000) << std::hex << h;
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), half) << std::hex << h;
  }
}

// Every float on a wide stride (plus its neighbours) converts to a nearest
// half, ties to even: checked against the exact values in double.
TEST(DType, F16IsNearestEvenAcrossTheFloatRange) {
  auto check = [](uint32_t bits) {
    const float f = from_bits(bits);
    const uint16_t h = f32_to_f16(f);
    if (std::isnan(f)) {
      EXPECT_TRUE(f16_is_nan(h)) << std::hex << bits;
      return;
    }
    const double x = std::fabs(static_cast<double>(f));
    const uint16_t mag = h & 0x7fff;
    ASSERT_EQ(h & 0x8000, (bits >> 16) & 0x8000) << std::hex << bits;
    if (mag == 0x7c00) {
      ASSERT_GE(x, 65520.0) << std::hex << bits;
      return;
    }
    ASSERT_LT(mag, 0x7c00) << std::hex << bits;
    const double here = f16_to_f32(mag);
    const double err = std::fabs(x - here);
    if (mag > 0) {
      ASSERT_LE(err, x - static_cast<double>(f16_to_f32(mag - 1))) << std::hex << bits;
    }
    const double up = mag == 0x7bff ? 65536.0 : f16_to_f32(mag + 1);
    ASSERT_LE(err, up - x) << std::hex << bits;
    // A tie with either neighbour must have been settled towards the even one.
    if ((mag > 0 && err == x - static_cast<double>(f16_to_f32(mag - 1))) || err == up - x) {
      ASSERT_EQ(mag & 1, 0) << std::hex << bits;
    }
  };
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 4093) {
    check(static_cast<uint32_t>(bits));
    check(static_cast<uint32_t>(bits) + 1);
  }
  // Exactly every tie and neighbour inside [2^-26, 2^-13], the subnormal range.
  for (uint32_t bits = 0x32800000; bits < 0x39000000; bits += 0x400) check(bits), check(bits + 1), check(bits - 1);
}

TEST(DType, NaNStaysNaN) {
  for (uint32_t bits : {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu, 0x7f802000u}) {
    EXPECT_TRUE(f16_is_nan(f32_to_f16(from_bits(bits)))) << std::hex << bits;
    EXPECT_TRUE(bf16_is_nan(f32_to_bf16(from_bits(bits)))) << std::hex << bits;
    EXPECT_EQ(f32_to_f16(from_bits(bits)) >> 15, bits >> 31);
    EXPECT_EQ(f32_to_bf16(from_bits(bits)) >> 15, bits >> 31);
  }
}

TEST(DType, BF16KnownValues) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x0001), from_bits(0x00010000));  // subnormal
  // Ties to even.
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000)), 0x3f80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000)), 0x3f82);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f807fff)), 0x3f80);
  // Overflow to infinity; infinity stays.
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7f7fff)), 0x7f7f);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  // Subnormal f32 round like any other value.
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008000)), 0x0000);
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000)), 0x0002);
}

TEST(DType, BF16RoundTripsEveryValue) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const auto value = static_cast<uint16_t>(b);
    const float f = bf16_to_f32(value);
    EXPECT_EQ(to_bits(f), b << 16);
    if (bf16_is_nan(value)) {
      EXPECT_TRUE(bf16_is_nan(f32_to_bf16(f))) << std::hex << b;
      continue;
    }
    ASSERT_EQ(f32_to_bf16(f), value) << std::hex << b;
  }
}
