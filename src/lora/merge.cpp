#include "lora/merge.hpp"

#include <cstring>
#include <map>
#include <vector>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/progress.hpp"
#include "formats/hf_config.hpp"
#include "formats/peft_adapter.hpp"
#include "formats/safetensors.hpp"
#include "base/directory_tree.hpp"

namespace josi::lora {

namespace fs = std::filesystem;

namespace {

const char* const kCopiedFiles[] = {"tokenizer.json",    "tokenizer_config.json", "special_tokens_map.json",
                                    "vocab.json",        "merges.txt",            "added_tokens.json",
                                    "generation_config.json"};

std::string torch_dtype_name(formats::DType dtype) {
  return dtype == formats::DType::F32 ? "float32" : dtype == formats::DType::F16 ? "float16" : "bfloat16";
}

fs::path resolve_base(const MergeOptions& options, const formats::PeftAdapter& adapter) {
  if (!options.base_model.empty()) {
    if (!fs::is_directory(options.base_model))
      throw Error("--base_model " + options.base_model.string() + ": not a directory", ExitCode::io);
    return options.base_model;
  }
  const std::string& named = adapter.config().base_model_name_or_path;
  const fs::path config = options.lora_path / "adapter_config.json";
  if (named.empty())
    throw Error(config.string() + " names no base model (base_model_name_or_path); pass --base_model DIR", ExitCode::usage);
  fs::path base = named;
  if (base.is_relative() && !fs::is_directory(base)) base = options.lora_path / named;  // relative to the adapter
  if (!fs::is_directory(base))
    throw Error(config.string() + ": base model \"" + named +
                    "\" is not a local directory (a hub name?); pass --base_model DIR",
                ExitCode::usage);
  return base;
}

// The output may replace an earlier merge, never anything else.
void check_output(const fs::path& output, const fs::path& base, const fs::path& lora_path) {
  std::error_code ec;
  if (fs::exists(output, ec)) {
    if (fs::equivalent(output, base, ec) || fs::equivalent(output, lora_path, ec))
      throw Error("--output_path " + output.string() + " is the base model or adapter directory itself", ExitCode::usage);
    if (!fs::is_directory(output, ec))
      throw Error("--output_path " + output.string() + " exists and is not a directory", ExitCode::io);
    if (!fs::is_empty(output, ec) && !fs::exists(output / "config.json", ec))
      throw Error("--output_path " + output.string() + " exists and does not hold a model; not replacing it",
                  ExitCode::io);
  }
  fs::path parent = output.has_parent_path() ? output.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  base::check_output_path(output);
}

// The values of a float tensor (F32, F16 or BF16) as f32.
std::vector<float> values_f32(const formats::TensorView& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    if (t.dtype == formats::DType::F32) {
      std::memcpy(&out[i], t.data + 4 * i, 4);
      continue;
    }
    uint16_t half;
    std::memcpy(&half, t.data + 2 * i, 2);
    if (t.dtype == formats::DType::F16) {
      out[i] = formats::f16_to_f32(half);
    } else if (t.dtype == formats::DType::BF16) {
      out[i] = formats::bf16_to_f32(half);
    } else {
      throw Error(t.name + ": " + std::string(formats::dtype_name(t.dtype)) + " is not a float type");
    }
  }
  return out;
}

void append_as(std::string& bytes, const std::vector<float>& values, formats::DType dtype) {
  if (dtype == formats::DType::F32) {
    bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    return;
  }
  const size_t at = bytes.size();
  bytes.resize(at + 2 * values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const uint16_t half = dtype == formats::DType::F16 ? formats::f32_to_f16(values[i])
                                                        : formats::f32_to_bf16(values[i]);
    std::memcpy(&bytes[at + 2 * i], &half, 2);
  }
}

// w += scale * b * a, with w [out, in], b [out, r], a [r, in]: the rank-r
// update is cheap enough for plain loops (the inner one vectorizes).
void add_scaled_product(std::vector<float>& w, const std::vector<float>& b, const std::vector<float>& a, int64_t out,
                        int64_t r, int64_t in, float scale) {
  for (int64_t o = 0; o < out; ++o) {
    float* row = &w[static_cast<size_t>(o * in)];
    for (int64_t k = 0; k < r; ++k) {
      const float c = scale * b[static_cast<size_t>(o * r + k)];
      const float* a_row = &a[static_cast<size_t>(k * in)];
      for (int64_t i = 0; i < in; ++i) row[i] += c * a_row[i];
    }
  }
}

}  // namespace

std::optional<formats::DType> float_dtype_from_name(const std::string& name) {
  if (name == "bf16" || name == "bfloat16") return formats::DType::BF16;
  if (name == "f16" || name == "float16" || name == "fp16") return formats::DType::F16;
  if (name == "f32" || name == "float32" || name == "fp32") return formats::DType::F32;
  return std::nullopt;
}

fs::path default_merge_output(const fs::path& lora_path) {
  fs::path adapter = lora_path.lexically_normal();
  if (!adapter.has_filename()) adapter = adapter.parent_path();  // a trailing slash
  return adapter.parent_path() / "merged";
}

