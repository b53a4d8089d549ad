// libjosi from outside: it exports only josi_* and needs no network, TLS or
// training library; a turn through the C API (examples/c/coach_turn) is byte
// for byte the turn `josi chat --jsonl` writes for the same input and seed,
// timings aside; open -> turn -> close leaks nothing under Valgrind.
#include <gtest/gtest.h>

#include "integration/ship_servers.hpp"
#include "json/json.hpp"

using namespace josi::test;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A turn's output without its "timings_ms" object, the one part that differs between runs.
std::string without_timings(std::string turn) {
  const size_t at = turn.find("\"timings_ms\": {");
  if (at == std::string::npos) return turn;
  const size_t end = turn.find('}', at);
  return turn.erase(at, end + 1 - at);
}

class CApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto r = run_josi({"init-base", "--preset", "tiny", "--tokenizer", qwen_tokenizer_json().string(), "--out",
                       (dir_->path() / "base").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", (dir_->path() / "base").string(), "--outfile", model().string(), "--outtype", "q8_0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path model() { return dir_->path() / "tiny.gguf"; }
  // The first sample turn with a seed and a token limit.
  static fs::path turn_file(int seed, int max_tokens) {
    std::string line = read_text(source_dir() / "data" / "samples" / "chat.jsonl");
    line = line.substr(0, line.find('\n'));
    line.pop_back();  // its closing brace
    line += ", \"options\": {\"seed\": " + std::to_string(seed) + ", \"max_tokens\": " + std::to_string(max_tokens) + "}}";
    const fs::path path = dir_->path() / ("turn-" + std::to_string(seed) + ".json");
    write_text(path, line + "\n");
    return path;
  }
  static TempDir* dir_;
};
TempDir* CApi::dir_ = nullptr;

TEST_F(CApi, ExportsOnlyTheCApiAndNeedsNoNetworkTlsOrTorch) {
  auto exported = run_shell("nm -D --defined-only " + std::string(JOSI_LIBJOSI));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  size_t symbols = 0;
  for (size_t at = 0, end; (end = exported.out.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = exported.out.substr(at, end - at);
    const std::string name = line.substr(line.rfind(' ') + 1);
    EXPECT_EQ(name.rfind("josi_", 0), 0u) << "exported: " << line;
    ++symbols;
  }
  EXPECT_EQ(symbols, 10u) << exported.out;
  auto needed = run_shell("readelf -d " + std::string(JOSI_LIBJOSI));
  ASSERT_EQ(needed.exit_code, 0) << needed.err;
  ASSERT_TRUE(contains(needed.out, "(NEEDED)")) << needed.out;
  for (const char* library : {"torch", "c10", "curl", "ssl", "crypto", "gnutls", "nghttp"})
    EXPECT_FALSE(contains(needed.out, library)) << library << " in\n" << needed.out;
  EXPECT_TRUE(contains(needed.out, "libstdc++")) << needed.out;
}

TEST_F(CApi, ATurnIsByteForByteTheTurnOfJosiChat) {
  for (int seed : {1, 2, 3}) {
    const fs::path turn = turn_file(seed, 40);
    auto c = run_shell(std::string(JOSI_COACH_TURN) + " " + model().string() + " " + model().string() + " " + turn.string());
    ASSERT_EQ(c.exit_code, 0) << c.err;
    auto chat = run_josi({"chat", "--interpreter", model().string(), "--jsonl", turn.string()});
    ASSERT_EQ(chat.exit_code, 0) << chat.err;
    ASSERT_TRUE(contains(c.out, "\"timings_ms\": {")) << c.out;
    EXPECT_EQ(without_timings(c.out), without_timings(chat.out)) << "seed " << seed;
  }
  // Bad input through the example: a status and a message.
  write_text(dir_->path() / "bad.json", "{\"message\": 1}");
  auto bad = run_shell(std::string(JOSI_COACH_TURN) + " " + model().string() + " " + model().string() + " " +
                       (dir_->path() / "bad.json").string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "turn failed (3)")) << bad.err;  // JOSI_ERR_INPUT
  auto missing = run_shell(std::string(JOSI_COACH_TURN) + " /nonexistent.gguf " + model().string() + " " +
                           (dir_->path() / "bad.json").string());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "open failed (2): ")) << missing.err;  // JOSI_ERR_MODEL
  EXPECT_TRUE(contains(missing.err, "/nonexistent.gguf")) << missing.err;
}

