#include "base/large_buffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <utility>

using josi::base::LargeBuffer;

// Zeroed, 2 MiB aligned (so a huge page can back it), every byte writable,
// and owned by exactly one buffer after a move.
TEST(LargeBuffer, IsZeroedAlignedWritableAndMoves) {
  const size_t bytes = (size_t{5} << 20) + 123;
  LargeBuffer buffer(bytes);
  ASSERT_NE(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), bytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % (size_t{2} << 20), 0u);
  EXPECT_TRUE(std::all_of(buffer.data(), buffer.data() + bytes, [](uint8_t b) { return b == 0; }));
  for (size_t i = 0; i < bytes; ++i) buffer.data()[i] = static_cast<uint8_t>(i * 7);

  LargeBuffer moved(std::move(buffer));
  EXPECT_EQ(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), 0u);
  ASSERT_EQ(moved.size(), bytes);
  EXPECT_EQ(moved.data()[bytes - 1], static_cast<uint8_t>((bytes - 1) * 7));

  LargeBuffer other(100);
  other = std::move(moved);
  EXPECT_EQ(other.size(), bytes);
  EXPECT_EQ(other.data()[12345], static_cast<uint8_t>(12345 * 7));
  EXPECT_EQ(LargeBuffer(0).data(), nullptr);
}
