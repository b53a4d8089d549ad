#pragma once
// Block quantization of weight rows into the ggml block types GGUF stores
// (ggml's quantized blocks), and the dequantizers that
// define them. Layouts are bit-exact with llama.cpp, so files written here
// load there. Quantizers search per-block scales (and mins) that minimise a
// weighted squared error rather than taking plain min/max.
#include <cstdint>

#include "formats/ggml_type.hpp"

namespace josi::quant {

// Types this layer can write: Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, plus
// F32, F16 and BF16 (plain conversions).
bool can_quantize(formats::GgmlType type);
// Types this layer can read back to f32 (the above).
bool can_dequantize(formats::GgmlType type);

// Quantizes `n` floats (a multiple of the type's block size) into
// ggml_row_bytes(type, n) bytes at `out`. `importance` (n values, may be
// null) weighs each weight's squared error, like an importance matrix; null
// uses a default weighting. Throws josi::Error for an unsupported type or a
// bad length.
void quantize_row(formats::GgmlType type, const float* x, void* out, int64_t n, const float* importance = nullptr);

// The inverse: `n` floats from ggml_row_bytes(type, n) bytes.
void dequantize_row(formats::GgmlType type, const void* in, float* y, int64_t n);

}  // namespace josi::quant
