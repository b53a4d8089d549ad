// Coaching cards: the users' knowledge.json read and checked, the selector's
// reference vectors, the [KNOWLEDGE] block placed as the users' v7 data has
// it (every row with one selector block stripped and injected again comes
// back byte for byte), and hostile files refused with one line each.
#include <gtest/gtest.h>

#include <thread>

#include "base/error.hpp"
#include "coach/prompt_builder.hpp"
#include "data/chat_example.hpp"
#include "data/jsonl.hpp"
#include "json/json.hpp"
#include "knowledge/card_injection.hpp"
#include "knowledge/knowledge_base.hpp"
#include "knowledge/python_text.hpp"
#include "knowledge/selector.hpp"
#include "support/test_support.hpp"

using josi::json::Json;
using josi::knowledge::KnowledgeBase;
namespace fs = std::filesystem;

namespace {

const KnowledgeBase& users_cards() {
  static const KnowledgeBase base = KnowledgeBase::load(josi::test::reference_v7("knowledge/knowledge.json"));
  return base;
}

std::vector<std::string> ids(const std::vector<josi::knowledge::SelectedCard>& cards) {
  std::vector<std::string> out;
  for (const auto& c : cards) out.push_back(c.entry->id);
  return out;
}

std::vector<std::string> select(const std::string& message, const std::string& action, const std::string& sport = "",
                                size_t max_cards = 3) {
  return ids(josi::knowledge::select_cards(users_cards(), message, action, sport, max_cards));
}

std::vector<std::string> problems(const std::string& text) { return josi::knowledge::check_knowledge(text, "k.json"); }

std::string file_with(const std::vector<Json>& entries) {
  Json file = {{"version", "v6"}, {"description", "d"}, {"total_entries", entries.size()}};
  file["entries"] = entries;
  return file.dump();
}

Json entry(const std::string& id) {
  return {{"id", id},
          {"card", id.substr(0, id.find("__"))},
          {"section", id.substr(id.find("__") + 2)},
          {"topics", Json::array()},
          {"keywords", {"zone"}},
          {"content", "Text."}};
}

}  // namespace

TEST(Knowledge, TheUsersFileReads) {
  const auto& k = users_cards();
  EXPECT_EQ(k.version(), "v6");
  ASSERT_EQ(k.entries().size(), 114u);
  size_t sports = 0;
  for (const auto& e : k.entries()) sports += e.sport.has_value();
  EXPECT_EQ(sports, 11u);
  ASSERT_NE(k.find("running_v4__overview"), nullptr);
  EXPECT_EQ(*k.find("running_v4__overview")->sport, "run");
  EXPECT_EQ(k.find("nope"), nullptr);
}

TEST(Knowledge, TheReferenceVectors) {
  using V = std::vector<std::string>;
  EXPECT_EQ(select("What is Zone 2 and why should I train there?", "answer_question"),
            (V{"energy_zones_v4__overview", "zone_anchoring_v4__overview", "ntiz_dose_v4__all_zones"}));
  const auto running = josi::knowledge::select_cards(users_cards(), "How should I structure my running intervals?",
                                                     "create_workout", "run", 3);
  EXPECT_EQ(ids(running), (V{"running_v4__overview", "running_v4__safety", "running_v4__long_runs"}));
  ASSERT_EQ(running.size(), 3u);
  EXPECT_EQ(running[0].score, 6.0);
  EXPECT_EQ(running[1].score, 5.5);
  EXPECT_EQ(running[2].score, 5.0);
  EXPECT_EQ(select("I'm a beginner, where do I start?", "answer_question"),
            (V{"beginner_v4__common_mistakes", "beginner_v4__first_weeks", "beginner_v4__getting_started"}));
  EXPECT_EQ(select("I have pain in my knee, should I train?", "answer_question"),
            (V{"recovery_v4__safety", "cycling_v4__safety", "energy_zones_v4__safety"}));
  EXPECT_EQ(select("", ""), V{});
  EXPECT_EQ(select("", "answer_question"),
            (V{"ntiz_dose_v4__all_zones", "ntiz_master_v4__all_zones", "running_v4__models"}));
  EXPECT_EQ(select("zone cap readiness fatigue accumulated intensity restriction", "explain", "run", 2),
            (V{"running_v4__long_runs", "energy_zones_v4__overview"}));
  EXPECT_EQ(select("What is Zone 2?", "answer_question", "bike", 2), (V{"cycling_v4__overview", "energy_zones_v4__overview"}));
  EXPECT_EQ(select("What is Zone 2?", "answer_question", "bike", 0), V{});
}

