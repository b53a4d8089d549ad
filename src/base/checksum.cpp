#include "base/checksum.hpp"

#include <bit>
#include <cstring>

namespace josi::base {
namespace {

constexpr uint64_t kMul1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kMul2 = 0xC2B2AE3D27D4EB4Full;

uint64_t load(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t round(uint64_t lane, uint64_t word) { return std::rotl(lane + word * kMul2, 31) * kMul1; }

// Final avalanche: every input bit affects every output bit.
uint64_t finish(uint64_t h) {
  h ^= h >> 33;
  h *= kMul2;
  h ^= h >> 29;
  h *= kMul1;
  h ^= h >> 32;
  return h;
}

}  // namespace

void Checksum::update(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += size;
  if (tail_size_ > 0) {
    const size_t take = std::min(size, sizeof(tail_) - tail_size_);
    std::memcpy(tail_ + tail_size_, p, take);
    tail_size_ += take;
    p += take;
    size -= take;
    if (tail_size_ < sizeof(tail_)) return;
    for (int i = 0; i < 4; ++i) lanes_[i] = round(lanes_[i], load(tail_ + 8 * i));
    tail_size_ = 0;
  }
  for (; size >= 32; p += 32, size -= 32)
    for (int i = 0; i < 4; ++i) lanes_[i] = round(lanes_[i], load(p + 8 * i));
  std::memcpy(tail_, p, size);
  tail_size_ = size;
}

uint64_t Checksum::value() const {
  uint64_t h = std::rotl(lanes_[0], 1) + std::rotl(lanes_[1], 7) + std::rotl(lanes_[2], 12) + std::rotl(lanes_[3], 18);
  for (int i = 0; i < 4; ++i) h = (h ^ round(0, lanes_[i])) * kMul1 + kMul2;
  h += total_;
  for (size_t i = 0; i < tail_size_; ++i) h = std::rotl(h ^ (tail_[i] * kMul1), 11) * kMul2;
  return finish(h);
}

uint64_t checksum(std::string_view bytes) {
  Checksum c;
  c.update(bytes);
  return c.value();
}

}  // namespace josi::base
