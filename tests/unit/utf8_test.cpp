// UTF-8 rules shared by the output constraint, the runtime and gguf info:
// valid sequences pass, everything else (stray continuation bytes, overlong
// forms, surrogates, code points past U+10FFFF, a cut sequence) becomes U+FFFD.
#include <gtest/gtest.h>

#include "base/utf8.hpp"

namespace {

using josi::base::valid_utf8;

TEST(Utf8, ValidTextPassesAndEveryInvalidByteIsReplaced) {
  const std::string ok = "Zone 2 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x8f\x83";
  EXPECT_EQ(valid_utf8(ok), ok);
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(valid_utf8("a\x80" "b"), "a" + r + "b");            // stray continuation
  EXPECT_EQ(valid_utf8("\xc0\xaf"), r + r);                       // overlong
  EXPECT_EQ(valid_utf8("\xed\xa0\x80"), r + r + r);               // a UTF-16 surrogate
  EXPECT_EQ(valid_utf8("\xf4\x90\x80\x80"), r + r + r + r);       // past U+10FFFF
  EXPECT_EQ(valid_utf8("ok\xe2\x82"), "ok" + r + r);               // cut short
  EXPECT_EQ(josi::base::utf8_sequence("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(josi::base::utf8_lead(0xF5).need, -1);
  EXPECT_EQ(josi::base::utf8_lead(0xE0).lo, 0xA0);
}

}  // namespace
