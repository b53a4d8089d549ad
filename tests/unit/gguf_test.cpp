// GGUF reading, writing and the version patch: round trips of every value
// type, an exact byte layout checked against hand-computed offsets, and
// hostile files (each must fail with a josi::Error naming the file, quickly
// and without allocating what a count claims).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "base/error.hpp"
#include "formats/gguf.hpp"
#include "support/test_support.hpp"

using namespace josi::formats;
using josi::test::read_text;
using josi::test::TempDir;
using josi::test::write_text;

namespace {

namespace fs = std::filesystem;

// Little-endian byte builder for hand-made files.
struct Bytes {
  std::string s;
  template <class T>
  Bytes& put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof v);
    s.append(b, sizeof v);
    return *this;
  }
  Bytes& u8(uint8_t v) { return put(v); }
  Bytes& u32(uint32_t v) { return put(v); }
  Bytes& u64(uint64_t v) { return put(v); }
  Bytes& str(std::string_view v) {
    u64(v.size());
    s.append(v);
    return *this;
  }
  Bytes& raw(std::string_view v) {
    s.append(v);
    return *this;
  }
  Bytes& zeros(size_t n) {
    s.append(n, '\0');
    return *this;
  }
  Bytes& pad_to(size_t alignment) { return zeros((alignment - s.size() % alignment) % alignment); }
  Bytes& header(uint32_t version, uint64_t tensors, uint64_t kvs) { return raw("GGUF").u32(version).u64(tensors).u64(kvs); }
  Bytes& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
  Bytes& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
};

uint32_t le32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
uint64_t le64(const std::string& s, size_t at) {
  uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

// Structural equality; floats compared by bits so NaN and -0.0 count.
bool same(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.value.index() != b.value.index()) return false;
  if (a.type == GgufValueType::ARRAY) {
    const auto& x = *std::get<std::shared_ptr<GgufArray>>(a.value);
    const auto& y = *std::get<std::shared_ptr<GgufArray>>(b.value);
    if (x.element_type != y.element_type || x.elements.size() != y.elements.size()) return false;
    for (size_t i = 0; i < x.elements.size(); ++i)
      if (!same(x.elements[i], y.elements[i])) return false;
    return true;
  }
  if (const auto* d = std::get_if<double>(&a.value)) {
    double e = std::get<double>(b.value);
    return std::memcmp(d, &e, sizeof e) == 0;
  }
  return a.value == b.value;
}

GgufWriter::Producer bytes_of(std::string data) {
  return [data = std::move(data)](std::string& out) { out += data; };
}

std::string floats(std::initializer_list<float> v) {
  std::string out(v.size() * 4, '\0');
  std::memcpy(out.data(), std::data(v), out.size());
  return out;
}

