#include "json/python_dumps.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "json/json.hpp"
#include "support/test_support.hpp"

using josi::json::Json;
using josi::json::python_dumps;
using josi::json::python_float_repr;

TEST(PythonDumps, SeparatorsAndOrder) {
  Json v = Json::parse(R"({"b": 1, "a": [true, false, null], "c": {}})");
  EXPECT_EQ(python_dumps(v), R"({"b": 1, "a": [true, false, null], "c": {}})");
  EXPECT_EQ(python_dumps(Json::array()), "[]");
}

TEST(PythonDumps, EscapesLikeEnsureAscii) {
  Json v = std::string("a\"b\\c\n\r\t\b\f\x01\x7f \xe2\x80\x94 \xf0\x9f\x8f\x83");
  EXPECT_EQ(python_dumps(v), R"("a\"b\\c\n\r\t\b\f\u0001\u007f \u2014 \ud83c\udfc3")");
  EXPECT_EQ(python_dumps(Json("/")), R"("/")");
}

TEST(PythonDumps, FloatRepr) {
  EXPECT_EQ(python_float_repr(1.0), "1.0");
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(python_float_repr(123.456), "123.456");
  EXPECT_EQ(python_float_repr(1.5e-7), "1.5e-07");
  EXPECT_EQ(python_float_repr(2.5e300), "2.5e+300");
  EXPECT_EQ(python_float_repr(0.30000000000000004), "0.30000000000000004");
}

TEST(PythonDumps, NumbersKeepTheirKind) {
  Json v = Json::parse(R"([1, -2, 3.0, 1e5, 18446744073709551615])");
  EXPECT_EQ(python_dumps(v), "[1, -2, 3.0, 100000.0, 18446744073709551615]");
}

TEST(PythonDumps, EnsureAsciiFalseKeepsUtf8ButEscapesControls) {
  Json v = std::string("caf\xc3\xa9 \x7f\n\x1f");
  EXPECT_EQ(python_dumps(v, {.ensure_ascii = false}), "\"caf\xc3\xa9 \x7f\\n\\u001f\"");
}

// Every line of the users' files, parsed and dumped again, is the same bytes:
// some were written with json.dumps defaults, some with ensure_ascii=False.
TEST(PythonDumps, ReferenceFilesRoundTripByteForByte) {
  const std::pair<const char*, bool> files[] = {
      {"gold_combined.jsonl", true},          {"philosophy_enhanced.jsonl", true},
      {"train_explainer_sequential.jsonl", true}, {"val_explainer_sequential.jsonl", true},
      {"train_explainer.jsonl", false},       {"val_explainer.jsonl", false},
      {"val_interpreter.jsonl", false},       {"train_v3.jsonl", false},
      {"val_v3.jsonl", false}};
  size_t total = 0;
  for (const auto& [name, ascii] : files) {
    std::string text = josi::test::read_text(josi::test::reference_data(name));
    size_t pos = 0, line_no = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      ASSERT_EQ(python_dumps(Json::parse(line), {.ensure_ascii = ascii}), line) << name << ":" << line_no;
      ++total;
    }
  }
  EXPECT_EQ(total, 4693u);
}

TEST(JsonParse, HostileNestingIsAnErrorNotACrash) {
  std::string deep = "{\"a\": " + std::string(200000, '[') + std::string(200000, ']') + ", \"b\": 1}";
  EXPECT_THROW(josi::json::parse(deep, "deep.json"), josi::Error);
  Json out;
  EXPECT_FALSE(josi::json::try_parse(deep, out));
  EXPECT_NO_THROW(josi::json::parse("[[[[\"[[[[\"]]]]", "ok.json"));  // brackets inside strings do not count
}
