// formats.md "safetensors": writer/reader round trips, the exact byte layout,
// sharded models, and every way a hostile file is refused with one error line
// naming the file.
#include "formats/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "base/error.hpp"
#include "support/test_support.hpp"

using namespace josi::formats;
namespace fs = std::filesystem;
using josi::test::TempDir;
using josi::test::read_text;
using josi::test::write_text;

namespace {

std::string le64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

// A file as another writer might lay it out: length, header, data.
std::string raw_file(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

std::string f32_bytes(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

std::string view_bytes(const TensorView& view) {
  return std::string(reinterpret_cast<const char*>(view.data), view.nbytes);
}

// Opens `bytes` as a file and returns the error message (empty when it opened).
std::string open_error(const std::string& bytes, fs::path* where = nullptr) {
  static int counter = 0;
  static TempDir dir;
  fs::path path = dir / ("hostile" + std::to_string(counter++) + ".safetensors");
  write_text(path, bytes);
  if (where) *where = path;
  try {
    SafetensorsFile file(path);
    return "";
  } catch (const josi::Error& e) {
    return e.what();
  }
}

// The message names the file, stays on one line, and says what is wrong.
void expect_rejected(const std::string& bytes, const std::string& fragment) {
  fs::path path;
  std::string message = open_error(bytes, &path);
  ASSERT_FALSE(message.empty()) << "accepted; expected an error containing: " << fragment;
  EXPECT_EQ(message.rfind(path.string() + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
}

std::string one_tensor(const std::string& entry, const std::string& data) {
  return raw_file("{\"t\":" + entry + "}", data);
}

}  // namespace

TEST(Safetensors, ByteLayoutOfATinyFile) {
  TempDir dir;
  SafetensorsWriter writer;
  writer.add_bytes("a", DType::F32, {2}, f32_bytes({1.0f, -2.0f}));
  writer.write(dir / "tiny.safetensors");
  const std::string bytes = read_text(dir / "tiny.safetensors");
  // Header: 85 bytes of JSON padded with 3 spaces to 88.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(json.size(), 85u);
  const std::string expected = std::string("\x58\0\0\0\0\0\0\0", 8) + json + "   " +
                               std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  ASSERT_EQ(bytes.size(), 104u);
  EXPECT_EQ(bytes, expected);
}

TEST(Safetensors, ByteLayoutOfTwoTensors) {
  TempDir dir;
  SafetensorsWriter writer;
  writer.add_bytes("w", DType::F16, {1, 3}, std::string("\x00\x3c\x00\xc0\x00\x00", 6));
  writer.add_bytes("b", DType::U8, {2}, "xy");
  writer.set_metadata("note", "hi");
  writer.write(dir / "two.safetensors");
  const std::string bytes = read_text(dir / "two.safetensors");
  const std::string json =
      R"({"__metadata__":{"format":"pt","note":"hi"},"w":{"dtype":"F16","shape":[1,3],"data_offsets":[0,6]},)"
      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})";
  const size_t padded = (json.size() + 7) / 8 * 8;
  ASSERT_EQ(bytes.substr(0, 8), le64(padded));
  EXPECT_EQ(bytes.substr(8, json.size()), json);
  EXPECT_EQ(bytes.substr(8 + json.size(), padded - json.size()), std::string(padded - json.size(), ' '));
  EXPECT_EQ(bytes.substr(8 + padded), std::string("\x00\x3c\x00\xc0\x00\x00xy", 8));
}

TEST(Safetensors, RoundTrip) {
  TempDir dir;
  struct Spec {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::string bytes;
  };
  std::vector<Spec> specs = {
      {"model.embed_tokens.weight", DType::BF16, {2, 3}, std::string("\x80\x3f\x00\x40\x40\x40\x80\x40\xa0\x40\xc0\x40", 12)},
      {"f32", DType::F32, {3}, f32_bytes({0.5f, 1.5f, -3.25f})},
      {"f64", DType::F64, {1}, std::string("\0\0\0\0\0\0\xf0\x3f", 8)},
      {"scalar", DType::I64, {}, std::string("\x2a\0\0\0\0\0\0\0", 8)},
      {"empty", DType::F16, {0, 4}, ""},
      {"i32", DType::I32, {2}, std::string("\x01\0\0\0\xff\xff\xff\xff", 8)},
      {"i16", DType::I16, {1}, std::string("\x34\x12", 2)},
      {"i8", DType::I8, {1, 1, 1}, "\x80"},
      {"u8", DType::U8, {5}, "hello"},
      {"mask", DType::BOOL, {2}, std::string("\x01\x00", 2)},
      {"unicode name é ✓", DType::F16, {1}, std::string("\x00\x3c", 2)},
  };
  SafetensorsWriter writer;
  for (const auto& s : specs) writer.add_bytes(s.name, s.dtype, s.shape, s.bytes);
  writer.set_metadata("source", "josi test");
  writer.set_metadata("empty", "");
  writer.write(dir / "m.safetensors");

  SafetensorsFile file(dir / "m.safetensors");
  ASSERT_EQ(file.tensors().size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorView& view = file.tensors()[i];  // offset order = declaration order
    EXPECT_EQ(view.name, specs[i].name);
    EXPECT_EQ(view.dtype, specs[i].dtype) << view.name;
    EXPECT_EQ(view.shape, specs[i].shape) << view.name;
    EXPECT_EQ(view_bytes(view), specs[i].bytes) << view.name;
    EXPECT_EQ(view.nbytes, specs[i].bytes.size());
    EXPECT_EQ(file.find(specs[i].name), &view);
    EXPECT_EQ(&file.at(specs[i].name), &view);
  }
  EXPECT_EQ(file.at("scalar").numel(), 1);
  EXPECT_EQ(file.at("empty").numel(), 0);
  EXPECT_EQ(file.at("model.embed_tokens.weight").numel(), 6);
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"source", "josi test"}, {"empty", ""}};
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_EQ(file.path(), dir / "m.safetensors");
}