// Every value type, with edge values, empties and nesting.
std::vector<std::pair<std::string, GgufValue>> all_values() {
  std::vector<std::pair<std::string, GgufValue>> kv = {
      {"t.u8", GgufValue::u8(255)},
      {"t.i8", GgufValue::i8(-128)},
      {"t.u16", GgufValue::u16(65535)},
      {"t.i16", GgufValue::i16(-32768)},
      {"t.u32", GgufValue::u32(4294967295u)},
      {"t.i32", GgufValue::i32(std::numeric_limits<int32_t>::min())},
      {"t.u64", GgufValue::u64(std::numeric_limits<uint64_t>::max())},
      {"t.i64", GgufValue::i64(std::numeric_limits<int64_t>::min())},
      {"t.f32", GgufValue::f32(1e-6f)},
      {"t.f32.neg_zero", GgufValue::f32(-0.0f)},
      {"t.f32.inf", GgufValue::f32(std::numeric_limits<float>::infinity())},
      {"t.f32.nan", GgufValue::f32(std::numeric_limits<float>::quiet_NaN())},
      {"t.f64", GgufValue::f64(1e6 + 0.1)},
      {"t.true", GgufValue::boolean(true)},
      {"t.false", GgufValue::boolean(false)},
      {"t.string", GgufValue::string("qwen2 \xe2\x9c\x93 \"quoted\"\n")},
      {"t.string.empty", GgufValue::string("")},
      {"t.string.nul", GgufValue::string(std::string("a\0b", 3))},
      {"t.strings", GgufValue::string_array({"!", "", "\xc4\xa0the", "<|im_end|>"})},
      {"t.i32s", GgufValue::i32_array({1, 3, 4, 5, -1})},
      {"t.f32s", GgufValue::f32_array({0.5f, -2.25f})},
      {"t.empty_array", GgufValue::array(GgufValueType::U64, {})},
      {"t.empty_strings", GgufValue::string_array({})},
      {"t.bools", GgufValue::array(GgufValueType::BOOL, {GgufValue::boolean(true), GgufValue::boolean(false)})},
      {"t.u8s", GgufValue::array(GgufValueType::U8, {GgufValue::u8(0), GgufValue::u8(7)})},
      {"t.i8s", GgufValue::array(GgufValueType::I8, {GgufValue::i8(-1)})},
      {"t.u16s", GgufValue::array(GgufValueType::U16, {GgufValue::u16(1)})},
      {"t.i16s", GgufValue::array(GgufValueType::I16, {GgufValue::i16(-2)})},
      {"t.u32s", GgufValue::array(GgufValueType::U32, {GgufValue::u32(3)})},
      {"t.u64s", GgufValue::array(GgufValueType::U64, {GgufValue::u64(1ull << 40)})},
      {"t.i64s", GgufValue::array(GgufValueType::I64, {GgufValue::i64(-(1ll << 40))})},
      {"t.f64s", GgufValue::array(GgufValueType::F64, {GgufValue::f64(3.5), GgufValue::f64(-0.0)})},
      // Inner arrays of an array of arrays each carry their own element type.
      {"t.nested", GgufValue::array(GgufValueType::ARRAY,
                                    {GgufValue::i32_array({1, 2}), GgufValue::string_array({"x"}),
                                     GgufValue::array(GgufValueType::F32, {}),
                                     GgufValue::array(GgufValueType::ARRAY, {GgufValue::string_array({"", "deep"})})})},
      {"", GgufValue::string("an empty key is still a key")},
  };
  return kv;
}

class GgufRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufRoundTrip, EveryValueTypeAndTensors) {
  TempDir dir;
  const auto path = dir / "all.gguf";
  GgufWriter w(GetParam());
  auto kv = all_values();
  for (const auto& [k, v] : kv) w.set(k, v);
  w.add_tensor("token_embd.weight", {3, 2}, GgmlType::F32, bytes_of(floats({1, 2, 3, 4, 5, 6})));
  w.add_tensor("blk.0.attn_q.weight", {32, 1}, GgmlType::Q8_0, bytes_of(std::string(34, '\x11')));
  w.add_tensor("output_norm.weight", {5}, GgmlType::BF16, bytes_of(std::string(10, '\x22')));
  w.write(path);

  GgufFile f(path);
  EXPECT_EQ(f.version(), GetParam());
  EXPECT_EQ(f.alignment(), 32u);
  ASSERT_EQ(f.metadata().size(), kv.size());
  for (size_t i = 0; i < kv.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].first, kv[i].first);
    EXPECT_TRUE(same(f.metadata()[i].second, kv[i].second)) << kv[i].first;
  }
  ASSERT_EQ(f.tensors().size(), 3u);
  const auto* embd = f.find_tensor("token_embd.weight");
  ASSERT_TRUE(embd);
  EXPECT_EQ(embd->dims, (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(embd->numel(), 6u);
  EXPECT_EQ(embd->nbytes, 24u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.tensor_data(*embd)), 24), floats({1, 2, 3, 4, 5, 6}));
  const auto* q = f.find_tensor("blk.0.attn_q.weight");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->type, GgmlType::Q8_0);
  EXPECT_EQ(q->offset, 32u);
  EXPECT_EQ(q->nbytes, 34u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.tensor_data(*q)), 34), std::string(34, '\x11'));
  const auto* norm = f.find_tensor("output_norm.weight");
  ASSERT_TRUE(norm);
  EXPECT_EQ(norm->offset, 96u);  // 32 + 34 = 66 -> 96
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.tensor_data(*norm)), 10), std::string(10, '\x22'));
  EXPECT_EQ(f.find_tensor("missing"), nullptr);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(fs::file_size(path), f.data_offset() + 128);  // the last tensor is padded too
}