MergeSummary merge_adapter(const MergeOptions& options) {
  const formats::PeftAdapter adapter(options.lora_path);
  const formats::LoraConfig& lora = adapter.config();
  if (lora.fan_in_fan_out) throw Error(options.lora_path.string() + ": fan_in_fan_out adapters are for Conv1D models, not this one");
  if (lora.bias != "none")
    throw Error(options.lora_path.string() + ": adapters with trained biases (bias \"" + lora.bias + "\") are not supported");

  MergeSummary summary;
  summary.base_model = resolve_base(options, adapter);
  formats::ModelConfig config = formats::read_model_config(summary.base_model);
  const formats::SafetensorsModel weights(summary.base_model);
  const std::string base_where = summary.base_model.string();

  std::map<std::string, const formats::LoraPair*> adapted;
  for (const auto& pair : adapter.pairs()) {
    const formats::TensorView* w = weights.find(pair.base_weight);
    if (w == nullptr)
      throw Error(options.lora_path.string() + ": the adapter adapts " + pair.base_weight + ", which " + base_where +
                  " does not have (an adapter for another base model?)");
    if (w->shape.size() != 2 || w->shape[0] != pair.b->shape[0] || w->shape[1] != pair.a->shape[1])
      throw Error(options.lora_path.string() + ": " + pair.base_weight + " is [" + std::to_string(pair.b->shape[0]) + ", " +
                  std::to_string(pair.a->shape[1]) + "] in the adapter but [" + std::to_string(w->shape[0]) + ", " +
                  std::to_string(w->shape.size() > 1 ? w->shape[1] : 0) + "] in " + base_where +
                  " (an adapter for another base model?)");
    adapted[pair.base_weight] = &pair;
  }

  if (options.dtype) {
    summary.dtype = *options.dtype;
  } else {
    auto base_dtype = float_dtype_from_name(config.torch_dtype);
    summary.dtype = base_dtype ? *base_dtype : formats::DType::BF16;
  }
  summary.output = options.output_path.empty() ? default_merge_output(options.lora_path) : options.output_path;
  check_output(summary.output, summary.base_model, options.lora_path);

  const fs::path temp = summary.output.parent_path() / ("." + summary.output.filename().string() + ".partial");
  base::remove_tree(temp);
  std::error_code ec;
  fs::create_directories(temp, ec);
  if (ec) throw Error(temp.string() + ": cannot create: " + ec.message(), ExitCode::io);
  struct RemoveUnlessDone {
    const fs::path& dir;
    bool done = false;
    ~RemoveUnlessDone() {
      try {
        if (!done) base::remove_tree(dir);
      } catch (const Error&) {  // the error that got us here matters more
      }
    }
  } cleanup{temp};

  const auto all = weights.tensors();
  std::unique_ptr<base::Progress> progress;
  if (options.progress) progress = std::make_unique<base::Progress>("merge", all.size(), "tensors");
  const double scale = lora.scale();
  const formats::DType out = summary.dtype;
  formats::SafetensorsWriter writer;
  for (const formats::TensorView* view : all) {
    auto it = adapted.find(view->name);
    const formats::LoraPair* pair = it == adapted.end() ? nullptr : it->second;
    const formats::DType dtype = view->dtype == formats::DType::F32 || view->dtype == formats::DType::F16 ||
                                         view->dtype == formats::DType::BF16
                                     ? out
                                     : view->dtype;  // integer buffers, if any, stay as they are
    writer.add(view->name, dtype, view->shape, [view, pair, scale, dtype, &progress](std::string& bytes) {
      if (pair != nullptr) {
        std::vector<float> w = values_f32(*view);
        add_scaled_product(w, values_f32(*pair->b), values_f32(*pair->a), view->shape[0], pair->a->shape[0],
                           view->shape[1], static_cast<float>(scale));
        append_as(bytes, w, dtype);
      } else if (dtype == view->dtype) {
        bytes.append(reinterpret_cast<const char*>(view->data), view->nbytes);
      } else {
        append_as(bytes, values_f32(*view), dtype);
      }
      if (progress) progress->advance(1);
    });
    summary.merged_weights += pair != nullptr;
  }
  summary.tensors = all.size();
  writer.write(temp / "model.safetensors");
  if (progress) progress->done();

  config.torch_dtype = torch_dtype_name(out);
  formats::write_model_config(temp, config);
  for (const char* name : kCopiedFiles) {
    // The base's files; the adapter's (final/ carries the tokenizer) when the base lacks them.
    for (const fs::path& from : {summary.base_model / name, options.lora_path / name}) {
      if (!fs::exists(from)) continue;
      fs::copy_file(from, temp / name, fs::copy_options::overwrite_existing, ec);
      if (ec) throw Error(from.string() + ": cannot copy: " + ec.message(), ExitCode::io);
      break;
    }
  }
  base::replace_tree(temp, summary.output);
  cleanup.done = true;
  return summary;
}

}  // namespace josi::lora
