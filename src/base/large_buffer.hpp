#pragma once
// A zeroed allocation for large data streamed once per token (an adapter's
// factors, rearranged weights), backed by 2 MiB pages where the system
// grants them (Linux's transparent huge pages on request): a stream through
// 4 KiB pages takes a TLB miss every 4 KiB and the hardware prefetchers stop
// at each page's end. Pages become resident only when first written, so a
// buffer sized for the worst case (a KV cache's whole context) costs what is
// used; such a buffer asks for small pages, which grow it 4 KiB at a time.
#include <cstddef>
#include <cstdint>

namespace josi::base {

class LargeBuffer {
 public:
  LargeBuffer() = default;
  // Throws josi::Error when the memory cannot be had.
  enum class Pages { huge, small };
  explicit LargeBuffer(size_t bytes, Pages pages = Pages::huge);
  ~LargeBuffer();
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0, mapped_ = 0;
};

}  // namespace josi::base