TEST_P(GgufRoundTrip, NoTensorsNoMetadata) {
  TempDir dir;
  GgufWriter(GetParam()).write(dir / "empty.gguf");
  std::string bytes = read_text(dir / "empty.gguf");
  EXPECT_EQ(bytes.size(), 32u);  // 24-byte header padded to 32
  GgufFile f(dir / "empty.gguf");
  EXPECT_TRUE(f.metadata().empty());
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.data_offset(), 32u);
}

INSTANTIATE_TEST_SUITE_P(Versions, GgufRoundTrip, ::testing::Values(2u, 3u));

TEST(Gguf, RoundTripOfTheReadBackValuesIsByteIdentical) {
  TempDir dir;
  GgufWriter w;
  for (const auto& [k, v] : all_values()) w.set(k, v);
  w.add_tensor("a", {4}, GgmlType::F32, bytes_of(floats({1, 2, 3, 4})));
  w.write(dir / "one.gguf");
  GgufFile f(dir / "one.gguf");
  GgufWriter again(f.version());
  for (const auto& [k, v] : f.metadata()) again.set(k, v);
  for (const auto& t : f.tensors()) {
    std::string data(reinterpret_cast<const char*>(f.tensor_data(t)), t.nbytes);
    again.add_tensor(t.name, t.dims, t.type, bytes_of(data));
  }
  again.write(dir / "two.gguf");
  EXPECT_EQ(read_text(dir / "one.gguf"), read_text(dir / "two.gguf"));
}

// Header 24 bytes; a kv is 8 + key + 4 + payload; a tensor info is
// 8 + name + 4 + 8 * n_dims + 4 + 8.
TEST(Gguf, ExactLayoutDefaultAlignment) {
  TempDir dir;
  const auto path = dir / "layout.gguf";
  GgufWriter w(3);
  w.set("general.architecture", GgufValue::string("qwen2"));  // 8 + 20 + 4 + 8 + 5 = 45 bytes, at 24
  w.set("a.u32", GgufValue::u32(7));                            // 8 + 5 + 4 + 4 = 21 bytes, at 69
  w.add_tensor("w", {3}, GgmlType::F32, bytes_of(floats({1.5f, 2.5f, 3.5f})));  // info 8+1+4+8+4+8 = 33, at 90
  w.add_tensor("b", {2, 2}, GgmlType::F16, bytes_of("\x01\x02\x03\x04\x05\x06\x07\x08"));  // info 41, at 123
  w.write(path);
  // Infos end at 164; data section at 192; w at 192 (12 bytes, padded to 32);
  // b at 192 + 32 = 224 (8 bytes, padded to 32); file 256 bytes.
  const std::string s = read_text(path);
  ASSERT_EQ(s.size(), 256u);
  EXPECT_EQ(s.substr(0, 4), "GGUF");
  EXPECT_EQ(le32(s, 4), 3u);
  EXPECT_EQ(le64(s, 8), 2u);   // tensors
  EXPECT_EQ(le64(s, 16), 2u);  // kvs
  EXPECT_EQ(le64(s, 24), 20u);
  EXPECT_EQ(s.substr(32, 20), "general.architecture");
  EXPECT_EQ(le32(s, 52), 8u);  // string
  EXPECT_EQ(le64(s, 56), 5u);
  EXPECT_EQ(s.substr(64, 5), "qwen2");
  EXPECT_EQ(le64(s, 69), 5u);
  EXPECT_EQ(s.substr(77, 5), "a.u32");
  EXPECT_EQ(le32(s, 82), 4u);  // u32
  EXPECT_EQ(le32(s, 86), 7u);
  EXPECT_EQ(le64(s, 90), 1u);
  EXPECT_EQ(s.substr(98, 1), "w");
  EXPECT_EQ(le32(s, 99), 1u);    // n_dims
  EXPECT_EQ(le64(s, 103), 3u);   // dims[0]
  EXPECT_EQ(le32(s, 111), 0u);   // F32
  EXPECT_EQ(le64(s, 115), 0u);   // offset
  EXPECT_EQ(le64(s, 123), 1u);
  EXPECT_EQ(s.substr(131, 1), "b");
  EXPECT_EQ(le32(s, 132), 2u);
  EXPECT_EQ(le64(s, 136), 2u);
  EXPECT_EQ(le64(s, 144), 2u);
  EXPECT_EQ(le32(s, 152), 1u);   // F16
  EXPECT_EQ(le64(s, 156), 32u);  // offset of b
  EXPECT_EQ(s.substr(164, 28), std::string(28, '\0'));
  EXPECT_EQ(s.substr(192, 12), floats({1.5f, 2.5f, 3.5f}));
  EXPECT_EQ(s.substr(204, 20), std::string(20, '\0'));
  EXPECT_EQ(s.substr(224, 8), "\x01\x02\x03\x04\x05\x06\x07\x08");
  EXPECT_EQ(s.substr(232, 24), std::string(24, '\0'));

  GgufFile f(path);
  EXPECT_EQ(f.data_offset(), 192u);
  EXPECT_EQ(f.tensors()[1].offset, 32u);
}