TEST(Knowledge, PythonsTextRules) {
  using josi::knowledge::words_of;
  // Unicode letters extend a word; the dotted capital I lowers to i + a combining dot, which ends it.
  EXPECT_EQ(words_of("pain, pijn_x café 70km"), (std::set<std::string>{"pain", "pijn_x", "café", "70km"}));
  EXPECT_EQ(josi::knowledge::lower_for_keywords("ZONE \xC4\xB0T \xE2\x84\xAA"), "zone i\xCC\x87t k");
  EXPECT_EQ(words_of(josi::knowledge::lower_for_keywords("\xC4\xB0T")), (std::set<std::string>{"i", "t"}));
  EXPECT_EQ(josi::knowledge::rstrip("x \t\n\xC2\xA0"), "x");
  // A keyword matches anywhere: "run" in "brunch"; the pain boost needs the whole word.
  EXPECT_FALSE(select("brunch", "").empty());
  EXPECT_NE(select("painful", "answer_question"), select("pain", "answer_question"));
}

TEST(Knowledge, SelectionIsTheSameOnEveryThread) {
  const auto messages = josi::data::read_jsonl(josi::test::reference_v7("data/val_v7_unified.jsonl"));
  std::vector<std::string> texts;
  for (const auto& r : messages)
    for (const auto& m : r.value["messages"])
      if (m["role"] == "user") texts.push_back(m["content"]);
  std::vector<std::vector<std::string>> expected;
  for (const auto& t : texts) expected.push_back(select(t, "answer_question", "run", 2));
  std::vector<std::thread> threads;
  std::vector<size_t> mismatches(4, 0);
  for (size_t k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (size_t i = 0; i < texts.size(); ++i)
        if (select(texts[i], "answer_question", "run", 2) != expected[i]) ++mismatches[k];
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, std::vector<size_t>(4, 0));
}

// Every user message of the users' split with one block of the selector's
// shape, stripped of it and injected again, comes back byte for byte.
TEST(Knowledge, InjectionReproducesTheUsersRows) {
  size_t checked = 0, interpreter_rows = 0;
  for (const auto& r : josi::data::read_jsonl(josi::test::reference_v7("data/val_v7_unified.jsonl"))) {
    const auto& messages = r.value["messages"];
    const bool interpreter = messages[0]["role"] == "system" && josi::data::is_interpreter_prompt(messages[0]["content"].get<std::string>());
    for (const auto& m : messages) {
      if (m["role"] != "user") continue;
      const auto block = josi::test::single_selector_block(m["content"].get<std::string>());
      if (!block) continue;
      if (interpreter) {
        ++interpreter_rows;
        continue;
      }
      const auto injected = josi::knowledge::inject_cards(block->stripped, users_cards(), 2);
      EXPECT_EQ(injected.user_turn, m["content"]) << "line " << r.line;
      ++checked;
    }
  }
  EXPECT_GE(checked, 100u);
  EXPECT_EQ(interpreter_rows, 0u);  // the interpreter is never given cards
}

