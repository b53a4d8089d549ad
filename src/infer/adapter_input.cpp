#include "infer/adapter_input.hpp"

#include <algorithm>

namespace josi::infer {

void AdapterInput::start(const AdapterGroup& group, int64_t n_tokens, int64_t slice) {
  group_ = &group;
  n_tokens_ = n_tokens;
  slice_ = slice;
  slices_ = (group.cols + slice - 1) / slice;
}

void AdapterInput::begin(const AdapterGroup& group, int64_t n_tokens, int64_t slice) {
  start(group, n_tokens, slice);
  summed_ = false;
  partial_.resize(std::max(partial_.size(), static_cast<size_t>(slices_ * n_tokens * group.rank)));
}

void AdapterInput::slice_product(int64_t c0, int64_t c1, const float* x, float* partial) const {
  std::fill(partial, partial + group_->rank, 0.0f);
  kernels::add_panel_product(group_->type, group_->a, group_->cols, 0, group_->rank, c0, c1, x, partial);
}

void AdapterInput::add(int64_t t, int64_t c0, int64_t c1, const float* x) {
  slice_product(c0, c1, x, &partial_[static_cast<size_t>((c0 / slice_ * n_tokens_ + t) * group_->rank)]);
}

void AdapterInput::add_all(base::ThreadPool& pool, const AdapterGroup& group, int64_t n_tokens, int64_t slice,
                           const float* x, const std::vector<float>* norm) {
  start(group, n_tokens, slice);
  summed_ = true;
  u_.resize(static_cast<size_t>(n_tokens * group.rank));
  const int64_t rank = group.rank, cols = group.cols;
  pool.parallel_for(static_cast<size_t>(n_tokens), 1, [&](size_t begin, size_t end) {
    std::vector<float> partial(static_cast<size_t>(rank)), normed(static_cast<size_t>(slice));
    for (size_t t = begin; t < end; ++t) {
      float* u = &u_[t * static_cast<size_t>(rank)];
      std::fill(u, u + rank, 0.0f);
      for (int64_t c0 = 0; c0 < cols; c0 += slice) {
        const int64_t c1 = std::min(c0 + slice, cols);
        const float* v = x + static_cast<int64_t>(t) * cols + c0;
        if (norm) {
          for (int64_t c = c0; c < c1; ++c) normed[static_cast<size_t>(c - c0)] = v[c - c0] * (*norm)[static_cast<size_t>(c)];
          v = normed.data();
        }
        // Added as finish() adds the gathered slices.
        slice_product(c0, c1, v, partial.data());
        for (int64_t j = 0; j < rank; ++j) u[j] += partial[static_cast<size_t>(j)];
      }
    }
  });
}

AdapterTerms AdapterInput::finish(const float* row_scale) {
  const int64_t rank = group_->rank;
  if (!summed_) u_.resize(static_cast<size_t>(n_tokens_ * rank));
  for (int64_t t = 0; t < n_tokens_; ++t) {
    float* u = &u_[static_cast<size_t>(t * rank)];
    if (!summed_) {
      std::fill(u, u + rank, 0.0f);
      for (int64_t s = 0; s < slices_; ++s) {
        const float* partial = &partial_[static_cast<size_t>((s * n_tokens_ + t) * rank)];
        for (int64_t j = 0; j < rank; ++j) u[j] += partial[j];
      }
    }
    for (const AdaptedOutput& o : group_->outputs) {
      const float scale = o.scale * (row_scale ? row_scale[t] : 1.0f);
      for (int64_t j = o.offset; j < o.offset + o.rank; ++j) u[j] *= scale;
    }
  }
  AdapterTerms out;
  for (size_t o = 0; o < out.terms.size(); ++o) {
    const AdaptedOutput& a = group_->outputs[o];
    if (a.bt) out.terms[o] = {group_->type, a.bt, a.rank, u_.data() + a.offset, rank};
  }
  return out;
}

void AdapterInput::release() {
  for (auto* v : {&partial_, &u_}) {
    v->clear();
    v->shrink_to_fit();
  }
}

}  // namespace josi::infer
