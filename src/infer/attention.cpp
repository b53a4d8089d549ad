#include "infer/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "infer/layer_ops.hpp"
#include "kernels/vector_ops.hpp"

namespace josi::infer {

namespace {

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

}  // namespace

void attention(const KvCache& cache, int64_t layer, const AttentionHeads& heads, const float* q, int64_t n,
               int64_t n_past, float* out, base::ThreadPool& pool, const AttentionDone& done) {
  const int64_t group = heads.n_head / heads.n_head_kv, hd = heads.head_dim, q_dim = heads.n_head * hd;
  const int64_t width = round_up(hd, kernels::kTileColumns);  // a row of values, padded for the products
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t tiles = (n + kQueryTile - 1) / kQueryTile;
  const auto size = [](int64_t a, int64_t b) { return static_cast<size_t>(a * b); };
  pool.parallel_for(static_cast<size_t>(heads.n_head_kv * tiles), 1, [&](size_t begin, size_t end) {
    const int64_t most_rows = kQueryTile * group;
    // One tile's queries (scaled), keys (as read, then transposed), values,
    // scores, and each query's running softmax and weighted values.
    std::vector<float> queries(size(most_rows, hd)), keys(size(kKeyTile, hd)), keys_t(size(hd, kKeyTile)),
        vals(size(kKeyTile, width)), scores(size(most_rows, kKeyTile)), values(size(most_rows, width)),
        sums(static_cast<size_t>(most_rows)), largest(static_cast<size_t>(most_rows));
    for (size_t item = begin; item < end; ++item) {
      const int64_t kv = static_cast<int64_t>(item) / tiles, t0 = static_cast<int64_t>(item) % tiles * kQueryTile;
      const int64_t t1 = std::min(n, t0 + kQueryTile), rows = (t1 - t0) * group;
      for (int64_t r = 0; r < rows; ++r) {
        const float* from = q + (t0 + r / group) * q_dim + (kv * group + r % group) * hd;
        for (int64_t d = 0; d < hd; ++d) queries[size(r, hd) + static_cast<size_t>(d)] = from[d] * scale;
      }
      std::fill(values.begin(), values.end(), 0.0f);
      std::fill(sums.begin(), sums.end(), 0.0f);
      std::fill(largest.begin(), largest.end(), -std::numeric_limits<float>::infinity());
      for (int64_t from = 0; from < n_past + t1; from += kKeyTile) {
        const int64_t n_keys = std::min(kKeyTile, n_past + t1 - from), padded = round_up(n_keys, kernels::kTileColumns);
        cache.load_keys(layer, kv * hd, from, n_keys, keys.data(), hd);
        for (int64_t d = 0; d < hd; ++d) {
          float* column = &keys_t[size(d, kKeyTile)];
          for (int64_t j = 0; j < n_keys; ++j) column[j] = keys[size(j, hd) + static_cast<size_t>(d)];
          std::fill(column + n_keys, column + padded, 0.0f);
        }
        cache.load_values(layer, kv * hd, from, n_keys, vals.data(), width);
        std::fill(vals.begin() + static_cast<std::ptrdiff_t>(size(n_keys, width)),
                  vals.begin() + static_cast<std::ptrdiff_t>(size(padded, width)), 0.0f);
        kernels::gemm_f32_tile(queries.data(), hd, keys_t.data(), kKeyTile, scores.data(), kKeyTile, rows, hd, padded, false);
        for (int64_t r = 0; r < rows; ++r) {
          float* p = &scores[size(r, kKeyTile)];
          // The keys this query may see: up to its own position.
          const int64_t seen = std::clamp<int64_t>(n_past + t0 + r / group + 1 - from, 0, n_keys);
          float top = largest[static_cast<size_t>(r)];
          for (int64_t j = 0; j < seen; ++j) top = std::max(top, p[j]);
          if (seen > 0 && top > largest[static_cast<size_t>(r)]) {  // the weights so far shrink by e^(old - new)
            const float shrink = std::exp(largest[static_cast<size_t>(r)] - top);
            float* v = &values[size(r, width)];
            for (int64_t d = 0; d < hd; ++d) v[d] *= shrink;
            sums[static_cast<size_t>(r)] *= shrink;
            largest[static_cast<size_t>(r)] = top;
          }
          float sum = 0;
          for (int64_t j = 0; j < seen; ++j) {
            p[j] = std::exp(p[j] - top);
            sum += p[j];
          }
          std::fill(p + seen, p + padded, 0.0f);  // a zero weight adds nothing, exactly
          sums[static_cast<size_t>(r)] += sum;
        }
        kernels::gemm_f32_tile(scores.data(), kKeyTile, vals.data(), width, values.data(), width, rows, padded, width, true);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t t = t0 + r / group, head = kv * group + r % group;
        const float inv = 1.0f / sums[static_cast<size_t>(r)];
        float* o = out + t * q_dim + head * hd;
        for (int64_t d = 0; d < hd; ++d) o[d] = values[size(r, width) + static_cast<size_t>(d)] * inv;
        if (done) done(t, head, o);
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
      cache.scores(layer, (head / group) * hd, q + t * q_dim + head * hd, n_keys, scores.data());
      for (int64_t j = 0; j < n_keys; ++j) scores[static_cast<size_t>(j)] *= scale;
      softmax(scores.data(), n_keys);
      float* o = out + t * q_dim + head * hd;
      std::fill(o, o + hd, 0.0f);
      cache.add_values(layer, (head / group) * hd, scores.data(), n_keys, o);
      if (done) done(t, head, o);
    }
  });
}

}  // namespace josi::infer
