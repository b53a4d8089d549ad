#include "infer/model.hpp"

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/mapped_file.hpp"
#include "base/thread_pool.hpp"
#include "formats/architecture.hpp"
#include "formats/hf_config.hpp"
#include "formats/safetensors.hpp"
#include "formats/tensor_names.hpp"
#include "kernels/matmul.hpp"
#include "quant/block_quant.hpp"

namespace josi::infer {
namespace {

using formats::GgmlType;
using formats::GgufFile;

int64_t positive(const GgufFile& file, const std::string& key) {
  const auto v = file.at(key).as_uint(key);
  if (v == 0 || v > (1ull << 31)) {
    throw Error(fmt::format("{}: metadata {} = {} is out of range", file.path().string(), key, v));
  }
  return static_cast<int64_t>(v);
}

float positive_float(const GgufFile& file, const std::string& key, float fallback) {
  const auto* v = file.find(key);
  if (!v) return fallback;
  const double x = v->as_float(key);
  if (!(x > 0) || x > 1e12) throw Error(fmt::format("{}: metadata {} = {} is out of range", file.path().string(), key, x));
  return static_cast<float>(x);
}

// head_dim: the file's explicit one, or 0 for n_embd / n_head.
HParams check_shape(HParams h, int64_t head_dim, const std::string& where) {
  if (h.n_head % h.n_head_kv != 0)
    throw Error(fmt::format("{}: {} KV heads do not divide {} heads", where, h.n_head_kv, h.n_head));
  if (head_dim == 0 && h.n_embd % h.n_head != 0)
    throw Error(fmt::format("{}: {} heads do not divide the embedding length {}", where, h.n_head, h.n_embd));
  h.head_dim = head_dim ? head_dim : h.n_embd / h.n_head;
  if (h.head_dim % 2 != 0) throw Error(fmt::format("{}: head size {} is odd", where, h.head_dim));
  return h;
}

const formats::Architecture& known_architecture(const formats::Architecture* arch, const std::string& where,
                                                const std::string& name, const std::string& known) {
  if (!arch) throw Error(fmt::format("{}: architecture '{}' is not supported (the engine runs {})", where, name, known));
  return *arch;
}

HParams read_hparams(const GgufFile& file) {
  HParams h;
  const std::string where = file.path().string();
  const std::string key = "general.architecture";
  const std::string name = file.at(key).as_string(key);
  const auto& arch = known_architecture(formats::architecture_from_gguf(name), where, name,
                                        formats::gguf_architecture_names());
  h.architecture = std::string(arch.gguf_name);
  h.qk_norm = arch.qk_norm;
  const std::string a = h.architecture + ".";
  h.n_embd = positive(file, a + "embedding_length");
  h.n_layer = positive(file, a + "block_count");
  h.n_ff = positive(file, a + "feed_forward_length");
  h.n_head = positive(file, a + "attention.head_count");
  h.n_head_kv = file.find(a + "attention.head_count_kv") ? positive(file, a + "attention.head_count_kv") : h.n_head;
  h.n_ctx_train = positive(file, a + "context_length");
  h.rope_freq_base = positive_float(file, a + "rope.freq_base", 10000.0f);
  h.rms_eps = positive_float(file, a + "attention.layer_norm_rms_epsilon", 1e-6f);
  h.rope = arch.permute_qk ? RopeStyle::interleaved : RopeStyle::neox;
  // An explicit head size (Qwen3), keys and values alike.
  const int64_t key_length = file.find(a + "attention.key_length") ? positive(file, a + "attention.key_length") : 0;
  const int64_t value_length = file.find(a + "attention.value_length") ? positive(file, a + "attention.value_length") : key_length;
  if (value_length != key_length)
    throw Error(fmt::format("{}: keys of {} and values of {} dimensions per head are not supported", where,
                            key_length ? key_length : h.n_embd / h.n_head, value_length));
  h = check_shape(h, key_length, where);
  if (const auto* rope_dims = file.find(a + "rope.dimension_count");
      rope_dims && static_cast<int64_t>(rope_dims->as_uint(a + "rope.dimension_count")) != h.head_dim) {
    throw Error(fmt::format("{}: partial RoPE ({} of {} dimensions) is not supported", where,
                            rope_dims->as_uint(a + "rope.dimension_count"), h.head_dim));
  }
  return h;
}

std::string shape(const std::vector<uint64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

// A Hugging Face directory: its config and its safetensors.
struct Model::Directory {
  formats::ModelConfig config;
  formats::SafetensorsModel weights;
};

Model::Model(const std::filesystem::path& path) : path_(path) {
  if (std::filesystem::is_directory(path)) {
    open_directory();
  } else {
    open_gguf();
  }
  read_weights();
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;

void Model::open_gguf() {
  gguf_ = std::make_unique<GgufFile>(path_);
  hparams_ = read_hparams(*gguf_);
  const std::string key = "tokenizer.ggml.eos_token_id";
  if (const auto* eos = gguf_->find(key)) eos_tokens_.push_back(static_cast<int32_t>(eos->as_uint(key)));
  file_bytes_ = gguf_->file().size();
}

void Model::open_directory() {
  formats::ModelConfig config = formats::read_model_config(path_);
  HParams& h = hparams_;
  const std::string where = (path_ / "config.json").string();
  const auto& arch = known_architecture(formats::architecture_from_hf(config.architecture), where, config.architecture,
                                        formats::hf_architecture_names());
  h.architecture = std::string(arch.gguf_name);
  h.qk_norm = arch.qk_norm;
  h.n_embd = config.hidden_size;
  h.n_layer = config.num_hidden_layers;
  h.n_ff = config.intermediate_size;
  h.n_head = config.num_attention_heads;
  h.n_head_kv = config.num_key_value_heads;
  h.n_ctx_train = config.max_position_embeddings;
  h.rope_freq_base = static_cast<float>(config.rope_theta);
  h.rms_eps = static_cast<float>(config.rms_norm_eps);
  // Hugging Face checkpoints (llama's too) keep Q and K in rotate-half order.
  h.rope = RopeStyle::neox;
  h = check_shape(h, config.explicit_head_dim, where);
  for (int64_t id : config.eos_token_ids) eos_tokens_.push_back(static_cast<int32_t>(id));
  directory_ = std::make_unique<Directory>(Directory{std::move(config), formats::SafetensorsModel(path_)});
  for (const auto* t : directory_->weights.tensors()) file_bytes_ += t->nbytes;
}

void Model::release_metadata(const std::string& key) {
  if (gguf_) gguf_->release(key);
}

std::optional<TensorRef> Model::tensor(const std::string& name) const {
  if (gguf_) {
    const auto* t = gguf_->find_tensor(name);
    if (!t) return std::nullopt;
    return TensorRef{t->type, gguf_->tensor_data(*t), t->dims};
  }
  const auto hf = formats::hf_tensor_name(name);
  const auto* t = hf ? directory_->weights.find(*hf) : nullptr;
  if (!t) return std::nullopt;
  GgmlType type;
  switch (t->dtype) {
    case formats::DType::F32: type = GgmlType::F32; break;
    case formats::DType::F16: type = GgmlType::F16; break;
    case formats::DType::BF16: type = GgmlType::BF16; break;
    default:
      throw Error(fmt::format("{}: tensor {} has dtype {}, which the engine cannot read", path_.string(), *hf,
                              formats::dtype_name(t->dtype)));
  }
  return TensorRef{type, t->data, std::vector<uint64_t>(t->shape.rbegin(), t->shape.rend())};
}

void Model::read_weights() {
  const auto& h = hparams_;
  const auto embd = tensor("token_embd.weight");
  if (!embd) throw Error(fmt::format("{}: missing tensor token_embd.weight", path_.string()));
  if (embd->dims.size() != 2 || embd->dims[0] != static_cast<uint64_t>(h.n_embd)) {
    throw Error(fmt::format("{}: token_embd.weight has shape {}, expected [{}, vocab]", path_.string(), shape(embd->dims),
                            h.n_embd));
  }
  hparams_.n_vocab = static_cast<int64_t>(embd->dims[1]);
  token_embd_ = weight("token_embd.weight", h.n_vocab, h.n_embd);
  if (!quant::can_dequantize(token_embd_.type)) {
    throw Error(fmt::format("{}: token_embd.weight has type {}, which the engine cannot read", path_.string(),
                            formats::ggml_type_info(token_embd_.type).name));
  }
  tied_output_ = !tensor("output.weight") || (directory_ && directory_->config.tie_word_embeddings);
  output_ = tied_output_ ? token_embd_ : weight("output.weight", h.n_vocab, h.n_embd);
  output_norm_ = vector("output_norm.weight", h.n_embd);

  const int64_t q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim;
  layers_.resize(static_cast<size_t>(h.n_layer));
  for (int64_t i = 0; i < h.n_layer; ++i) {
    const std::string p = fmt::format("blk.{}.", i);
    auto& l = layers_[static_cast<size_t>(i)];
    l.attn_norm = vector(p + "attn_norm.weight", h.n_embd);
    l.ffn_norm = vector(p + "ffn_norm.weight", h.n_embd);
    l.wq = weight(p + "attn_q.weight", q_dim, h.n_embd);
    l.wk = weight(p + "attn_k.weight", kv_dim, h.n_embd);
    l.wv = weight(p + "attn_v.weight", kv_dim, h.n_embd);
    l.wo = weight(p + "attn_output.weight", h.n_embd, q_dim);
    l.gate = weight(p + "ffn_gate.weight", h.n_ff, h.n_embd);
    l.up = weight(p + "ffn_up.weight", h.n_ff, h.n_embd);
    l.down = weight(p + "ffn_down.weight", h.n_embd, h.n_ff);
    const bool qkv_bias = formats::architecture_from_gguf(h.architecture)->qkv_bias;
    l.bq = vector(p + "attn_q.bias", q_dim, qkv_bias);
    l.bk = vector(p + "attn_k.bias", kv_dim, qkv_bias);
    l.bv = vector(p + "attn_v.bias", kv_dim, qkv_bias);
    if (h.qk_norm) {
      l.q_norm = vector(p + "attn_q_norm.weight", h.head_dim);
      l.k_norm = vector(p + "attn_k_norm.weight", h.head_dim);
    }
  }
  arrange_for_active_path();
}

// Every core rearranges (a 1.5b Q4_K_M file's matrices took 1.3 s on one).
// The rearranged matrices share one buffer, each at a 64-byte line, so the
// group kernels' vector loads never straddle two lines, on 2 MiB pages.
void Model::arrange_for_active_path() {
  std::vector<std::pair<Weight*, uint64_t>> todo;  // a matrix and its offset in arranged_
  uint64_t bytes = 0;
  for (auto& l : layers_) {
    for (Weight* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) {
      w->layout = kernels::best_layout(w->type, w->rows, w->cols);
      if (w->layout == kernels::WeightLayout::rows) continue;
      todo.emplace_back(w, bytes);
      bytes += (kernels::layout_bytes(w->layout, w->type, w->rows, w->cols) + 63) / 64 * 64;
    }
  }
  if (todo.empty()) return;
  arranged_ = base::LargeBuffer(bytes);
  base::ThreadPool pool;
  pool.parallel_for(todo.size(), 1, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Weight& w = *todo[i].first;
      uint8_t* out = arranged_.data() + todo[i].second;
      kernels::arrange_weights(w.layout, w.type, w.data, w.rows, w.cols, out);
      base::release_pages(w.data, w.bytes());
      w.data = out;
    }
  });
}

Weight Model::weight(const std::string& name, int64_t rows, int64_t cols) const {
  const auto t = tensor(name);
  if (!t) throw Error(fmt::format("{}: missing tensor {}", path_.string(), name));
  if (t->dims.size() != 2 || t->dims[0] != static_cast<uint64_t>(cols) || t->dims[1] != static_cast<uint64_t>(rows)) {
    throw Error(fmt::format("{}: tensor {} has shape {}, expected [{}, {}]", path_.string(), name,
                            shape(t->dims), cols, rows));
  }
  if (!kernels::can_matmul(t->type)) {
    throw Error(fmt::format("{}: tensor {} has type {}, which the engine cannot multiply", path_.string(), name,
                            formats::ggml_type_info(t->type).name));
  }
  const auto row_bytes = formats::ggml_row_bytes(t->type, static_cast<uint64_t>(cols));
  if (!row_bytes) {
    throw Error(fmt::format("{}: tensor {} rows of {} do not fit {} blocks", path_.string(), name, cols,
                            formats::ggml_type_info(t->type).name));
  }
  return Weight{t->type, t->data, rows, cols, *row_bytes};
}

// Norm weights and biases are tiny: read once into f32 whatever their type.
std::vector<float> Model::vector(const std::string& name, int64_t n, bool required) const {
  const auto t = tensor(name);
  if (!t) {
    if (!required) return {};
    throw Error(fmt::format("{}: missing tensor {}", path_.string(), name));
  }
  if (t->dims.size() != 1 || t->dims[0] != static_cast<uint64_t>(n)) {
    throw Error(fmt::format("{}: tensor {} has shape {}, expected [{}]", path_.string(), name, shape(t->dims), n));
  }
  if (!quant::can_dequantize(t->type) || !formats::ggml_row_bytes(t->type, static_cast<uint64_t>(n))) {
    throw Error(fmt::format("{}: tensor {} has type {}, which the engine cannot read", path_.string(), name,
                            formats::ggml_type_info(t->type).name));
  }
  std::vector<float> v(static_cast<size_t>(n));
  quant::dequantize_row(t->type, t->data, v.data(), n);
  return v;
}

uint64_t Model::bytes_per_token() const {
  uint64_t total = output_.bytes();
  for (const auto& l : layers_) {
    for (const Weight* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down}) total += w->bytes();
  }
  return total;
}

}  // namespace josi::infer