TEST(Safetensors, DataBufferStartsEightAligned) {
  TempDir dir;
  for (size_t len = 1; len <= 17; ++len) {
    SafetensorsWriter writer;
    writer.add_bytes(std::string(len, 'n'), DType::F32, {1}, f32_bytes({1.0f}));
    writer.write(dir / "p.safetensors");
    const std::string bytes = read_text(dir / "p.safetensors");
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ(n % 8, 0u) << len;
    EXPECT_EQ(bytes.size(), 8 + n + 4);
    SafetensorsFile file(dir / "p.safetensors");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file.tensors()[0].data) % 8, 0u);
    EXPECT_EQ(file.tensors()[0].name, std::string(len, 'n'));
  }
}

TEST(Safetensors, EmptyFileHasOnlyMetadata) {
  TempDir dir;
  SafetensorsWriter().write(dir / "e.safetensors");
  EXPECT_EQ(read_text(dir / "e.safetensors"), le64(32) + R"({"__metadata__":{"format":"pt"}})");
  SafetensorsFile file(dir / "e.safetensors");
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_EQ(file.metadata().at("format"), "pt");
}

TEST(Safetensors, MetadataFormatCanBeOverridden) {
  TempDir dir;
  SafetensorsWriter writer;
  writer.set_metadata("format", "np");
  writer.write(dir / "f.safetensors");
  EXPECT_EQ(SafetensorsFile(dir / "f.safetensors").metadata().at("format"), "np");
}

TEST(Safetensors, ProducersRunInTurnAndStream) {
  TempDir dir;
  std::vector<std::string> calls;
  SafetensorsWriter writer;
  for (int i = 0; i < 3; ++i) {
    writer.add("t" + std::to_string(i), DType::F32, {2, 2}, [&calls, i](std::string& out) {
      calls.push_back("t" + std::to_string(i));
      for (int k = 0; k < 4; ++k) {
        float v = static_cast<float>(i * 10 + k);
        out.append(reinterpret_cast<const char*>(&v), 4);
      }
    });
  }
  EXPECT_TRUE(calls.empty());  // nothing runs before write()
  writer.write(dir / "s.safetensors");
  EXPECT_EQ(calls, (std::vector<std::string>{"t0", "t1", "t2"}));
  SafetensorsFile file(dir / "s.safetensors");
  EXPECT_EQ(view_bytes(file.at("t2")), f32_bytes({20, 21, 22, 23}));
}