TEST(Gguf, ExactLayoutCustomAlignment64) {
  TempDir dir;
  const auto path = dir / "aligned.gguf";
  GgufWriter w(2);
  w.set("general.alignment", GgufValue::u32(64));  // 8 + 17 + 4 + 4 = 33 bytes, at 24
  w.add_tensor("w", {3}, GgmlType::F32, bytes_of(floats({1, 2, 3})));  // info 33 bytes, at 57
  w.add_tensor("b", {2, 2}, GgmlType::F16, bytes_of("abcdefgh"));      // info 41 bytes, at 90
  w.write(path);
  // Infos end at 131; data at 192; w at 192 (+52 padding); b at 256 (+56 padding); 320 bytes.
  const std::string s = read_text(path);
  ASSERT_EQ(s.size(), 320u);
  EXPECT_EQ(le32(s, 4), 2u);
  EXPECT_EQ(le64(s, 24), 17u);
  EXPECT_EQ(s.substr(32, 17), "general.alignment");
  EXPECT_EQ(le32(s, 49), 4u);
  EXPECT_EQ(le32(s, 53), 64u);
  EXPECT_EQ(le64(s, 57 + 25), 0u);    // offset of w
  EXPECT_EQ(le64(s, 90 + 33), 64u);   // offset of b
  EXPECT_EQ(s.substr(131, 61), std::string(61, '\0'));
  EXPECT_EQ(s.substr(192, 12), floats({1, 2, 3}));
  EXPECT_EQ(s.substr(204, 52), std::string(52, '\0'));
  EXPECT_EQ(s.substr(256, 8), "abcdefgh");
  EXPECT_EQ(s.substr(264, 56), std::string(56, '\0'));
  GgufFile f(path);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset(), 192u);
}

TEST(Gguf, ReaderMatchesHandMadeFile) {
  TempDir dir;
  Bytes b;
  b.header(3, 1, 2).str("general.name").u32(8).str("tiny").kv_u32("general.alignment", 16);
  b.tensor("x", {4, 1}, 0, 0).pad_to(16).raw(floats({1, 2, 3, 4}));
  write_text(dir / "hand.gguf", b.s);
  GgufFile f(dir / "hand.gguf");
  EXPECT_EQ(f.at("general.name").as_string("general.name"), "tiny");
  EXPECT_EQ(f.alignment(), 16u);
  EXPECT_EQ(f.data_offset() % 16, 0u);
  EXPECT_EQ(f.tensors()[0].numel(), 4u);
  float x[4];
  std::memcpy(x, f.tensor_data(f.tensors()[0]), 16);
  EXPECT_EQ(x[3], 4.0f);
}

TEST(Gguf, LenientWhereLlamaCppIs) {
  TempDir dir;
  // No padding after the last tensor, and tensors out of offset order.
  Bytes b;
  b.header(3, 2, 0).tensor("late", {7}, 0, 32).tensor("early", {8}, 0, 0).pad_to(32).zeros(32 + 28);
  write_text(dir / "order.gguf", b.s);
  GgufFile f(dir / "order.gguf");
  EXPECT_EQ(f.tensors()[0].offset, 32u);
  // No tensors and no padding at all.
  write_text(dir / "bare.gguf", Bytes().header(2, 0, 1).kv_u32("k", 1).s);
  EXPECT_EQ(GgufFile(dir / "bare.gguf").metadata().size(), 1u);
}