TEST(Knowledge, ThePartsOfAUserTurn) {
  const std::string turn =
      "Why so easy?\n\nCONTEXT:\n- Readiness: Green (Recovered)\n- Sport: Cycling\n\nMEMORY:\n- Facts: a\n\n"
      "HISTORY:\n  [user]: hi  \n\n[INTERPRETER]\n{\"action\": \"explain\"}";
  const auto p = josi::knowledge::split_user_turn(turn);
  EXPECT_EQ(p.athlete, "Why so easy?");
  EXPECT_EQ(p.context, "CONTEXT:\n- Readiness: Green (Recovered)\n- Sport: Cycling\n\nMEMORY:\n- Facts: a");
  EXPECT_EQ(p.history, "HISTORY:\n  [user]: hi");
  EXPECT_EQ(p.interpreter, "[INTERPRETER]\n{\"action\": \"explain\"}");
  EXPECT_EQ(josi::knowledge::interpreter_action(p.interpreter), "explain");
  EXPECT_EQ(josi::knowledge::interpreter_action("[INTERPRETER]\n{\"action\": 3}"), "");
  EXPECT_EQ(josi::knowledge::interpreter_action("[INTERPRETER]\nnot json"), "");
  EXPECT_EQ(josi::knowledge::context_sport(p.context), "bike");
  EXPECT_EQ(josi::knowledge::context_sport("- sport:   hardlopen"), "run");
  EXPECT_EQ(josi::knowledge::context_sport("- Sport: swimming"), "swimming");
  EXPECT_EQ(josi::knowledge::context_sport("- Sport: -\n- Sport: ski"), "ski");
  EXPECT_EQ(josi::knowledge::context_sport("- Readiness: Green"), "");
  // No card: the turn stays as it was, trailing spaces and all.
  const auto none = josi::knowledge::inject_cards("xyzzy  ", users_cards(), 2);
  EXPECT_TRUE(none.cards.empty());
  EXPECT_EQ(none.user_turn, "xyzzy  ");
  // Cards: after CONTEXT and HISTORY, before [INTERPRETER].
  const auto with = josi::knowledge::inject_cards(turn, users_cards(), 2);
  ASSERT_FALSE(with.cards.empty());
  EXPECT_EQ(with.user_turn, "Why so easy?\n\n" + std::string(p.context) + "\n\n" + std::string(p.history) + "\n\n" +
                                josi::knowledge::knowledge_block(with.cards) + "\n\n" + std::string(p.interpreter));
}

