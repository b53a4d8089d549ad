// coach.md §3: the six fixups in order, schema validation, and the users'
// validation set (val_interpreter.jsonl) run through the whole post-processor.
#include "coach/postprocessor.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "coach/interpreter_output.hpp"
#include "coach/red_flags.hpp"
#include "json/python_dumps.hpp"
#include "support/test_support.hpp"

using josi::coach::apply_fixups;
using josi::coach::message_part;
using josi::coach::postprocess;
using josi::json::Json;
using josi::json::python_dumps;

namespace {

const std::string kContext = "\n\nCONTEXT:\n- Readiness: Green (Recovered)\n- Sport: running\n- Level: intermediate";
const std::string kContextNoSport = "\n\nCONTEXT:\n- Readiness: Green (Recovered)\n- Level: intermediate";
const char* kSportQuestion = "What sport would you like to train? Running, cycling, strength, or something else?";
const char* kIntentQuestion = "What would you like help with? A workout, explaining your plan, or a training question?";
const char* kMedical = "Please stop training and consult a medical professional immediately.";

// Fixups on a request written as JSON text, serialised the way the
// [INTERPRETER] block and the engine will see it.
std::string fix(const std::string& request, const std::string& turn) {
  return python_dumps(apply_fixups(Json::parse(request), turn));
}

Json fixed(const std::string& request, const std::string& turn) { return apply_fixups(Json::parse(request), turn); }

}  // namespace

// ---- message_part ----

TEST(MessagePart, UpToTheFirstContextBlockTrimmed) {
  EXPECT_EQ(message_part("  Why is my readiness red?\n\nCONTEXT:\n- Readiness: Red"), "Why is my readiness red?");
  EXPECT_EQ(message_part("a\n\nCONTEXT: x\n\nCONTEXT: y"), "a");
  EXPECT_EQ(message_part(" \n hello there \n"), "hello there");
  EXPECT_EQ(message_part("\n\nCONTEXT:\n- Sport: running"), "");
  // Only the exact "\n\nCONTEXT:" delimiter the prompt builder writes.
  EXPECT_EQ(message_part("a\nCONTEXT: x"), "a\nCONTEXT: x");
  EXPECT_EQ(message_part("a\n\ncontext: x"), "a\n\ncontext: x");
}

// ---- fixup 1: duration backfill ----

TEST(Fixup1, DurationFromFreeTextAppended) {
  EXPECT_EQ(fix(R"({"action": "create_workout", "sport": "run", "free_text": "45 min easy run"})", "45 min easy run" + kContext),
            R"({"action": "create_workout", "sport": "run", "free_text": "45 min easy run", "time_available_min": 45})");
}

TEST(Fixup1, FreeTextFirstThenUserTurn) {
  // free_text has a duration: it wins over the user turn's.
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "run", "free_text": "30 min run"})", "I have 60 minutes" + kContext)
                .at("time_available_min"),
            30);
  // free_text has none: the user turn is read (here the CONTEXT session line).
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "run", "free_text": "give me a run"})",
                  "give me a run\n\nCONTEXT:\n- Session: Z2 60min \"Easy\" (base phase)\n- Sport: running")
                .at("time_available_min"),
            60);
  // free_text out of range falls back to the user turn.
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "run", "free_text": "400 min"})", "ok half an hour" + kContext)
                .at("time_available_min"),
            30);
  // Empty or non-string free_text: the user turn is the source.
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "run", "free_text": ""})", "1.5 hours" + kContext)
                .at("time_available_min"),
            90);
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "run", "free_text": 7})", "an hour" + kContext)
                .at("time_available_min"),
            60);
}

TEST(Fixup1, NotAppliedWhenPresentOrNotCreateWorkoutOrNothingFound) {
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "run", "time_available_min": 20, "free_text": "45 min"})",
                  "45 min" + kContext)
                .at("time_available_min"),
            20);
  EXPECT_FALSE(fixed(R"({"action": "replan", "replan_type": "reschedule", "free_text": "move my 45 min run"})",
                     "move my 45 min run" + kContext)
                   .contains("time_available_min"));
  EXPECT_FALSE(fixed(R"({"action": "create_workout", "sport": "run", "free_text": "quick run"})", "quick 5 min run" + kContext)
                   .contains("time_available_min"));
  // A null value is "present": fixup 2 then removes it and nothing refills it.
  EXPECT_FALSE(fixed(R"({"action": "create_workout", "sport": "run", "time_available_min": null, "free_text": "45 min"})",
                     "45 min" + kContext)
                   .contains("time_available_min"));
}