TEST(Gguf, MissingKeyNamesFileAndKey) {
  TempDir dir;
  GgufWriter().write(dir / "m.gguf");
  GgufFile f(dir / "m.gguf");
  EXPECT_EQ(f.find("nope"), nullptr);
  try {
    f.at("qwen2.block_count");
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "m.gguf").string()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("qwen2.block_count"), std::string::npos);
  }
}

TEST(GgufValue, TypedAccess) {
  EXPECT_EQ(GgufValue::u32(7).as_uint("k"), 7u);
  EXPECT_EQ(GgufValue::i32(7).as_uint("k"), 7u);
  EXPECT_EQ(GgufValue::u8(200).as_int("k"), 200);
  EXPECT_EQ(GgufValue::i64(-5).as_int("k"), -5);
  EXPECT_EQ(GgufValue::f32(0.5f).as_float("k"), 0.5);
  EXPECT_EQ(GgufValue::f64(0.25).as_float("k"), 0.25);
  EXPECT_TRUE(GgufValue::boolean(true).as_bool("k"));
  EXPECT_EQ(GgufValue::string("s").as_string("k"), "s");
  EXPECT_EQ(GgufValue::i32_array({1, 2}).as_array("k").elements.size(), 2u);

  auto message = [](auto f) {
    try {
      f();
    } catch (const josi::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([] { GgufValue::string("x").as_uint("qwen2.block_count"); }),
            "qwen2.block_count: expected an unsigned integer, got string");
  EXPECT_NE(message([] { GgufValue::i32(-1).as_uint("k"); }).find("k: expected a non-negative"), std::string::npos);
  EXPECT_NE(message([] { GgufValue::u64(~0ull).as_int("k"); }).find("k: "), std::string::npos);
  EXPECT_EQ(message([] { GgufValue::u32(1).as_float("eps"); }), "eps: expected a float, got u32");
  EXPECT_EQ(message([] { GgufValue::u8(1).as_bool("b"); }), "b: expected a bool, got u8");
  EXPECT_EQ(message([] { GgufValue::f32(1).as_string("s"); }), "s: expected a string, got f32");
  EXPECT_EQ(message([] { GgufValue::string("").as_array("a"); }), "a: expected an array, got string");
  EXPECT_THROW(GgufValue::array(GgufValueType::I32, {GgufValue::u32(1)}), josi::Error);
}

TEST(GgufWriter, SetReplacesInPlaceAndRemove) {
  TempDir dir;
  GgufWriter w;
  w.set("a", GgufValue::u32(1));
  w.set("b", GgufValue::u32(2));
  w.set("a", GgufValue::string("one"));
  w.set("c", GgufValue::u32(3));
  w.remove("b");
  w.remove("absent");
  w.write(dir / "w.gguf");
  GgufFile f(dir / "w.gguf");
  ASSERT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata()[0].first, "a");
  EXPECT_EQ(f.metadata()[0].second.as_string("a"), "one");
  EXPECT_EQ(f.metadata()[1].first, "c");
}

TEST(GgufWriter, ProducerWithWrongByteCountLeavesNothing) {
  TempDir dir;
  const auto path = dir / "bad.gguf";
  write_text(path, "what the user had");
  GgufWriter w;
  w.add_tensor("ok", {2}, GgmlType::F32, bytes_of(floats({1, 2})));
  w.add_tensor("short", {4}, GgmlType::F32, bytes_of(floats({1, 2, 3})));
  try {
    w.write(path);
    FAIL();
  } catch (const josi::Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"short\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("12 bytes, expected 16"), std::string::npos) << msg;
  }
  EXPECT_EQ(read_text(path), "what the user had");
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);  // no temporary left behind
}