TEST(Safetensors, ProducerWithWrongByteCountLeavesNothing) {
  TempDir dir;
  write_text(dir / "keep.safetensors", "old contents");
  SafetensorsWriter writer;
  writer.add_bytes("ok", DType::F32, {1}, f32_bytes({1}));
  writer.add("short", DType::F32, {2}, [](std::string& out) { out += "abc"; });
  try {
    writer.write(dir / "keep.safetensors");
    FAIL();
  } catch (const josi::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find((dir / "keep.safetensors").string()), std::string::npos) << message;
    EXPECT_NE(message.find("\"short\""), std::string::npos) << message;
    EXPECT_NE(message.find("produced 3 bytes"), std::string::npos) << message;
  }
  EXPECT_EQ(read_text(dir / "keep.safetensors"), "old contents");
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u);  // no temporary left behind
}

TEST(Safetensors, WriterRejectsBadDeclarations) {
  TempDir dir;
  auto error_of = [&](const std::function<void(SafetensorsWriter&)>& declare) {
    SafetensorsWriter writer;
    declare(writer);
    try {
      writer.write(dir / "w.safetensors");
    } catch (const josi::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string m = error_of([](SafetensorsWriter& w) {
    w.add_bytes("x", DType::U8, {1}, "a");
    w.add_bytes("x", DType::U8, {1}, "b");
  });
  EXPECT_NE(m.find("\"x\": declared twice"), std::string::npos) << m;
  m = error_of([](SafetensorsWriter& w) { w.add_bytes("__metadata__", DType::U8, {1}, "a"); });
  EXPECT_NE(m.find("reserved"), std::string::npos) << m;
  m = error_of([](SafetensorsWriter& w) { w.add_bytes("neg", DType::U8, {-1}, ""); });
  EXPECT_NE(m.find("\"neg\""), std::string::npos) << m;
  m = error_of([](SafetensorsWriter& w) { w.add_bytes("huge", DType::F32, {int64_t{1} << 62}, ""); });
  EXPECT_NE(m.find("\"huge\""), std::string::npos) << m;
  m = error_of([](SafetensorsWriter& w) { w.add_bytes("bad\xff", DType::U8, {1}, "a"); });
  EXPECT_NE(m.find("UTF-8"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(dir / "w.safetensors"));
}

TEST(Safetensors, ReadsForeignLayout) {
  // Another writer: no metadata, tensors listed out of offset order, extra
  // whitespace; tensors() comes back in offset order.
  const std::string header =
      "{ \"b\" : {\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},\n"
      "  \"a\" : {\"shape\":[1],\"dtype\":\"F32\",\"data_offsets\":[0,4]} }  ";
  TempDir dir;
  write_text(dir / "x.safetensors", raw_file(header, f32_bytes({2.5f}) + "hi"));
  SafetensorsFile file(dir / "x.safetensors");
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "a");
  EXPECT_EQ(file.tensors()[1].name, "b");
  EXPECT_EQ(view_bytes(file.at("b")), "hi");
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_EQ(file.find("c"), nullptr);
}

TEST(Safetensors, ZeroSizeTensorsMayShareAnOffset) {
  const std::string header =
      R"({"e1":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"e2":{"dtype":"F16","shape":[3,0],"data_offsets":[0,0]},)"
      R"("x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  EXPECT_EQ(open_error(raw_file(header, "z")), "");
}

TEST(Safetensors, AtNamesFileAndTensor) {
  TempDir dir;
  SafetensorsWriter().write(dir / "e.safetensors");
  SafetensorsFile file(dir / "e.safetensors");
  try {
    file.at("missing.weight");
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "e.safetensors").string() + ": no tensor \"missing.weight\"");
  }
}

TEST(Safetensors, MissingFileIsAnIoError) {
  TempDir dir;
  try {
    SafetensorsFile file(dir / "nope.safetensors");
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_EQ(e.code(), josi::ExitCode::io);
    EXPECT_NE(std::string(e.what()).find("nope.safetensors"), std::string::npos);
  }
}

