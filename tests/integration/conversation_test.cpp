// The v6 runtime on a tiny Qwen3 (real tokenizer, random weights): the
// preset a file carries and how a turn or the caller overrides it; a
// multi-turn conversation through `josi chat --jsonl --conversation`
// (answers replayed) written out with --training_rows, whose rows, unrolled
// as training unrolls them, give back byte for byte the prompt each role
// evaluated at each turn; the turn's input and result against their JSON
// Schemas; the preset carried by publish into the files and the manifest.
#include <gtest/gtest.h>

#include "data/chat_example.hpp"
#include "data/jsonl.hpp"
#include "json/json.hpp"
#include "json/python_dumps.hpp"
#include "json/schema.hpp"
#include "runtime/coach.hpp"
#include "support/test_support.hpp"
#include "text/chat_template.hpp"

using josi::json::Json;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::TempDir;
using josi::test::write_text;
namespace fs = std::filesystem;

namespace {

class Conversation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const fs::path run = dir_->path() / "run";
    auto r = run_josi({"init-base", "--preset", "qwen3-tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--out",
                       (run / "merged").string(), "--seed", "4", "--dtype", "bf16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // A model directory outside a training run names no preset...
    r = run_josi({"export-gguf", (run / "merged").string(), "--outfile", plain().string(), "--outtype", "f16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // ...one from a run the run's (josi train writes it; this run says v6).
    write_text(run / "training_config.json", R"({"recipe": "qwen3-4b", "mode": "unified", "preset": "v6"})");
    r = run_josi({"export-gguf", (run / "merged").string(), "--outfile", v6().string(), "--outtype", "f16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", (run / "merged").string(), "--outfile", v5().string(), "--outtype", "f16", "--preset", "v5"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path plain() { return dir_->path() / "plain.gguf"; }
  static fs::path v6() { return dir_->path() / "v6.gguf"; }
  static fs::path v5() { return dir_->path() / "v5.gguf"; }
  static TempDir* dir_;
};
TempDir* Conversation::dir_ = nullptr;

Json context() {
  Json c = Json::parse(read_text(josi::test::source_dir() / "data" / "chat_context.sample.json"));
  c["history"] = Json::array();
  c["grounding"] = {{"max_zone_allowed", "Z3"}, {"zone_cap_reason", "Accumulated fatigue"}, {"zone_load_factor", 1.0},
                    {"age", 52},              {"meso_position", "overload"},              {"weekly_load", "82% of target"}};
  return c;
}

Json turn(const std::string& message, const std::string& interpreter, const std::string& coach, Json options = Json::object()) {
  options["seed"] = 3;
  options["interpreter"] = {{"replay", interpreter}};
  options["explainer"] = {{"replay", coach}};
  return {{"message", message}, {"context", context()}, {"options", options}};
}

std::string question(const std::string& action, const std::string& text) {
  Json request = Json::object();
  request["action"] = action;
  request["question"] = text;
  request["free_text"] = text;
  return josi::json::python_dumps(request);  // as the interpreter writes it
}

std::vector<Json> chat(const std::vector<std::string>& flags, const std::vector<Json>& turns) {
  const auto chat = josi::test::chat_jsonl(flags, turns);
  EXPECT_EQ(chat.run.exit_code, 0) << chat.run.err;
  return chat.results;
}

// The prompts training takes from `row`: one per answer, rendered as `josi train` renders them.
std::vector<std::pair<std::string, std::string>> unrolled(const Json& row) {
  std::string problem;
  const auto example = josi::data::chat_example_from_json(row, 1, problem);
  EXPECT_TRUE(example) << problem;
  std::vector<std::pair<std::string, std::string>> out;
  if (!example) return out;
  for (const auto& e : josi::data::unroll(*example)) {
    std::vector<josi::text::ChatMessage> messages;
    for (const auto& m : e.prompt) messages.push_back({m.role, m.content});
    out.push_back({josi::text::render_chatml(messages, true), e.target});
  }
  return out;
}

}  // namespace

TEST_F(Conversation, TheFileCarriesItsPresetAndATurnMayOverrideIt) {
  auto r = run_josi({"gguf", "info", v6().string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json info = Json::parse(r.out);
  EXPECT_EQ(info["metadata"]["josi.preset"]["value"], "v6") << r.out.substr(0, 400);
  EXPECT_EQ(info["metadata"]["josi.prompt_layout"]["value"], "v6");
  EXPECT_EQ(run_josi({"gguf", "info", plain().string()}).out.find("josi.preset"), std::string::npos);

  const Json why = turn("Why is my zone capped today?", question("answer_question", "Why is my zone capped today?"), "Fatigue.");
  const Json what = turn("What is zone 2?", question("answer_question", "What is zone 2?"), "Easy effort.");
  const auto v6_out = chat({"--base", v6().string()}, {why, what});
  ASSERT_EQ(v6_out.size(), 2u);
  for (const auto& out : v6_out) {
    EXPECT_EQ(out["preset"], "v6");
    EXPECT_EQ(out["layout"], "v6");
    EXPECT_EQ(out["interpreter"]["max_tokens"], 200);
    EXPECT_NE(out["interpreter"]["prompt"].get<std::string>().find("- Max zone allowed: Z3\n"), std::string::npos);
  }
  EXPECT_EQ(v6_out[0]["explainer"]["max_tokens"], 400);  // a "why" question
  EXPECT_EQ(v6_out[1]["explainer"]["max_tokens"], 200);

  // No preset in the file: v5, as always; the flag or the turn can name one.
  const auto v5_out = chat({"--base", plain().string()}, {why});
  EXPECT_EQ(v5_out[0]["preset"], "v5");
  EXPECT_EQ(v5_out[0]["explainer"]["max_tokens"], 150);
  EXPECT_EQ(v5_out[0]["interpreter"]["prompt"].get<std::string>().find("Max zone"), std::string::npos);
  EXPECT_EQ(chat({"--base", plain().string(), "--preset", "v6"}, {why})[0]["explainer"]["max_tokens"], 400);
  Json as_v5 = why;
  as_v5["options"]["preset"] = "v5";
  const auto overridden = chat({"--base", v6().string()}, {as_v5})[0];
  EXPECT_EQ(overridden["preset"], "v5");
  EXPECT_EQ(overridden["layout"], "v5");
  // A length asked for wins over the complex-question rule.
  Json short_answer = why;
  short_answer["options"]["explainer"]["max_tokens"] = 60;
  EXPECT_EQ(chat({"--base", v6().string()}, {short_answer})[0]["explainer"]["max_tokens"], 60);
  EXPECT_EQ(chat({"--base", v6().string(), "--max_tokens", "80"}, {why})[0]["explainer"]["max_tokens"], 80);

  Json bad = why;
  bad["options"]["preset"] = "v7";
  r = run_josi({"chat", "--jsonl", "--base", v6().string()}, bad.dump() + "\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("\\\"options.preset\\\": unknown preset \\\"v7\\\""), std::string::npos) << r.out;

  // The context size follows the preset unless given (v6: the interpreter's 2048).
  josi::runtime::CoachOptions o;
  o.interpreter_model = v6();
  o.threads = 1;
  {
    const josi::runtime::Coach coach(o);
    EXPECT_EQ(coach.n_ctx(), 4096);
    EXPECT_EQ(coach.interpreter_n_ctx(), 2048);
  }
  o.n_ctx = 1024;
  EXPECT_EQ(josi::runtime::Coach(o).n_ctx(), 1024);
  EXPECT_EQ(josi::runtime::Coach(o).interpreter_n_ctx(), 1024);
  o.interpreter_model = plain();
  o.n_ctx.reset();
  EXPECT_EQ(josi::runtime::Coach(o).n_ctx(), 2048);
  EXPECT_EQ(josi::runtime::Coach(o).interpreter_n_ctx(), 2048);
}

// A three-turn conversation, history carried from turn to turn, written out
// as training rows: each role's unrolled training prompts are the prompts it
// evaluated, byte for byte.
TEST_F(Conversation, WhatTheCoachRanIsWhatTrainingUnrolls) {
  const fs::path rows_file = dir_->path() / "rows.jsonl";
  const std::vector<Json> turns = {
      turn("Why is my zone capped today?", question("answer_question", "Why is my zone capped today?"),
           "Your body is carrying fatigue, so easy work pays off more today."),
      turn("What is zone 2?", question("answer_question", "What is zone 2?"), "Zone 2 is an easy, conversational effort."),
      turn("Should I cycle instead?", question("answer_question", "Should I cycle instead?"), "Cycling is fine; keep it easy.")};
  const auto out = chat({"--base", v6().string(), "--conversation", "--training_rows", rows_file.string()}, turns);
  ASSERT_EQ(out.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    ASSERT_EQ(out[t]["route"], "explainer") << out[t].dump();
    EXPECT_EQ(out[t]["explainer"]["history_turns"], 2 * t);  // every earlier turn, carried
    EXPECT_EQ(out[t]["interpreter"]["history_turns"], 0);     // the interpreter gets none
    EXPECT_EQ(out[t]["history"].size(), 2u);
    EXPECT_EQ(out[t]["history"][0]["prompt"].get<std::string>().rfind(turns[t]["message"].get<std::string>() + "\n\nCONTEXT:\n", 0), 0u);
  }
  // Earlier turns are chat turns, exactly as the coach saw them.
  const std::string third = out[2]["explainer"]["prompt"];
  EXPECT_NE(third.find("<|im_start|>user\n" + out[0]["history"][0]["prompt"].get<std::string>() +
                       "<|im_end|>\n<|im_start|>assistant\n" + out[0]["reply"].get<std::string>() + "<|im_end|>\n"),
            std::string::npos);

  const auto rows = josi::data::read_jsonl(rows_file);
  ASSERT_EQ(rows.size(), 4u);  // three interpreter calls, one coach conversation
  for (size_t t = 0; t < 3; ++t) {
    const auto examples = unrolled(rows[t].value);
    ASSERT_EQ(examples.size(), 1u);
    EXPECT_EQ(examples[0].first, out[t]["interpreter"]["prompt"]) << "interpreter, turn " << t + 1;
    EXPECT_EQ(examples[0].second, turns[t]["options"]["interpreter"]["replay"]);
  }
  const auto coach = unrolled(rows[3].value);
  ASSERT_EQ(coach.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(coach[t].first, out[t]["explainer"]["prompt"]) << "coach, turn " << t + 1;
    EXPECT_EQ(coach[t].second, out[t]["reply"]);
  }

  // The rows are training data josi accepts as the users' own: every coach
  // turn has its CONTEXT and [INTERPRETER], every row a system prompt.
  auto r = run_josi({"data", "validate", rows_file.string(), "--mode", "unified", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const Json report = Json::parse(r.out);
  const Json& file = report.is_array() ? report[0] : report.contains("files") ? report["files"][0] : report;
  EXPECT_EQ(file["rows"], 4) << r.out;
  EXPECT_EQ(file["examples"], 6) << r.out;
  EXPECT_EQ(file["rows_without_system_prompt"], 0) << r.out;
  EXPECT_EQ(file["warnings"].size(), 0u) << r.out;
}

// A turn the coach does not answer (the engine's) stays in the coach's
// conversation as the athlete's message; the coach's later turn still trains
// on what it saw.
TEST_F(Conversation, ATurnForTheEngineStaysInTheConversation) {
  const fs::path rows_file = dir_->path() / "engine_rows.jsonl";
  const std::vector<Json> turns = {
      turn("Why is my zone capped today?", question("answer_question", "Why is my zone capped today?"), "Fatigue."),
      turn("Give me a 45 minute run", R"({"action": "create_workout", "sport": "run", "time_available_min": 45, "goal": "endurance", "free_text": "Give me a 45 minute run"})",
           "unused"),
      turn("What is zone 2?", question("answer_question", "What is zone 2?"), "Easy effort.")};
  const auto out = chat({"--base", v6().string(), "--conversation", "--training_rows", rows_file.string()}, turns);
  ASSERT_EQ(out.size(), 3u);
  ASSERT_EQ(out[1]["route"], "engine") << out[1].dump();
  EXPECT_EQ(out[1]["history"].size(), 1u);
  EXPECT_FALSE(out[1]["history"][0].contains("prompt"));
  EXPECT_EQ(out[2]["explainer"]["history_turns"], 3);
  const auto rows = josi::data::read_jsonl(rows_file);
  ASSERT_EQ(rows.size(), 4u);
  const auto coach = unrolled(rows[3].value);
  ASSERT_EQ(coach.size(), 2u);
  EXPECT_EQ(coach[0].first, out[0]["explainer"]["prompt"]);
  EXPECT_EQ(coach[1].first, out[2]["explainer"]["prompt"]);
}

TEST_F(Conversation, TurnInputAndResultMatchTheirSchemas) {
  const auto schema = [](const char* name) {
    return josi::json::Schema(Json::parse(read_text(josi::test::source_dir() / "schemas" / name)), name);
  };
  const auto input_schema = schema("turn_input.schema.json");
  const auto result_schema = schema("turn_result.schema.json");
  std::vector<Json> inputs;
  for (const auto& line : josi::data::read_jsonl(josi::test::source_dir() / "data" / "samples" / "chat.jsonl"))
    inputs.push_back(line.value);
  inputs.push_back(turn("Why?", question("answer_question", "Why?"), "Because.", {{"preset", "v6"}, {"top_p", 0.8}}));
  inputs.push_back(turn("Give me a run", R"({"action": "create_workout", "sport": "run", "time_available_min": 30, "goal": "endurance"})", ""));
  for (const auto& in : inputs) {
    const auto errors = input_schema.validate(in);
    EXPECT_TRUE(errors.empty()) << in.dump().substr(0, 200) << ": " << (errors.empty() ? "" : errors[0]);
  }
  for (const auto& flags : std::vector<std::vector<std::string>>{{"--base", v6().string()}, {"--base", plain().string()}}) {
    for (const auto& out : chat(flags, inputs)) {
      const auto errors = result_schema.validate(out);
      EXPECT_TRUE(errors.empty()) << out.dump().substr(0, 300) << ": " << (errors.empty() ? "" : errors[0]);
    }
  }
  // What the runtime refuses, the schema refuses too.
  const Json good = inputs.front();
  const auto with = [&](const std::string& pointer, const Json& value) {
    Json j = good;
    j[Json::json_pointer(pointer)] = value;
    return j;
  };
  Json no_message = good;
  no_message.erase("message");
  for (const Json& bad : {no_message, with("/message", "  \n"), with("/extra", 1), with("/options/preset", "v7"),
                          with("/options/seed", -1), with("/options/top_p", 0), with("/options/max_tokens", 0),
                          with("/options/interpreter/colour", 1), with("/options/explainer/replay", 3)}) {
    EXPECT_FALSE(input_schema.is_valid(bad)) << bad.dump().substr(0, 200);
    const auto r = run_josi({"chat", "--jsonl", "--base", plain().string()}, bad.dump() + "\n");
    EXPECT_NE(r.exit_code, 0) << bad.dump().substr(0, 200);
  }
}

// publish takes the preset of the files into the manifest, and refuses roles
// that would run with different presets.
TEST_F(Conversation, PublishWritesThePresetIntoTheManifest) {
  const fs::path out = dir_->path() / "release";
  auto r = run_josi({"publish", "--gguf-interpreter", v6().string(), "--gguf-explainer", v6().string(), "--no-upload",
                     "--skip-sanity", "--output_dir", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json manifest = Json::parse(read_text(out / "josi-v5-manifest.json"));
  EXPECT_EQ(manifest["preset"], "v6");
  r = run_josi({"publish", "--gguf-interpreter", v6().string(), "--gguf-explainer", plain().string(), "--no-upload",
                "--skip-sanity", "--output_dir", (dir_->path() / "release2").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;  // a file that names no preset leaves it to the other
  EXPECT_EQ(Json::parse(read_text(dir_->path() / "release2" / "josi-v5-manifest.json"))["preset"], "v6");
  r = run_josi({"publish", "--gguf-interpreter", plain().string(), "--gguf-explainer", plain().string(), "--no-upload",
                "--skip-sanity", "--output_dir", (dir_->path() / "release3").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(Json::parse(read_text(dir_->path() / "release3" / "josi-v5-manifest.json")).contains("preset"));
  r = run_josi({"publish", "--gguf-interpreter", v6().string(), "--gguf-explainer", v5().string(), "--no-upload",
                "--skip-sanity", "--output_dir", (dir_->path() / "release4").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("different presets (interpreter: v6, explainer: v5)"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_->path() / "release4" / "josi-v5-manifest.json"));
}
