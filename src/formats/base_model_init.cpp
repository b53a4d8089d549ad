#include "formats/base_model_init.hpp"

#include <cmath>
#include <cstring>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/progress.hpp"
#include "formats/architecture.hpp"
#include "formats/safetensors.hpp"
#include "json/json.hpp"

namespace josi::formats {

namespace fs = std::filesystem;

namespace {

// The shape of a preset: what differs between the real models' config.json files.
struct Shape {
  int64_t hidden, layers, heads, kv_heads, ff, context;
  int64_t head_dim = 0;  // 0: hidden / heads
  bool tied = true;
};

ModelConfig qwen2(const Shape& s) {
  ModelConfig c;
  c.architecture = "Qwen2ForCausalLM";
  c.model_type = "qwen2";
  c.hidden_size = s.hidden;
  c.intermediate_size = s.ff;
  c.num_hidden_layers = s.layers;
  c.num_attention_heads = s.heads;
  c.num_key_value_heads = s.kv_heads;
  c.explicit_head_dim = s.head_dim;
  c.max_position_embeddings = s.context;
  c.vocab_size = 151936;  // the Qwen tokenizer's 151,669 tokens padded, as in the real models
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6;
  c.tie_word_embeddings = s.tied;
  c.torch_dtype = "bfloat16";
  c.bos_token_id = 151643;
  c.eos_token_ids = {151645};
  return c;
}

// Qwen3's config.json as transformers writes it: the Qwen2 keys, an explicit
// head_dim, and the keys the real files carry that Josi does not read.
ModelConfig qwen3(const Shape& s) {
  ModelConfig c = qwen2(s);
  c.architecture = "Qwen3ForCausalLM";
  c.model_type = "qwen3";
  c.raw = json::Json{{"architectures", {c.architecture}},
                     {"attention_bias", false},
                     {"attention_dropout", 0.0},
                     {"bos_token_id", c.bos_token_id},
                     {"eos_token_id", c.eos_token_ids[0]},
                     {"head_dim", c.head_dim()},
                     {"hidden_act", "silu"},
                     {"hidden_size", c.hidden_size},
                     {"initializer_range", 0.02},
                     {"intermediate_size", c.intermediate_size},
                     {"max_position_embeddings", c.max_position_embeddings},
                     {"max_window_layers", c.num_hidden_layers},
                     {"model_type", c.model_type},
                     {"num_attention_heads", c.num_attention_heads},
                     {"num_hidden_layers", c.num_hidden_layers},
                     {"num_key_value_heads", c.num_key_value_heads},
                     {"rms_norm_eps", c.rms_norm_eps},
                     {"rope_scaling", nullptr},
                     {"rope_theta", c.rope_theta},
                     {"sliding_window", nullptr},
                     {"tie_word_embeddings", c.tie_word_embeddings},
                     {"torch_dtype", c.torch_dtype},
                     {"transformers_version", "4.51.0"},
                     {"use_cache", true},
                     {"use_sliding_window", false},
                     {"vocab_size", c.vocab_size}};
  return c;
}

struct Preset {
  std::string_view name;
  ModelConfig (*make)(const Shape&);
  Shape shape;
};

// Qwen2.5-0.5B/1.5B-Instruct and Qwen3-0.6B/1.7B/4B/8B, and a tiny model of
// each architecture whose rows all fit every quant block; qwen3-tiny's
// head_dim (128) is not hidden / heads (64), as in the real Qwen3 shapes.
const Preset kPresets[] = {
    {"tiny", qwen2, {256, 2, 4, 2, 512, 4096}},
    {"0.5b", qwen2, {896, 24, 14, 2, 4864, 32768}},
    {"1.5b", qwen2, {1536, 28, 12, 2, 8960, 32768}},
    {"qwen3-tiny", qwen3, {256, 2, 4, 2, 512, 4096, 128}},
    {"qwen3-0.6b", qwen3, {1024, 28, 16, 8, 3072, 40960, 128}},
    {"qwen3-1.7b", qwen3, {2048, 28, 16, 8, 6144, 40960, 128}},
    {"qwen3-4b", qwen3, {2560, 36, 32, 8, 9728, 40960, 128}},
    {"qwen3-8b", qwen3, {4096, 36, 32, 8, 12288, 40960, 128, /*tied=*/false}},
};

// splitmix64: a small, fast, well-mixed generator; one stream per tensor so
// the output does not depend on write order.
struct Random {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  // Two normal samples per call (Box-Muller).
  void normal_pair(float& a, float& b) {
    double r = std::sqrt(-2.0 * std::log(uniform())), t = 6.283185307179586 * uniform();
    a = static_cast<float>(r * std::cos(t));
    b = static_cast<float>(r * std::sin(t));
  }
};

uint64_t tensor_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

void append_value(std::string& out, float v, DType dtype) {
  switch (dtype) {
    case DType::F32: {
      char b[4];
      std::memcpy(b, &v, 4);
      out.append(b, 4);
      break;
    }
    case DType::F16:
    case DType::BF16: {
      uint16_t h = dtype == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
      out.push_back(static_cast<char>(h & 0xFF));
      out.push_back(static_cast<char>(h >> 8));
      break;
    }
    default: throw Error("init-base: unsupported dtype");
  }
}

bool ends_with(const std::string& s, std::string_view end) {
  return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

// Weights ~ N(0, std^2) (HF's initializer_range 0.02), biases small, norms 1
// but for the per-head q/k norms, which are 1 + N(0, 0.2^2): weights of
// all ones would let a test miss a q norm applied to k.
void generate(std::string& out, const std::string& name, int64_t count, uint64_t seed, DType dtype) {
  Random rng{tensor_seed(seed, name)};
  const bool head_norm = ends_with(name, "q_norm.weight") || ends_with(name, "k_norm.weight");
  const bool norm = !head_norm && name.find("norm") != std::string::npos;
  const float scale = name.find(".bias") != std::string::npos ? 0.1f : head_norm ? 0.2f : 0.02f;
  const float offset = head_norm ? 1.0f : 0.0f;
  out.reserve(out.size() + static_cast<size_t>(count) * dtype_size(dtype));
  for (int64_t i = 0; i < count; i += 2) {
    float a, b;
    rng.normal_pair(a, b);
    append_value(out, norm ? 1.0f : offset + a * scale, dtype);
    if (i + 1 < count) append_value(out, norm ? 1.0f : offset + b * scale, dtype);
  }
}

std::string dtype_torch_name(DType dtype) {
  return dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16";
}

}  // namespace

std::optional<ModelConfig> preset_config(std::string_view preset) {
  for (const auto& p : kPresets)
    if (p.name == preset) return p.make(p.shape);
  return std::nullopt;
}

std::vector<std::string> preset_names() {
  std::vector<std::string> out;
  for (const auto& p : kPresets) out.emplace_back(p.name);
  return out;
}

std::string_view chat_jinja_template(const ModelConfig& config) {
  if (config.model_type != "qwen3")
    return "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
           "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  // Qwen3's rules without tools: no default system prompt; an assistant turn
  // loses its think block unless it comes after the last user turn (and is
  // the last turn or has reasoning); enable_thinking=false adds an empty
  // think block to the generation prompt.
  return "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}{%- endif %}"
         "{%- set ns = namespace(last_user=-1) %}"
         "{%- for message in messages %}{%- if message.role == 'user' %}{%- set ns.last_user = loop.index0 %}{%- endif %}"
         "{%- endfor %}"
         "{%- for message in messages %}"
         "{%- if message.role == 'assistant' %}"
         "{%- set content = message.content %}{%- set reasoning = '' %}"
         "{%- if '</think>' in content %}"
         "{%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}"
         "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
         "{%- if loop.index0 > ns.last_user and (loop.last or reasoning) %}"
         "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}"
         "{%- else %}{{- '<|im_start|>assistant\\n' + content }}{%- endif %}"
         "{{- '<|im_end|>\\n' }}"
         "{%- elif not (loop.first and message.role == 'system') %}"
         "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}"
         "{%- endfor %}"
         "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
         "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
         "{%- endif %}";
}

void init_base_model(const InitBaseOptions& options) {
  auto config = preset_config(options.preset);
  if (!config) {
    std::string names;
    for (const auto& name : preset_names()) names += (names.empty() ? "" : ", ") + name;
    throw Error("init-base: unknown preset \"" + options.preset + "\" (" + names + ")", ExitCode::usage);
  }
  write_random_model(*config, options);
}

void write_random_model(const ModelConfig& preset, const InitBaseOptions& options) {
  ModelConfig config = preset;
  if (options.dtype != DType::BF16 && options.dtype != DType::F16 && options.dtype != DType::F32)
    throw Error("init-base: --dtype must be bf16, f16 or f32", ExitCode::usage);
  // The tokenizer is read (and so checked) before anything is written.
  const std::string tokenizer = base::read_file(options.tokenizer_json);
  // Plain (sorted) json: the order-preserving type is quadratic on a 151k-entry vocab.
  nlohmann::json tokenizer_doc = nlohmann::json::parse(tokenizer, nullptr, /*allow_exceptions=*/false);
  if (tokenizer_doc.is_discarded()) throw Error(options.tokenizer_json.string() + ": invalid JSON");
  if (!tokenizer_doc.contains("model") || !tokenizer_doc["model"].contains("vocab"))
    throw Error(options.tokenizer_json.string() + ": not a tokenizer.json (no model.vocab)");
  config.torch_dtype = dtype_torch_name(options.dtype);

  std::error_code ec;
  fs::create_directories(options.out, ec);
  if (ec) throw Error(options.out.string() + ": cannot create directory: " + ec.message(), ExitCode::io);

  const ModelConfig& c = config;
  const Architecture* arch = architecture_from_hf(c.architecture, c.model_type);
  if (!arch) throw Error("init-base: architecture \"" + c.architecture + "\" is not one of " + hf_architecture_names());
  const int64_t h = c.hidden_size, hd = c.head_dim();
  const int64_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd, ff = c.intermediate_size;
  struct Spec {
    std::string name;
    std::vector<int64_t> shape;
  };
  // In the order transformers writes them.
  std::vector<Spec> specs = {{"model.embed_tokens.weight", {c.vocab_size, h}}};
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    specs.push_back({p + "input_layernorm.weight", {h}});
    for (const auto& [name, rows] : {std::pair{"q", q}, {"k", kv}, {"v", kv}}) {
      specs.push_back({p + "self_attn." + name + "_proj.weight", {rows, h}});
      if (arch->qkv_bias) specs.push_back({p + "self_attn." + name + "_proj.bias", {rows}});
    }
    if (arch->qk_norm) {
      specs.push_back({p + "self_attn.q_norm.weight", {hd}});
      specs.push_back({p + "self_attn.k_norm.weight", {hd}});
    }
    specs.push_back({p + "self_attn.o_proj.weight", {h, q}});
    specs.push_back({p + "post_attention_layernorm.weight", {h}});
    specs.push_back({p + "mlp.gate_proj.weight", {ff, h}});
    specs.push_back({p + "mlp.up_proj.weight", {ff, h}});
    specs.push_back({p + "mlp.down_proj.weight", {h, ff}});
  }
  specs.push_back({"model.norm.weight", {h}});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, h}});

  std::unique_ptr<base::Progress> progress;
  if (options.progress) progress = std::make_unique<base::Progress>("init-base", specs.size(), "tensors");
  SafetensorsWriter writer;
  for (const auto& spec : specs) {
    int64_t count = 1;
    for (auto d : spec.shape) count *= d;
    writer.add(spec.name, options.dtype, spec.shape, [&, name = spec.name, count](std::string& out) {
      generate(out, name, count, options.seed, options.dtype);
      if (progress) progress->advance(1);
    });
  }
  writer.write(options.out / "model.safetensors");
  if (progress) progress->done();

  write_model_config(options.out, c);
  base::write_file_atomic(options.out / "tokenizer.json", tokenizer);
  json::Json tokenizer_config = {{"add_bos_token", false},
                                 {"bos_token", nullptr},
                                 {"eos_token", "<|im_end|>"},
                                 {"pad_token", "<|endoftext|>"},
                                 {"model_max_length", c.max_position_embeddings},
                                 {"tokenizer_class", "Qwen2Tokenizer"},
                                 {"chat_template", std::string(chat_jinja_template(c))}};
  base::write_file_atomic(options.out / "tokenizer_config.json", tokenizer_config.dump(2) + "\n");
  // Qwen2: the seed's sampling defaults; Qwen3: the published model's.
  json::Json generation = {{"bos_token_id", 151643}, {"eos_token_id", {151645, 151643}}, {"pad_token_id", 151643},
                           {"do_sample", true}};
  if (c.model_type == "qwen3") {
    generation.update({{"temperature", 0.6}, {"top_k", 20}, {"top_p", 0.95}});
  } else {
    generation.update({{"temperature", 0.45}, {"top_p", 0.9}, {"max_new_tokens", 150}});
  }
  base::write_file_atomic(options.out / "generation_config.json", generation.dump(2) + "\n");
}

}  // namespace josi::formats