TEST(GgufWriter, RefusesWhatReadersWouldReject) {
  GgufWriter w;
  auto none = bytes_of("");
  EXPECT_THROW(w.add_tensor("q", {33}, GgmlType::Q8_0, none), josi::Error);  // not a whole block
  EXPECT_THROW(w.add_tensor("z", {4, 0}, GgmlType::F32, none), josi::Error);
  EXPECT_THROW(w.add_tensor("e", {}, GgmlType::F32, none), josi::Error);
  EXPECT_THROW(w.add_tensor("d5", {1, 1, 1, 1, 1}, GgmlType::F32, none), josi::Error);
  EXPECT_THROW(w.add_tensor("u", {4}, static_cast<GgmlType>(4), none), josi::Error);
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), {4}, GgmlType::F32, none), josi::Error);
  EXPECT_THROW(w.add_tensor("o", {1ull << 40, 1ull << 40}, GgmlType::F32, none), josi::Error);
  w.add_tensor("t", {4}, GgmlType::F32, none);
  EXPECT_THROW(w.add_tensor("t", {4}, GgmlType::F32, none), josi::Error);
  EXPECT_THROW(GgufWriter(1), josi::Error);
  EXPECT_THROW(GgufWriter(4), josi::Error);

  TempDir dir;
  for (auto bad : {GgufValue::u32(48), GgufValue::u32(0), GgufValue::u64(64), GgufValue::string("32")}) {
    GgufWriter a;
    a.set("general.alignment", bad);
    EXPECT_THROW(a.write(dir / "a.gguf"), josi::Error);
  }
  EXPECT_FALSE(fs::exists(dir / "a.gguf"));
  GgufValue lying = GgufValue::u8(1);
  lying.value = uint64_t{300};
  GgufWriter l;
  l.set("lying", lying);
  EXPECT_THROW(l.write(dir / "l.gguf"), josi::Error);
}

// ---- set-version ----

std::string written_file(const fs::path& path, uint32_t version) {
  GgufWriter w(version);
  w.set("general.architecture", GgufValue::string("qwen2"));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array({"a", "b", "c"}));
  w.add_tensor("w", {32, 2}, GgmlType::Q8_0, bytes_of(std::string(68, '\x5a')));
  w.add_tensor("n", {5}, GgmlType::F32, bytes_of(floats({1, 2, 3, 4, 5})));
  w.write(path);
  return read_text(path);
}

TEST(GgufSetVersion, DiffersOnlyInBytes4To7) {
  TempDir dir;
  for (auto [from, to] : {std::pair{3u, 2u}, std::pair{2u, 3u}, std::pair{3u, 3u}}) {
    const std::string in = written_file(dir / "in.gguf", from);
    EXPECT_EQ(gguf_set_version(dir / "in.gguf", dir / "out.gguf", to), from);
    const std::string out = read_text(dir / "out.gguf");
    ASSERT_EQ(out.size(), in.size());
    EXPECT_EQ(le32(out, 4), to);
    for (size_t i = 0; i < in.size(); ++i) {
      if (i >= 4 && i < 8) continue;
      ASSERT_EQ(out[i], in[i]) << "byte " << i;
    }
    EXPECT_EQ(GgufFile(dir / "out.gguf").version(), to);
  }
}

TEST(GgufSetVersion, InPlace) {
  TempDir dir;
  const std::string in = written_file(dir / "m.gguf", 3);
  EXPECT_EQ(gguf_set_version(dir / "m.gguf", dir / "m.gguf", 2), 3u);
  std::string out = read_text(dir / "m.gguf");
  EXPECT_EQ(le32(out, 4), 2u);
  out[4] = 3;
  EXPECT_EQ(out, in);
}

TEST(GgufSetVersion, RefusesVersions1And4) {
  TempDir dir;
  written_file(dir / "in.gguf", 3);
  for (uint32_t v : {0u, 1u, 4u}) {
    try {
      gguf_set_version(dir / "in.gguf", dir / "out.gguf", v);
      FAIL() << v;
    } catch (const josi::Error& e) {
      EXPECT_NE(std::string(e.what()).find("only 2 and 3"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "out.gguf"));
  }
}

TEST(GgufSetVersion, RefusesNonGgufAndBrokenInput) {
  TempDir dir;
  write_text(dir / "notes.txt", "GGML is not GGUF\n");
  try {
    gguf_set_version(dir / "notes.txt", dir / "out.gguf", 2);
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "notes.txt").string()), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("bad magic"), std::string::npos);
  }
  // Right magic, broken structure: the whole file is validated, not just the header.
  std::string cut = written_file(dir / "in.gguf", 3);
  cut.resize(cut.size() - 40);
  write_text(dir / "cut.gguf", cut);
  EXPECT_THROW(gguf_set_version(dir / "cut.gguf", dir / "out.gguf", 2), josi::Error);
  EXPECT_THROW(gguf_set_version(dir / "missing.gguf", dir / "out.gguf", 2), josi::Error);
  EXPECT_FALSE(fs::exists(dir / "out.gguf"));
}

