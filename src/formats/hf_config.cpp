#include "formats/hf_config.hpp"

#include <cmath>
#include <limits>

#include "base/error.hpp"
#include "base/files.hpp"

namespace josi::formats {

namespace fs = std::filesystem;

namespace {

class Reader {
 public:
  Reader(const json::Json& doc, std::string where) : doc_(doc), where_(std::move(where)) {}

  Error error(std::string_view key, const std::string& problem) const {
    return Error(where_ + ": key \"" + std::string(key) + "\": " + problem);
  }

  const json::Json* get(std::string_view key) const {
    auto it = doc_.find(std::string(key));
    return it == doc_.end() ? nullptr : &*it;
  }

  const json::Json& required(std::string_view key) const {
    const json::Json* value = get(key);
    if (value == nullptr) throw error(key, "missing");
    return *value;
  }

  int64_t integer(std::string_view key, const json::Json& value) const {
    if (value.is_number_unsigned()) {
      if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw error(key, "integer out of range");
      return static_cast<int64_t>(value.get<uint64_t>());
    }
    if (value.is_number_integer()) return value.get<int64_t>();
    throw error(key, "expected an integer, got " + json::type_name(value));
  }

  int64_t positive(std::string_view key) const {
    int64_t v = integer(key, required(key));
    if (v <= 0) throw error(key, "must be positive, got " + std::to_string(v));
    return v;
  }

  double number(std::string_view key, double fallback) const {
    const json::Json* value = get(key);
    if (value == nullptr) return fallback;
    if (!value->is_number()) throw error(key, "expected a number, got " + json::type_name(*value));
    return value->get<double>();
  }

