// The JSON Schema output constraint: the users' real interpreter targets are
// accepted byte by byte and token by token (the trained format stays
// reachable), schema-invalid text is refused at its first offending byte and
// token, the budget always leaves a complete value, and the generic compiler
// serves a second contract (the legacy LLMIntent) and refuses what it cannot
// enforce.
#include <gtest/gtest.h>

#include <random>

#include "base/error.hpp"
#include "constrain/grammar.hpp"
#include "constrain/json_matcher.hpp"
#include "constrain/schema_constraint.hpp"
#include "constrain/token_index.hpp"
#include "data/jsonl.hpp"
#include "infer/sampler.hpp"
#include "json/schema.hpp"
#include "support/test_support.hpp"
#include "text/tokenizer.hpp"

namespace {

using josi::json::Json;
namespace constrain = josi::constrain;

const constrain::Grammar& gatc() {
  static const auto g = constrain::Grammar::compile(josi::json::Schema::gatc_request().document(), "GATCRequest");
  return g;
}

const josi::text::Tokenizer& tokenizer() {
  static const auto t = josi::text::Tokenizer::load(josi::test::qwen_tokenizer_json());
  return t;
}

const constrain::TokenIndex& index() {
  static const constrain::TokenIndex i(tokenizer(), tokenizer().vocab_size());
  return i;
}

std::vector<std::string> assistant_targets(const std::string& file) {
  std::vector<std::string> out;
  for (const auto& line : josi::data::read_jsonl(josi::test::reference_data(file)))
    out.push_back(line.value.at("messages").back().at("content").get<std::string>());
  return out;
}

// Bytes of `text` the matcher accepts before refusing one (text.size(): all).
size_t accepted_bytes(const constrain::JsonMatcher& m, const std::string& text) {
  auto s = m.start();
  for (size_t i = 0; i < text.size(); ++i)
    if (!m.step(s, static_cast<uint8_t>(text[i]))) return i;
  return text.size();
}

TEST(OutputConstraint, EveryValidationTargetIsAcceptedByteByByte) {
  const constrain::JsonMatcher m(gatc());
  const auto targets = assistant_targets("val_interpreter.jsonl");
  ASSERT_EQ(targets.size(), 149u);
  for (const auto& t : targets) {
    auto s = m.start();
    for (size_t i = 0; i < t.size(); ++i) {
      // The shortest completion never claims more than what the target still needs.
      ASSERT_LE(m.min_completion(s), t.size() - i) << t << " at " << i;
      ASSERT_TRUE(m.step(s, static_cast<uint8_t>(t[i]))) << t << " refused at byte " << i;
    }
    EXPECT_TRUE(m.done(s)) << t;
    EXPECT_EQ(m.min_completion(s), 0u);
  }
}

TEST(OutputConstraint, EveryValidationTargetIsAllowedTokenByToken) {
  const constrain::JsonMatcher m(gatc());
  josi::infer::TokenMask mask(index().n_vocab());
  for (const auto& t : assistant_targets("val_interpreter.jsonl")) {
    const auto ids = tokenizer().encode(t);
    constrain::SchemaConstraint c(m, index());
    for (size_t i = 0; i < ids.size(); ++i) {
      const bool may_end = c.allowed(150 - static_cast<int32_t>(i), mask);
      ASSERT_FALSE(may_end) << t << ": the end allowed before the object is complete (token " << i << ")";
      ASSERT_TRUE(mask.test(ids[i])) << t << ": token " << i << " \"" << tokenizer().token_bytes(ids[i]) << "\" refused";
      c.accept(ids[i]);
    }
    EXPECT_TRUE(c.allowed(150 - static_cast<int32_t>(ids.size()), mask)) << t;
    EXPECT_EQ(mask.count(), 0u) << "nothing but the end may follow a complete object";
    EXPECT_EQ(c.text(), t);
  }
}

// The fixed text the generator drafts: every target continues with it at
// every token, it names what the schema fixes (the rest of a unique key and
// its separator), strings that open are flagged, and `accepts` cuts a draft
// at its first token the schema refuses.
TEST(OutputConstraint, FixedTextIsWhatEveryTargetWritesNextAndDraftsAreCutWhereRefused) {
  const constrain::JsonMatcher m(gatc());
  size_t fixed_bytes = 0, opened = 0;
  for (const auto& t : assistant_targets("val_interpreter.jsonl")) {
    const auto ids = tokenizer().encode(t);
    constrain::SchemaConstraint c(m, index());
    EXPECT_EQ(c.fixed_text(64).text, "{\"");
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto fixed = c.fixed_text(64);
      ASSERT_EQ(t.compare(c.text().size(), fixed.text.size(), fixed.text), 0)
          << t << ": fixed text \"" << fixed.text << "\" after \"" << c.text() << "\"";
      fixed_bytes += fixed.text.size();
      if (fixed.string_opens) {
        ++opened;
        const size_t at = c.text().size() + fixed.text.size();
        EXPECT_EQ(t[at - 1], '"') << t << " at " << at;
      }
      EXPECT_EQ(c.accepts(std::span<const int32_t>(ids).subspan(i)), ids.size() - i) << t;
      c.accept(ids[i]);
    }
    EXPECT_EQ(c.fixed_text(64).text, "");
  }
  EXPECT_GT(fixed_bytes, 149u * 8);
  EXPECT_GT(opened, 149u);  // free_text at least, and question in most

