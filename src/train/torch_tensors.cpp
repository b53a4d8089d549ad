#include "train/torch_tensors.hpp"

#include "base/error.hpp"

namespace josi::train {

torch::ScalarType scalar_type(formats::DType dtype) {
  switch (dtype) {
    case formats::DType::F32: return torch::kFloat;
    case formats::DType::F16: return torch::kHalf;
    case formats::DType::BF16: return torch::kBFloat16;
    case formats::DType::U8: return torch::kByte;
    default: throw Error("dtype " + std::string(formats::dtype_name(dtype)) + " is not a weight type (F32, F16 or BF16)");
  }
}

formats::DType file_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return formats::DType::F32;
    case torch::kHalf: return formats::DType::F16;
    case torch::kBFloat16: return formats::DType::BF16;
    case torch::kByte: return formats::DType::U8;
    default: throw Error(std::string("tensor type ") + c10::toString(type) + " has no weight-file dtype");
  }
}

torch::Tensor tensor_from_view(const formats::TensorView& view, torch::Device device, torch::ScalarType type) {
  // from_blob does not copy; the mapped file is read-only, and the copy
  // below never writes to the source.
  auto source = torch::from_blob(const_cast<uint8_t*>(view.data), view.shape,
                                 torch::TensorOptions().dtype(scalar_type(view.dtype)));
  return source.to(device, type, /*non_blocking=*/false, /*copy=*/true);
}

std::string tensor_bytes(const torch::Tensor& tensor, formats::DType dtype) {
  auto host = tensor.detach().to(torch::kCPU, scalar_type(dtype)).contiguous();
  return std::string(static_cast<const char*>(host.data_ptr()), host.numel() * host.element_size());
}

}  // namespace josi::train