// ---- fixup 2: integer coercion ----

TEST(Fixup2, CoercesLikePythonInt) {
  auto coerce = [](const std::string& value) {
    Json r = fixed(R"({"action": "explain", "time_available_min": )" + value + R"(, "free_text": "what is this session about"})",
                   "what is this session about" + kContext);
    return r.contains("time_available_min") ? r.at("time_available_min").dump() : std::string("removed");
  };
  EXPECT_EQ(coerce("45"), "45");
  EXPECT_EQ(coerce(R"("45")"), "45");
  EXPECT_EQ(coerce(R"("  45 ")"), "45");
  EXPECT_EQ(coerce(R"("+45")"), "45");
  EXPECT_EQ(coerce(R"("-5")"), "-5");
  EXPECT_EQ(coerce(R"("1_000")"), "1000");
  EXPECT_EQ(coerce("45.9"), "45");
  EXPECT_EQ(coerce("-45.9"), "-45");
  EXPECT_EQ(coerce("60.0"), "60");
  EXPECT_EQ(coerce("true"), "1");
  EXPECT_EQ(coerce("false"), "0");
  EXPECT_EQ(coerce(R"("45.5")"), "removed");
  EXPECT_EQ(coerce(R"("45.0")"), "removed");
  EXPECT_EQ(coerce(R"("45min")"), "removed");
  EXPECT_EQ(coerce(R"("4 5")"), "removed");
  EXPECT_EQ(coerce(R"("1__0")"), "removed");
  EXPECT_EQ(coerce(R"("_10")"), "removed");
  EXPECT_EQ(coerce(R"("")"), "removed");
  EXPECT_EQ(coerce(R"("abc")"), "removed");
  EXPECT_EQ(coerce("null"), "removed");
  EXPECT_EQ(coerce("[45]"), "removed");
  EXPECT_EQ(coerce(R"({"m": 45})"), "removed");
}

TEST(Fixup2, KeepsThePosition) {
  EXPECT_EQ(fix(R"({"action": "create_workout", "time_available_min": " 45 ", "sport": "run", "free_text": "a run"})",
                "a run" + kContext),
            R"({"action": "create_workout", "time_available_min": 45, "sport": "run", "free_text": "a run"})");
}

// ---- fixup 3: no sport -> clarify ----

TEST(Fixup3, NoSportAnywhereBecomesClarify) {
  EXPECT_EQ(fix(R"({"action": "create_workout", "free_text": "I want a workout", "time_available_min": 30, "goal": "endurance", "constraints": {"injury": "none"}})",
                "I want a workout"),
            std::string(R"({"action": "clarify", "free_text": "I want a workout", "missing": ["sport"], "clarify_message": ")") +
                kSportQuestion + R"("})");
}

TEST(Fixup3, EmptyOtherOrNullSport) {
  for (const char* sport : {R"("")", R"("other")", "null", "false", "[]"}) {
    Json r = fixed(std::string(R"({"action": "create_workout", "sport": )") + sport + R"(, "free_text": "Make me a workout"})",
                   "Make me a workout" + kContextNoSport);
    EXPECT_EQ(r.at("action"), "clarify") << sport;
    EXPECT_EQ(r.at("missing"), Json::array({"sport"})) << sport;
    EXPECT_FALSE(r.contains("sport")) << sport;
  }
}

TEST(Fixup3, KeptWhenASportIsKnown) {
  // Named by the model.
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "bike", "free_text": "a ride"})", "a ride").at("action"),
            "create_workout");
  // "Other" is not "other": the model's value stays for the schema to judge.
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "Other", "free_text": "a ride"})", "a ride").at("action"),
            "create_workout");
  // The CONTEXT block names one.
  EXPECT_EQ(fixed(R"({"action": "create_workout", "sport": "other", "free_text": "Make me a workout"})",
                  "Make me a workout" + kContext)
                .at("action"),
            "create_workout");
  // The athlete wrote "sport: ..." themselves (any case).
  EXPECT_EQ(fixed(R"({"action": "create_workout", "free_text": "workout, SPORT:bike"})", "workout, SPORT:bike").at("action"),
            "create_workout");
  // "sport:" with no word after it does not count.
  EXPECT_EQ(fixed(R"({"action": "create_workout", "free_text": "workout sport: ?"})", "workout sport: ?").at("action"),
            "clarify");
  // Other actions are not touched.
  EXPECT_EQ(fixed(R"({"action": "replan", "replan_type": "skip_today", "free_text": "skip today please"})",
                  "skip today please")
                .at("action"),
            "replan");
}

