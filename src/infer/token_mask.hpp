#pragma once
// A set of token ids as one bit each: which tokens an output constraint
// allows next. 151,936 ids fit in 19 KB, so whole sets are cheap to copy and
// merge.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace josi::infer {

class TokenMask {
 public:
  explicit TokenMask(size_t n = 0) : n_(n), words_((n + 63) / 64, 0) {}

  size_t size() const { return n_; }
  void clear() { std::fill(words_.begin(), words_.end(), 0); }
  void set(int32_t id) {
    if (id >= 0 && static_cast<size_t>(id) < n_) words_[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
  }
  bool test(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < n_ && (words_[static_cast<size_t>(id) >> 6] >> (id & 63) & 1);
  }
  // Adds every id of `other` (of the same size).
  void merge(const TokenMask& other) {
    for (size_t i = 0; i < words_.size() && i < other.words_.size(); ++i) words_[i] |= other.words_[i];
  }
  size_t count() const {
    size_t c = 0;
    for (uint64_t w : words_) c += static_cast<size_t>(std::popcount(w));
    return c;
  }
  // The one id in the set, or -1 when it holds none or several.
  int32_t only() const {
    int32_t found = -1;
    for (size_t i = 0; i < words_.size(); ++i) {
      if (!words_[i]) continue;
      if (found >= 0 || std::popcount(words_[i]) != 1) return -1;
      found = static_cast<int32_t>(i * 64 + static_cast<size_t>(std::countr_zero(words_[i])));
    }
    return found;
  }
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  size_t n_;
  std::vector<uint64_t> words_;
};

}  // namespace josi::infer
