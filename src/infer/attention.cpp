#include "infer/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "infer/layer_ops.hpp"

namespace josi::infer {

void attention(const KvCache& cache, int64_t layer, const AttentionHeads& heads, const float* q, int64_t n,
               int64_t n_past, float* out, base::ThreadPool& pool, const AttentionDone& done) {
  const int64_t group = heads.n_head / heads.n_head_kv, hd = heads.head_dim, q_dim = heads.n_head * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t tiles = (n + kQueryTile - 1) / kQueryTile;
  pool.parallel_for(static_cast<size_t>(heads.n_head_kv * tiles), 1, [&](size_t begin, size_t end) {
    const auto rows = static_cast<size_t>(kQueryTile * group);
    std::vector<float> weights(static_cast<size_t>(kKeyTile)), sums(rows), largest(rows), values(rows * static_cast<size_t>(hd));
    for (size_t item = begin; item < end; ++item) {
      const int64_t kv = static_cast<int64_t>(item) / tiles, t0 = static_cast<int64_t>(item) % tiles * kQueryTile;
      const int64_t t1 = std::min(n, t0 + kQueryTile);
      std::fill(values.begin(), values.end(), 0.0f);
      std::fill(sums.begin(), sums.end(), 0.0f);
      std::fill(largest.begin(), largest.end(), -std::numeric_limits<float>::infinity());
      for (int64_t from = 0; from < n_past + t1; from += kKeyTile) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t n_keys = std::min(kKeyTile, n_past + t + 1 - from);
          if (n_keys <= 0) continue;
          for (int64_t g = 0; g < group; ++g) {
            const int64_t head = kv * group + g;
            const auto r = static_cast<size_t>((t - t0) * group + g);
            float* p = weights.data();
            cache.scores(layer, kv * hd, q + t * q_dim + head * hd, from, n_keys, p);
            float top = largest[r];
            for (int64_t j = 0; j < n_keys; ++j) {
              p[j] *= scale;
              top = std::max(top, p[j]);
            }
            float* v = &values[r * static_cast<size_t>(hd)];
            if (top > largest[r]) {  // the weights so far shrink by e^(old - new)
              const float shrink = std::exp(largest[r] - top);
              for (int64_t d = 0; d < hd; ++d) v[d] *= shrink;
              sums[r] *= shrink;
              largest[r] = top;
            }
            float sum = 0;
            for (int64_t j = 0; j < n_keys; ++j) {
              p[j] = std::exp(p[j] - top);
              sum += p[j];
            }
            sums[r] += sum;
            cache.add_values(layer, kv * hd, p, from, n_keys, v);
          }
        }
      }
      for (int64_t t = t0; t < t1; ++t) {
        for (int64_t g = 0; g < group; ++g) {
          const int64_t head = kv * group + g;
          const auto r = static_cast<size_t>((t - t0) * group + g);
          const float inv = 1.0f / sums[r];
          float* o = out + t * q_dim + head * hd;
          for (int64_t d = 0; d < hd; ++d) o[d] = values[r * static_cast<size_t>(hd) + static_cast<size_t>(d)] * inv;
          if (done) done(t, head, o);
        }
      }
    }
  });
}

void attention_reference(const KvCache& cache, int64_t layer, const AttentionHeads& heads, const float* q, int64_t n,
                         int64_t n_past, float* out, base::ThreadPool& pool, const AttentionDone& done) {
  const int64_t group = heads.n_head / heads.n_head_kv, hd = heads.head_dim, q_dim = heads.n_head * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  pool.parallel_for(static_cast<size_t>(n * heads.n_head), 1, [&](size_t begin, size_t end) {
    std::vector<float> scores(static_cast<size_t>(n_past + n));
    for (size_t item = begin; item < end; ++item) {
      const int64_t t = static_cast<int64_t>(item) / heads.n_head, head = static_cast<int64_t>(item) % heads.n_head;
      const int64_t n_keys = n_past + t + 1;
      cache.scores(layer, (head / group) * hd, q + t * q_dim + head * hd, 0, n_keys, scores.data());
      for (int64_t j = 0; j < n_keys; ++j) scores[static_cast<size_t>(j)] *= scale;
      softmax(scores.data(), n_keys);
      float* o = out + t * q_dim + head * hd;
      std::fill(o, o + hd, 0.0f);
      cache.add_values(layer, (head / group) * hd, scores.data(), 0, n_keys, o);
      if (done) done(t, head, o);
    }
  });
}

}  // namespace josi::infer
