// josi gguf info / set-version: text and JSON reports on a file written by
// GgufWriter, the tensor table, the version patch, and one-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "formats/gguf.hpp"
#include "json/json.hpp"
#include "support/test_support.hpp"

using namespace josi::formats;
using josi::json::Json;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::TempDir;
using josi::test::write_text;

namespace {

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// 7 tokens, so the array is summarised; one Q8_0 and one F32 tensor.
std::filesystem::path sample(const TempDir& dir, uint32_t version = 3) {
  const auto path = dir / "model.gguf";
  GgufWriter w(version);
  w.set("general.architecture", GgufValue::string("qwen2"));
  w.set("general.name", GgufValue::string("tiny \"q\"\nmodel"));
  w.set("qwen2.block_count", GgufValue::u32(1));
  w.set("qwen2.rope.freq_base", GgufValue::f32(1e6f));
  w.set("qwen2.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-6f));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(false));
  w.set("tokenizer.ggml.tokens", GgufValue::string_array({"!", "\"", "#", "$", "%", "&", "'"}));
  w.set("tokenizer.ggml.token_type", GgufValue::i32_array({1, 3}));
  w.set("tokenizer.chat_template", GgufValue::string(std::string(300, 'x')));
  w.add_tensor("token_embd.weight", {32, 4}, GgmlType::Q8_0, [](std::string& out) { out.append(4 * 34, '\1'); });
  w.add_tensor("output_norm.weight", {32}, GgmlType::F32, [](std::string& out) { out.append(128, '\2'); });
  w.write(path);
  return path;
}

TEST(GgufCli, InfoText) {
  TempDir dir;
  const auto path = sample(dir);
  auto r = run_josi({"gguf", "info", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const std::string& out = r.out;
  EXPECT_TRUE(contains(out, path.string() + ": GGUF v3, 2 tensors, 9 metadata keys, alignment 32, data at byte "))
      << out;
  EXPECT_TRUE(contains(out, "general.architecture")) << out;
  EXPECT_TRUE(contains(out, "\"qwen2\"")) << out;
  EXPECT_TRUE(contains(out, "\"tiny \\\"q\\\"\\nmodel\"")) << out;  // escaped, one line
  EXPECT_TRUE(contains(out, "u32")) << out;
  EXPECT_TRUE(contains(out, "1000000.0")) << out;
  EXPECT_TRUE(contains(out, "1e-06")) << out;
  EXPECT_TRUE(contains(out, "false")) << out;
  EXPECT_TRUE(contains(out, "array[string]  [7 strings: \"!\", \"\\\"\", \"#\", \"$\", \"%\", ... ]")) << out;
  EXPECT_TRUE(contains(out, "[1, 3]")) << out;
  EXPECT_TRUE(contains(out, "... (300 bytes)")) << out;  // long strings are cut in text mode
  EXPECT_FALSE(contains(out, "tensors:")) << out;
  EXPECT_TRUE(contains(out, "total: 2 tensors, 160 parameters, 264 bytes\n")) << out;
  // Header line, "metadata:", nine keys, total.
  EXPECT_EQ(count_lines(out), 12u) << out;
}

TEST(GgufCli, InfoTensors) {
  TempDir dir;
  const auto path = sample(dir);
  auto r = run_josi({"gguf", "info", "--tensors", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "tensors:\n  #  name                type  dims     offset  bytes\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  0  token_embd.weight   Q8_0  [32, 4]       0    136\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  1  output_norm.weight  F32   [32]        160    128\n")) << r.out;
}

TEST(GgufCli, InfoJson) {
  TempDir dir;
  const auto path = sample(dir);
  auto r = run_josi({"gguf", "info", "--json", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 1u);
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["file"], path.string());
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["tensor_count"], 2);
  EXPECT_EQ(j["kv_count"], 9);
  EXPECT_EQ(j["alignment"], 32);
  EXPECT_EQ(j["data_offset"].get<uint64_t>() % 32, 0u);
  EXPECT_EQ(j["parameters"], 160);
  EXPECT_EQ(j["tensor_bytes"], 264);
  const Json& m = j["metadata"];
  EXPECT_EQ(m.size(), 9u);
  EXPECT_EQ(m.begin().key(), "general.architecture");  // file order
  EXPECT_EQ(m["general.architecture"], (Json{{"type", "string"}, {"value", "qwen2"}}));
  EXPECT_EQ(m["general.name"]["value"], "tiny \"q\"\nmodel");
  EXPECT_EQ(m["qwen2.block_count"], (Json{{"type", "u32"}, {"value", 1}}));
  EXPECT_EQ(m["qwen2.rope.freq_base"]["value"], 1e6);
  EXPECT_EQ(m["qwen2.attention.layer_norm_rms_epsilon"]["value"], 1e-6);  // the float's digits, not 9.99e-07
  EXPECT_EQ(m["tokenizer.ggml.add_bos_token"]["value"], false);
  EXPECT_EQ(m["tokenizer.chat_template"]["value"].get<std::string>().size(), 300u);  // JSON keeps strings whole
  const Json& tokens = m["tokenizer.ggml.tokens"];
  EXPECT_EQ(tokens["type"], "array");
  EXPECT_EQ(tokens["element_type"], "string");
  EXPECT_EQ(tokens["count"], 7);
  EXPECT_EQ(tokens["first"], (Json{"!", "\"", "#", "$", "%"}));
  EXPECT_EQ(m["tokenizer.ggml.token_type"]["first"], (Json{1, 3}));
  EXPECT_FALSE(j.contains("tensors"));

  auto t = run_josi({"gguf", "info", "--json", "--tensors", path.string()});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  Json tensors = Json::parse(t.out)["tensors"];
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0], (Json{{"index", 0},
                              {"name", "token_embd.weight"},
                              {"type", "Q8_0"},
                              {"dims", {32, 4}},
                              {"offset", 0},
                              {"bytes", 136}}));
  EXPECT_EQ(tensors[1]["offset"], 160);
}

TEST(GgufCli, InfoJsonSurvivesInvalidUtf8AndNan) {
  TempDir dir;
  const auto path = dir / "odd.gguf";
  GgufWriter w;
  w.set("bytes", GgufValue::string("a\xff" "b"));
  w.set("nan", GgufValue::f32(std::numeric_limits<float>::quiet_NaN()));
  w.write(path);
  auto r = run_josi({"gguf", "info", "--json", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["metadata"]["bytes"]["value"], "a\xef\xbf\xbd" "b");
  EXPECT_TRUE(j["metadata"]["nan"]["value"].is_null());
  auto text = run_josi({"gguf", "info", path.string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "\"a\\xffb\"")) << text.out;
}

TEST(GgufCli, SetVersion) {
  TempDir dir;
  const auto in = sample(dir);
  const auto out = dir / "v2.gguf";
  auto r = run_josi({"gguf", "set-version", in.string(), out.string(), "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, out.string() + ": GGUF version 3 -> 2\n");
  std::string a = read_text(in), b = read_text(out);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(b[4], 2);
  b[4] = 3;
  EXPECT_EQ(a, b);
  auto info = run_josi({"gguf", "info", "--json", out.string()});
  EXPECT_EQ(Json::parse(info.out)["version"], 2);
}

TEST(GgufCli, SetVersionRefusals) {
  TempDir dir;
  const auto in = sample(dir);
  for (const char* v : {"1", "4", "x"}) {
    auto r = run_josi({"gguf", "set-version", in.string(), (dir / "out.gguf").string(), v});
    EXPECT_EQ(r.exit_code, 2) << v;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("josi: error:", 0), 0u) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
  }
  write_text(dir / "notes.txt", "not a model\n");
  auto r = run_josi({"gguf", "set-version", (dir / "notes.txt").string(), (dir / "out.gguf").string(), "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "josi: error: " + (dir / "notes.txt").string() + ": not a GGUF file (bad magic) (at byte 0)\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
}

TEST(GgufCli, OneLineErrors) {
  TempDir dir;
  const auto path = sample(dir);
  struct Case {
    std::vector<std::string> args;
    int exit_code;
  };
  std::string cut = read_text(path);
  cut.resize(100);
  write_text(dir / "cut.gguf", cut);
  const std::vector<Case> cases = {
      {{"gguf", "info", (dir / "missing.gguf").string()}, 3},
      {{"gguf", "info", dir.path().string()}, 3},
      {{"gguf", "info", (dir / "cut.gguf").string()}, 1},
      {{"gguf", "info", "--bogus", path.string()}, 2},
      {{"gguf", "info"}, 2},
      {{"gguf"}, 2},
      {{"gguf", "frobnicate"}, 2},
      {{"gguf", "set-version", path.string()}, 2},
  };
  for (const auto& c : cases) {
    auto r = run_josi(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args.back() << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("josi: error:", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
  }
  auto missing = run_josi({"gguf", "info", (dir / "missing.gguf").string()});
  EXPECT_TRUE(contains(missing.err, (dir / "missing.gguf").string())) << missing.err;
  auto broken = run_josi({"gguf", "info", (dir / "cut.gguf").string()});
  EXPECT_TRUE(contains(broken.err, (dir / "cut.gguf").string())) << broken.err;
}

TEST(GgufCli, Help) {
  for (auto args : std::vector<std::vector<std::string>>{{"gguf"}, {"gguf", "info"}, {"gguf", "set-version"}}) {
    args.push_back("--help");
    auto r = run_josi(args);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(contains(r.out, "Usage:"));
  }
}

}  // namespace
