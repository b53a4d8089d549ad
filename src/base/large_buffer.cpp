#include "base/large_buffer.hpp"

#include <sys/mman.h>

#include <string>
#include <utility>

#include "base/error.hpp"

namespace josi::base {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

LargeBuffer::LargeBuffer(size_t bytes, Pages pages) : size_(bytes) {
  if (bytes == 0) return;
  // Mapped with a huge page to spare, then trimmed to an aligned start.
  const size_t length = round_up(bytes, kHugePage);
  void* mapped = ::mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw Error("cannot allocate " + std::to_string(bytes) + " bytes");
  const auto start = reinterpret_cast<uintptr_t>(mapped), aligned = round_up(start, kHugePage);
  if (aligned > start) ::munmap(mapped, aligned - start);
  if (const size_t tail = start + kHugePage - aligned) ::munmap(reinterpret_cast<void*>(aligned + length), tail);
  data_ = reinterpret_cast<uint8_t*>(aligned);
  mapped_ = length;
#ifdef MADV_HUGEPAGE
  if (pages == Pages::huge) ::madvise(data_, mapped_, MADV_HUGEPAGE);  // a request: small pages serve where it is refused
#endif
}

LargeBuffer::~LargeBuffer() {
  if (data_) ::munmap(data_, mapped_);
}

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(data_, mapped_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

}  // namespace josi::base