 private:
  const json::Json& doc_;
  std::string where_;
};

// Newer transformers write "dtype" where older ones wrote "torch_dtype".
const char* dtype_key(const json::Json& raw) {
  return !raw.contains("torch_dtype") && raw.contains("dtype") ? "dtype" : "torch_dtype";
}

}  // namespace

ModelConfig read_model_config(const fs::path& dir_or_file) {
  std::error_code ec;
  const fs::path path = fs::is_directory(dir_or_file, ec) ? dir_or_file / "config.json" : dir_or_file;
  const std::string where = path.string();
  ModelConfig config;
  config.raw = json::parse(base::read_file(path), where);
  if (!config.raw.is_object()) throw Error(where + ": expected a JSON object, got " + json::type_name(config.raw));
  Reader r(config.raw, where);

  const json::Json& archs = r.required("architectures");
  if (!archs.is_array() || archs.empty() || !archs[0].is_string())
    throw r.error("architectures", "expected a non-empty list of strings");
  config.architecture = archs[0].get<std::string>();
  if (const json::Json* type = r.get("model_type")) {
    if (!type->is_string()) throw r.error("model_type", "expected a string, got " + json::type_name(*type));
    config.model_type = type->get<std::string>();
  }

  config.hidden_size = r.positive("hidden_size");
  config.intermediate_size = r.positive("intermediate_size");
  config.num_hidden_layers = r.positive("num_hidden_layers");
  config.num_attention_heads = r.positive("num_attention_heads");
  // transformers falls back to plain multi-head attention when absent (or null).
  if (const json::Json* kv = r.get("num_key_value_heads"); kv != nullptr && !kv->is_null()) {
    config.num_key_value_heads = r.positive("num_key_value_heads");
  } else {
    config.num_key_value_heads = config.num_attention_heads;
  }
  config.max_position_embeddings = r.positive("max_position_embeddings");
  config.vocab_size = r.positive("vocab_size");

  config.rope_theta = r.number("rope_theta", 10000.0);
  if (!(config.rope_theta > 0) || !std::isfinite(config.rope_theta))
    throw r.error("rope_theta", "must be a positive number");
  config.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
  if (!(config.rms_norm_eps > 0) || !std::isfinite(config.rms_norm_eps))
    throw r.error("rms_norm_eps", "must be a positive number");

  if (const json::Json* tie = r.get("tie_word_embeddings")) {
    if (!tie->is_boolean()) throw r.error("tie_word_embeddings", "expected true or false, got " + json::type_name(*tie));
    config.tie_word_embeddings = tie->get<bool>();
  }
  const char* dkey = dtype_key(config.raw);
  if (const json::Json* dtype = r.get(dkey); dtype != nullptr && !dtype->is_null()) {
    if (!dtype->is_string()) throw r.error(dkey, "expected a string, got " + json::type_name(*dtype));
    config.torch_dtype = dtype->get<std::string>();
  }

  if (const json::Json* bos = r.get("bos_token_id"); bos != nullptr && !bos->is_null()) {
    config.bos_token_id = r.integer("bos_token_id", *bos);
    if (config.bos_token_id < 0) throw r.error("bos_token_id", "must not be negative");
  }
  if (const json::Json* eos = r.get("eos_token_id"); eos != nullptr && !eos->is_null()) {
    if (eos->is_array()) {
      for (const auto& id : *eos) config.eos_token_ids.push_back(r.integer("eos_token_id", id));
    } else {
      config.eos_token_ids.push_back(r.integer("eos_token_id", *eos));
    }
    for (int64_t id : config.eos_token_ids)
      if (id < 0) throw r.error("eos_token_id", "must not be negative");
  }

  if (const json::Json* head_dim = r.get("head_dim"); head_dim != nullptr && !head_dim->is_null()) {
    config.explicit_head_dim = r.positive("head_dim");
  } else if (config.hidden_size % config.num_attention_heads != 0) {
    throw r.error("num_attention_heads", std::to_string(config.num_attention_heads) + " heads do not divide hidden_size " +
                                             std::to_string(config.hidden_size) + " and there is no head_dim");
  }
  if (config.head_dim() % 2 != 0)
    throw r.error("head_dim", "head size " + std::to_string(config.head_dim()) + " is odd (RoPE rotates pairs)");
  if (config.num_attention_heads % config.num_key_value_heads != 0)
    throw r.error("num_key_value_heads", std::to_string(config.num_key_value_heads) +
                                             " KV heads do not divide num_attention_heads " +
                                             std::to_string(config.num_attention_heads));
  return config;
}

json::Json to_json(const ModelConfig& config) {
  json::Json out = config.raw.is_object() ? config.raw : json::Json::object();
  // Keep any further architectures the original listed; only the first is ours.
  if (out.contains("architectures") && out["architectures"].is_array() && !out["architectures"].empty())
    out["architectures"][0] = config.architecture;
  else
    out["architectures"] = json::Json::array({config.architecture});
  if (!config.model_type.empty() || out.contains("model_type")) out["model_type"] = config.model_type;
  out["hidden_size"] = config.hidden_size;
  out["intermediate_size"] = config.intermediate_size;
  out["num_hidden_layers"] = config.num_hidden_layers;
  out["num_attention_heads"] = config.num_attention_heads;
  out["num_key_value_heads"] = config.num_key_value_heads;
  // Written when the original had it or it is not implied by the other keys.
  if (config.explicit_head_dim > 0) out["head_dim"] = config.explicit_head_dim;
  out["max_position_embeddings"] = config.max_position_embeddings;
  out["vocab_size"] = config.vocab_size;
  out["rope_theta"] = config.rope_theta;
  out["rms_norm_eps"] = config.rms_norm_eps;
  out["tie_word_embeddings"] = config.tie_word_embeddings;
  out[dtype_key(out)] = config.torch_dtype;
  if (config.bos_token_id >= 0)
    out["bos_token_id"] = config.bos_token_id;
  else if (out.contains("bos_token_id"))
    out["bos_token_id"] = nullptr;
  // A single id is written as a number unless the original used a list.
  const bool was_list = out.contains("eos_token_id") && out["eos_token_id"].is_array();
  if (config.eos_token_ids.size() == 1 && !was_list)
    out["eos_token_id"] = config.eos_token_ids[0];
  else if (!config.eos_token_ids.empty() || was_list)
    out["eos_token_id"] = config.eos_token_ids;
  else if (out.contains("eos_token_id"))
    out["eos_token_id"] = nullptr;
  return out;
}

void write_model_config(const fs::path& dir, const ModelConfig& config) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create directory: " + ec.message(), ExitCode::io);
  base::write_file_atomic(dir / "config.json", to_json(config).dump(2) + "\n");
}

}  // namespace josi::formats
