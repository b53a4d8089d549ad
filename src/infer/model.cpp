#include "infer/model.hpp"

#include <fmt/format.h>

#include "base/error.hpp"
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

HParams read_hparams(const GgufFile& file) {
  HParams h;
  const std::string key = "general.architecture";
  h.architecture = file.at(key).as_string(key);
  if (h.architecture != "qwen2" && h.architecture != "llama") {
    throw Error(fmt::format("{}: architecture '{}' is not supported (the engine runs qwen2 and llama)",
                            file.path().string(), h.architecture));
  }
  const std::string a = h.architecture + ".";
  h.n_embd = positive(file, a + "embedding_length");
  h.n_layer = positive(file, a + "block_count");
  h.n_ff = positive(file, a + "feed_forward_length");
  h.n_head = positive(file, a + "attention.head_count");
  h.n_head_kv = file.find(a + "attention.head_count_kv") ? positive(file, a + "attention.head_count_kv") : h.n_head;
  h.n_ctx_train = positive(file, a + "context_length");
  h.rope_freq_base = positive_float(file, a + "rope.freq_base", 10000.0f);
  h.rms_eps = positive_float(file, a + "attention.layer_norm_rms_epsilon", 1e-6f);
  h.rope = h.architecture == "llama" ? RopeStyle::interleaved : RopeStyle::neox;
  if (h.n_embd % h.n_head != 0 || h.n_head % h.n_head_kv != 0) {
    throw Error(fmt::format("{}: {} heads ({} KV heads) do not divide the embedding length {}", file.path().string(),
                            h.n_head, h.n_head_kv, h.n_embd));
  }
  h.head_dim = h.n_embd / h.n_head;
  if (h.head_dim % 2 != 0) throw Error(fmt::format("{}: head size {} is odd", file.path().string(), h.head_dim));
  if (const auto* rope_dims = file.find(a + "rope.dimension_count");
      rope_dims && static_cast<int64_t>(rope_dims->as_uint(a + "rope.dimension_count")) != h.head_dim) {
    throw Error(fmt::format("{}: partial RoPE ({} of {} dimensions) is not supported", file.path().string(),
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

Model::Model(const std::filesystem::path& path) : file_(path), hparams_(read_hparams(file_)) {
  const auto& h = hparams_;
  const auto* embd = file_.find_tensor("token_embd.weight");
  if (!embd) throw Error(fmt::format("{}: missing tensor token_embd.weight", path.string()));
  if (embd->dims.size() != 2 || embd->dims[0] != static_cast<uint64_t>(h.n_embd)) {
    throw Error(fmt::format("{}: token_embd.weight has shape {}, expected [{}, vocab]", path.string(), shape(embd->dims),
                            h.n_embd));
  }
  hparams_.n_vocab = static_cast<int64_t>(embd->dims[1]);
  token_embd_ = weight("token_embd.weight", h.n_vocab, h.n_embd);
  if (!quant::can_dequantize(token_embd_.type)) {
    throw Error(fmt::format("{}: token_embd.weight has type {}, which the engine cannot read", path.string(),
                            formats::ggml_type_info(token_embd_.type).name));
  }
  tied_output_ = file_.find_tensor("output.weight") == nullptr;
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
    const bool qwen2 = h.architecture == "qwen2";
    l.bq = vector(p + "attn_q.bias", q_dim, qwen2);
    l.bk = vector(p + "attn_k.bias", kv_dim, qwen2);
    l.bv = vector(p + "attn_v.bias", kv_dim, qwen2);
  }
}

Weight Model::weight(const std::string& name, int64_t rows, int64_t cols) const {
  const auto* t = file_.find_tensor(name);
  if (!t) throw Error(fmt::format("{}: missing tensor {}", file_.path().string(), name));
  if (t->dims.size() != 2 || t->dims[0] != static_cast<uint64_t>(cols) || t->dims[1] != static_cast<uint64_t>(rows)) {
    throw Error(fmt::format("{}: tensor {} has shape {}, expected [{}, {}]", file_.path().string(), name,
                            shape(t->dims), cols, rows));
  }
  if (!kernels::can_matmul(t->type)) {
    throw Error(fmt::format("{}: tensor {} has type {}, which the engine cannot multiply", file_.path().string(), name,
                            formats::ggml_type_info(t->type).name));
  }
  const auto row_bytes = formats::ggml_row_bytes(t->type, static_cast<uint64_t>(cols));
  if (!row_bytes) {
    throw Error(fmt::format("{}: tensor {} rows of {} do not fit {} blocks", file_.path().string(), name, cols,
                            formats::ggml_type_info(t->type).name));
  }
  return Weight{t->type, file_.tensor_data(*t), rows, cols, *row_bytes};
}

// Norm weights and biases are tiny: read once into f32 whatever their type.
std::vector<float> Model::vector(const std::string& name, int64_t n, bool required) const {
  const auto* t = file_.find_tensor(name);
  if (!t) {
    if (!required) return {};
    throw Error(fmt::format("{}: missing tensor {}", file_.path().string(), name));
  }
  if (t->dims.size() != 1 || t->dims[0] != static_cast<uint64_t>(n)) {
    throw Error(fmt::format("{}: tensor {} has shape {}, expected [{}]", file_.path().string(), name, shape(t->dims), n));
  }
  if (!quant::can_dequantize(t->type) || !formats::ggml_row_bytes(t->type, static_cast<uint64_t>(n))) {
    throw Error(fmt::format("{}: tensor {} has type {}, which the engine cannot read", file_.path().string(), name,
                            formats::ggml_type_info(t->type).name));
  }
  std::vector<float> v(static_cast<size_t>(n));
  quant::dequantize_row(t->type, file_.tensor_data(*t), v.data(), n);
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
