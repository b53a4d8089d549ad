#pragma once
// A fast 64-bit checksum of bytes, for telling a file Josi wrote from one
// that was truncated or damaged since (a cache file, say). Not a
// cryptographic digest: it guards against accidents, not adversaries, and
// runs at memory speed so checking a 40 MB cache costs milliseconds.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace josi::base {

class Checksum {
 public:
  void update(const void* data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  uint64_t value() const;

 private:
  // Four independent lanes over 32-byte stripes, then the tail.
  uint64_t lanes_[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  unsigned char tail_[32] = {};
  size_t tail_size_ = 0;
  uint64_t total_ = 0;
};

uint64_t checksum(std::string_view bytes);

}  // namespace josi::base