TEST(Fixup3, OverwritesExistingClarifyKeysInPlace) {
  EXPECT_EQ(fix(R"({"action": "create_workout", "missing": ["x"], "clarify_message": "old", "free_text": "Workout please"})",
                "Workout please"),
            std::string(R"({"action": "clarify", "missing": ["sport"], "clarify_message": ")") + kSportQuestion +
                R"(", "free_text": "Workout please"})");
}

TEST(Fixup3, RunsAfterFixup1) {
  // Fixup 1 adds a duration, fixup 3 then removes it with the other workout fields.
  Json r = fixed(R"({"action": "create_workout", "free_text": "45 min workout"})", "45 min workout");
  EXPECT_EQ(r.at("action"), "clarify");
  EXPECT_FALSE(r.contains("time_available_min"));
}

// ---- fixup 4: vague message without context -> clarify ----

TEST(Fixup4, ShortStatementWithoutContext) {
  EXPECT_EQ(fix(R"({"action": "answer_question", "free_text": "Help me", "question": "Help me"})", "Help me"),
            std::string(R"({"action": "clarify", "free_text": "Help me", "missing": ["intent"], "clarify_message": ")") +
                kIntentQuestion + R"("})");
  // Four words is still vague; explain is treated the same way.
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "tell me about zones"})", "Tell me about zones").at("action"), "clarify");
  // An empty message has no words at all.
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "x"})", "   ").at("action"), "clarify");
}

TEST(Fixup4, NotAppliedToLongerQuestionsContextOrOtherActions) {
  EXPECT_EQ(fixed(R"({"action": "answer_question", "free_text": "tell me about heart zones"})", "tell me about heart zones")
                .at("action"),
            "answer_question");  // five words
  EXPECT_EQ(fixed(R"({"action": "answer_question", "question": "Zone 2?", "free_text": "Zone 2?"})", "Zone 2?").at("action"),
            "answer_question");  // a question mark
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "Help me"})", "Help me" + kContextNoSport).at("action"), "explain");
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "Help me"})", "Help me\ncontext: none").at("action"), "explain");
  EXPECT_EQ(fixed(R"({"action": "replan", "replan_type": "skip_today", "free_text": "skip it"})", "skip it").at("action"),
            "replan");
}

// ---- fixup 5: medical red flags ----

TEST(Fixup5, RedFlagBecomesMedicalClarify) {
  EXPECT_EQ(fix(R"({"action": "replan", "free_text": "I have chest pain when I run", "replan_type": "illness", "sport": "run"})",
                "I have chest pain when I run" + kContext),
            std::string(R"({"action": "clarify", "free_text": "I have chest pain when I run", "missing": ["medical_clearance"], "clarify_message": ")") +
                kMedical + R"("})");
}

TEST(Fixup5, RemovesOnlyTheListedKeys) {
  Json r = fixed(R"({"action": "create_workout", "sport": "run", "time_available_min": 30, "goal": "recovery", "question": "q", "free_text": "I feel dizzy, easy run?"})",
                 "I feel dizzy, easy run?" + kContext);
  EXPECT_EQ(r.at("action"), "clarify");
  EXPECT_EQ(r.at("missing"), Json::array({"medical_clearance"}));
  EXPECT_FALSE(r.contains("sport"));
  EXPECT_FALSE(r.contains("question"));
  EXPECT_EQ(r.at("time_available_min"), 30);
  EXPECT_EQ(r.at("goal"), "recovery");
}

TEST(Fixup5, AnywhereInTheTurnAndOverridesFixup4) {
  Json r = fixed(R"({"action": "explain", "free_text": "Still tired"})",
                 "Still tired\n\nHISTORY:\n  [user]: I fainted during my ride");
  EXPECT_EQ(r.at("missing"), Json::array({"medical_clearance"}));
  EXPECT_EQ(r.at("clarify_message"), kMedical);
}

TEST(Fixup5, CommonIllnessStaysReplan) {
  for (const char* msg : {"I'm sick", "I have the flu", "I have a cold", "stomach bug, skip today"}) {
    std::string req = std::string(R"({"action": "replan", "replan_type": "illness", "sport": "run", "free_text": ")") + msg + R"("})";
    EXPECT_EQ(fix(req, msg + kContext), req) << msg;
  }
}

// ---- fixup 6: free_text backfill ----

TEST(Fixup6, BackfillsMissingEmptyOrActionName) {
  EXPECT_EQ(fix(R"({"action": "explain", "question": "Why red?"})", "Why is my readiness red?" + kContext),
            R"({"action": "explain", "question": "Why red?", "free_text": "Why is my readiness red?"})");
  EXPECT_EQ(fix(R"({"action": "explain", "free_text": "", "question": "q"})", "Why is my readiness red?" + kContext),
            R"({"action": "explain", "free_text": "Why is my readiness red?", "question": "q"})");
  for (const char* name : {"Create_Workout", "replan", "EXPLAIN", "answer_question", "clarify"}) {
    Json r = fixed(std::string(R"({"action": "explain", "free_text": ")") + name + R"("})", "Why?" + kContext);
    EXPECT_EQ(r.at("free_text"), "Why?") << name;
  }
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": 12})", "Why?" + kContext).at("free_text"), "Why?");
}

