#include "quant/model_quantizer.hpp"

#include <chrono>
#include <cmath>
#include <mutex>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/progress.hpp"
#include "base/thread_pool.hpp"
#include "formats/gguf.hpp"
#include "quant/block_quant.hpp"

namespace josi::quant {

using formats::GgmlType;
using formats::GgufFile;
using formats::GgufTensorInfo;
using formats::GgufValue;

namespace {

int64_t block_count(const GgufFile& file) {
  const GgufValue* arch = file.find("general.architecture");
  if (!arch) throw Error(file.path().string() + ": missing general.architecture");
  std::string key = arch->as_string("general.architecture") + ".block_count";
  return static_cast<int64_t>(file.at(key).as_uint(key));
}

// Quantizes one tensor into `out`, returning the relative RMS error.
double quantize_tensor(const GgufFile& file, const GgufTensorInfo& t, GgmlType to, base::ThreadPool& pool,
                       std::string& out) {
  const uint64_t row = t.dims[0];
  const uint64_t rows = t.numel() / row;
  const size_t in_row_bytes = *formats::ggml_row_bytes(t.type, row);
  const size_t out_row_bytes = *formats::ggml_row_bytes(to, row);
  const uint8_t* src = file.tensor_data(t);
  if (t.type == to) {  // nothing to convert (1-D F32 tensors, or already the right type)
    out.append(reinterpret_cast<const char*>(src), t.nbytes);
    return 0.0;
  }
  const size_t start = out.size();
  out.resize(start + rows * out_row_bytes);
  char* dst = out.data() + start;
  std::mutex sums_mutex;
  double err_sum = 0, ref_sum = 0;
  pool.parallel_for(rows, 1, [&](size_t begin, size_t end) {
    std::vector<float> x(row), back(row);
    double err = 0, ref = 0;
    for (size_t r = begin; r < end; ++r) {
      dequantize_row(t.type, src + r * in_row_bytes, x.data(), static_cast<int64_t>(row));
      quantize_row(to, x.data(), dst + r * out_row_bytes, static_cast<int64_t>(row));
      dequantize_row(to, dst + r * out_row_bytes, back.data(), static_cast<int64_t>(row));
      for (size_t i = 0; i < row; ++i) {
        double d = static_cast<double>(x[i]) - back[i];
        err += d * d;
        ref += static_cast<double>(x[i]) * x[i];
      }
    }
    std::lock_guard lock(sums_mutex);
    err_sum += err;
    ref_sum += ref;
  });
  return ref_sum > 0 ? std::sqrt(err_sum / ref_sum) : (err_sum > 0 ? 1.0 : 0.0);
}

}  // namespace

QuantizeReport quantize_model(const std::filesystem::path& in, const std::filesystem::path& out,
                              const QuantizeOptions& options) {
  auto started = std::chrono::steady_clock::now();
  base::check_output_path(out);
  GgufFile file(in);
  const int64_t n_layers = block_count(file);
  const bool has_output = file.find_tensor("output.weight") != nullptr;

  QuantizeReport report;
  report.file_type = std::string(options.file_type.name);
  report.input_bytes = file.file().size();
  report.tensors.reserve(file.tensors().size());
  bool any_quantized = false;
  for (const auto& t : file.tensors()) {
    if (!can_dequantize(t.type))
      throw Error(in.string() + ": tensor " + t.name + " has type " +
                  std::string(formats::ggml_type_info(t.type).name) + ", which cannot be requantized");
    TensorReport r;
    r.name = t.name;
    r.from = t.type;
    r.dims = t.dims;
    r.to = plan_tensor_type(options.file_type, t.name, t.dims, n_layers, has_output);
    r.bytes = *formats::ggml_row_bytes(r.to, t.dims[0]) * (t.numel() / t.dims[0]);
    any_quantized = any_quantized || (r.to != GgmlType::F32 && r.to != GgmlType::F16 && r.to != GgmlType::BF16);
    report.tensors.push_back(std::move(r));
  }

  formats::GgufWriter writer(file.version());
  for (const auto& [key, value] : file.metadata()) writer.set(key, value);
  writer.set("general.file_type", GgufValue::u32(options.file_type.id));
  if (any_quantized) writer.set("general.quantization_version", GgufValue::u32(2));

  base::ThreadPool pool(options.threads);
  std::unique_ptr<base::Progress> progress;
  if (options.progress) progress = std::make_unique<base::Progress>("quantize " + report.file_type, file.tensors().size(), "tensors");
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const GgufTensorInfo& t = file.tensors()[i];
    TensorReport& r = report.tensors[i];
    writer.add_tensor(t.name, t.dims, r.to, [&file, &t, &r, &pool, &progress](std::string& bytes) {
      r.relative_rms = quantize_tensor(file, t, r.to, pool, bytes);
      if (progress) progress->advance(1, t.name);
    });
  }
  writer.write(out);
  if (progress) progress->done();
  report.output_bytes = std::filesystem::file_size(out);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

json::Json to_json(const QuantizeReport& report) {
  json::Json tensors = json::Json::array();
  for (const auto& t : report.tensors) {
    tensors.push_back({{"name", t.name},
                       {"from", formats::ggml_type_info(t.from).name},
                       {"type", formats::ggml_type_info(t.to).name},
                       {"dims", t.dims},
                       {"bytes", t.bytes},
                       {"relative_rms", t.relative_rms}});
  }
  return {{"file_type", report.file_type},
          {"input_bytes", report.input_bytes},
          {"output_bytes", report.output_bytes},
          {"seconds", report.seconds},
          {"tensors", tensors}};
}

}  // namespace josi::quant
