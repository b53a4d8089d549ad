// Coaching cards in the runtime, on a tiny Qwen3 (real tokenizer, random
// weights, answers replayed): every coach message of the users' v7 split
// with one selector block, run as a turn whose context carries its sport,
// holds exactly that block at the place training put it; without cards
// nothing changes; a turn can change the count and the roles.
#include <gtest/gtest.h>

#include "data/chat_example.hpp"
#include "data/jsonl.hpp"
#include "json/json.hpp"
#include "json/python_dumps.hpp"
#include "knowledge/card_injection.hpp"
#include "knowledge/knowledge_base.hpp"
#include "support/test_support.hpp"

using josi::json::Json;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::TempDir;
namespace fs = std::filesystem;

namespace {

class KnowledgeRuntime : public ::testing::Test {
 public:
  static fs::path model() { return dir_->path() / "tiny.gguf"; }

 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto r = run_josi({"init-base", "--preset", "qwen3-tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(),
                       "--out", (dir_->path() / "hf").string(), "--seed", "5", "--dtype", "bf16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", (dir_->path() / "hf").string(), "--outfile", model().string(), "--outtype", "q8_0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
};
TempDir* KnowledgeRuntime::dir_ = nullptr;

Json context_with_sport(const std::string& sport) {
  Json c = Json::parse(read_text(josi::test::source_dir() / "data" / "chat_context.sample.json"));
  c["history"] = Json::array();
  if (sport.empty()) c["profile_summary"].erase("sport");
  else c["profile_summary"]["sport"] = sport;
  return c;
}

Json turn(const std::string& message, const std::string& action, const std::string& sport, Json options = Json::object()) {
  Json request = Json::object();
  request["action"] = action;
  request["question"] = message;
  request["free_text"] = message;
  options["seed"] = 1;
  options["constrain"] = false;
  options["interpreter"] = {{"replay", josi::json::python_dumps(request)}};
  options["explainer"] = {{"replay", "Noted."}};
  return {{"message", message}, {"context", context_with_sport(sport)}, {"options", options}};
}

std::vector<Json> chat(std::vector<std::string> flags, const std::vector<Json>& turns) {
  flags.insert(flags.begin(), {"--base", KnowledgeRuntime::model().string()});
  const auto chat = josi::test::chat_jsonl(flags, turns);
  EXPECT_EQ(chat.run.exit_code, 0) << chat.run.err;
  return chat.results;
}

// The first "Sport: <word>" of a CONTEXT part, as written.
std::string sport_word(std::string_view context) {
  const size_t at = context.find("Sport: ");
  if (at == std::string_view::npos) return "";
  const size_t end = context.find_first_of("\n ", at + 7);
  return std::string(context.substr(at + 7, end == std::string_view::npos ? std::string_view::npos : end - at - 7));
}

}  // namespace

TEST_F(KnowledgeRuntime, EachCoachTurnHoldsTheBlockTrainingGives) {
  struct Case {
    size_t line;
    std::string block;
  };
  std::vector<Case> cases;
  std::vector<Json> turns;
  for (const auto& r : josi::data::read_jsonl(josi::test::reference_v7("data/val_v7_unified.jsonl"))) {
    const auto& messages = r.value["messages"];
    if (messages[0]["role"] == "system" && josi::data::is_interpreter_prompt(messages[0]["content"].get<std::string>())) continue;
    for (const auto& m : messages) {
      if (m["role"] != "user") continue;
      const auto block = josi::test::single_selector_block(m["content"].get<std::string>());
      if (!block || !block->before_interpreter) continue;  // the coach's turn always has its request
      const auto parts = josi::knowledge::split_user_turn(block->stripped);
      const std::string action = josi::knowledge::interpreter_action(parts.interpreter);
      if (action != "explain" && action != "answer_question") continue;  // only these reach the coach
      cases.push_back({r.line, block->block});
      turns.push_back(turn(std::string(parts.athlete), action, sport_word(parts.context)));
    }
  }
  ASSERT_GE(cases.size(), 30u);  // 38 in the users' split
  const auto out = chat({"--knowledge", josi::test::reference_v7("knowledge/knowledge.json").string()}, turns);
  ASSERT_EQ(out.size(), cases.size());
  size_t coached = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (out[i]["explainer"].is_null()) continue;  // a red flag in the message: the safe clarify
    ++coached;
    const std::string prompt = out[i]["explainer"]["prompt"];
    EXPECT_NE(prompt.find("\n\n" + cases[i].block + "\n\n[INTERPRETER]\n"), std::string::npos) << "line " << cases[i].line;
    EXPECT_EQ(out[i]["interpreter"]["knowledge"].size(), 0u);  // the interpreter gets none
    EXPECT_GE(out[i]["explainer"]["knowledge"].size(), 1u);
  }
  EXPECT_GE(coached, cases.size() * 9 / 10);
}

TEST_F(KnowledgeRuntime, WithoutCardsNothingChangesAndATurnMayChooseOthers) {
  const auto cards = josi::test::reference_v7("knowledge/knowledge.json").string();
  const Json zone = turn("What is Zone 2 and why should I train there?", "answer_question", "running");
  const Json plain = chat({}, {zone})[0];
  EXPECT_EQ(plain["explainer"]["knowledge"].size(), 0u);
  EXPECT_EQ(plain["explainer"]["prompt"].get<std::string>().find("[KNOWLEDGE]"), std::string::npos);

  const Json with = chat({"--knowledge", cards}, {zone})[0];
  const auto base = josi::knowledge::KnowledgeBase::load(cards);
  const auto expected_cards = josi::knowledge::select_cards(base, zone["message"].get<std::string>(), "answer_question", "run", 2);
  ASSERT_EQ(with["explainer"]["knowledge"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(with["explainer"]["knowledge"][i]["id"], expected_cards[i].entry->id);
    EXPECT_EQ(with["explainer"]["knowledge"][i]["score"], expected_cards[i].score);
  }
  // Off for a turn: byte for byte the turn without cards (timings aside).
  Json off = zone;
  off["options"]["knowledge"] = {{"max_cards", 0}};
  Json none = chat({"--knowledge", cards}, {off})[0];
  Json expected = plain;
  none.erase("timings_ms");
  expected.erase("timings_ms");
  EXPECT_EQ(none, expected);
  // One card, for both roles; the interpreter still reads the request from what the athlete wrote.
  Json both = zone;
  both["options"]["knowledge"] = {{"max_cards", 1}, {"roles", {"interpreter", "explainer"}}};
  const Json two = chat({"--knowledge", cards}, {both})[0];
  EXPECT_EQ(two["interpreter"]["knowledge"].size(), 1u);
  EXPECT_EQ(two["explainer"]["knowledge"].size(), 1u);
  EXPECT_NE(two["interpreter"]["prompt"].get<std::string>().find("[KNOWLEDGE]"), std::string::npos);
  EXPECT_EQ(two["route"], "explainer");
  EXPECT_EQ(chat({"--knowledge", cards, "--max_cards", "1"}, {zone})[0]["explainer"]["knowledge"].size(), 1u);

  // Asking for cards of a coach that has none, and bad options, fail the turn with one line.
  Json ask = zone;
  ask["options"]["knowledge"] = {{"max_cards", 2}};
  auto r = run_josi({"chat", "--jsonl", "--base", model().string()}, ask.dump() + "\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("this coach has no coaching cards"), std::string::npos) << r.out;
  for (const Json& bad : {Json{{"max_cards", 9}}, Json{{"roles", {"coach"}}}, Json{{"colour", 1}}}) {
    Json t = zone;
    t["options"]["knowledge"] = bad;
    r = run_josi({"chat", "--jsonl", "--base", model().string(), "--knowledge", cards}, t.dump() + "\n");
    EXPECT_NE(r.exit_code, 0) << bad.dump();
    EXPECT_NE(r.out.find("options.knowledge."), std::string::npos) << r.out;
  }
  // A bad knowledge file stops the coach before any model work, naming the file.
  TempDir d;
  josi::test::write_text(d / "k.json", "{\"version\": \"v6\", \"entries\": []}");
  r = run_josi({"chat", "--jsonl", "--base", model().string(), "--knowledge", (d / "k.json").string()}, zone.dump() + "\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("k.json: \"total_entries\""), std::string::npos) << r.err;
}

TEST(KnowledgeCli, CheckSelectShowAndTrainingData) {
  const auto cards = josi::test::reference_v7("knowledge/knowledge.json").string();
  auto r = run_josi({"knowledge", "check", cards});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("version v6, 114 entries from 22 cards (11 sport-specific): good"), std::string::npos) << r.out;
  TempDir d;
  josi::test::write_text(d / "bad.json",
                         R"({"version": "v6", "total_entries": 2, "entries": [{"id": "a__b", "card": "a", "section": "b",)"
                         R"( "topics": [], "keywords": ["Zone"], "content": "x"}, {"id": "a__b"}]})");
  r = run_josi({"knowledge", "check", (d / "bad.json").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.json: entry \"a__b\": keywords[0] \"Zone\" is not lower-case"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.json: entry \"a__b\": the id is used twice"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("problems"), std::string::npos) << r.err;

  r = run_josi({"knowledge", "select", "--knowledge", cards},
               "{\"message\": \"How should I structure my running intervals?\", \"action\": \"create_workout\", \"sport\": \"run\"}\n"
               "{\"message\": 3}\n{\"message\": \"What is Zone 2?\", \"action\": \"answer_question\", \"sport\": \"bike\", \"max_cards\": 2}\n");
  EXPECT_EQ(r.exit_code, 1);  // the bad line
  EXPECT_NE(r.out.find("{\"cards\": [{\"id\": \"running_v4__overview\", \"score\": 6.0}, {\"id\": \"running_v4__safety\", "
                       "\"score\": 5.5}, {\"id\": \"running_v4__long_runs\", \"score\": 5.0}]}\n{\"error\": "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("{\"cards\": [{\"id\": \"cycling_v4__overview\", \"score\": "), std::string::npos) << r.out;
  r = run_josi({"knowledge", "show", "--knowledge", cards, "running_v4__safety"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("running_v4__safety (card running_v4, section safety, sport run)\n", 0), 0u) << r.out;
  EXPECT_NE(run_josi({"knowledge", "show", "--knowledge", cards, "nope"}).exit_code, 0);

  // The users' coach rows, their selector blocks taken out, get them back from inject-knowledge.
  std::string stripped_rows;
  std::vector<Json> originals;
  for (const auto& row : josi::data::read_jsonl(josi::test::reference_v7("data/val_v7_unified.jsonl"))) {
    Json stripped = row.value;
    bool changed = false;
    for (auto& m : stripped["messages"]) {
      if (m["role"] != "user") continue;
      const auto block = josi::test::single_selector_block(m["content"].get<std::string>());
      if (!block) continue;
      m["content"] = block->stripped;
      changed = true;
    }
    if (!changed) continue;
    bool every_message_had_one = true;  // rows where some message had no block stay out: it may have scored none
    for (const auto& m : row.value["messages"])
      if (m["role"] == "user" && m["content"].get<std::string>().find("[KNOWLEDGE]") == std::string::npos)
        every_message_had_one = false;
    if (!every_message_had_one) continue;
    stripped_rows += stripped.dump() + "\n";
    originals.push_back(row.value);
  }
  ASSERT_GE(originals.size(), 40u);
  josi::test::write_text(d / "stripped.jsonl", stripped_rows);
  r = run_josi({"data", "inject-knowledge", (d / "stripped.jsonl").string(), "--knowledge", cards, "--out",
                (d / "with.jsonl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto injected = josi::data::read_jsonl(d / "with.jsonl");
  ASSERT_EQ(injected.size(), originals.size());
  for (size_t i = 0; i < originals.size(); ++i) EXPECT_EQ(injected[i].value, originals[i]) << "row " << i + 1;
  EXPECT_NE(r.err.find("inject-knowledge: " + std::to_string(originals.size()) + " rows"), std::string::npos) << r.err;
}