// One base and an adapter per role, through the C API and through josi chat:
// the same turns byte for byte, and not the turns of the base alone.
// A model's think blocks (replayed here, as Qwen3 writes them) reach the
// app neither in the stream nor in the reply; the result reports them.
TEST_F(CApi, ThinkBlocksAreNeitherStreamedNorShown) {
  std::string line = read_text(source_dir() / "data" / "samples" / "chat.jsonl");
  line = line.substr(0, line.find('\n'));
  line.pop_back();
  line += R"(, "options": {"seed": 1, "constrain": false, "interpreter": {"replay": "<think>today?</think>\n\n{\"action\": \"explain\", \"free_text\": \"What am I doing today?\", \"question\": \"What am I doing today?\"}"}, "explainer": {"replay": "<think>\nZ2, 45 minutes.\n</think>\n\nAn easy 45 minute Zone 2 run."}}})";
  write_text(dir_->path() / "think.json", line + "\n");
  auto c = run_shell(std::string(JOSI_COACH_TURN) + " " + model().string() + " " + model().string() + " " +
                     (dir_->path() / "think.json").string());
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_TRUE(contains(c.err, "An easy 45 minute Zone 2 run.")) << c.err;  // the stream
  EXPECT_FALSE(contains(c.err, "think")) << c.err;
  EXPECT_FALSE(contains(c.err, "Z2, 45 minutes")) << c.err;
  const auto result = josi::json::parse(c.out, "coach_turn output");
  EXPECT_EQ(result["route"], "explainer") << c.out;
  EXPECT_EQ(result["reply"], "An easy 45 minute Zone 2 run.");
  EXPECT_EQ(result["interpreter"]["thinking"], "today?");
  EXPECT_EQ(result["explainer"]["thinking"], "Z2, 45 minutes.");
}

TEST_F(CApi, OneBaseWithTwoAdaptersTurnsAsJosiChatDoes) {
  const fs::path d = dir_->path();
  std::vector<std::string> adapters;
  for (const char* role : {"interpreter", "explainer"}) {
    write_random_adapter(d / "base", d / (std::string(role) + "-peft"), role[0] == 'i' ? 21 : 22);
    adapters.push_back((d / (std::string(role) + ".gguf")).string());
    auto r = run_josi({"export-gguf", "--lora", (d / (std::string(role) + "-peft")).string(), "--outfile", adapters.back()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  for (int seed : {1, 2}) {
    const fs::path turn = turn_file(seed, 40);
    auto c = run_shell(std::string(JOSI_COACH_TURN) + " --base " + model().string() + " " + adapters[0] + " " + adapters[1] +
                       " " + turn.string());
    ASSERT_EQ(c.exit_code, 0) << c.err;
    auto chat = run_josi({"chat", "--base", model().string(), "--interpreter-adapter", adapters[0], "--explainer-adapter",
                          adapters[1], "--jsonl", turn.string()});
    ASSERT_EQ(chat.exit_code, 0) << chat.err;
    EXPECT_EQ(without_timings(c.out), without_timings(chat.out)) << "seed " << seed;
    auto plain = run_josi({"chat", "--interpreter", model().string(), "--jsonl", turn.string()});
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_NE(without_timings(plain.out), without_timings(chat.out)) << "seed " << seed;
  }
  // An adapter for another base: one line naming it, from the library and the CLI.
  auto other = run_josi({"chat", "--base", model().string(), "--interpreter-adapter", model().string(), "--jsonl",
                         turn_file(1, 40).string()});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_TRUE(contains(other.err, "not a LoRA adapter")) << other.err;
  auto both = run_josi({"chat", "--base", model().string(), "--interpreter", model().string()});
  EXPECT_EQ(both.exit_code, 2) << both.err;
  auto c = run_shell(std::string(JOSI_COACH_TURN) + " --base " + model().string() + " " + model().string() + " " +
                     adapters[1] + " " + turn_file(1, 40).string());
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_TRUE(contains(c.err, "open failed (2): ")) << c.err;  // JOSI_ERR_MODEL
}

TEST_F(CApi, OpenTurnCloseLeaksNothingUnderValgrind) {
  const fs::path turn = turn_file(1, 40);
  // PCRE2's JIT code is off: Valgrind cannot follow it.
  auto r = run_shell("JOSI_REGEX_JIT=0 valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=9 " +
                     std::string(JOSI_COACH_TURN) + " " + model().string() + " " + model().string() + " " + turn.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "definitely lost: 0 bytes") || contains(r.err, "All heap blocks were freed")) << r.err;
  EXPECT_TRUE(contains(r.err, "ERROR SUMMARY: 0 errors")) << r.err;
}

}  // namespace
