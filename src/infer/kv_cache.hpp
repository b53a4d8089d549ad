#pragma once
// The attention keys and values of every position seen so far, in F16 (half
// the memory of f32 at no measurable cost in accuracy), sized once from the
// context cap so generation never allocates.
#include <cstdint>
#include <vector>

namespace josi::infer {

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim)
      : n_ctx_(n_ctx), kv_dim_(kv_dim), k_(static_cast<size_t>(n_layer * n_ctx * kv_dim)), v_(k_.size()) {}

  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t n_layer() const { return n_ctx_ > 0 ? static_cast<int64_t>(k_.size()) / (n_ctx_ * kv_dim_) : 0; }
  uint64_t bytes() const { return (k_.size() + v_.size()) * sizeof(uint16_t); }
  // Row of `kv_dim` F16 values for (layer, position); a layer's positions
  // are consecutive rows.
  uint16_t* k(int64_t layer, int64_t pos) { return &k_[offset(layer, pos)]; }
  uint16_t* v(int64_t layer, int64_t pos) { return &v_[offset(layer, pos)]; }
  const uint16_t* k(int64_t layer, int64_t pos) const { return &k_[offset(layer, pos)]; }
  const uint16_t* v(int64_t layer, int64_t pos) const { return &v_[offset(layer, pos)]; }

 private:
  size_t offset(int64_t layer, int64_t pos) const { return static_cast<size_t>((layer * n_ctx_ + pos) * kv_dim_); }
  int64_t n_ctx_, kv_dim_;
  std::vector<uint16_t> k_, v_;
};

}  // namespace josi::infer
