#include "support/reference_forward.hpp"

#include <cmath>
#include <memory>

#include "base/thread_pool.hpp"
#include "formats/dtype.hpp"
#include "infer/context.hpp"
#include "json/json.hpp"
#include "support/test_support.hpp"

namespace josi::test {

namespace fs = std::filesystem;

ReferenceForward::ReferenceForward(const fs::path& dir, bool biases, bool q8_0_kv) : weights_(dir), q8_0_kv_(q8_0_kv) {
  const auto config = json::Json::parse(read_text(dir / "config.json"));
  hidden_ = config["hidden_size"];
  layers_ = config["num_hidden_layers"];
  heads_ = config["num_attention_heads"];
  kv_heads_ = config["num_key_value_heads"];
  theta_ = config["rope_theta"];
  eps_ = config["rms_norm_eps"];
  head_dim_ = config.contains("head_dim") ? config["head_dim"].get<int>() : hidden_ / heads_;
  tied_ = config.value("tie_word_embeddings", false);
  biases_ = biases && config["model_type"] == "qwen2";
  qk_norm_ = config["model_type"] == "qwen3";
}

std::vector<float> ReferenceForward::logits(const std::vector<int32_t>& tokens) const {
  const int n = static_cast<int>(tokens.size());
  const auto& embed = weights_.at("model.embed_tokens.weight");
  const auto& output = weights_.at(tied_ ? "model.embed_tokens.weight" : "lm_head.weight");
  const int vocab = static_cast<int>(output.shape[0]);
  std::vector<std::vector<double>> x(n);
  for (int t = 0; t < n; ++t) x[t] = row(embed, tokens[t]);
  for (int l = 0; l < layers_; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (int t = 0; t < n; ++t) {
      const auto xn = norm(x[t], p + "input_layernorm.weight");
      q[t] = linear(p + "self_attn.q_proj", xn, biases_);
      k[t] = linear(p + "self_attn.k_proj", xn, biases_);
      v[t] = linear(p + "self_attn.v_proj", xn, biases_);
      if (qk_norm_) {  // each head on its own
        for (auto [vec, weight] : {std::pair{&q[t], "self_attn.q_norm.weight"}, {&k[t], "self_attn.k_norm.weight"}}) {
          for (size_t h = 0; h < vec->size() / head_dim_; ++h) {
            const std::vector<double> head(vec->begin() + h * head_dim_, vec->begin() + (h + 1) * head_dim_);
            const auto normed = norm(head, p + weight);
            std::copy(normed.begin(), normed.end(), vec->begin() + h * head_dim_);
          }
        }
      }
      rope(q[t], t);
      rope(k[t], t);
      for (auto* kv : {&k[t], &v[t]}) {
        if (!q8_0_kv_) {
          for (double& e : *kv) e = formats::f16_to_f32(formats::f32_to_f16(static_cast<float>(e)));
          continue;
        }
        for (size_t b = 0; b < kv->size(); b += 32) {
          double amax = 0;
          for (size_t i = b; i < b + 32; ++i) amax = std::max(amax, std::abs(static_cast<double>(static_cast<float>((*kv)[i]))));
          const double d = formats::f16_to_f32(formats::f32_to_f16(static_cast<float>(amax / 127)));
          for (size_t i = b; i < b + 32; ++i)
            (*kv)[i] = amax > 0 ? std::round(static_cast<float>((*kv)[i]) * 127 / amax) * d : 0.0;
        }
      }
    }
    for (int t = 0; t < n; ++t) {
      std::vector<double> attn(static_cast<size_t>(heads_ * head_dim_), 0.0);
      for (int h = 0; h < heads_; ++h) {
        const int g = h / (heads_ / kv_heads_);
        std::vector<double> w(t + 1);
        double max = -1e300, sum = 0;
        for (int j = 0; j <= t; ++j) {
          double s = 0;
          for (int d = 0; d < head_dim_; ++d) s += q[t][h * head_dim_ + d] * k[j][g * head_dim_ + d];
          w[j] = s / std::sqrt(static_cast<double>(head_dim_));
          max = std::max(max, w[j]);
        }
        for (double& e : w) sum += (e = std::exp(e - max));
        for (int j = 0; j <= t; ++j)
          for (int d = 0; d < head_dim_; ++d) attn[h * head_dim_ + d] += w[j] / sum * v[j][g * head_dim_ + d];
      }
      const auto o = linear(p + "self_attn.o_proj", attn, false);
      for (int i = 0; i < hidden_; ++i) x[t][i] += o[i];
      const auto hn = norm(x[t], p + "post_attention_layernorm.weight");
      auto gate = linear(p + "mlp.gate_proj", hn, false);
      const auto up = linear(p + "mlp.up_proj", hn, false);
      for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
      const auto down = linear(p + "mlp.down_proj", gate, false);
      for (int i = 0; i < hidden_; ++i) x[t][i] += down[i];
    }
  }
  std::vector<float> out;
  for (int t = 0; t < n; ++t) {
    const auto xn = norm(x[t], "model.norm.weight");
    for (int r = 0; r < vocab; ++r) {
      const float* e = reinterpret_cast<const float*>(output.data) + static_cast<size_t>(r) * hidden_;
      double s = 0;
      for (int i = 0; i < hidden_; ++i) s += e[i] * xn[i];
      out.push_back(static_cast<float>(s));
    }
  }
  return out;
}

std::vector<double> ReferenceForward::row(const formats::TensorView& t, int64_t r) const {
  const int64_t cols = t.shape.back();
  const float* p = reinterpret_cast<const float*>(t.data) + r * cols;
  return {p, p + cols};
}

std::vector<double> ReferenceForward::norm(const std::vector<double>& x, const std::string& weight) const {
  double ms = 0;
  for (double e : x) ms += e * e;
  const double scale = 1 / std::sqrt(ms / static_cast<double>(x.size()) + eps_);
  const auto w = row(weights_.at(weight), 0);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w[i];
  return y;
}

std::vector<double> ReferenceForward::linear(const std::string& name, const std::vector<double>& x, bool bias) const {
  const auto& w = weights_.at(name + ".weight");
  std::vector<double> y(static_cast<size_t>(w.shape[0]));
  for (int64_t r = 0; r < w.shape[0]; ++r) {
    const auto wr = row(w, r);
    for (size_t i = 0; i < x.size(); ++i) y[r] += wr[i] * x[i];
  }
  if (bias) {
    const auto b = row(weights_.at(name + ".bias"), 0);
    for (size_t i = 0; i < y.size(); ++i) y[i] += b[i];
  }
  return y;
}

// Rotate-half: dimension j turns with j + head_dim / 2.
void ReferenceForward::rope(std::vector<double>& v, int pos) const {
  const int half = head_dim_ / 2;
  for (size_t h = 0; h < v.size() / head_dim_; ++h) {
    double* x = &v[h * head_dim_];
    for (int j = 0; j < half; ++j) {
      const double a = pos * std::pow(theta_, -2.0 * j / head_dim_);
      const double x0 = x[j], x1 = x[j + half];
      x[j] = x0 * std::cos(a) - x1 * std::sin(a);
      x[j + half] = x0 * std::sin(a) + x1 * std::cos(a);
    }
  }
}

std::vector<float> all_logits(const fs::path& model_path, const std::vector<int32_t>& tokens, size_t threads,
                              const fs::path& adapter_path, infer::KvType kv_type) {
  infer::Model model(model_path);
  std::unique_ptr<infer::Adapter> adapter;
  if (!adapter_path.empty()) adapter = std::make_unique<infer::Adapter>(adapter_path, model);
  base::ThreadPool pool(threads);
  infer::Context context(model, pool, static_cast<int64_t>(tokens.size()), adapter.get(), kv_type);
  const auto logits = context.eval(tokens, infer::Logits::all);
  return {logits.begin(), logits.end()};
}

std::vector<float> one_by_one_logits(const fs::path& model_path, const std::vector<int32_t>& tokens,
                                     infer::KvType kv_type) {
  infer::Model model(model_path);
  base::ThreadPool pool(2);
  infer::Context context(model, pool, static_cast<int64_t>(tokens.size()), nullptr, kv_type);
  std::vector<float> out;
  for (const int32_t token : tokens) {
    const auto logits = context.eval(std::span<const int32_t>(&token, 1));
    out.insert(out.end(), logits.begin(), logits.end());
  }
  return out;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

std::vector<kernels::Isa> supported_isas() {
  std::vector<kernels::Isa> out;
  for (auto isa : kernels::all_isas())
    if (kernels::isa_supported(isa)) out.push_back(isa);
  return out;
}

}  // namespace josi::test