  constrain::SchemaConstraint c(m, index());
  for (int32_t id : tokenizer().encode("{\"free_text")) c.accept(id);
  const auto fixed = c.fixed_text(64);
  EXPECT_EQ(fixed.text, "\": \"");
  EXPECT_TRUE(fixed.string_opens);
  EXPECT_EQ(c.fixed_text(2).text, "\":");  // the limit holds
  const auto draft = tokenizer().encode("\": \"ok\", \"action\": 7");
  const size_t kept = c.accepts(draft);
  EXPECT_EQ(tokenizer().decode({draft.begin(), draft.begin() + static_cast<std::ptrdiff_t>(kept)}), "\": \"ok\", \"action\": ");  // the digit is refused (action is a string)
}

struct Invalid {
  std::string text;
  std::string offending;  // the text up to and including the first byte that must be refused
};

TEST(OutputConstraint, SchemaInvalidObjectsAreRefusedAtTheFirstOffendingByteAndToken) {
  const std::vector<Invalid> cases = {
      // create_workout needs a sport (allOf if/then)
      {R"({"action": "create_workout", "free_text": "run 45"})", R"({"action": "create_workout", "free_text": "run 45"})"},
      // replan needs replan_type, clarify needs missing and clarify_message
      {R"({"action": "replan", "free_text": "skip", "sport": "run"})", R"({"action": "replan", "free_text": "skip", "sport": "run"})"},
      {R"({"action": "clarify", "free_text": "?", "missing": []})", R"({"action": "clarify", "free_text": "?", "missing": []})"},
      // unknown key, duplicate key
      {R"({"action": "explain", "foo": 1})", R"({"action": "explain", "fo)"},
      {R"({"action": "explain", "action": "explain"})", R"({"action": "explain", "a)"},
      // out-of-range and malformed minutes
      {R"({"time_available_min": 301})", R"({"time_available_min": 301)"},
      {R"({"time_available_min": 5, "action": "explain"})", R"({"time_available_min": 5,)"},
      {R"({"time_available_min": 045})", R"({"time_available_min": 0)"},
      {R"({"time_available_min": "45"})", R"({"time_available_min": ")"},
      // the date pattern, enums, nested object
      {R"({"date": "2026-1-01"})", R"({"date": "2026-1-)"},
      {R"({"sport": "cycling"})", R"({"sport": "c)"},
      {R"({"goal": "speed"})", R"({"goal": "sp)"},
      {R"({"constraints": {"injury": "wrist"}})", R"({"constraints": {"injury": "w)"},
      {R"({"constraints": {"no_intensity": 1}})", R"({"constraints": {"no_intensity": 1)"},
      // whitespace other than json.dumps writes, and anything after the object
      {R"({"action":"explain"})", R"({"action":")"},
      {R"({"action": "explain", "free_text": "x"} )", R"({"action": "explain", "free_text": "x"} )"},
      // not valid JSON strings
      {"{\"free_text\": \"a\tb\"}", "{\"free_text\": \"a\t"},
      {R"({"free_text": "\x"})", R"({"free_text": "\x)"},
      {R"({"free_text": "\udc00"})", R"({"free_text": "\udc)"},
  };
  const constrain::JsonMatcher m(gatc());
  josi::infer::TokenMask mask(index().n_vocab());
  for (const auto& c : cases) {
    ASSERT_EQ(c.text.compare(0, c.offending.size(), c.offending), 0) << c.text;
    EXPECT_EQ(accepted_bytes(m, c.text), c.offending.size() - 1) << c.text;
    // Token level: every token before the one holding the offending byte is
    // allowed, that one is not.
    const auto ids = tokenizer().encode(c.text);
    constrain::SchemaConstraint sc(m, index());
    size_t at = 0;
    bool refused = false;
    for (int32_t id : ids) {
      const size_t end = at + tokenizer().token_bytes(id).size();
      sc.allowed(150, mask);
      if (end >= c.offending.size()) {
        EXPECT_FALSE(mask.test(id)) << c.text << ": token \"" << tokenizer().token_bytes(id) << "\" allowed";
        refused = true;
        break;
      }
      ASSERT_TRUE(mask.test(id)) << c.text << ": token \"" << tokenizer().token_bytes(id) << "\" refused too early";
      sc.accept(id);
      at = end;
    }
    EXPECT_TRUE(refused) << c.text;
  }
}

