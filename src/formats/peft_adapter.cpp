#include "formats/peft_adapter.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "base/files.hpp"

namespace josi::formats {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kKeyPrefix = "base_model.model.";
constexpr std::string_view kLayersPrefix = "base_model.model.model.layers.";

struct ModuleInfo {
  std::string_view name;
  std::string_view group;  // the submodule of a decoder layer that holds it
};
// Also the order pairs are sorted in within a layer.
constexpr std::array<ModuleInfo, 7> kModules = {{{"q_proj", "self_attn"},
                                                  {"k_proj", "self_attn"},
                                                  {"v_proj", "self_attn"},
                                                  {"o_proj", "self_attn"},
                                                  {"gate_proj", "mlp"},
                                                  {"up_proj", "mlp"},
                                                  {"down_proj", "mlp"}}};

std::vector<std::string_view> split_dots(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    parts.push_back(text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

// A layer index as PEFT prints it: decimal, no sign, no leading zeros.
std::optional<int64_t> parse_index(std::string_view text) {
  if (text.empty() || text.size() > 9 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

struct ParsedKey {
  int64_t layer;
  size_t module;  // index into kModules
  bool is_b;
};

// base_model.model.model.layers.<i>.<group>.<module>.lora_<A|B>[.<adapter>].weight;
// some PEFT versions keep the adapter name ("default") in the saved key.
std::optional<ParsedKey> parse_key(std::string_view key) {
  if (key.substr(0, kLayersPrefix.size()) != kLayersPrefix) return std::nullopt;
  auto parts = split_dots(key.substr(kLayersPrefix.size()));
  if (parts.size() != 5 && parts.size() != 6) return std::nullopt;
  if (parts.back() != "weight") return std::nullopt;
  if (parts.size() == 6 && parts[4].empty()) return std::nullopt;
  auto layer = parse_index(parts[0]);
  if (!layer) return std::nullopt;
  auto module = std::find_if(kModules.begin(), kModules.end(), [&](const ModuleInfo& m) { return m.name == parts[2]; });
  if (module == kModules.end() || module->group != parts[1]) return std::nullopt;
  if (parts[3] != "lora_A" && parts[3] != "lora_B") return std::nullopt;
  return ParsedKey{*layer, static_cast<size_t>(module - kModules.begin()), parts[3] == "lora_B"};
}

const json::Json* member(const json::Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

bool is_float(DType dtype) { return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16; }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

LoraConfig lora_config_from_json(const json::Json& value, const std::string& what) {
  auto error = [&](std::string_view key, const std::string& problem) {
    return Error(what + ": key \"" + std::string(key) + "\": " + problem);
  };
  if (!value.is_object()) throw Error(what + ": expected a JSON object, got " + json::type_name(value));
  LoraConfig config;

  const json::Json* type = member(value, "peft_type");
  if (type == nullptr) throw error("peft_type", "missing");
  if (!type->is_string() || type->get<std::string>() != "LORA")
    throw error("peft_type", "only LORA adapters are supported, got " +
                                 (type->is_string() ? base::quoted(type->get<std::string>()) : json::type_name(*type)));

  const json::Json* r = member(value, "r");
  if (r == nullptr) throw error("r", "missing");
  const bool r_ok = r->is_number_unsigned()
                       ? r->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())
                       : r->is_number_integer() && r->get<int64_t>() > 0;
  if (!r_ok) throw error("r", "expected a positive integer");
  config.r = r->get<int64_t>();
  if (config.r <= 0) throw error("r", "expected a positive integer");  // 0 parses as unsigned

  // lora_alpha sets the scale of every update, so it may not be guessed.
  const json::Json* alpha = member(value, "lora_alpha");
  if (alpha == nullptr) throw error("lora_alpha", "missing");
  if (!alpha->is_number() || !std::isfinite(alpha->get<double>())) throw error("lora_alpha", "expected a number");
  config.lora_alpha = alpha->get<double>();

  if (const json::Json* dropout = member(value, "lora_dropout")) {
    if (!dropout->is_number()) throw error("lora_dropout", "expected a number, got " + json::type_name(*dropout));
    config.lora_dropout = dropout->get<double>();
    if (!(config.lora_dropout >= 0 && config.lora_dropout < 1)) throw error("lora_dropout", "must be in [0, 1)");
  }
  if (const json::Json* modules = member(value, "target_modules")) {
    config.target_modules.clear();
    if (modules->is_string()) {
      // PEFT also takes one string (a module name or a regular expression).
      config.target_modules.push_back(modules->get<std::string>());
    } else if (modules->is_array()) {
      for (const auto& m : *modules) {
        if (!m.is_string()) throw error("target_modules", "expected a list of strings");
        config.target_modules.push_back(m.get<std::string>());
      }
    } else {
      throw error("target_modules", "expected a list of strings or a string, got " + json::type_name(*modules));
    }
  }
  auto text = [&](const char* key, std::string& out) {
    if (const json::Json* v = member(value, key)) {
      if (!v->is_string()) throw error(key, "expected a string, got " + json::type_name(*v));
      out = v->get<std::string>();
    }
  };
  auto flag = [&](const char* key, bool& out) {
    if (const json::Json* v = member(value, key)) {
      if (!v->is_boolean()) throw error(key, "expected true or false, got " + json::type_name(*v));
      out = v->get<bool>();
    }
  };
  text("bias", config.bias);
  text("task_type", config.task_type);
  text("base_model_name_or_path", config.base_model_name_or_path);
  flag("fan_in_fan_out", config.fan_in_fan_out);
  flag("inference_mode", config.inference_mode);

  // Variants whose weights would not follow W + (alpha / r) B A: refuse them
  // rather than apply them wrongly.
  bool rslora = false, dora = false;
  flag("use_rslora", rslora);
  flag("use_dora", dora);
  if (rslora) throw error("use_rslora", "rank-stabilised LoRA (scale alpha/sqrt(r)) is not supported");
  if (dora) throw error("use_dora", "DoRA adapters are not supported");
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    const json::Json* v = member(value, key);
    if (v != nullptr && !(v->is_object() && v->empty())) throw error(key, "per-module ranks or alphas are not supported");
  }
  return config;
}

json::Json to_json(const LoraConfig& config) {
  json::Json out = json::Json::object();
  out["peft_type"] = "LORA";
  out["task_type"] = config.task_type;
  out["r"] = config.r;
  // PEFT declares lora_alpha an int; write 32, not 32.0, when it is whole.
  if (std::nearbyint(config.lora_alpha) == config.lora_alpha && std::fabs(config.lora_alpha) < 1e15)
    out["lora_alpha"] = static_cast<int64_t>(config.lora_alpha);
  else
    out["lora_alpha"] = config.lora_alpha;
  out["lora_dropout"] = config.lora_dropout;
  out["target_modules"] = config.target_modules;
  out["bias"] = config.bias;
  out["fan_in_fan_out"] = config.fan_in_fan_out;
  out["inference_mode"] = config.inference_mode;
  out["base_model_name_or_path"] = config.base_model_name_or_path;
  return out;
}

PeftAdapter::PeftAdapter(const fs::path& dir) {
  const fs::path config_path = dir / "adapter_config.json";
  config_ = lora_config_from_json(json::parse(base::read_file(config_path), config_path.string()), config_path.string());
  weights_ = std::make_unique<SafetensorsFile>(dir / "adapter_model.safetensors");
  const std::string where = weights_->path().string();

  struct Halves {
    const TensorView* a = nullptr;
    const TensorView* b = nullptr;
  };
  std::map<std::pair<int64_t, size_t>, Halves> found;  // (layer, module) in the order pairs are kept
  for (const TensorView& view : weights_->tensors()) {
    auto key = parse_key(view.name);
    if (!key)
      throw Error(where + ": tensor " + base::quoted(view.name) +
                  " is not a LoRA weight (expected base_model.model.model.layers.<i>.<self_attn|mlp>.<proj>."
                  "lora_<A|B>.weight)");
    const TensorView*& slot = key->is_b ? found[{key->layer, key->module}].b : found[{key->layer, key->module}].a;
    if (slot != nullptr)
      throw Error(where + ": tensor " + base::quoted(view.name) + " repeats " + base::quoted(slot->name));
    slot = &view;
  }

  const int64_t r = config_.r;
  for (const auto& [at, halves] : found) {
    const auto& module = kModules[at.second];
    if (halves.a == nullptr) throw Error(where + ": tensor " + base::quoted(halves.b->name) + " has no lora_A");
    if (halves.b == nullptr) throw Error(where + ": tensor " + base::quoted(halves.a->name) + " has no lora_B");
    for (const TensorView* v : {halves.a, halves.b})
      if (!is_float(v->dtype))
        throw Error(where + ": tensor " + base::quoted(v->name) + ": dtype " + std::string(dtype_name(v->dtype)) +
                    ", expected F32, F16 or BF16");
    const auto& sa = halves.a->shape;
    const auto& sb = halves.b->shape;
    if (sa.size() != 2 || sa[0] != r || sa[1] <= 0)
      throw Error(where + ": tensor " + base::quoted(halves.a->name) + ": shape " + shape_text(sa) + ", expected [" +
                  std::to_string(r) + ", in] for r = " + std::to_string(r));
    if (sb.size() != 2 || sb[1] != r || sb[0] <= 0)
      throw Error(where + ": tensor " + base::quoted(halves.b->name) + ": shape " + shape_text(sb) + ", expected [out, " +
                  std::to_string(r) + "] for r = " + std::to_string(r));
    LoraPair pair;
    pair.layer = at.first;
    pair.module = std::string(module.name);
    pair.base_weight = "model.layers." + std::to_string(at.first) + "." + std::string(module.group) + "." +
                       std::string(module.name) + ".weight";
    pair.a = halves.a;
    pair.b = halves.b;
    pairs_.push_back(std::move(pair));
  }
}

std::string peft_key_prefix(const std::string& base_weight) {
  constexpr std::string_view suffix = ".weight";
  if (base_weight.size() <= suffix.size() || base_weight.compare(base_weight.size() - suffix.size(), suffix.size(), suffix) != 0)
    throw Error("peft_key_prefix: " + base::quoted(base_weight) + " is not a weight name (expected ...weight)");
  return std::string(kKeyPrefix) + base_weight.substr(0, base_weight.size() - suffix.size());
}

void write_peft_adapter(const fs::path& dir, const LoraConfig& config, const std::vector<AdapterTensor>& tensors) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message(), ExitCode::io);
  SafetensorsWriter writer;
  // The bytes are already in memory: stream them from there rather than copy.
  for (const auto& t : tensors) writer.add(t.key, t.dtype, t.shape, [&t](std::string& out) { out += t.bytes; });
  // Weights first: a config next to them then means the adapter is complete.
  writer.write(dir / "adapter_model.safetensors");
  base::write_file_atomic(dir / "adapter_config.json", to_json(config).dump(2) + "\n");
}

}  // namespace josi::formats