// ---- hostile input, one test per defect ----

TEST(SafetensorsHostile, EmptyFile) { expect_rejected("", "too short"); }

TEST(SafetensorsHostile, ShorterThanTheLength) { expect_rejected("\x05\0\0", "too short"); }

TEST(SafetensorsHostile, HeaderLengthLargerThanFile) {
  expect_rejected(le64(100) + "{}", "header length 100 is larger than the 2 bytes after it");
}

TEST(SafetensorsHostile, HeaderLengthAbsurd) {
  expect_rejected(le64(~uint64_t{0}) + "{}", "header length 18446744073709551615");
  expect_rejected(le64(uint64_t{1} << 63) + "{}", "is larger than");
}

TEST(SafetensorsHostile, HeaderLengthOverTheLimit) {
  // A sparse file big enough that the length fits inside it.
  TempDir dir;
  const fs::path path = dir / "big.safetensors";
  write_text(path, le64(100'000'001) + "{}");
  fs::resize_file(path, 100'000'100);
  try {
    SafetensorsFile file(path);
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ": header length 100000001 exceeds the limit"),
              std::string::npos)
        << e.what();
  }
}

TEST(SafetensorsHostile, ZeroLengthHeader) { expect_rejected(le64(0), "invalid JSON"); }

TEST(SafetensorsHostile, HeaderNotJson) { expect_rejected(raw_file("{\"a\": "), "header: invalid JSON"); }

TEST(SafetensorsHostile, HeaderInvalidUtf8) { expect_rejected(raw_file("{\"a\xff\": 1}"), "invalid JSON"); }

TEST(SafetensorsHostile, HeaderNotAnObject) {
  expect_rejected(raw_file("[1, 2]"), "header is array, expected an object");
  expect_rejected(raw_file("\"text\""), "header is string, expected an object");
  expect_rejected(raw_file("7"), "header is integer, expected an object");
}

TEST(SafetensorsHostile, TrailingGarbageInHeader) { expect_rejected(raw_file("{} x"), "invalid JSON"); }

TEST(SafetensorsHostile, EntryNotAnObject) { expect_rejected(raw_file("{\"t\": [1]}"), "tensor \"t\": entry is array"); }

TEST(SafetensorsHostile, UnknownDtype) {
  expect_rejected(one_tensor(R"({"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]})", "x"),
                  "tensor \"t\": unknown dtype \"F8_E4M3\"");
}

TEST(SafetensorsHostile, DtypeNotAString) {
  expect_rejected(one_tensor(R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})", "xxxx"), "\"dtype\" is integer");
}

TEST(SafetensorsHostile, MissingKeys) {
  expect_rejected(one_tensor(R"({"shape":[1],"data_offsets":[0,4]})", "xxxx"), "tensor \"t\": missing \"dtype\"");
  expect_rejected(one_tensor(R"({"dtype":"F32","data_offsets":[0,4]})", "xxxx"), "tensor \"t\": missing \"shape\"");
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[1]})", "xxxx"), "tensor \"t\": missing \"data_offsets\"");
}

TEST(SafetensorsHostile, ShapeNotAList) {
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":4,"data_offsets":[0,4]})", "xxxx"), "\"shape\" is integer");
}

TEST(SafetensorsHostile, NegativeDim) {
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})", "xxxx"),
                  "tensor \"t\": \"shape\" holds -1, expected a non-negative integer");
}

TEST(SafetensorsHostile, NonIntegerDim) {
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})", "xxxx"), "holds 1.5");
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[1.0],"data_offsets":[0,4]})", "xxxx"), "holds 1.0");
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":["1"],"data_offsets":[0,4]})", "xxxx"), "holds string");
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[true],"data_offsets":[0,4]})", "xxxx"), "holds boolean");
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[[1]],"data_offsets":[0,4]})", "xxxx"), "holds array");
}

TEST(SafetensorsHostile, DimBeyondInt64) {
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,1]})", "x"),
                  "holds 9223372036854775808");
}

TEST(SafetensorsHostile, ElementCountOverflow) {
  // 2^32 * 2^32 elements wraps to 0 in 64 bits; must not pass as an empty tensor.
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]})", ""),
                  "has too many elements");
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]})", ""),
                  "has too many elements");
}