// The budget: from any point of a real target, with only the minimum number
// of tokens left, the constraint still reaches a complete, valid object.
TEST(OutputConstraint, ATightBudgetClosesTheObjectInTime) {
  const constrain::JsonMatcher m(gatc());
  josi::infer::TokenMask mask(index().n_vocab());
  std::mt19937 rng(7);
  const auto targets = assistant_targets("val_interpreter.jsonl");
  for (size_t n = 0; n < targets.size(); n += 3) {
    const auto ids = tokenizer().encode(targets[n]);
    const size_t cut = rng() % ids.size();
    constrain::SchemaConstraint c(m, index());
    for (size_t i = 0; i < cut; ++i) c.accept(ids[i]);
    auto remaining = static_cast<int32_t>(c.min_tokens());
    // Always take the allowed token with the largest id: an adversarial but
    // allowed choice.
    while (!c.allowed(remaining, mask) || mask.count() > 0) {
      ASSERT_GT(mask.count(), 0u) << targets[n] << " cut at " << cut << ": no token allowed, " << remaining << " left";
      int32_t pick = -1;
      for (int32_t id = static_cast<int32_t>(mask.size()) - 1; id >= 0 && pick < 0; --id)
        if (mask.test(id)) pick = id;
      c.accept(pick);
      --remaining;
      ASSERT_GE(remaining, 0);
    }
    Json request;
    ASSERT_TRUE(josi::json::try_parse(c.text(), request)) << c.text();
    EXPECT_TRUE(josi::json::Schema::gatc_request().is_valid(request)) << c.text();
  }
}

// Random logits stand in for a model that writes garbage: whatever is
// sampled, every text ends as a schema-valid request within its budget.
TEST(OutputConstraint, RandomLogitsAlwaysYieldValidRequests) {
  const constrain::JsonMatcher m(gatc());
  josi::infer::TokenMask mask(index().n_vocab());
  std::mt19937_64 rng(11);
  // Fresh logits each step are windows into a pool of Gaussian noise (drawing
  // 151k normals per step would cost more than everything under test).
  std::normal_distribution<float> noise(0.0f, 3.0f);
  std::vector<float> pool(4 * index().n_vocab());
  for (auto& v : pool) v = noise(rng);
  const int32_t stop = *tokenizer().token_id("<|im_end|>");
  int ended_by_stop = 0;
  for (int run = 0; run < 120; ++run) {
    const int32_t budget = 40 + static_cast<int32_t>(rng() % 80);
    josi::infer::SamplingParams params;
    params.seed = rng();
    josi::infer::Sampler sampler(params);
    constrain::SchemaConstraint c(m, index());
    std::vector<int32_t> history;
    for (int32_t i = 0; i < budget; ++i) {
      const std::span<const float> logits(pool.data() + rng() % (pool.size() - index().n_vocab()), index().n_vocab());
      if (c.allowed(budget - i, mask)) mask.set(stop);
      const int32_t t = sampler.sample(logits, history, &mask);
      if (t == stop) {
        ++ended_by_stop;
        break;
      }
      c.accept(t);
      history.push_back(t);
    }
    Json request;
    ASSERT_TRUE(josi::json::try_parse(c.text(), request)) << c.text();
    const auto errors = josi::json::Schema::gatc_request().validate(request);
    EXPECT_TRUE(errors.empty()) << c.text() << ": " << (errors.empty() ? "" : errors[0]);
  }
  EXPECT_GT(ended_by_stop, 0);
}