// ---- hostile files ----

std::string expect_rejected(const std::string& bytes, const std::string& fragment) {
  TempDir dir;
  const auto path = dir / "hostile.gguf";
  write_text(path, bytes);
  try {
    GgufFile f(path);
    ADD_FAILURE() << "accepted a file that should fail with \"" << fragment << "\"";
  } catch (const josi::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path.string() + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  return {};
}

// A small valid file using most structures, whose last tensor ends on the
// alignment, so every strict prefix is broken.
std::string small_valid_file() {
  TempDir dir;
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("qwen2"));
  w.set("general.alignment", GgufValue::u32(32));
  w.set("f", GgufValue::f32(0.5f));
  w.set("list", GgufValue::array(GgufValueType::ARRAY, {GgufValue::string_array({"a", ""}), GgufValue::i32_array({})}));
  w.add_tensor("a", {2, 2}, GgmlType::F16, bytes_of("12345678"));
  w.add_tensor("b", {8}, GgmlType::F32, bytes_of(std::string(32, '\x01')));
  w.write(dir / "small.gguf");
  return read_text(dir / "small.gguf");
}

TEST(GgufHostile, TruncationAtEveryLength) {
  const std::string full = small_valid_file();
  TempDir dir;
  write_text(dir / "full.gguf", full);
  ASSERT_NO_THROW(GgufFile(dir / "full.gguf"));
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(n);
    expect_rejected(full.substr(0, n), n < 4 ? "bad magic" : "");
  }
}

TEST(GgufHostile, EmptyFile) { expect_rejected("", "not a GGUF file"); }
TEST(GgufHostile, BadMagic) { expect_rejected(Bytes().raw("GGML").u32(3).u64(0).u64(0).s, "bad magic"); }
TEST(GgufHostile, Version1) { expect_rejected(Bytes().header(1, 0, 0).s, "unsupported GGUF version 1"); }
TEST(GgufHostile, Version4) { expect_rejected(Bytes().header(4, 0, 0).s, "unsupported GGUF version 4"); }
TEST(GgufHostile, BigEndian) { expect_rejected(Bytes().header(0x03000000, 0, 0).s, "big-endian"); }

TEST(GgufHostile, HugeKvCount) { expect_rejected(Bytes().header(3, 0, 1ull << 60).s, "metadata entries cannot fit"); }
TEST(GgufHostile, HugeTensorCount) { expect_rejected(Bytes().header(3, 1ull << 60, 0).s, "tensor infos cannot fit"); }

TEST(GgufHostile, HugeArrayCount) {
  expect_rejected(Bytes().header(3, 0, 1).str("arr").u32(9).u32(0).u64(1ull << 60).zeros(64).s,
                  "array of 1152921504606846976 u8 values cannot fit");
}

TEST(GgufHostile, HugeStringArrayCount) {
  expect_rejected(Bytes().header(3, 0, 1).str("arr").u32(9).u32(8).u64(~0ull).zeros(64).s, "cannot fit");
}

TEST(GgufHostile, HugeStringLength) {
  expect_rejected(Bytes().header(3, 0, 1).str("s").u32(8).u64(1ull << 62).raw("abc").s, "truncated: string");
}

TEST(GgufHostile, HugeKeyLength) {
  expect_rejected(Bytes().header(3, 0, 1).u64(~0ull).raw("key").u32(4).u32(1).s, "truncated: key");
}

TEST(GgufHostile, HugeTensorNameLength) {
  expect_rejected(Bytes().header(3, 1, 0).u64(1ull << 63).raw("name").zeros(40).s, "truncated: tensor name");
}

TEST(GgufHostile, UnknownValueType) {
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(13).u32(0).s, "unknown value type 13");
}

TEST(GgufHostile, UnknownArrayElementType) {
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(9).u32(0xffffffff).u64(0).s, "unknown value type 4294967295");
}

TEST(GgufHostile, BoolOutOfRange) {
  expect_rejected(Bytes().header(3, 0, 1).str("k").u32(7).u8(2).s, "bool value 2");
}

