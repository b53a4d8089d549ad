// The cache files' checksum: the same bytes give the same value however they
// are fed in, and any change (one flipped bit, one byte more or less) gives
// another.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "base/checksum.hpp"

namespace {

TEST(Checksum, StreamingEqualsOneCallAndEveryChangeShows) {
  std::mt19937 rng(3);
  std::string data(10000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const uint64_t whole = josi::base::checksum(data);
  for (size_t piece : {1, 7, 31, 32, 33, 1000}) {
    josi::base::Checksum c;
    for (size_t i = 0; i < data.size(); i += piece) c.update(std::string_view(data).substr(i, piece));
    EXPECT_EQ(c.value(), whole) << piece;
  }
  std::set<uint64_t> seen = {whole};
  for (size_t bit = 0; bit < 64; ++bit) {
    std::string flipped = data;
    flipped[bit * 151 % data.size()] ^= static_cast<char>(1 << (bit % 8));
    EXPECT_TRUE(seen.insert(josi::base::checksum(flipped)).second) << bit;
  }
  EXPECT_TRUE(seen.insert(josi::base::checksum(data + '\0')).second);
  EXPECT_TRUE(seen.insert(josi::base::checksum(data.substr(0, data.size() - 1))).second);
  EXPECT_NE(josi::base::checksum(""), josi::base::checksum(std::string(1, '\0')));
}

}  // namespace
