#pragma once
// Element types of safetensors tensors, and the half-precision conversions
// every weight path needs (round to nearest even, like PyTorch and ggml).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace josi::formats {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);  // "F32", "BF16", ... as safetensors spells them
// Throws josi::Error "unknown dtype \"X\"" (the caller adds the file name).
DType dtype_from_name(std::string_view name);

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);   // round to nearest even; overflow -> inf; NaN stays NaN
float bf16_to_f32(uint16_t b);
uint16_t f32_to_bf16(float f);  // round to nearest even; NaN stays NaN

}  // namespace josi::formats