TEST(SafetensorsHostile, ByteCountOverflow) {
  // 2^62 elements fit int64, 2^62 * 4 bytes do not (and wrap to 0).
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]})", ""),
                  "has too many elements");
}

TEST(SafetensorsHostile, SpanDiffersFromShape) {
  expect_rejected(one_tensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", "xxxx"),
                  "tensor \"t\": shape [2] of F32 needs 8 bytes but data_offsets span 4");
  expect_rejected(one_tensor(R"({"dtype":"BF16","shape":[2,2],"data_offsets":[0,10]})", std::string(10, 'x')),
                  "needs 8 bytes but data_offsets span 10");
}

TEST(SafetensorsHostile, OffsetsOutOfRange) {
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[4],"data_offsets":[0,4]})", "xx"),
                  "tensor \"t\": data_offsets [0, 4] lie outside the data buffer of 2 bytes");
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[18446744073709551614,18446744073709551615]})", "x"),
                  "\"data_offsets\" must hold two non-negative integers");
}

TEST(SafetensorsHostile, OffsetsBeginAfterEnd) {
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[0],"data_offsets":[3,1]})", "xxx"),
                  "data_offsets [3, 1] end before they begin");
}

TEST(SafetensorsHostile, OffsetsMalformed) {
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[0]})", "x"), "must be a list [begin, end]");
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})", "x"), "must be a list");
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":{"a":1}})", "x"), "must be a list");
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[-1,0]})", "x"), "non-negative integers");
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1.0]})", "x"), "non-negative integers");
}

TEST(SafetensorsHostile, OffsetsOverlap) {
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})";
  expect_rejected(raw_file(header, "123456"), "tensor \"b\": data_offsets overlap those of tensor \"a\"");
  // The same span twice is an overlap too (two names, one storage).
  const std::string alias =
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})";
  expect_rejected(raw_file(alias, "1234"), "overlap");
}

TEST(SafetensorsHostile, GapInTheDataBuffer) {
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})";
  expect_rejected(raw_file(header, "123456"), "tensor \"b\": data_offsets begin at 4, leaving bytes 2..4");
}

TEST(SafetensorsHostile, TrailingBytesAfterTheLastTensor) {
  expect_rejected(one_tensor(R"({"dtype":"U8","shape":[2],"data_offsets":[0,2]})", "1234"),
                  "tensors cover 2 bytes of a data buffer of 4 bytes");
}

TEST(SafetensorsHostile, DuplicateTensorNames) {
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  expect_rejected(raw_file(header, "12"), "duplicate tensor name \"a\"");
}

TEST(SafetensorsHostile, DuplicateKeyInsideAnEntry) {
  expect_rejected(one_tensor(R"({"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]})", "x"),
                  "header: duplicate key \"dtype\"");
}

TEST(SafetensorsHostile, MetadataNotAnObject) {
  expect_rejected(raw_file(R"({"__metadata__":["pt"]})"), "__metadata__ is array");
}

TEST(SafetensorsHostile, MetadataValueNotAString) {
  expect_rejected(raw_file(R"({"__metadata__":{"format":"pt","n":1}})"), "__metadata__ \"n\" is integer");
}

TEST(SafetensorsHostile, ControlCharactersInNamesStayOnOneLine) {
  expect_rejected(one_tensor(R"({"dtype":"X\nY","shape":[1],"data_offsets":[0,1]})", "x"), "unknown dtype \"X\\x0aY\"");
  expect_rejected(raw_file(R"({"a\nb":{"dtype":"U8","shape":[1],"data_offsets":[0,2]}})", "xx"), "tensor \"a\\x0ab\"");
}

