#pragma once
// Between the project's weight files and libtorch: safetensors views become
// tensors (copied, so the file may close), tensors become safetensors bytes.
#include <string>

#include <torch/torch.h>

#include "formats/dtype.hpp"
#include "formats/safetensors.hpp"

namespace josi::train {

torch::ScalarType scalar_type(formats::DType dtype);  // F32, F16, BF16 (and U8); throws for the rest
formats::DType file_dtype(torch::ScalarType type);      // kFloat, kHalf, kBFloat16 (and kByte)

// A copy of a safetensors tensor on `device` as `type`.
torch::Tensor tensor_from_view(const formats::TensorView& view, torch::Device device, torch::ScalarType type);

// The little-endian bytes of `tensor` converted to `dtype`.
std::string tensor_bytes(const torch::Tensor& tensor, formats::DType dtype);

}  // namespace josi::train