TEST(OutputConstraint, TheLegacyLlmIntentContractCompilesAndAcceptsItsData) {
  const auto g = constrain::Grammar::compile(josi::json::Schema::llm_intent().document(), "LLMIntent");
  const constrain::JsonMatcher m(g);
  for (const auto& t : assistant_targets("val_v3.jsonl")) {
    ASSERT_EQ(accepted_bytes(m, t), t.size()) << t;
    auto s = m.start();
    for (char c : t) m.step(s, static_cast<uint8_t>(c));
    EXPECT_TRUE(m.done(s));
  }
  // oneOf null | object, minLength, minItems
  EXPECT_EQ(accepted_bytes(m, R"({"message": "")"), std::string(R"({"message": "")").size() - 1);
  EXPECT_EQ(accepted_bytes(m, R"({"source_cards": []})"), std::string(R"({"source_cards": [)").size());
  EXPECT_EQ(accepted_bytes(m, R"({"tool_call": nul)"), std::string(R"({"tool_call": nul)").size());
  // A free-form `args` map holds any JSON; the outer object may not close
  // without its required keys.
  const std::string nested = R"({"tool_call": {"args": {"any": [1, {"x": true}], "y": -2.5e3}, "tool": "replan"}})";
  EXPECT_EQ(accepted_bytes(m, nested), nested.size() - 1);
}

TEST(OutputConstraint, WhatCannotBeEnforcedIsRefusedByName) {
  const auto refused = [](const char* schema) {
    try {
      constrain::Grammar::compile(josi::json::parse(schema, "test"), "S");
    } catch (const josi::Error& e) {
      return std::string(e.what());
    }
    return std::string("compiled");
  };
  EXPECT_NE(refused(R"({"type": "object", "properties": {"a": {"$ref": "#"}}, "additionalProperties": false})").find("$.a: keyword \"$ref\""), std::string::npos);
  EXPECT_NE(refused(R"({"type": "object", "properties": {"a": {"type": "string"}}})").find("additionalProperties"), std::string::npos);
  EXPECT_NE(refused(R"({"type": ["integer", "number"]})").find("start with the same character"), std::string::npos);
  EXPECT_NE(refused(R"({"type": "string", "pattern": "(a)\\1"})").find("\\1"), std::string::npos);
  EXPECT_NE(refused(R"({"type": "number", "minimum": 0})").find("minimum"), std::string::npos);
  EXPECT_NE(refused(R"({"enum": [1, 2], "type": "string"})").find("no enum"), std::string::npos);
  EXPECT_EQ(refused(R"({"type": "object", "additionalProperties": {"type": "integer", "minimum": 3}})"), "compiled");
}

TEST(PatternDfa, DatesAndClasses) {
  const auto date = constrain::PatternDfa::compile("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "date");
  const auto matches = [](const constrain::PatternDfa& d, const std::u32string& s) {
    int32_t st = d.start();
    for (char32_t c : s) {
      st = d.next(st, static_cast<uint32_t>(c));
      if (st == constrain::PatternDfa::kDead) return false;
    }
    return d.accepting(st);
  };
  EXPECT_TRUE(matches(date, U"2026-03-14"));
  EXPECT_FALSE(matches(date, U"2026-3-14"));
  EXPECT_FALSE(matches(date, U"2026-03-144"));
  EXPECT_EQ(date.distance(date.start()), 10u);
  const auto word = constrain::PatternDfa::compile("(?:ab|c)+\\d?", "p");  // unanchored
  EXPECT_TRUE(matches(word, U"xxabcab7yy"));
  EXPECT_FALSE(matches(word, U"xyz"));
  const auto neg = constrain::PatternDfa::compile("^[^a-c]é.$", "p");
  EXPECT_TRUE(matches(neg, U"xéz"));
  EXPECT_FALSE(matches(neg, U"béz"));
  EXPECT_EQ(neg.distance(neg.start()), 4u);  // "\0" + "é" (2 bytes) + "\0"
}

}  // namespace