TEST(SafetensorsHostile, DeeplyNestedHeader) {
  // Found while testing: building an ordered_json object copies earlier values
  // recursively, so a deep value followed by another key overflowed the stack
  // inside the JSON parser. Nesting is now refused before any tree is built.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  expect_rejected(raw_file("{\"t\":{\"dtype\":\"U8\",\"shape\":" + deep + ",\"data_offsets\":[0,0]}}"),
                  "header: JSON nests deeper than 32 levels");
  expect_rejected(raw_file(deep), "header: JSON nests deeper than 32 levels");
  expect_rejected(raw_file("{\"__metadata__\":" + deep + "}"), "nests deeper");
  // Deep and broken: refused without building the tree either.
  expect_rejected(raw_file("{\"a\":" + std::string(200000, '[') + "x"), "nests deeper");
  // Shallow extras in an entry are still fine.
  EXPECT_EQ(open_error(one_tensor(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":[[[{}]]]})", "z")), "");
}

TEST(SafetensorsHostile, EveryTruncationFails) {
  TempDir dir;
  SafetensorsWriter writer;
  writer.add_bytes("a", DType::F16, {2}, std::string("\x00\x3c\x00\x40", 4));
  writer.add_bytes("b", DType::U8, {3}, "xyz");
  writer.set_metadata("k", "v");
  writer.write(dir / "full.safetensors");
  const std::string full = read_text(dir / "full.safetensors");
  EXPECT_EQ(open_error(full), "");
  for (size_t len = 0; len < full.size(); ++len) {
    std::string message = open_error(full.substr(0, len));
    EXPECT_FALSE(message.empty()) << "truncated to " << len << " bytes was accepted";
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

TEST(SafetensorsHostile, EveryTruncatedHeaderLengthFails) {
  // The header length shrunk by k, with the file cut to match: the JSON ends early.
  TempDir dir;
  SafetensorsWriter writer;
  writer.add_bytes("abc", DType::U8, {2}, "xy");
  writer.write(dir / "full.safetensors");
  const std::string full = read_text(dir / "full.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, full.data(), 8);
  const std::string json = full.substr(8, n);
  for (uint64_t k = 1; k < n; ++k) {
    // Only the padding spaces may go; once JSON is cut it must fail.
    std::string message = open_error(le64(n - k) + json.substr(0, n - k) + "xy");
    if (json.find_last_not_of(' ') < n - k) {
      EXPECT_EQ(message, "") << k;
    } else {
      EXPECT_FALSE(message.empty()) << k;
    }
  }
}

// ---- sharded models ----

namespace {

void write_shard(const fs::path& path, const std::vector<std::pair<std::string, std::string>>& tensors) {
  SafetensorsWriter writer;
  for (const auto& [name, bytes] : tensors)
    writer.add_bytes(name, DType::U8, {static_cast<int64_t>(bytes.size())}, bytes);
  writer.write(path);
}

std::string model_error(const fs::path& dir) {
  try {
    SafetensorsModel model(dir);
    return "";
  } catch (const josi::Error& e) {
    return e.what();
  }
}

}  // namespace

TEST(SafetensorsModel, SingleFile) {
  TempDir dir;
  write_shard(dir / "model.safetensors", {{"a", "1"}, {"b", "22"}});
  SafetensorsModel model(dir.path());
  ASSERT_EQ(model.tensors().size(), 2u);
  EXPECT_EQ(view_bytes(model.at("b")), "22");
  EXPECT_EQ(model.find("c"), nullptr);
}

TEST(SafetensorsModel, ShardedViaIndex) {
  TempDir dir;
  write_shard(dir / "model-00002-of-00002.safetensors", {{"lm_head.weight", "L"}, {"model.norm.weight", "N"}});
  write_shard(dir / "model-00001-of-00002.safetensors", {{"model.embed_tokens.weight", "EE"}, {"model.layers.0.x", "0"}});
  write_text(dir / "model.safetensors.index.json", R"({
  "metadata": {"total_size": 5},
  "weight_map": {
    "lm_head.weight": "model-00002-of-00002.safetensors",
    "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
    "model.layers.0.x": "model-00001-of-00002.safetensors",
    "model.norm.weight": "model-00002-of-00002.safetensors"
  }
})");
  SafetensorsModel model(dir.path());
  std::vector<std::string> names;
  for (const TensorView* view : model.tensors()) names.push_back(view->name);
  // Shards in file-name order, each in offset order.
  EXPECT_EQ(names, (std::vector<std::string>{"model.embed_tokens.weight", "model.layers.0.x", "lm_head.weight",
                                             "model.norm.weight"}));
  EXPECT_EQ(view_bytes(model.at("model.embed_tokens.weight")), "EE");
  EXPECT_EQ(view_bytes(model.at("model.norm.weight")), "N");
  EXPECT_EQ(model.find("nope"), nullptr);
  try {
    model.at("nope");
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.path().string() + ": no tensor \"nope\"");
  }
}

TEST(SafetensorsModel, SingleFileWinsOverIndex) {
  TempDir dir;
  write_shard(dir / "model.safetensors", {{"only", "1"}});
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "missing.safetensors"}})");
  SafetensorsModel model(dir.path());
  EXPECT_NE(model.find("only"), nullptr);
}

