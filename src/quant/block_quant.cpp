#include "quant/block_quant.hpp"

#include <bit>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "formats/dtype.hpp"
#include "quant/blocks.hpp"

namespace josi::quant {

using formats::GgmlType;

namespace {

struct Kernels {
  const char* name;
  int64_t block;  // weights per block
  void (*quantize)(const float*, void*, int64_t, const float*);
  void (*dequantize)(const void*, float*, int64_t);
};

void quantize_f32(const float* x, void* out, int64_t n, const float*) {
  std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
}
void dequantize_f32(const void* in, float* y, int64_t n) {
  std::memcpy(y, in, static_cast<size_t>(n) * sizeof(float));
}
// Plain conversions (round to nearest even; a value beyond the half range
// becomes inf, as PyTorch's .half() does). The importance is irrelevant.
void quantize_f16(const float* x, void* out, int64_t n, const float*) {
  auto* p = static_cast<uint8_t*>(out);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = formats::f32_to_f16(x[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}
// Reading F16 weights is on the converter's hot path (every F16 model
// tensor), so this is formats::f16_to_f32 without branches: the half's
// exponent and mantissa moved into float position are exact as a float
// times 2^112, subnormals included; only inf/NaN need the exponent forced.
// The test checks all 65536 halves against formats::f16_to_f32.
void dequantize_f16(const void* in, float* y, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(in);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    const uint32_t em = static_cast<uint32_t>(h & 0x7fffu) << 13;
    const float scaled = std::bit_cast<float>(em) * 0x1p112f;
    const uint32_t bits = em >= (0x7c00u << 13) ? em | 0x7f800000u : std::bit_cast<uint32_t>(scaled);
    y[i] = std::bit_cast<float>(bits | (static_cast<uint32_t>(h & 0x8000u) << 16));
  }
}
void quantize_bf16(const float* x, void* out, int64_t n, const float*) {
  auto* p = static_cast<uint8_t*>(out);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = formats::f32_to_bf16(x[i]);
    std::memcpy(p + 2 * i, &h, 2);
  }
}
void dequantize_bf16(const void* in, float* y, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(in);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    y[i] = formats::bf16_to_f32(h);
  }
}

// Plain types take a count of weights, block types a count of blocks.
const Kernels* kernels(GgmlType type) {
  using namespace detail;
  static const Kernels f32{"F32", 1, quantize_f32, dequantize_f32};
  static const Kernels f16{"F16", 1, quantize_f16, dequantize_f16};
  static const Kernels bf16{"BF16", 1, quantize_bf16, dequantize_bf16};
  static const Kernels q8_0{"Q8_0", kQK, quantize_q8_0, dequantize_q8_0};
  static const Kernels q4_0{"Q4_0", kQK, quantize_q4_0, dequantize_q4_0};
  static const Kernels q5_0{"Q5_0", kQK, quantize_q5_0, dequantize_q5_0};
  static const Kernels q5_1{"Q5_1", kQK, quantize_q5_1, dequantize_q5_1};
  static const Kernels q4_k{"Q4_K", kQKK, quantize_q4_k, dequantize_q4_k};
  static const Kernels q5_k{"Q5_K", kQKK, quantize_q5_k, dequantize_q5_k};
  static const Kernels q6_k{"Q6_K", kQKK, quantize_q6_k, dequantize_q6_k};
  switch (type) {
    case GgmlType::F32: return &f32;
    case GgmlType::F16: return &f16;
    case GgmlType::BF16: return &bf16;
    case GgmlType::Q8_0: return &q8_0;
    case GgmlType::Q4_0: return &q4_0;
    case GgmlType::Q5_0: return &q5_0;
    case GgmlType::Q5_1: return &q5_1;
    case GgmlType::Q4_K: return &q4_k;
    case GgmlType::Q5_K: return &q5_k;
    case GgmlType::Q6_K: return &q6_k;
    default: return nullptr;
  }
}

// Checks the type and length; returns the count the kernel takes.
const Kernels& checked(const char* what, GgmlType type, int64_t n, int64_t& count) {
  const Kernels* k = kernels(type);
  if (!k) {
    const auto info = formats::ggml_type_info(static_cast<uint32_t>(type));
    const std::string name =
        info ? std::string(info->name) : "ggml type " + std::to_string(static_cast<uint32_t>(type));
    throw Error(std::string(what) + ": " + name + " is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)");
  }
  if (n < 0 || n % k->block != 0) {
    throw Error(std::string(what) + ": a " + k->name + " row of " + std::to_string(n) +
                " weights is not a multiple of its block size " + std::to_string(k->block));
  }
  count = k->block == 1 ? n : n / k->block;
  return *k;
}

}  // namespace

bool can_quantize(GgmlType type) { return kernels(type) != nullptr; }
bool can_dequantize(GgmlType type) { return kernels(type) != nullptr; }

void quantize_row(GgmlType type, const float* x, void* out, int64_t n, const float* importance) {
  int64_t count = 0;
  const Kernels& k = checked("quantize", type, n, count);
  if (count > 0) k.quantize(x, out, count, importance);
}

void dequantize_row(GgmlType type, const void* in, float* y, int64_t n) {
  int64_t count = 0;
  const Kernels& k = checked("dequantize", type, n, count);
  if (count > 0) k.dequantize(in, y, count);
}

}  // namespace josi::quant