TEST(Fixup6, ShortSummaryOfALongerMessage) {
  // At most 2 words while the message has more than 3.
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "readiness red"})", "Why is readiness red?" + kContext).at("free_text"),
            "Why is readiness red?");
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "red"})", "Why is readiness red?" + kContext).at("free_text"),
            "Why is readiness red?");
  // The message has only 3 words: kept.
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "readiness red"})", "Why readiness red?" + kContext).at("free_text"),
            "readiness red");
  // Three words of free_text: kept.
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "why readiness red"})", "Why is readiness red today?" + kContext)
                .at("free_text"),
            "why readiness red");
  // Not an action name.
  EXPECT_EQ(fixed(R"({"action": "explain", "free_text": "explaining"})", "Why?" + kContext).at("free_text"), "explaining");
}

TEST(Fixup6, NothingWhenTheMessageIsEmpty) {
  EXPECT_EQ(fix(R"({"action": "explain", "question": "q"})", kContext), R"({"action": "explain", "question": "q"})");
}

TEST(Fixups, NonObjectPassesThrough) { EXPECT_EQ(apply_fixups(Json::array({1}), "x"), Json::array({1})); }

// ---- postprocess: parse, fix, validate ----

TEST(Postprocess, ValidRequest) {
  auto r = postprocess("```json\n{\"action\": \"create_workout\", \"sport\": \"run\", \"free_text\": \"45 min run\"}\n```",
                       "45 min run" + kContext);
  ASSERT_TRUE(r.request);
  EXPECT_TRUE(r.valid);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(python_dumps(*r.request),
            R"({"action": "create_workout", "sport": "run", "free_text": "45 min run", "time_available_min": 45})");
}

TEST(Postprocess, ParseFailureIsOneLine) {
  auto r = postprocess("Sorry, I can't do that.", "hi");
  EXPECT_FALSE(r.request);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(r.errors, std::vector<std::string>{"interpreter output is not a JSON object"});
  EXPECT_FALSE(postprocess("[1, 2]", "hi").request);
}

TEST(Postprocess, SchemaErrorsNameThePath) {
  auto r = postprocess(R"({"action": "create_workout", "sport": "cycling", "free_text": "a bike ride for 45 min"})",
                       "a bike ride for 45 min" + kContext);
  ASSERT_TRUE(r.request);
  EXPECT_FALSE(r.valid);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].rfind("$.sport: enum", 0), 0u) << r.errors[0];
  // Coerced out of range: the schema, not the fixup, rejects it.
  auto low = postprocess(R"({"action": "explain", "time_available_min": "5", "free_text": "why this session"})",
                         "why this session" + kContext);
  ASSERT_EQ(low.errors.size(), 1u);
  EXPECT_EQ(low.errors[0].rfind("$.time_available_min: minimum", 0), 0u) << low.errors[0];
}

TEST(Postprocess, FixupsCanMakeAnOutputValid) {
  // Truncated, no free_text: repair keeps the action, fixup 6 adds the message.
  auto r = postprocess(R"({"action": "answer_question", "question": "What is Zone 2?", "free_te)", "What is Zone 2?" + kContext);
  ASSERT_TRUE(r.request);
  EXPECT_TRUE(r.valid) << (r.errors.empty() ? "" : r.errors[0]);
  EXPECT_EQ(python_dumps(*r.request),
            R"({"action": "answer_question", "question": "What is Zone 2?", "free_text": "What is Zone 2?"})");
  // Without the backfill the same request is missing a required field.
  auto bare = postprocess(R"({"action": "answer_question", "question": "What is Zone 2?"})", kContext);
  EXPECT_FALSE(bare.valid);
}

// ---- the users' validation set ----

