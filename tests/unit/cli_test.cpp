// The josi command line: help everywhere, flag spellings, one-line errors and
// exit codes, and the JSONL filter contract (one output line per input line).
#include <gtest/gtest.h>

#include "json/json.hpp"
#include "support/test_support.hpp"

using josi::json::Json;
using josi::test::reference_data;
using josi::test::reference_dir;
using josi::test::run_josi;
using josi::test::TempDir;

namespace {

size_t count_lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

std::vector<Json> json_lines(const std::string& out) {
  std::vector<Json> lines;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    lines.push_back(Json::parse(out.substr(pos, end - pos)));
    pos = end + 1;
  }
  return lines;
}

TEST(Cli, HelpForEveryCommand) {
  const std::vector<std::vector<std::string>> commands = {
      {},           {"data"},  {"data", "validate"}, {"data", "conv2jsonl"}, {"prepare-sequential"}, {"coach"}, {"coach", "postprocess"},
      {"coach", "govern"}, {"coach", "route"}, {"coach", "parse-intent"}, {"coach", "prompt"}, {"coach", "memory"},
      {"coach", "memory", "extract"}, {"coach", "memory", "merge"}, {"coach", "memory", "serialize"},
      {"coach", "memory", "patterns"}};
  for (auto args : commands) {
    args.push_back("--help");
    auto r = run_josi(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage:"), std::string::npos);
  }
}

TEST(Cli, UnknownCommandOrFlagIsOneLineUsageError) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"frobnicate"}, {"data", "validate", "--bogus", "x"}, {"prepare-sequential", "--nope"}, {}}) {
    auto r = run_josi(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("josi: error:", 0), 0u) << r.err;
  }
}

