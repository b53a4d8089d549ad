#include "quant/hf_to_gguf.hpp"

#include <cstring>
#include <map>
#include <optional>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/progress.hpp"
#include "formats/architecture.hpp"
#include "formats/gguf.hpp"
#include "formats/hf_config.hpp"
#include "formats/peft_adapter.hpp"
#include "formats/safetensors.hpp"
#include "formats/tensor_names.hpp"
#include "json/json.hpp"
#include "quant/block_quant.hpp"
#include "text/vocabulary.hpp"

namespace josi::quant {

namespace fs = std::filesystem;
using formats::DType;
using formats::GgmlType;
using formats::GgufValue;
using formats::ModelConfig;
using formats::TensorView;

namespace {

using formats::Architecture;

const Architecture& architecture_of(const ModelConfig& config, const fs::path& dir) {
  const Architecture* arch = formats::architecture_from_hf(config.architecture);
  if (!arch)
    throw Error((dir / "config.json").string() + ": architecture \"" + config.architecture +
                "\" is not supported (expected " + formats::hf_architecture_names() + ")");
  return *arch;
}

// One tensor to write: its GGUF name, the HF source and the expected HF shape.
struct Planned {
  std::string gguf_name;
  const TensorView* source;
  std::vector<int64_t> hf_shape;
  int64_t permute_heads = 0;  // > 0: apply the llama Q/K permutation with this many heads
};

std::vector<Planned> plan_tensors(const ModelConfig& c, const Architecture& arch, const formats::SafetensorsModel& weights,
                                  const fs::path& dir) {
  const int64_t h = c.hidden_size, ff = c.intermediate_size, hd = c.head_dim();
  const int64_t q_out = c.num_attention_heads * hd, kv_out = c.num_key_value_heads * hd;
  std::vector<Planned> plan;
  auto add = [&](const std::string& gguf, std::vector<int64_t> shape, int64_t permute = 0) {
    const std::string hf = *formats::hf_tensor_name(gguf);
    const TensorView* t = weights.find(hf);
    if (!t) throw Error(dir.string() + ": missing tensor " + hf);
    if (t->shape != shape) {
      std::string got, want;
      for (auto d : t->shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      for (auto d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
      throw Error(dir.string() + ": tensor " + hf + " has shape [" + got + "], config.json implies [" + want + "]");
    }
    if (t->dtype != DType::F32 && t->dtype != DType::F16 && t->dtype != DType::BF16)
      throw Error(dir.string() + ": tensor " + hf + " has dtype " + std::string(formats::dtype_name(t->dtype)) +
                  " (expected F32, F16 or BF16)");
    plan.push_back({gguf, t, std::move(shape), permute});
  };
  add("token_embd.weight", {c.vocab_size, h});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string gg = "blk." + std::to_string(i) + ".";
    add(gg + "attn_norm.weight", {h});
    add(gg + "attn_q.weight", {q_out, h}, arch.permute_qk ? c.num_attention_heads : 0);
    add(gg + "attn_k.weight", {kv_out, h}, arch.permute_qk ? c.num_key_value_heads : 0);
    add(gg + "attn_v.weight", {kv_out, h});
    if (arch.qkv_bias) {
      add(gg + "attn_q.bias", {q_out});
      add(gg + "attn_k.bias", {kv_out});
      add(gg + "attn_v.bias", {kv_out});
    }
    if (arch.qk_norm) {
      add(gg + "attn_q_norm.weight", {hd});
      add(gg + "attn_k_norm.weight", {hd});
    }
    add(gg + "attn_output.weight", {h, q_out});
    add(gg + "ffn_norm.weight", {h});
    add(gg + "ffn_gate.weight", {ff, h});
    add(gg + "ffn_up.weight", {ff, h});
    add(gg + "ffn_down.weight", {h, ff});
  }
  add("output_norm.weight", {h});
  // Tied models reuse token_embd as the output; a redundant lm_head copy is dropped.
  if (!c.tie_word_embeddings) add("output.weight", {c.vocab_size, h});
  return plan;
}

// The source tensor as f32, rows permuted for llama Q/K: HF's [heads, 2, d/2, in]
// becomes [heads, d/2, 2, in], so RoPE pairs adjacent dimensions.
std::vector<float> load_f32(const Planned& p) {
  const TensorView& t = *p.source;
  const size_t n = static_cast<size_t>(t.numel());
  std::vector<float> out(n);
  const uint8_t* src = t.data;
  for (size_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::F32: {
        float v;
        std::memcpy(&v, src + 4 * i, 4);
        out[i] = v;
        break;
      }
      case DType::F16: out[i] = formats::f16_to_f32(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8))); break;
      default: out[i] = formats::bf16_to_f32(static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8))); break;
    }
  }
  if (p.permute_heads > 0) {
    const size_t cols = static_cast<size_t>(p.hf_shape[1]);
    const size_t rows_per_head = static_cast<size_t>(p.hf_shape[0] / p.permute_heads), half = rows_per_head / 2;
    std::vector<float> permuted(n);
    for (size_t head = 0; head < static_cast<size_t>(p.permute_heads); ++head)
      for (size_t j = 0; j < half; ++j)
        for (size_t k = 0; k < 2; ++k) {
          size_t from = head * rows_per_head + k * half + j;  // [head, k, j]
          size_t to = head * rows_per_head + j * 2 + k;       // [head, j, k]
          std::memcpy(&permuted[to * cols], &out[from * cols], cols * sizeof(float));
        }
    out.swap(permuted);
  }
  return out;
}

