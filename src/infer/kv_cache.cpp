#include "infer/kv_cache.hpp"

#include <fmt/format.h>

#include <cstring>

#include "base/error.hpp"
#include "base/mapped_file.hpp"
#include "kernels/vector_ops.hpp"
#include "quant/block_quant.hpp"

namespace josi::infer {

std::string_view kv_type_name(KvType type) { return type == KvType::f16 ? "f16" : "q8_0"; }

std::optional<KvType> kv_type_named(std::string_view name) {
  if (name == "f16") return KvType::f16;
  if (name == "q8_0") return KvType::q8_0;
  return std::nullopt;
}

namespace {

size_t row_bytes_of(KvType type, int64_t kv_dim) {
  if (type == KvType::f16) return static_cast<size_t>(kv_dim) * 2;
  return static_cast<size_t>(kv_dim / kernels::kQ8_0Block * kernels::kQ8_0BlockBytes);
}

}  // namespace

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t kv_dim, int64_t head_dim, KvType type)
    : type_(type), n_layer_(n_layer), n_ctx_(n_ctx), kv_dim_(kv_dim), head_dim_(head_dim) {
  if (type == KvType::q8_0 && (head_dim <= 0 || head_dim % kernels::kQ8_0Block != 0))
    throw Error(fmt::format("a q8_0 KV cache needs heads of whole 32-value blocks; this model's heads have {} values",
                            head_dim),
                ExitCode::usage);
  row_bytes_ = row_bytes_of(type, kv_dim);
  if (n_layer > 0 && n_ctx > 0) storage_ = base::LargeBuffer(bytes(), base::LargeBuffer::Pages::small);
}

size_t KvCache::value_offset(int64_t first) const {
  if (type_ == KvType::f16) return static_cast<size_t>(first) * 2;
  return static_cast<size_t>(first / kernels::kQ8_0Block * kernels::kQ8_0BlockBytes);
}

void KvCache::store(int64_t layer, int64_t pos, const float* keys, const float* values) {
  store_keys(layer, pos, keys);
  if (type_ == KvType::f16)
    kernels::f32_to_f16(values, reinterpret_cast<uint16_t*>(v(layer, pos)), kv_dim_);
  else
    kernels::f32_to_q8_0(values, v(layer, pos), kv_dim_);
}

void KvCache::move(int64_t from, int64_t to, int64_t count) {
  if (count <= 0 || from == to) return;
  if (from < 0 || to < 0 || from + count > n_ctx_ || to + count > n_ctx_)
    throw Error(fmt::format("KV cache: positions {}..{} cannot move to {} in a context of {}", from, from + count, to, n_ctx_));
  for (int which = 0; which < 2; ++which)
    for (int64_t layer = 0; layer < n_layer_; ++layer)
      std::memmove(storage_.data() + offset(which, layer, to), storage_.data() + offset(which, layer, from),
                   static_cast<size_t>(count) * row_bytes_);
}

namespace {

// n rows of `values` values each, row_bytes apart, as floats ld apart.
void load_rows(const uint8_t* rows, size_t row_bytes, KvType type, int64_t n, int64_t values, float* out, int64_t ld) {
  const auto ggml = type == KvType::f16 ? formats::GgmlType::F16 : formats::GgmlType::Q8_0;
  for (int64_t j = 0; j < n; ++j) quant::dequantize_row(ggml, rows + static_cast<size_t>(j) * row_bytes, out + j * ld, values);
}

}  // namespace

void KvCache::load_keys(int64_t layer, int64_t pos, float* keys) const {
  load_rows(k(layer, pos), row_bytes_, type_, 1, kv_dim_, keys, kv_dim_);
}

void KvCache::load_keys(int64_t layer, int64_t first, int64_t from, int64_t n, float* out, int64_t ld) const {
  load_rows(k(layer, from) + value_offset(first), row_bytes_, type_, n, head_dim_, out, ld);
}

void KvCache::load_values(int64_t layer, int64_t first, int64_t from, int64_t n, float* out, int64_t ld) const {
  load_rows(v(layer, from) + value_offset(first), row_bytes_, type_, n, head_dim_, out, ld);
}

void KvCache::store_keys(int64_t layer, int64_t pos, const float* keys) {
  if (type_ == KvType::f16)
    kernels::f32_to_f16(keys, reinterpret_cast<uint16_t*>(k(layer, pos)), kv_dim_);
  else
    kernels::f32_to_q8_0(keys, k(layer, pos), kv_dim_);
}

void KvCache::discard(int64_t from) {
  from = std::max<int64_t>(from, 0);
  if (from >= n_ctx_) return;
  for (int which = 0; which < 2; ++which)
    for (int64_t layer = 0; layer < n_layer_; ++layer)
      base::release_pages(storage_.data() + offset(which, layer, from), static_cast<size_t>(n_ctx_ - from) * row_bytes_);
}

void KvCache::scores(int64_t layer, int64_t first, const float* q, int64_t n_keys, float* out) const {
  const uint8_t* rows = k(layer, 0) + value_offset(first);
  if (type_ == KvType::f16)
    kernels::dot_f32_f16_rows(q, reinterpret_cast<const uint16_t*>(rows), kv_dim_, n_keys, head_dim_, out);
  else
    kernels::dot_f32_q8_0_rows(q, rows, static_cast<int64_t>(row_bytes_), n_keys, head_dim_, out);
}

void KvCache::add_values(int64_t layer, int64_t first, const float* weights, int64_t n_keys, float* out) const {
  const uint8_t* rows = v(layer, 0) + value_offset(first);
  if (type_ == KvType::f16)
    kernels::axpy_f16_rows(weights, reinterpret_cast<const uint16_t*>(rows), kv_dim_, n_keys, head_dim_, out);
  else
    kernels::axpy_q8_0_rows(weights, rows, static_cast<int64_t>(row_bytes_), n_keys, head_dim_, out);
}

}  // namespace josi::infer
