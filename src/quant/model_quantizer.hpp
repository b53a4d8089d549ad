#pragma once
// Quantizes a whole GGUF model (F32/F16/BF16 weights) into a file type such
// as Q4_K_M: each tensor's type from the mixture rules, rows quantized in
// parallel on one thread pool, the output written tensor by tensor so memory
// stays near one tensor, metadata copied with file type and quantization
// version set. Reports each tensor's type, bytes and relative RMS error.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/ggml_type.hpp"
#include "json/json.hpp"
#include "quant/mixture.hpp"

namespace josi::quant {

struct QuantizeOptions {
  FileType file_type;
  size_t threads = 0;     // 0 = all cores
  bool progress = true;   // progress on stderr
};

struct TensorReport {
  std::string name;
  formats::GgmlType from = formats::GgmlType::F32;
  formats::GgmlType to = formats::GgmlType::F32;
  std::vector<uint64_t> dims;
  uint64_t bytes = 0;
  double relative_rms = 0;  // sqrt(sum (x - x')^2 / sum x^2); 0 for exact copies
};

struct QuantizeReport {
  std::string file_type;
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
  double seconds = 0;
  std::vector<TensorReport> tensors;
};

// Throws josi::Error naming the input for unsupported tensor types or
// architectures without a block count; leaves no partial output.
QuantizeReport quantize_model(const std::filesystem::path& in, const std::filesystem::path& out,
                              const QuantizeOptions& options);

json::Json to_json(const QuantizeReport& report);

}  // namespace josi::quant