TEST(SafetensorsModel, NeitherFormIsThere) {
  TempDir dir;
  std::string m = model_error(dir.path());
  EXPECT_NE(m.find(dir.path().string() + ": neither model.safetensors nor model.safetensors.index.json"),
            std::string::npos)
      << m;
}

TEST(SafetensorsModel, MissingShard) {
  TempDir dir;
  write_shard(dir / "a.safetensors", {{"x", "1"}});
  write_text(dir / "model.safetensors.index.json",
             R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})");
  std::string m = model_error(dir.path());
  EXPECT_NE(m.find("model.safetensors.index.json: shard \"b.safetensors\" is missing"), std::string::npos) << m;
}

TEST(SafetensorsModel, IndexNamesATensorItsShardLacks) {
  TempDir dir;
  write_shard(dir / "a.safetensors", {{"x", "1"}});
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors", "y": "a.safetensors"}})");
  std::string m = model_error(dir.path());
  EXPECT_NE(m.find("index.json: weight_map puts tensor \"y\" in \"a.safetensors\", which lacks it"),
            std::string::npos)
      << m;
}

TEST(SafetensorsModel, TensorInTwoShards) {
  TempDir dir;
  write_shard(dir / "a.safetensors", {{"x", "1"}});
  write_shard(dir / "b.safetensors", {{"x", "2"}});
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors", "z": "b.safetensors"}})");
  std::string m = model_error(dir.path());
  EXPECT_NE(m.find("tensor \"x\" is in both \"a.safetensors\" and \"b.safetensors\""), std::string::npos) << m;
}

TEST(SafetensorsModel, BadIndex) {
  TempDir dir;
  write_text(dir / "model.safetensors.index.json", "{");
  EXPECT_NE(model_error(dir.path()).find("index.json: invalid JSON"), std::string::npos);
  write_text(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  EXPECT_NE(model_error(dir.path()).find("index.json: missing \"weight_map\""), std::string::npos);
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": []})");
  EXPECT_NE(model_error(dir.path()).find("\"weight_map\" is array"), std::string::npos);
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": 1}})");
  EXPECT_NE(model_error(dir.path()).find("weight_map \"x\" is integer"), std::string::npos);
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "../outside.safetensors"}})");
  EXPECT_NE(model_error(dir.path()).find("expected a file name"), std::string::npos);
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "/etc/passwd"}})");
  EXPECT_NE(model_error(dir.path()).find("expected a file name"), std::string::npos);
}

TEST(SafetensorsModel, HostileIndex) {
  TempDir dir;
  write_shard(dir / "a.safetensors", {{"x", "1"}});
  write_text(dir / "model.safetensors.index.json",
             R"({"weight_map": {"x": "a.safetensors"}, "metadata": )" + std::string(100000, '[') +
                 std::string(100000, ']') + "}");
  EXPECT_NE(model_error(dir.path()).find("index.json: JSON nests deeper than 32 levels"), std::string::npos);
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}})");
  EXPECT_NE(model_error(dir.path()).find("index.json: duplicate key \"x\""), std::string::npos);
}

TEST(SafetensorsModel, BrokenShardNamesTheShard) {
  TempDir dir;
  write_text(dir / "a.safetensors", "garbage!");
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors"}})");
  std::string m = model_error(dir.path());
  EXPECT_EQ(m.rfind((dir / "a.safetensors").string() + ": ", 0), 0u) << m;
}