GgmlType tensor_type(const Planned& p, GgmlType outtype) {
  if (p.hf_shape.size() < 2) return GgmlType::F32;  // norms and biases stay exact
  const uint64_t row = static_cast<uint64_t>(p.hf_shape.back());
  return formats::ggml_row_bytes(outtype, row) ? outtype : GgmlType::F16;
}

uint32_t file_type_id(GgmlType outtype) {
  switch (outtype) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q8_0: return 7;
    case GgmlType::BF16: return 32;
    default: throw Error("export-gguf: --outtype must be f32, f16, bf16 or q8_0");
  }
}

std::string text_field(const json::Json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"];
  return "";
}

void add_tokenizer(formats::GgufWriter& w, const fs::path& dir, const ModelConfig& c, const std::string& arch) {
  const fs::path tokenizer_json = dir / "tokenizer.json";
  if (!fs::exists(tokenizer_json)) throw Error(dir.string() + ": missing tokenizer.json");
  text::Vocabulary vocab = text::vocabulary_from_tokenizer_json(tokenizer_json);
  if (static_cast<int64_t>(vocab.tokens.size()) > c.vocab_size)
    throw Error(tokenizer_json.string() + ": " + std::to_string(vocab.tokens.size()) +
                " tokens do not fit the embedding's " + std::to_string(c.vocab_size) + " rows");
  std::vector<std::string> tokens = vocab.tokens;
  std::vector<int32_t> types;
  for (auto t : vocab.types) types.push_back(static_cast<int32_t>(t));
  // llama.cpp expects one token per embedding row; unused rows become padding.
  for (auto id = static_cast<int64_t>(tokens.size()); id < c.vocab_size; ++id) {
    tokens.push_back("[PAD" + std::to_string(id) + "]");
    types.push_back(static_cast<int32_t>(text::TokenType::unused));
  }
  w.set("tokenizer.ggml.model", GgufValue::string("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::string(vocab.pre));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  w.set("tokenizer.ggml.merges", GgufValue::string_array(vocab.merges));

  json::Json tokenizer_config = json::Json::object();
  if (fs::exists(dir / "tokenizer_config.json"))
    tokenizer_config = json::parse(base::read_file(dir / "tokenizer_config.json"), (dir / "tokenizer_config.json").string());
  auto id_of = [&](const std::string& content) -> std::optional<int32_t> {
    for (const auto& a : vocab.added)
      if (a.content == content) return a.id;
    return std::nullopt;
  };
  // Instruct models end a turn with <|im_end|>; <|endoftext|> pads and begins.
  std::string eos = text_field(tokenizer_config, "eos_token");
  std::string pad = text_field(tokenizer_config, "pad_token");
  auto eos_id = id_of(eos.empty() ? "<|im_end|>" : eos);
  if (!eos_id && !c.eos_token_ids.empty()) eos_id = static_cast<int32_t>(c.eos_token_ids.front());
  if (eos_id) w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(static_cast<uint32_t>(*eos_id)));
  auto pad_id = id_of(pad.empty() ? "<|endoftext|>" : pad);
  if (pad_id) w.set("tokenizer.ggml.padding_token_id", GgufValue::u32(static_cast<uint32_t>(*pad_id)));
  auto bos_id = c.bos_token_id >= 0 ? std::optional<int32_t>(static_cast<int32_t>(c.bos_token_id)) : id_of("<|endoftext|>");
  if (bos_id) w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(static_cast<uint32_t>(*bos_id)));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(arch == "llama" && tokenizer_config.value("add_bos_token", false)));
  if (auto it = tokenizer_config.find("chat_template"); it != tokenizer_config.end() && it->is_string())
    w.set("tokenizer.chat_template", GgufValue::string(it->get<std::string>()));
}