namespace {

struct Example {
  int line;
  std::string user;
  std::string assistant;
};

std::vector<Example> load_examples(const std::string& name) {
  std::ifstream in(josi::test::reference_data(name));
  std::vector<Example> out;
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    Json record = Json::parse(text);
    Example e{line, "", ""};
    for (const auto& m : record.at("messages")) {
      if (m.at("role") == "user") e.user = m.at("content").get<std::string>();
      if (m.at("role") == "assistant") e.assistant = m.at("content").get<std::string>();
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEST(ValInterpreterCorpus, EveryTargetParsesValidatesAndSurvivesUnchanged) {
  auto examples = load_examples("val_interpreter.jsonl");
  ASSERT_EQ(examples.size(), 149u);
  std::vector<int> invalid, changed;
  std::map<std::string, int> actions;
  for (const auto& e : examples) {
    auto r = postprocess(e.assistant, e.user);
    ASSERT_TRUE(r.request) << "line " << e.line;
    if (!r.valid) invalid.push_back(e.line);
    // The targets are already what the fixups produce: byte-identical output.
    if (python_dumps(*r.request) != e.assistant) changed.push_back(e.line);
    actions[r.request->at("action").get<std::string>()]++;
  }
  // Inspected independently (jsonschema on every target, before and after the
  // fixups): no target in this file is schema-invalid.
  EXPECT_EQ(invalid, std::vector<int>{});
  EXPECT_EQ(changed, std::vector<int>{});
  EXPECT_EQ(actions, (std::map<std::string, int>{
                         {"answer_question", 60}, {"clarify", 4}, {"create_workout", 25}, {"explain", 49}, {"replan", 11}}));
}

TEST(ValInterpreterCorpus, RedFlagTurnsAreTheMedicalClarifies) {
  std::vector<int> flagged;
  for (const auto& e : load_examples("val_interpreter.jsonl"))
    if (josi::coach::has_medical_red_flag(e.user)) {
      flagged.push_back(e.line);
      EXPECT_NE(e.assistant.find(R"("missing": ["medical_clearance"])"), std::string::npos) << e.line;
    }
  EXPECT_EQ(flagged, (std::vector<int>{65, 81, 104}));
}

TEST(ValInterpreterCorpus, WrongSportIsCaught) {
  // The validator must see an enum violation in real requests: every
  // create_workout target with its sport replaced by "cycling" is invalid.
  std::vector<int> invalid;
  for (const auto& e : load_examples("val_interpreter.jsonl")) {
    Json target = Json::parse(e.assistant);
    if (target.at("action") != "create_workout") continue;
    target["sport"] = "cycling";
    auto r = postprocess(python_dumps(target), e.user);
    ASSERT_TRUE(r.request);
    if (!r.valid) {
      invalid.push_back(e.line);
      ASSERT_EQ(r.errors.size(), 1u) << e.line;
      EXPECT_EQ(r.errors[0].rfind("$.sport: enum", 0), 0u) << r.errors[0];
    }
  }
  EXPECT_EQ(invalid.size(), 25u);
  ASSERT_GE(invalid.size(), 5u);
  EXPECT_EQ(std::vector<int>(invalid.begin(), invalid.begin() + 5), (std::vector<int>{20, 21, 28, 29, 33}));
}

TEST(ValInterpreterCorpus, DroppedFieldsAreRecovered) {
  int backfilled = 0, durations = 0;
  for (const auto& e : load_examples("val_interpreter.jsonl")) {
    Json target = Json::parse(e.assistant);
    // free_text is always the athlete's message in these targets.
    Json without_text = target;
    without_text.erase("free_text");
    Json r = apply_fixups(without_text, e.user);
    EXPECT_EQ(r.at("free_text"), target.at("free_text")) << e.line;
    ++backfilled;
    if (target.contains("time_available_min")) {
      Json without_time = target;
      without_time.erase("time_available_min");
      EXPECT_EQ(apply_fixups(without_time, e.user).value("time_available_min", Json()), target.at("time_available_min"))
          << e.line;
      ++durations;
    }
  }
  EXPECT_EQ(backfilled, 149);
  EXPECT_EQ(durations, 4);
}

TEST(ValInterpreterCorpus, TruncatedTargetsLoseTheirLastMember) {
  // Cutting the closing brace forces the truncation repair, which closes the
  // object before the last top-level comma: the target minus its last key.
  for (const auto& e : load_examples("val_interpreter.jsonl")) {
    Json expected = Json::parse(e.assistant);
    expected.erase(std::prev(expected.end()).key());
    auto parsed = josi::coach::parse_interpreter_output(e.assistant.substr(0, e.assistant.size() - 1));
    ASSERT_TRUE(parsed) << e.line;
    EXPECT_EQ(python_dumps(*parsed), python_dumps(expected)) << e.line;
  }
}