TEST(GgufHostile, ArraysNestedTooDeep) {
  Bytes b;
  b.header(3, 0, 1).str("k").u32(9);
  for (int i = 0; i < 1000; ++i) b.u32(9).u64(1);
  b.u32(0).u64(0);
  expect_rejected(b.s, "nested deeper");
}

TEST(GgufHostile, UnknownGgmlType) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {32}, 4, 0).pad_to(32).zeros(64).s, "unknown ggml type 4");
}

TEST(GgufHostile, MisalignedOffset) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {4}, 0, 4).pad_to(32).zeros(64).s,
                  "offset 4 is not a multiple of the alignment 32");
}

TEST(GgufHostile, MisalignedForCustomAlignment) {
  expect_rejected(Bytes().header(3, 1, 1).kv_u32("general.alignment", 64).tensor("t", {4}, 0, 32).pad_to(64).zeros(128).s,
                  "not a multiple of the alignment 64");
}

TEST(GgufHostile, TensorBeyondEof) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {16}, 0, 0).pad_to(32).zeros(63).s, "past the end of the file");
}

TEST(GgufHostile, TensorOffsetHuge) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {1}, 0, 1ull << 63).pad_to(32).zeros(32).s,
                  "past the end of the file");
}

TEST(GgufHostile, TensorSizeHugeButValid) {
  // 2^61 F32 elements is a legal element count whose bytes (2^63) lie far past the file.
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {1ull << 61}, 0, 0).pad_to(32).zeros(32).s,
                  "past the end of the file");
}

TEST(GgufHostile, OverlappingTensors) {
  expect_rejected(Bytes().header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad_to(32).zeros(128).s,
                  "tensors \"a\" and \"b\" overlap");
}

TEST(GgufHostile, ZeroDim) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {4, 0}, 0, 0).pad_to(32).zeros(32).s, "dimension 1 is zero");
}

TEST(GgufHostile, NoDims) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {}, 0, 0).pad_to(32).zeros(32).s, "has no dimensions");
}

TEST(GgufHostile, TooManyDims) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0).pad_to(32).zeros(32).s,
                  "has 5 dimensions, at most 4");
}

TEST(GgufHostile, HugeDimCount) {
  expect_rejected(Bytes().header(3, 1, 0).str("t").u32(0xffffffff).zeros(64).s, "dimensions, at most 4");
}

TEST(GgufHostile, DimProductOverflows) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {1ull << 32, 1ull << 32}, 0, 0).pad_to(32).zeros(32).s,
                  "element count overflows");
}

TEST(GgufHostile, RowNotWholeBlocks) {
  expect_rejected(Bytes().header(3, 1, 0).tensor("t", {10}, 8, 0).pad_to(32).zeros(64).s,
                  "row length 10 is not a multiple of Q8_0's block size 32");
}

TEST(GgufHostile, DuplicateKeys) {
  expect_rejected(Bytes().header(3, 0, 2).kv_u32("general.x", 1).kv_u32("general.x", 2).s,
                  "metadata \"general.x\": duplicate key");
}

TEST(GgufHostile, DuplicateTensorNames) {
  expect_rejected(Bytes().header(3, 2, 0).tensor("t", {8}, 0, 0).tensor("t", {8}, 0, 32).pad_to(32).zeros(64).s,
                  "tensor \"t\": duplicate tensor name");
}

TEST(GgufHostile, AlignmentNotU32) {
  expect_rejected(Bytes().header(3, 0, 1).str("general.alignment").u32(10).u64(32).s, "must be a u32, got u64");
}

TEST(GgufHostile, AlignmentNotPowerOfTwo) {
  expect_rejected(Bytes().header(3, 0, 1).kv_u32("general.alignment", 48).s, "alignment 48 is not a power of two");
}

TEST(GgufHostile, AlignmentZero) {
  expect_rejected(Bytes().header(3, 0, 1).kv_u32("general.alignment", 0).s, "alignment 0 is not a power of two");
}

TEST(GgufHostile, UnprintableNamesStayOnOneLine) {
  std::string msg = expect_rejected(
      Bytes().header(3, 0, 2).kv_u32("bad\nkey\x01", 1).kv_u32("bad\nkey\x01", 1).s, "duplicate key");
  EXPECT_NE(msg.find("bad\\x0akey\\x01"), std::string::npos) << msg;
}

}  // namespace
