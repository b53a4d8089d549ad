#pragma once
// The attention keys and values of every position seen so far, sized once
// from the context cap so generation never allocates, and resident only as
// far as positions have been written (an anonymous mapping's pages are
// committed when first touched).
//   f16:  half of f32 at no measurable cost in accuracy.
//   q8_0: Q8_0 blocks of 32 values (34 bytes: 53% of F16), for two roles'
//         4096-token contexts on a phone; each head is whole blocks.
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/large_buffer.hpp"

namespace josi::infer {

enum class KvType { f16, q8_0 };
std::string_view kv_type_name(KvType type);
// "f16" or "q8_0"; nullopt for anything else.
std::optional<KvType> kv_type_named(std::string_view name);

class KvCache {
 public:
  // Throws josi::Error (usage) for a Q8_0 cache whose heads are not whole
  // 32-value blocks.
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, int64_t head_dim, KvType type = KvType::f16);

  KvType type() const { return type_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t n_layer() const { return n_layer_; }
  // Bytes of one position's keys (or values) in one layer.
  size_t row_bytes() const { return row_bytes_; }
  // Bytes the whole context takes once written.
  uint64_t bytes() const { return 2 * static_cast<uint64_t>(n_layer_ * n_ctx_) * row_bytes_; }
  // The row of (layer, position); a layer's positions are consecutive rows.
  uint8_t* k(int64_t layer, int64_t pos) { return storage_.data() + offset(0, layer, pos); }
  uint8_t* v(int64_t layer, int64_t pos) { return storage_.data() + offset(1, layer, pos); }
  const uint8_t* k(int64_t layer, int64_t pos) const { return storage_.data() + offset(0, layer, pos); }
  const uint8_t* v(int64_t layer, int64_t pos) const { return storage_.data() + offset(1, layer, pos); }

  // Writes kv_dim floats of keys and of values as position `pos` of `layer`.
  void store(int64_t layer, int64_t pos, const float* keys, const float* values);
  // Attention of one query head over positions [0, n_keys) of `layer`, on
  // the head_dim values from `first` of each row: scores[j] = q · key_j,
  // and out += Σ_j weights[j] · value_j.
  void scores(int64_t layer, int64_t first, const float* q, int64_t n_keys, float* scores) const;
  void add_values(int64_t layer, int64_t first, const float* weights, int64_t n_keys, float* out) const;

  // The head_dim values from `first` of positions [from, from + n) of
  // `layer`'s keys (or values) as floats, row j at out + j · ld.
  void load_keys(int64_t layer, int64_t first, int64_t from, int64_t n, float* out, int64_t ld) const;
  void load_values(int64_t layer, int64_t first, int64_t from, int64_t n, float* out, int64_t ld) const;

  // Copies positions [from, from + count) of every layer to [to, to + count)
  // (the ranges may overlap).
  void move(int64_t from, int64_t to, int64_t count);
  // The keys of (layer, pos) as kv_dim floats, and written back from floats.
  void load_keys(int64_t layer, int64_t pos, float* keys) const;
  void store_keys(int64_t layer, int64_t pos, const float* keys);
  // Gives the memory of positions [from, n_ctx) back to the system (what
  // they held is gone; they are resident again once written).
  void discard(int64_t from);

 private:
  size_t offset(int which, int64_t layer, int64_t pos) const {
    return static_cast<size_t>((which * n_layer_ + layer) * n_ctx_ + pos) * row_bytes_;
  }
  // Byte offset of value `first` within a row.
  size_t value_offset(int64_t first) const;

  KvType type_;
  int64_t n_layer_, n_ctx_, kv_dim_, head_dim_;
  size_t row_bytes_;
  base::LargeBuffer storage_;  // every layer's keys, then every layer's values
};

}  // namespace josi::infer