// Declares `p`'s tensor in `type`; its bytes are produced when the file is written.
void add_planned(formats::GgufWriter& w, const Planned& p, GgmlType type, base::Progress* progress) {
  std::vector<uint64_t> dims(p.hf_shape.rbegin(), p.hf_shape.rend());  // GGUF: row length first
  w.add_tensor(p.gguf_name, dims, type, [&p, type, dims, progress](std::string& out) {
    std::vector<float> values = load_f32(p);
    const uint64_t row = dims[0];
    const size_t row_bytes = *formats::ggml_row_bytes(type, row);
    const size_t rows = values.size() / row;
    const size_t start = out.size();
    out.resize(start + rows * row_bytes);
    for (size_t r = 0; r < rows; ++r)
      quantize_row(type, values.data() + r * row, out.data() + start + r * row_bytes, static_cast<int64_t>(row));
    if (progress) progress->advance(1, p.gguf_name);
  });
}

// Declares every planned tensor in `outtype` (tensor_type), writes the file
// and sums up what it holds.
ExportSummary write_planned(formats::GgufWriter& w, const std::vector<Planned>& plan, GgmlType outtype,
                            const std::string& architecture, const fs::path& outfile, bool show_progress) {
  ExportSummary summary;
  summary.architecture = architecture;
  summary.tensors = plan.size();
  std::unique_ptr<base::Progress> progress;
  if (show_progress) progress = std::make_unique<base::Progress>("export-gguf", plan.size(), "tensors");
  for (const Planned& p : plan) {
    summary.parameters += static_cast<uint64_t>(p.source->numel());
    add_planned(w, p, tensor_type(p, outtype), progress.get());
  }
  w.write(outfile);
  if (progress) progress->done();
  summary.bytes = fs::file_size(outfile);
  return summary;
}

// The base's shape, so a reader can tell an adapter for another base before
// comparing tensors.
void add_base_shape(formats::GgufWriter& w, const std::string& a, const ModelConfig& config) {
  w.set(a + ".block_count", GgufValue::u32(static_cast<uint32_t>(config.num_hidden_layers)));
  w.set(a + ".embedding_length", GgufValue::u32(static_cast<uint32_t>(config.hidden_size)));
  w.set(a + ".feed_forward_length", GgufValue::u32(static_cast<uint32_t>(config.intermediate_size)));
  w.set(a + ".attention.head_count", GgufValue::u32(static_cast<uint32_t>(config.num_attention_heads)));
  w.set(a + ".attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(config.num_key_value_heads)));
  // An explicit head_dim (Qwen3's 128) as llama.cpp's converter writes it:
  // its loader takes hidden / heads otherwise.
  if (config.explicit_head_dim > 0) {
    w.set(a + ".attention.key_length", GgufValue::u32(static_cast<uint32_t>(config.head_dim())));
    w.set(a + ".attention.value_length", GgufValue::u32(static_cast<uint32_t>(config.head_dim())));
  }
}

}  // namespace

ExportSummary export_gguf(const fs::path& model_dir, const fs::path& outfile, const ExportOptions& options) {
  base::check_output_path(outfile);
  const ModelConfig config = formats::read_model_config(model_dir);
  const Architecture& arch = architecture_of(config, model_dir);
  const uint32_t file_type = file_type_id(options.outtype);
  const formats::SafetensorsModel weights(model_dir);
  const std::vector<Planned> plan = plan_tensors(config, arch, weights, model_dir);

  formats::GgufWriter w(3);
  const std::string a(arch.gguf_name);
  std::string name = options.name.empty() ? fs::absolute(model_dir).lexically_normal().filename().string() : options.name;
  if (name.empty()) name = fs::absolute(model_dir).lexically_normal().parent_path().filename().string();
  w.set("general.architecture", GgufValue::string(a));
  w.set("general.name", GgufValue::string(name));
  w.set("general.file_type", GgufValue::u32(file_type));
  formats::set_trained_as(w, options.trained_as);
  if (options.outtype == GgmlType::Q8_0) w.set("general.quantization_version", GgufValue::u32(2));
  w.set(a + ".context_length", GgufValue::u32(static_cast<uint32_t>(config.max_position_embeddings)));
  add_base_shape(w, a, config);
  w.set(a + ".rope.freq_base", GgufValue::f32(static_cast<float>(config.rope_theta)));
  w.set(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(static_cast<float>(config.rms_norm_eps)));
  if (a == "llama") {
    w.set(a + ".rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(config.head_dim())));
    w.set(a + ".vocab_size", GgufValue::u32(static_cast<uint32_t>(config.vocab_size)));
  }
  add_tokenizer(w, model_dir, config, a);

  return write_planned(w, plan, options.outtype, a, outfile, options.progress);
}

}  // namespace josi::quant

