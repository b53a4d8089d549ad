// The v6 release checks on a Qwen3-shaped tiny model (random weights), as a
// merged file and as base + adapter: the knowledge-fidelity cases scored on
// replayed answers and run as coach turns, the v6 sanity set, the grounding
// summary of `josi data validate`, and the release gate, which refuses the
// random model listing what failed and ships it with --skip-sanity, the
// manifest saying so.
#include <gtest/gtest.h>

#include <set>

#include "json/json.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using josi::json::Json;
using josi::test::josi_lines;
using josi::test::run_josi;
using josi::test::RunResult;
using josi::test::TempDir;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
Json json_of(const RunResult& r) { return josi::json::parse(r.out, "josi output"); }
std::string criteria() { return josi::test::reference_v7("data/eval_knowledge_prompts.json").string(); }
std::string cards() { return josi::test::reference_v7("knowledge/knowledge.json").string(); }
std::string unit_data(const std::string& name) { return (josi::test::source_dir() / "tests/unit/data" / name).string(); }

class V6ReleaseGate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
    dir_ = new TempDir();
    auto r = run_josi({"init-base", "--preset", "qwen3-tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(),
                       "--out", base_dir().string(), "--seed", "3", "--dtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", base_dir().string(), "--outfile", merged().string(), "--outtype", "q8_0", "--preset", "v6"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", base_dir().string(), "--outfile", base_gguf().string(), "--outtype", "q8_0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    josi::test::write_random_adapter(base_dir(), dir() / "peft");
    r = run_josi({"export-gguf", "--lora", (dir() / "peft").string(), "--base", base_dir().string(), "--outfile",
                  adapter().string(), "--outtype", "f16", "--preset", "v6"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // A slice of the users' v7 validation split: both kinds of target.
    const std::string val = josi::test::read_text(josi::test::reference_v7("data/val_v7_unified.jsonl"));
    size_t end = 0;
    for (int i = 0; i < 12; ++i) end = val.find('\n', end) + 1;
    josi::test::write_text(eval_data(), val.substr(0, end));
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path dir() { return dir_->path(); }
  static fs::path base_dir() { return dir() / "base"; }
  static fs::path merged() { return dir() / "v6-q8_0.gguf"; }
  static fs::path base_gguf() { return dir() / "base-q8_0.gguf"; }
  static fs::path adapter() { return dir() / "v6-lora-f16.gguf"; }
  static fs::path eval_data() { return dir() / "val.jsonl"; }
  static TempDir* dir_;
};
TempDir* V6ReleaseGate::dir_ = nullptr;

}  // namespace

// Answers written to pass every case pass, table and JSON; answers that
// near-miss one rule each fail exactly there, and the exit code says so.
TEST(V6ReleaseChecks, ReplayedAnswersAreScoredCaseByCase) {
  auto r = run_josi({"eval", "--criteria", criteria(), "--replay", unit_data("fidelity_replay_pass.jsonl")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "fidelity 31/31 cases: PASS")) << r.out;
  EXPECT_TRUE(contains(r.out, "zone_fidelity               10/10     100% PASS")) << r.out;

  // One answer per case, each breaking its case's first rule.
  const auto answers = josi::test::read_text(unit_data("fidelity_answers.jsonl"));
  std::string replay;
  std::map<std::string, std::vector<std::string>> expected;
  for (size_t at = 0; at < answers.size();) {
    const size_t end = answers.find('\n', at);
    const Json row = josi::json::parse(answers.substr(at, end - at), "fixture");
    at = end + 1;
    const std::string id = row.at("case").get<std::string>();
    if (expected.count(id) || row.at("failures").empty()) continue;
    expected[id] = row.at("failures").get<std::vector<std::string>>();
    replay += Json{{"id", id}, {"answer", row.at("answer")}}.dump() + "\n";
  }
  ASSERT_EQ(expected.size(), 31u);
  TempDir work;
  josi::test::write_text(work / "near-misses.jsonl", replay);
  r = run_josi({"eval", "--criteria", criteria(), "--replay", (work / "near-misses.jsonl").string(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const Json report = json_of(r);
  EXPECT_EQ(report.at("status"), "FAIL");
  EXPECT_EQ(report.at("passed"), 0);
  ASSERT_EQ(report.at("cases").size(), 31u);
  for (const auto& c : report.at("cases")) {
    EXPECT_FALSE(c.at("passed").get<bool>());
    EXPECT_EQ(c.at("failures").get<std::vector<std::string>>(), expected[c.at("id").get<std::string>()]) << c.at("id");
    EXPECT_TRUE(c.contains("category"));
  }
  EXPECT_EQ(report.at("categories").at("guardrails").at("status"), "FAIL");
}

TEST(V6ReleaseChecks, BadEvalFlagsGetOneLine) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval", "--criteria", criteria()},
           {"eval", "--criteria", criteria(), "--replay", unit_data("fidelity_replay_pass.jsonl"), "--model", cards()},
           {"eval", "--criteria", criteria(), "--replay", unit_data("fidelity_replay_pass.jsonl"), "--mode", "interpreter"},
           {"eval", "--criteria", cards(), "--replay", unit_data("fidelity_replay_pass.jsonl")},
           {"eval", "--criteria", criteria(), "--replay", cards()},
       }) {
    const auto r = run_josi(args);
    EXPECT_NE(r.exit_code, 0) << args.back();
    EXPECT_EQ(josi_lines(r.err), 1u) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// The 31 cases as coach turns on the tiny model (base + adapter; the gate
// below runs cases on both shapes) with the users' cards: a random model
// fails them, and the exit code says so.
TEST_F(V6ReleaseGate, TheCasesRunAsCoachTurnsOnTheModel) {
  {
    const auto r = run_josi({"eval", "--criteria", criteria(), "--knowledge", cards(), "--json", "--threads", "2", "--model",
                             base_gguf().string(), "--adapter", adapter().string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const Json report = json_of(r);
    ASSERT_EQ(report.at("cases").size(), 31u);
    EXPECT_NE(report.at("status"), "PASS");
    EXPECT_LT(report.at("passed").get<int>(), 31);
    EXPECT_EQ(report.at("categories").size(), 8u);
    size_t answered = 0;
    for (const auto& c : report.at("cases")) {
      answered += !c.at("answer").get<std::string>().empty();
      EXPECT_TRUE(c.at("grounding").contains("score"));
    }
    EXPECT_GT(answered, 0u) << "some turns reach the coach";
  }
}

// The v6 set, with its pass rules, on a merged Hugging Face directory (the
// gate below runs it on the GGUF and on base + adapter). Its f32 weights
// once sampled a padding row past the tokenizer's tokens: never again.
TEST_F(V6ReleaseGate, SanityV6OnAMergedDirectory) {
  for (const auto& [mode, count] : std::vector<std::pair<std::string, size_t>>{{"explainer", 9}}) {
    for (const auto& model : std::vector<std::vector<std::string>>{{"--model_path", base_dir().string()}}) {
      std::vector<std::string> args = {"sanity", "--preset", "v6", "--mode", mode, "--json", "--threads", "2"};
      args.insert(args.end(), model.begin(), model.end());
      const auto r = run_josi(args);
      ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
      const Json report = json_of(r);
      EXPECT_EQ(report.at("preset"), "v6");
      ASSERT_EQ(report.at("checks").size(), count) << model[1];
      EXPECT_EQ(r.exit_code == 0, report.at("pass").get<bool>());
      EXPECT_EQ(report.at("checks")[0].at("name"), mode == "interpreter" ? "I1" : "C1");
      EXPECT_EQ(report.at("checks").back().at("name"), mode == "interpreter" ? "T16" : "T6");
      EXPECT_TRUE(report.at("scores").contains("sanity") && report.at("scores").contains("tests"));
    }
  }
}

TEST(V6ReleaseChecks, DataValidatePrintsTheGroundingSummary) {
  auto r = run_josi({"data", "validate", josi::test::reference_v7("data/val_v7_unified.jsonl").string()});
  EXPECT_TRUE(contains(r.out, "grounding: 188 coach rows, 0 with violations (0 errors, 0 warnings), mean score 1.000: PASS"))
      << r.out;
  r = run_josi({"data", "validate", josi::test::reference_data("gold_combined.jsonl").string(), "--json"});
  const Json g = json_of(r).at("grounding");
  EXPECT_EQ(g.at("answers"), 678);
  EXPECT_EQ(g.at("answers_with_violations"), 4);
  EXPECT_EQ(g.at("errors"), 2);
  EXPECT_EQ(g.at("warnings"), 2);
  EXPECT_EQ(g.at("status"), "FAIL");
  ASSERT_EQ(g.at("rows").size(), 4u);
  EXPECT_EQ(g.at("rows")[0].at("violations")[0].at("kind"), "prescription");
}

// The gate on both shapes: every check runs, the random model is refused with
// each failing check named and nothing written; --skip-sanity ships it and
// the manifest records "skipped". A v6 release without validation data is
// refused before any work.
TEST_F(V6ReleaseGate, TheGateRefusesARandomModelAndSkipShipsIt) {
  // Four of the cases, one of each of four categories: the gate's run of
  // them is what is tested here, the 31 run above.
  const Json all = josi::json::parse(josi::test::read_text(criteria()), "criteria");
  Json some = Json::array();
  std::set<std::string> categories;
  for (const auto& c : all)
    if (some.size() < 4 && categories.insert(c.at("category").get<std::string>()).second) some.push_back(c);
  const fs::path few = dir() / "four-cases.json";
  josi::test::write_text(few, some.dump(2));
  const std::vector<std::string> gate = {"--no-upload", "--knowledge", cards(), "--eval-data", eval_data().string(),
                                         "--criteria", few.string(), "--threads", "2"};
  const std::vector<std::vector<std::string>> shapes = {
      {"--gguf-interpreter", merged().string(), "--gguf-explainer", merged().string()},
      {"--ship", "adapters", "--gguf-base", base_gguf().string(), "--gguf-interpreter", adapter().string(),
       "--gguf-explainer", adapter().string()}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    const fs::path out = dir() / ("release-" + std::to_string(i));
    std::vector<std::string> args = {"publish", "--output-dir", out.string()};
    args.insert(args.end(), shapes[i].begin(), shapes[i].end());
    args.insert(args.end(), gate.begin(), gate.end());
    auto r = run_josi(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(josi_lines(r.err), 1u) << r.err;
    for (const char* failed : {"interpreter sanity", "interpreter eval_loss", "explainer eval_loss", "fidelity FAIL"})
      EXPECT_TRUE(contains(r.err, failed)) << failed << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "sanity interpreter (v6 checks)")) << r.out;
    EXPECT_TRUE(contains(r.out, "knowledge fidelity:")) << r.out;
    EXPECT_FALSE(fs::exists(out / "josi-v5-manifest.json"));

    args.push_back("--skip-sanity");
    r = run_josi(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Json manifest = josi::json::parse(josi::test::read_text(out / "josi-v5-manifest.json"), "manifest");
    EXPECT_EQ(manifest.at("preset"), "v6");
    EXPECT_EQ(manifest.at("sanity").at("interpreter"), "skipped");
    EXPECT_EQ(manifest.at("checks"), (Json{{"sanity", "skipped"}, {"eval_loss", "skipped"}, {"fidelity", "skipped"}}));
    EXPECT_TRUE(manifest.contains("knowledge"));
  }
  const auto r = run_josi({"publish", "--output-dir", (dir() / "no-eval").string(), "--no-upload", "--gguf-interpreter",
                           merged().string(), "--gguf-explainer", merged().string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "v6 model, whose release gate measures eval_loss: give --eval-data")) << r.err;
  EXPECT_EQ(josi_lines(r.err), 1u);
}