TEST(Cli, ValidateReportsAndExitCodes) {
  auto clean = run_josi({"data", "validate", reference_data("val_interpreter.jsonl").string()});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_NE(clean.out.find("149 valid examples, 0 problems"), std::string::npos) << clean.out;

  auto legacy = run_josi({"data", "validate", "--json", reference_data("philosophy_enhanced.jsonl").string()});
  EXPECT_EQ(legacy.exit_code, 1);
  Json report = Json::parse(legacy.out);
  EXPECT_EQ(report["problem_counts"]["bad_structure"], 302);

  auto missing = run_josi({"data", "validate", "/nonexistent/x.jsonl"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/x.jsonl"), std::string::npos);
  EXPECT_EQ(count_lines(missing.err), 1u);

  TempDir dir;
  josi::test::write_text(dir / "empty.jsonl", "");
  auto empty = run_josi({"data", "validate", (dir / "empty.jsonl").string()});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("empty.jsonl: no examples"), std::string::npos) << empty.err;

  auto bad_mode = run_josi({"data", "validate", "--mode", "poet", reference_data("val_interpreter.jsonl").string()});
  EXPECT_EQ(bad_mode.exit_code, 2);
}

// .conv files become rows; a broken conversation stops the conversion with
// a line naming its file and line, and nothing written.
TEST(Cli, Conv2JsonlConvertsConversationsAndRefusesBrokenOnes) {
  TempDir dir;
  josi::test::write_text(dir / "good.conv", "# domain: zones\n\nUSER:\nWhat is Zone 2?\n\nJOSI:\nEasy running.\n\n---\n\n"
                                            "USER:\nA\n\nJOSI:\nB\n\nUSER:\nC\n\nJOSI:\nD\n");
  josi::test::write_text(dir / "bad.conv", "USER:\nHi\n\n---\n\nJOSI:\nAlone\n");
  auto r = run_josi({"data", "conv2jsonl", (dir / "good.conv").string(), "--out", (dir / "rows.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = json_lines(josi::test::read_text(dir / "rows.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["domain"], "zones");
  EXPECT_EQ(rows[1]["messages"].size(), 4u);
  r = run_josi({"data", "validate", "--json", (dir / "rows.jsonl").string(), (dir / "good.conv").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  for (const auto& report : json_lines(r.out)) {
    EXPECT_EQ(report["rows"], 2);
    EXPECT_EQ(report["examples"], 3);
    EXPECT_EQ(report["rows_without_system_prompt"], 2);
  }
  r = run_josi({"data", "conv2jsonl", (dir / "good.conv").string(), (dir / "bad.conv").string(), "--out",
                (dir / "out.jsonl").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.conv:1: the last turn is not JOSI"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.conv:6: the first turn is not USER"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.jsonl"));
  r = run_josi({"data", "validate", (dir / "bad.conv").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("conversation: 2"), std::string::npos) << r.out;
}

TEST(Cli, ShippedSampleDataIsClean) {
  auto root = josi::test::source_dir() / "data";
  auto r = run_josi({"data", "validate", "--mode", "interpreter", (root / "train_interpreter.jsonl").string(),
                     (root / "val_interpreter.jsonl").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = run_josi({"data", "validate", "--mode", "explainer", (root / "train_explainer.jsonl").string(),
                (root / "val_explainer.jsonl").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(Cli, PrepareSequentialBothFlagSpellingsByteIdentical) {
  TempDir dir;
  auto prompt = (reference_dir() / "prompts" / "explainer_sequential_system.txt").string();
  auto interp = reference_data("val_interpreter.jsonl").string();
  auto expl = reference_data("val_explainer.jsonl").string();
  auto r = run_josi({"prepare-sequential", "--interpreter_train", interp, "--explainer-train", expl,
                     "--output_train", (dir / "a.jsonl").string(), "--interpreter-val", interp, "--explainer_val",
                     expl, "--output-val", (dir / "b.jsonl").string(), "--system-prompt", prompt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected = josi::test::read_text(reference_data("val_explainer_sequential.jsonl"));
  EXPECT_EQ(josi::test::read_text(dir / "a.jsonl"), expected);
  EXPECT_EQ(josi::test::read_text(dir / "b.jsonl"), expected);
  EXPECT_NE(r.out.find("128 matched, 0 unmatched, 36 skipped by action"), std::string::npos) << r.out;
}

TEST(Cli, PrepareSequentialMissingInputNamesIt) {
  TempDir dir;
  auto r = run_josi({"prepare-sequential", "--interpreter_train", (dir / "none.jsonl").string(), "--output_train",
                     (dir / "o.jsonl").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("none.jsonl: cannot open"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.jsonl"));
}

TEST(Cli, FiltersKeepOrderAndReportBadLines) {
  const std::string input =
      "{\"text\": \"Is that clear? You did great. Rest well.\"}\n"
      "not json\n"
      "\n"
      "[1, 2]\n"
      "{\"text\": 42}\n"
      "{\"other\": \"x\"}\n"
      "{\"text\": \"Fine.\"}\n";
  auto r = run_josi({"coach", "govern"}, input);
  EXPECT_EQ(r.exit_code, 1);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 6u);  // the blank line is skipped
  EXPECT_EQ(lines[0]["text"], "You did great. Rest well.");
  EXPECT_NE(lines[1]["error"].get<std::string>().find("<stdin>:2: invalid JSON"), std::string::npos);
  EXPECT_NE(lines[2]["error"].get<std::string>().find("<stdin>:4: expected a JSON object"), std::string::npos);
  EXPECT_NE(lines[3]["error"].get<std::string>().find("\"text\": expected a string"), std::string::npos);
  EXPECT_NE(lines[4]["error"].get<std::string>().find("missing field \"text\""), std::string::npos);
  EXPECT_EQ(lines[5]["text"], "Fine.");
  EXPECT_EQ(count_lines(r.err), 4u);
}

TEST(Cli, FilterReadsAFileArgument) {
  TempDir dir;
  josi::test::write_text(dir / "in.jsonl", "{\"request\": {\"action\": \"replan\", \"replan_type\": \"illness\", \"free_text\": \"sick\"}}\n");
  auto r = run_josi({"coach", "route", (dir / "in.jsonl").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"route\": \"engine\", \"action\": \"replan\"}\n");
  auto missing = run_josi({"coach", "route", (dir / "nope.jsonl").string()});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_EQ(count_lines(missing.err), 1u);
}

TEST(Cli, PostprocessFilter) {
  const std::string input =
      R"({"raw": "```json\n{\"action\": \"create_workout\", \"sport\": \"run\", \"free_text\": \"x\"}\n```", "user": "I want to do a 45 minute run today\n\nCONTEXT:\n- Sport: running"})"
      "\n"
      R"({"raw": "nothing here", "user": "hello"})"
      "\n";
  auto r = run_josi({"coach", "postprocess"}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0]["valid"].get<bool>());
  EXPECT_EQ(lines[0]["request"]["time_available_min"], 45);
  EXPECT_TRUE(lines[1]["request"].is_null());
  EXPECT_FALSE(lines[1]["valid"].get<bool>());
  EXPECT_EQ(lines[1]["errors"].size(), 1u);
}

TEST(Cli, ParseIntentFilter) {
  auto r = run_josi({"coach", "parse-intent"},
                    R"({"raw": "{\"intent\": \"question\", \"response_type\": \"QuestionAnswer\", \"message\": \"Hi\", \"guardrail_triggered\": false}"})"
                    "\n"
                    R"({"raw": "garbage"})"
                    "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["intent"]["source_cards"], Json::array({"josi_explanations"}));
  EXPECT_TRUE(lines[1]["intent"].is_null());
}

TEST(Cli, MemoryFilters) {
  auto extract = run_josi({"coach", "memory", "extract"},
                          R"({"history": [{"role": "user", "message": "I love running in the morning", "ts": "2026-01-01"}, {"role": "assistant", "message": "I love cycling", "ts": "2026-01-01"}]})"
                          "\n");
  EXPECT_EQ(extract.exit_code, 0) << extract.err;
  auto facts = json_lines(extract.out)[0]["facts"];
  ASSERT_EQ(facts.size(), 2u);
  EXPECT_EQ(facts[0]["fact"], "primary sport: running");
  EXPECT_EQ(facts[1]["fact"], "prefers morning sessions");

  auto merge = run_josi({"coach", "memory", "merge"},
                        R"({"existing": null, "facts": [{"fact": "goal: 10k", "source": "conversation", "confidence": 0.8}], "patterns": ["often skips Mondays"], "notes": []})"
                        "\n"
                        R"({"facts": [{"fact": "x", "confidence": "high"}]})"
                        "\n");
  EXPECT_EQ(merge.exit_code, 1);
  auto merged = json_lines(merge.out);
  EXPECT_EQ(merged[0]["key_facts"][0]["fact"], "goal: 10k");
  EXPECT_EQ(merged[0]["patterns"][0], "often skips Mondays");
  EXPECT_TRUE(merged[1].contains("error"));

  auto serialize = run_josi({"coach", "memory", "serialize"},
                            R"({"key_facts": [{"fact": "goal: 10k", "source": "conversation", "confidence": 0.8}]})"
                            "\n");
  EXPECT_EQ(json_lines(serialize.out)[0]["text"], "MEMORY:\n- Facts: goal: 10k");

  auto patterns = run_josi({"coach", "memory", "patterns"}, R"({"activities": [], "skip_days": [0]})" "\n");
  EXPECT_EQ(json_lines(patterns.out)[0]["patterns"], Json::array({"often skips Mondays"}));
}

TEST(Cli, PromptFilter) {
  Json ctx = Json::parse(josi::test::read_text(josi::test::source_dir() / "data" / "chat_context.sample.json"));
  Json line = {{"context", ctx}, {"message", "Why is today easy?"}, {"mode", "interpreter"}};
  Json bad_mode = {{"context", ctx}, {"message", "x"}, {"mode", "poet"}};
  Json no_interp = {{"context", ctx}, {"message", "x"}, {"mode", "explainer"}};
  Json bad_ctx = {{"context", {{"tier", "gold"}}}, {"message", "x"}, {"mode", "interpreter"}};
  auto r = run_josi({"coach", "prompt"},
                    line.dump() + "\n" + bad_mode.dump() + "\n" + no_interp.dump() + "\n" + bad_ctx.dump() + "\n");
  EXPECT_EQ(r.exit_code, 1);
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u);
  const std::string user = lines[0]["user"];
  EXPECT_EQ(user.rfind("Why is today easy?\n\nCONTEXT:\n- Readiness: Green (Productive)\n- Session: Z2 45min", 0), 0u)
      << user;
  EXPECT_EQ(lines[0]["chatml"].get<std::string>().rfind("<|im_start|>system\nYou are the interpreter of Josi", 0), 0u);
  EXPECT_NE(lines[1]["error"].get<std::string>().find("\"mode\""), std::string::npos);
  EXPECT_NE(lines[2]["error"].get<std::string>().find("missing field \"interpreter\""), std::string::npos);
  EXPECT_NE(lines[3]["error"].get<std::string>().find("ChatContext $"), std::string::npos);

  TempDir dir;
  josi::test::write_text(dir / "p.txt", "MY PROMPT\n");
  auto custom = run_josi({"coach", "prompt", "--interpreter_prompt", (dir / "p.txt").string()}, line.dump() + "\n");
  EXPECT_EQ(json_lines(custom.out)[0]["chatml"].get<std::string>().rfind("<|im_start|>system\nMY PROMPT<|im_end|>", 0), 0u);
}

}  // namespace