TEST(Knowledge, BadFilesGetOneLineEach) {
  const auto has = [](const std::vector<std::string>& found, const std::string& text) {
    for (const auto& p : found)
      if (p.find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(problems(file_with({entry("a__b")})).empty());
  EXPECT_TRUE(has(problems("{\"version\": \"v6\", \"entries\": [\"\xff\"]}"), "k.json"));  // bad UTF-8
  EXPECT_TRUE(has(problems("not json"), "k.json"));
  EXPECT_TRUE(has(problems("[]"), "expected a JSON object"));
  EXPECT_TRUE(has(problems(file_with({entry("a__b"), entry("a__b")})), "entry \"a__b\": the id is used twice"));
  Json bad = entry("a__b");
  bad["keywords"] = {"zone", "Zone 2"};
  EXPECT_TRUE(has(problems(file_with({bad})), "entry \"a__b\": keywords[1] \"Zone 2\" is not lower-case"));
  bad = entry("a__b");
  bad["card"] = "c";
  EXPECT_TRUE(has(problems(file_with({bad})), "\"card\" \"c\" is not the id's \"a\""));
  bad = entry("a__b");
  bad["section"] = 3;
  EXPECT_TRUE(has(problems(file_with({bad})), "entry \"a__b\": \"section\": expected a string"));
  bad = entry("a__b");
  bad["content"] = "  \n";
  EXPECT_TRUE(has(problems(file_with({bad})), "\"content\" is empty"));
  bad = entry("a__b");
  bad["content"] = std::string(100000, 'x');
  EXPECT_TRUE(has(problems(file_with({bad})), "\"content\" is 100000 bytes"));
  bad = entry("a__b");
  bad["colour"] = "red";
  EXPECT_TRUE(has(problems(file_with({bad})), "unknown key \"colour\""));
  bad = entry("a");
  bad["section"] = "main";
  bad["card"] = "a";
  EXPECT_TRUE(problems(file_with({bad})).empty());  // an id without "__" is the card's main section
  Json wrong_total = Json::parse(file_with({entry("a__b")}));
  wrong_total["total_entries"] = 2;
  EXPECT_TRUE(has(problems(wrong_total.dump()), "\"total_entries\" must be the number of entries, 1"));
  std::vector<Json> many(100000, Json(1));
  const auto too_many = problems(file_with(many));
  ASSERT_EQ(too_many.size(), 1u);
  EXPECT_NE(too_many[0].find("100000 entries; a knowledge file holds at most 10000"), std::string::npos);
  EXPECT_TRUE(has(problems(std::string(17u << 20, ' ')), "a knowledge file is at most"));
  // Loading refuses a bad file with its first problem and a count.
  try {
    KnowledgeBase::parse(file_with({entry("a__b"), entry("a__b"), 3}), "k.json");
    ADD_FAILURE();
  } catch (const josi::Error& e) {
    EXPECT_STREQ(e.what(), "k.json: entry \"a__b\": the id is used twice (+1 more: josi knowledge check lists them)");
  }
}

// When the prompt would not fit, history goes first, then cards, then memory.
TEST(Knowledge, TheBudgetDropsHistoryThenCardsThenMemory) {
  using josi::coach::build_prompt;
  Json ctx = Json::parse(josi::test::read_text(josi::test::source_dir() / "data" / "chat_context.sample.json"));
  Json history = Json::array();
  for (int t = 0; t < 8; ++t) {
    history.push_back({{"role", "user"}, {"message", "question " + std::to_string(t) + std::string(300, 'q')}, {"ts", "2026-01-05"}});
    history.push_back({{"role", "assistant"}, {"message", "answer " + std::to_string(t)}, {"ts", "2026-01-05"}});
  }
  josi::coach::PromptRequest r;
  r.system = "SYS";
  r.message = "What is Zone 2 and why should I train there?";
  r.interpreter = Json{{"action", "answer_question"}, {"question", r.message}};
  r.layout = josi::coach::PromptLayout::v6;
  r.knowledge = &users_cards();
  r.max_cards = 2;
  const auto tokens = [&](const Json& history, size_t cards, bool memory) {
    auto q = r;
    q.context = ctx;
    q.context["history"] = history;
    if (!memory) q.context.erase("athlete_memory");
    q.max_cards = cards;
    return build_prompt(q, josi::coach::approximate_token_count, {1u << 20, 100}).tokens;
  };
  r.context = ctx;
  r.context["history"] = history;
  const auto fit = [&](size_t limit) { return build_prompt(r, josi::coach::approximate_token_count, {limit + 100, 100}); };
  const auto all = fit(tokens(history, 2, true));
  EXPECT_EQ(all.history_turns, 16u);
  EXPECT_EQ(all.cards.size(), 2u);
  const auto no_history = fit(tokens(Json::array(), 2, true));
  EXPECT_EQ(no_history.history_turns, 0u);
  EXPECT_EQ(no_history.cards.size(), 2u);
  EXPECT_TRUE(no_history.memory_included);
  const auto one_card = fit(tokens(Json::array(), 1, true));
  EXPECT_EQ(one_card.cards.size(), 1u);
  EXPECT_TRUE(one_card.memory_included);
  const auto no_cards = fit(tokens(Json::array(), 0, true));
  EXPECT_EQ(no_cards.cards.size(), 0u);
  EXPECT_TRUE(no_cards.memory_included);
  const auto bare = fit(tokens(Json::array(), 0, false));
  EXPECT_FALSE(bare.memory_included);
  EXPECT_EQ(bare.user.find("[KNOWLEDGE]"), std::string::npos);
  EXPECT_NE(bare.user.find("[INTERPRETER]"), std::string::npos);
}