namespace josi::quant {

namespace {

// PEFT module -> GGUF projection, and the heads of llama's Q/K permutation.
struct AdaptedModule {
  const char* peft;
  const char* gguf;
};
constexpr AdaptedModule kModules[] = {{"q_proj", "attn_q"},      {"k_proj", "attn_k"},   {"v_proj", "attn_v"},
                                      {"o_proj", "attn_output"}, {"gate_proj", "ffn_gate"}, {"up_proj", "ffn_up"},
                                      {"down_proj", "ffn_down"}};

}  // namespace

ExportSummary export_lora_gguf(const fs::path& adapter_dir, const fs::path& outfile, const LoraExportOptions& options) {
  base::check_output_path(outfile);
  if (options.outtype != GgmlType::F32 && options.outtype != GgmlType::F16)
    throw Error("export-gguf --lora: --outtype must be f32 or f16 (an adapter stays at full precision)", ExitCode::usage);
  const formats::PeftAdapter adapter(adapter_dir);
  fs::path base = options.base;
  if (base.empty()) {
    base = adapter.config().base_model_name_or_path;
    if (base.empty() || !fs::exists(base / "config.json"))
      throw Error((adapter_dir / "adapter_config.json").string() + ": base_model_name_or_path \"" + base.string() +
                      "\" is not a local model directory; pass --base DIR",
                  ExitCode::usage);
  }
  const ModelConfig config = formats::read_model_config(base);
  const Architecture& arch = architecture_of(config, base);
  const int64_t h = config.hidden_size, ff = config.intermediate_size, hd = config.head_dim();
  const int64_t q_out = config.num_attention_heads * hd, kv_out = config.num_key_value_heads * hd;

  formats::GgufWriter w(3);
  const std::string a(arch.gguf_name);
  std::string name = options.name.empty() ? fs::absolute(adapter_dir).lexically_normal().filename().string() : options.name;
  w.set("general.architecture", GgufValue::string(a));
  w.set("general.type", GgufValue::string("adapter"));
  w.set("general.name", GgufValue::string(name));
  w.set("adapter.type", GgufValue::string("lora"));
  w.set("adapter.lora.alpha", GgufValue::f32(static_cast<float>(adapter.config().lora_alpha)));
  formats::set_trained_as(w, options.trained_as);
  add_base_shape(w, a, config);

  std::vector<Planned> plan;
  for (const auto& pair : adapter.pairs()) {
    const AdaptedModule* module = nullptr;
    for (const auto& m : kModules)
      if (pair.module == m.peft) module = &m;
    if (!module) throw Error(adapter_dir.string() + ": the adapter adapts " + pair.module + ", which Josi's engine does not");
    const std::string m = pair.module;
    const int64_t in = m == "o_proj" ? q_out : m == "down_proj" ? ff : h;
    const int64_t out = m == "q_proj" ? q_out : m == "k_proj" || m == "v_proj" ? kv_out : m == "gate_proj" || m == "up_proj" ? ff : h;
    const int64_t r = pair.a->shape[0];
    if (pair.layer >= config.num_hidden_layers || pair.a->shape != std::vector<int64_t>{r, in} ||
        pair.b->shape != std::vector<int64_t>{out, r})
      throw Error(adapter_dir.string() + ": " + pair.base_weight + "'s factors do not fit the base " + base.string() +
                  " (an adapter for another base?)");
    const std::string gg = "blk." + std::to_string(pair.layer) + "." + module->gguf + ".weight.";
    const int64_t permute = !arch.permute_qk        ? 0
                            : m == "q_proj"         ? config.num_attention_heads
                            : m == "k_proj"         ? config.num_key_value_heads
                                                    : 0;
    plan.push_back({gg + "lora_a", pair.a, {r, in}, 0});
    plan.push_back({gg + "lora_b", pair.b, {out, r}, permute});  // B's rows are the base's output rows
  }
  return write_planned(w, plan, options.outtype, a, outfile, options.progress);
}

}  // namespace josi::quant
