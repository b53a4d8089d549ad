#include "formats/base_model_init.hpp"

#include <cmath>
#include <cstring>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/progress.hpp"
#include "formats/safetensors.hpp"
#include "json/json.hpp"

namespace josi::formats {

namespace fs = std::filesystem;

namespace {

ModelConfig qwen2(int64_t hidden, int64_t layers, int64_t heads, int64_t kv_heads, int64_t ff, int64_t context) {
  ModelConfig c;
  c.architecture = "Qwen2ForCausalLM";
  c.model_type = "qwen2";
  c.hidden_size = hidden;
  c.intermediate_size = ff;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.max_position_embeddings = context;
  c.vocab_size = 151936;  // Qwen2.5's embedding rows (the tokenizer's 151,665 tokens padded)
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6;
  c.tie_word_embeddings = true;
  c.torch_dtype = "bfloat16";
  c.bos_token_id = 151643;
  c.eos_token_ids = {151645};
  return c;
}

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

// Weights ~ N(0, std^2) (HF's initializer_range 0.02), norms 1, biases small.
void generate(std::string& out, const std::string& name, int64_t count, uint64_t seed, DType dtype) {
  Random rng{tensor_seed(seed, name)};
  const bool norm = name.find("norm") != std::string::npos;
  const float scale = name.find(".bias") != std::string::npos ? 0.1f : 0.02f;
  out.reserve(out.size() + static_cast<size_t>(count) * dtype_size(dtype));
  for (int64_t i = 0; i < count; i += 2) {
    float a, b;
    rng.normal_pair(a, b);
    append_value(out, norm ? 1.0f : a * scale, dtype);
    if (i + 1 < count) append_value(out, norm ? 1.0f : b * scale, dtype);
  }
}

std::string dtype_torch_name(DType dtype) {
  return dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16";
}

}  // namespace

std::optional<ModelConfig> preset_config(std::string_view preset) {
  if (preset == "tiny") return qwen2(256, 2, 4, 2, 512, 4096);
  if (preset == "0.5b") return qwen2(896, 24, 14, 2, 4864, 32768);
  if (preset == "1.5b") return qwen2(1536, 28, 12, 2, 8960, 32768);
  return std::nullopt;
}

std::string_view chatml_jinja_template() {
  return "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
         "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
}

void init_base_model(const InitBaseOptions& options) {
  auto config = preset_config(options.preset);
  if (!config) throw Error("init-base: unknown preset \"" + options.preset + "\" (tiny, 0.5b or 1.5b)", ExitCode::usage);
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
  const int64_t h = c.hidden_size, hd = c.head_dim();
  const int64_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd, ff = c.intermediate_size;
  struct Spec {
    std::string name;
    std::vector<int64_t> shape;
  };
  std::vector<Spec> specs = {{"model.embed_tokens.weight", {c.vocab_size, h}}};
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    specs.push_back({p + "input_layernorm.weight", {h}});
    specs.push_back({p + "self_attn.q_proj.weight", {q, h}});
    specs.push_back({p + "self_attn.q_proj.bias", {q}});
    specs.push_back({p + "self_attn.k_proj.weight", {kv, h}});
    specs.push_back({p + "self_attn.k_proj.bias", {kv}});
    specs.push_back({p + "self_attn.v_proj.weight", {kv, h}});
    specs.push_back({p + "self_attn.v_proj.bias", {kv}});
    specs.push_back({p + "self_attn.o_proj.weight", {h, q}});
    specs.push_back({p + "post_attention_layernorm.weight", {h}});
    specs.push_back({p + "mlp.gate_proj.weight", {ff, h}});
    specs.push_back({p + "mlp.up_proj.weight", {ff, h}});
    specs.push_back({p + "mlp.down_proj.weight", {h, ff}});
  }
  specs.push_back({"model.norm.weight", {h}});

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
                                 {"chat_template", std::string(chatml_jinja_template())}};
  base::write_file_atomic(options.out / "tokenizer_config.json", tokenizer_config.dump(2) + "\n");
  json::Json generation = {{"bos_token_id", 151643}, {"eos_token_id", {151645, 151643}},
                           {"pad_token_id", 151643}, {"do_sample", true},
                           {"temperature", 0.45},    {"top_p", 0.9},
                           {"max_new_tokens", 150}};
  base::write_file_atomic(options.out / "generation_config.json", generation.dump(2) + "\n");
}

}  // namespace josi::formats
