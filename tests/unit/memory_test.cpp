#include "coach/memory.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.hpp"

using josi::coach::AthleteMemory;
using josi::coach::detect_patterns;
using josi::coach::extract_facts;
using josi::coach::Fact;
using josi::coach::HistoryTurn;
using josi::coach::merge_memory;
using josi::coach::serialize_memory;
using josi::json::Json;
using Strings = std::vector<std::string>;

namespace {

std::vector<HistoryTurn> said(std::initializer_list<const char*> messages) {
  std::vector<HistoryTurn> history;
  for (const char* m : messages) history.push_back({"user", m, "2024-01-01"});
  return history;
}

Strings fact_texts(const std::vector<Fact>& facts) {
  Strings out;
  for (const auto& f : facts) out.push_back(f.fact);
  return out;
}

Strings facts_of(const char* message) { return fact_texts(extract_facts(said({message}))); }

// Every phrase must give exactly `fact` on its own.
void expect_each_gives(std::initializer_list<const char*> messages, const std::string& fact) {
  for (const char* m : messages) EXPECT_EQ(facts_of(m), Strings{fact}) << m;
}

void expect_nothing_from(std::initializer_list<const char*> messages) {
  for (const char* m : messages) EXPECT_EQ(facts_of(m), Strings{}) << m;
}

Fact fact(const char* text, double confidence, const char* source = "conversation") {
  return Fact{text, source, confidence};
}

// The message of the josi::Error `f` throws, or "" when it does not throw one.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const josi::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---- extraction: each group, each phrase ----

TEST(ExtractFacts, SportRunning) {
  expect_each_gives({"I run a lot", "Running is my thing", "I jog", "JOGGING daily"}, "primary sport: running");
  expect_nothing_from({"I am a runner", "she runs", "rerun it"});
}

TEST(ExtractFacts, SportCycling) {
  expect_each_gives({"cycling", "I'm a cyclist", "my bike", "biking", "a biker", "riding", "a ride", "two rides"},
                    "primary sport: cycling");
  expect_nothing_from({"bicycle", "recycle it"});
}

TEST(ExtractFacts, SportSkiing) {
  expect_each_gives({"I ski", "skiing", "cross-country", "Cross Country"}, "primary sport: skiing");
  expect_nothing_from({"new skis", "crosscountry"});
}

TEST(ExtractFacts, SportSkating) {
  expect_each_gives({"I skate", "skating", "inline", "inliners", "rollerblading"}, "primary sport: skating");
  expect_nothing_from({"skeleton"});
}

TEST(ExtractFacts, StrengthTraining) {
  expect_each_gives({"strength", "weight", "weights", "the gym", "lifting"}, "does strength training");
  expect_nothing_from({"weightless", "gymnastics", "strengths"});
}

TEST(ExtractFacts, SportGroupConfidence) {
  auto facts = extract_facts(said({"I run"}));
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_DOUBLE_EQ(facts[0].confidence, 0.8);
  EXPECT_EQ(facts[0].source, "conversation");
}

TEST(ExtractFacts, MorningSessions) {
  expect_each_gives({"morning", "before work", "early", "first thing", "at 6 am", "6am", "7 am", "7AM"},
                    "prefers morning sessions");
  expect_nothing_from({"mornings", "8 am", "earlyish"});
}

TEST(ExtractFacts, EveningSessions) {
  expect_each_gives({"evening", "after work", "late", "night", "after dinner"}, "prefers evening sessions");
  expect_nothing_from({"lately", "nightly", "before dinner"});
}

TEST(ExtractFacts, MiddaySessions) {
  expect_each_gives({"lunch", "midday", "noon", "middle of the day"}, "prefers midday sessions");
  expect_nothing_from({"afternoon", "lunchtime", "middle of the week"});
}

TEST(ExtractFacts, TimeGroupConfidence) {
  auto facts = extract_facts(said({"lunch"}));
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_DOUBLE_EQ(facts[0].confidence, 0.7);
}

TEST(ExtractFacts, TypicalDuration) {
  EXPECT_EQ(facts_of("usually 45 min"), Strings{"typical duration: 45 min"});
  EXPECT_EQ(facts_of("usually about 50 minutes"), Strings{"typical duration: 50 min"});
  EXPECT_EQ(facts_of("usually 45min"), Strings{"typical duration: 45 min"});
  EXPECT_EQ(facts_of("normally do 40 minutes"), Strings{"typical duration: 40 min"});
  EXPECT_EQ(facts_of("normally run for about 35 min"), (Strings{"primary sport: running", "typical duration: 35 min"}));
  EXPECT_EQ(facts_of("normally ride 60 min"), (Strings{"primary sport: cycling", "typical duration: 60 min"}));
  EXPECT_EQ(facts_of("normally train for 30 min"), Strings{"typical duration: 30 min"});
  EXPECT_EQ(facts_of("only have 30 min usually"), Strings{"typical duration: 30 min"});
  EXPECT_EQ(facts_of("only got 20 minutes most days"), Strings{"typical duration: 20 min"});
  EXPECT_EQ(facts_of("only have 25 min normally"), Strings{"typical duration: 25 min"});
  expect_nothing_from({"usually 45 mins", "usually do 45 min", "only have 30 min", "normally swim 30 min",
                       "usually an hour"});
}

TEST(ExtractFacts, DurationGroupConfidence) {
  auto facts = extract_facts(said({"usually 45 min"}));
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_DOUBLE_EQ(facts[0].confidence, 0.6);
}

TEST(ExtractFacts, KneeIssue) {
  expect_each_gives({"bad knee", "injured knee", "sore knee", "weak knee", "recovering knee", "sore right knee",
                     "knee issue", "knee injury", "knee problem", "Knee pain"},
                    "has knee issue");
  expect_nothing_from({"my knee is fine", "kneel down"});
}

TEST(ExtractFacts, BackIssue) {
  expect_each_gives({"bad back", "injured back", "sore back", "weak back", "recovering back", "back issue",
                     "back injury", "back problem", "back pain"},
                    "has back issue");
  expect_nothing_from({"I'm back", "come back home", "backpack problem"});
}

TEST(ExtractFacts, AnkleAndShoulderIssues) {
  expect_each_gives({"bad ankle", "injured ankle", "sore left ankle", "weak right ankle", "recovering ankle"},
                    "has ankle issue");
  expect_each_gives({"bad shoulder", "injured shoulder", "sore shoulder", "weak left shoulder",
                     "recovering right shoulder"},
                    "has shoulder issue");
  expect_nothing_from({"ankle socks", "shoulder season", "bad middle ankle"});
}

TEST(ExtractFacts, RunningRelatedInjury) {
  expect_each_gives({"plantar fasciitis", "shin splints", "a shin splint", "achilles", "Achilles tendinopathy",
                     "IT band", "itband syndrome"},
                    "has running-related injury");
  expect_nothing_from({"plantar wart", "shin guard", "italic band"});
}

TEST(ExtractFacts, InjuryGroupConfidence) {
  auto facts = extract_facts(said({"sore shoulder"}));
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_DOUBLE_EQ(facts[0].confidence, 0.9);
}

TEST(ExtractFacts, Lifestyle) {
  expect_each_gives({"I work nights", "graveyard shift", "Graveyard   Shift"}, "works night shifts");
  // "night" on its own is also an evening preference.
  EXPECT_EQ(facts_of("night shift"), (Strings{"prefers evening sessions", "works night shifts"}));
  EXPECT_EQ(facts_of("I work night"), (Strings{"prefers evening sessions", "works night shifts"}));
  expect_each_gives({"a kid", "two kids", "children", "a toddler", "new baby", "single parent"},
                    "has young children");
  expect_each_gives({"busy work", "hectic schedule", "crazy week", "Busy   week"}, "has busy work schedule");
}

TEST(ExtractFacts, TrainsPerWeekFillsTheCount) {
  EXPECT_EQ(facts_of("I train 3 times a week"), Strings{"trains 3x per week"});
  EXPECT_EQ(facts_of("trains 4x per week"), Strings{"trains 4x per week"});
  EXPECT_EQ(facts_of("training 5 times per week"), Strings{"trains 5x per week"});
  EXPECT_EQ(facts_of("train 2xaweek"), Strings{"trains 2x per week"});
  expect_nothing_from({"train 10 times a week", "kidding", "parents", "busy weekend", "trainer 3 times a week"});
}

TEST(ExtractFacts, LifestyleGroupConfidence) {
  auto facts = extract_facts(said({"graveyard shift"}));
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_DOUBLE_EQ(facts[0].confidence, 0.7);
}

TEST(ExtractFacts, Goals) {
  expect_each_gives({"a marathon", "26.2", "42k"}, "goal: marathon");
  expect_each_gives({"halfmarathon"}, "goal: half marathon");
  // "half marathon" also says "marathon": both facts, table order.
  EXPECT_EQ(facts_of("half marathon"), (Strings{"goal: marathon", "goal: half marathon"}));
  expect_each_gives({"10k"}, "goal: 10k");
  expect_each_gives({"5K"}, "goal: 5k");
  expect_each_gives({"triathlon"}, "goal: triathlon");
  expect_each_gives({"ironman", "Iron Man"}, "goal: ironman");
  expect_nothing_from({"marathons", "25k", "15k", "26.25", "10km", "triathlons"});
}

TEST(ExtractFacts, GoalGroupConfidence) {
  auto facts = extract_facts(said({"triathlon"}));
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_DOUBLE_EQ(facts[0].confidence, 0.8);
}

// ---- extraction: order, dedupe, threshold ----

TEST(ExtractFacts, OnlyUserTurns) {
  std::vector<HistoryTurn> history{{"assistant", "I run", ""}, {"user", "hello", ""}, {"assistant", "gym", ""}};
  EXPECT_TRUE(extract_facts(history).empty());
}

TEST(ExtractFacts, MessageOrderThenTableOrder) {
  // Within a message the table order wins over the position in the text.
  EXPECT_EQ(fact_texts(extract_facts(said({"For my marathon I run every morning", "bad knee at lunch"}))),
            (Strings{"primary sport: running", "prefers morning sessions", "goal: marathon", "prefers midday sessions",
                     "has knee issue"}));
}

TEST(ExtractFacts, RepeatsAddPointOneCappedAtOne) {
  auto twice = extract_facts(said({"I run", "I run again"}));
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_DOUBLE_EQ(twice[0].confidence, 0.9);
  auto thrice = extract_facts(said({"I run", "run", "jog"}));
  ASSERT_EQ(thrice.size(), 1u);
  EXPECT_DOUBLE_EQ(thrice[0].confidence, 1.0);
  auto many = extract_facts(said({"run", "run", "run", "run", "run"}));
  EXPECT_DOUBLE_EQ(many[0].confidence, 1.0);
  // Two patterns of one group giving the same fact in one message are a repeat too.
  auto knee = extract_facts(said({"bad knee, knee pain"}));
  ASSERT_EQ(knee.size(), 1u);
  EXPECT_DOUBLE_EQ(knee[0].confidence, 1.0);
  // 0.7 + 0.1 reads as 0.8, not 0.7999999999999999.
  auto lunch = extract_facts(said({"lunch", "noon"}));
  ASSERT_EQ(lunch.size(), 1u);
  EXPECT_EQ(lunch[0].confidence, 0.8);
  // A repeat keeps its first place.
  EXPECT_EQ(fact_texts(extract_facts(said({"I run", "gym", "run"}))),
            (Strings{"primary sport: running", "does strength training"}));
}

TEST(ExtractFacts, DedupeIsByFilledText) {
  EXPECT_EQ(fact_texts(extract_facts(said({"usually 45 min", "usually 30 min", "usually 45 minutes"}))),
            (Strings{"typical duration: 45 min", "typical duration: 30 min"}));
  EXPECT_DOUBLE_EQ(extract_facts(said({"usually 45 min", "usually 45 minutes"}))[0].confidence, 0.7);
}

TEST(ExtractFacts, MinimumConfidence) {
  EXPECT_EQ(fact_texts(extract_facts(said({"usually 45 min at lunch"}))),
            (Strings{"prefers midday sessions", "typical duration: 45 min"}));
  EXPECT_EQ(fact_texts(extract_facts(said({"usually 45 min at lunch"}), 0.65)), Strings{"prefers midday sessions"});
  // A repeat can lift a fact over the threshold.
  EXPECT_EQ(fact_texts(extract_facts(said({"usually 45 min", "usually 45 min"}), 0.65)),
            Strings{"typical duration: 45 min"});
  EXPECT_EQ(fact_texts(extract_facts(said({"run", "run"}), 0.95)), Strings{});
  EXPECT_EQ(fact_texts(extract_facts(said({"run", "run", "run"}), 0.95)), Strings{"primary sport: running"});
  // Exactly at the threshold stays.
  EXPECT_EQ(fact_texts(extract_facts(said({"lunch"}), 0.7)), Strings{"prefers midday sessions"});
}

// ---- merge ----

TEST(MergeMemory, IntoEmptyMemory) {
  auto m = merge_memory({}, {fact("has knee issue", 0.9), fact("goal: 10k", 0.8)}, {}, {});
  EXPECT_EQ(fact_texts(m.key_facts), (Strings{"has knee issue", "goal: 10k"}));
}

TEST(MergeMemory, SeenAgainGainsPointOneCappedAtOne) {
  AthleteMemory existing;
  existing.key_facts = {fact("has knee issue", 0.85), fact("Does Strength Training ", 0.95, "behavior")};
  auto m = merge_memory(existing, {fact("has knee issue", 0.9), fact("does strength training", 0.8)}, {}, {});
  ASSERT_EQ(m.key_facts.size(), 2u);
  EXPECT_EQ(m.key_facts[0].fact, "Does Strength Training ");  // the existing record stays
  EXPECT_EQ(m.key_facts[0].source, "behavior");
  EXPECT_DOUBLE_EQ(m.key_facts[0].confidence, 1.0);
  EXPECT_DOUBLE_EQ(m.key_facts[1].confidence, 0.95);
}

TEST(MergeMemory, NewFactReplacesItsCategory) {
  struct Case {
    const char* old_fact;
    const char* new_fact;
  };
  for (auto c : {Case{"primary sport: running", "primary sport: cycling"}, Case{"goal: marathon", "Goal: 10K"},
                 Case{"typical duration: 45 min", "typical duration: 30 min"},
                 Case{"level: beginner", "level: advanced"},
                 Case{"prefers morning sessions", "prefers evening sessions"}}) {
    AthleteMemory existing;
    existing.key_facts = {fact(c.old_fact, 0.9), fact("has knee issue", 0.9)};
    auto m = merge_memory(existing, {fact(c.new_fact, 0.6)}, {}, {});
    EXPECT_EQ(fact_texts(m.key_facts), (Strings{"has knee issue", c.new_fact})) << c.new_fact;
  }
}

TEST(MergeMemory, FactsWithoutCategoryAccumulate) {
  AthleteMemory existing;
  existing.key_facts = {fact("primary sport: running", 0.8), fact("prefers long runs", 0.8),
                        fact("has knee issue", 0.9)};
  auto m = merge_memory(existing, {fact("does strength training", 0.8), fact("has back issue", 0.9),
                                   fact("prefers midday sessions", 0.7)},
                        {}, {});
  EXPECT_EQ(fact_texts(m.key_facts), (Strings{"has knee issue", "has back issue", "primary sport: running",
                                              "prefers long runs", "does strength training",
                                              "prefers midday sessions"}));
}

TEST(MergeMemory, LaterNewFactOfACategoryWins) {
  auto m = merge_memory({}, {fact("goal: marathon", 0.8), fact("goal: half marathon", 0.8)}, {}, {});
  EXPECT_EQ(fact_texts(m.key_facts), Strings{"goal: half marathon"});
}

TEST(MergeMemory, DropsLowConfidence) {
  AthleteMemory existing;
  existing.key_facts = {fact("a", 0.3), fact("b", 0.31), fact("c", 0.2), fact("d", 0.1)};
  // c: 0.2 + 0.1 is 0.3 and drops; d and the new 0.3 are too low anyway.
  auto m = merge_memory(existing, {fact("c", 0.9), fact("e", 0.3), fact("f", 0.4)}, {}, {});
  EXPECT_EQ(fact_texts(m.key_facts), (Strings{"f", "b"}));
}

TEST(MergeMemory, SortsByConfidenceStable) {
  AthleteMemory existing;
  existing.key_facts = {fact("a", 0.6), fact("b", 0.9), fact("c", 0.6), fact("d", 0.9)};
  auto m = merge_memory(existing, {fact("e", 0.6), fact("f", 1.0)}, {}, {});
  EXPECT_EQ(fact_texts(m.key_facts), (Strings{"f", "b", "d", "a", "c", "e"}));
}

TEST(MergeMemory, CapsFactsAtFifteen) {
  std::vector<Fact> facts;
  for (int i = 0; i < 20; ++i)
    facts.push_back({"fact " + std::to_string(i), "conversation", i < 6 ? 0.5 : 0.9});
  auto m = merge_memory({}, facts, {}, {});
  ASSERT_EQ(m.key_facts.size(), 15u);
  // Fourteen at 0.9 in their order, then the first of the six at 0.5.
  EXPECT_EQ(m.key_facts.front().fact, "fact 6");
  EXPECT_EQ(m.key_facts[13].fact, "fact 19");
  EXPECT_EQ(m.key_facts[14].fact, "fact 0");
}

TEST(MergeMemory, PatternsAndNotesAreFirstSeenUnionsCappedAtFive) {
  AthleteMemory existing;
  existing.patterns = {"often skips Mondays", "p2"};
  existing.coaching_notes = {"n1"};
  auto m = merge_memory(existing, {}, {"p3", "often skips Mondays", "p4", "p5", "p6", "p7"},
                        {"n2", "n1", "n2", "n3", "n4", "n5", "n6"});
  EXPECT_EQ(m.patterns, (Strings{"often skips Mondays", "p2", "p3", "p4", "p5"}));
  EXPECT_EQ(m.coaching_notes, (Strings{"n1", "n2", "n3", "n4", "n5"}));
  auto small = merge_memory({}, {}, {"b", "a"}, {});
  EXPECT_EQ(small.patterns, (Strings{"b", "a"}));
  EXPECT_TRUE(small.coaching_notes.empty());
}

TEST(MergeMemory, RepeatedExistingFactKeepsFirstPlaceAndLastValue) {
  AthleteMemory existing;
  existing.key_facts = {fact("has knee issue", 0.5), fact("x", 0.5), fact("Has knee issue", 0.5, "behavior")};
  auto m = merge_memory(existing, {}, {}, {});
  EXPECT_EQ(fact_texts(m.key_facts), (Strings{"Has knee issue", "x"}));
  EXPECT_EQ(m.key_facts[0].source, "behavior");
}

// ---- serialisation ----

TEST(SerializeMemory, AllSections) {
  AthleteMemory m;
  m.key_facts = {fact("has knee issue", 0.9), fact("goal: 10k", 0.5), fact("prefers long runs", 0.49)};
  m.patterns = {"often skips Mondays", "prefers easy/moderate sessions"};
  m.coaching_notes = {"responds well to encouragement"};
  EXPECT_EQ(serialize_memory(m),
            "MEMORY:\n"
            "- Facts: has knee issue | goal: 10k\n"
            "- Patterns: often skips Mondays | prefers easy/moderate sessions\n"
            "- Notes: responds well to encouragement");
}

TEST(SerializeMemory, EmptySectionsAreOmitted) {
  AthleteMemory m;
  m.patterns = {"often skips Fridays"};
  EXPECT_EQ(serialize_memory(m), "MEMORY:\n- Patterns: often skips Fridays");
  m = {};
  m.key_facts = {fact("has back issue", 0.6)};
  EXPECT_EQ(serialize_memory(m), "MEMORY:\n- Facts: has back issue");
  m = {};
  m.coaching_notes = {"likes data"};
  EXPECT_EQ(serialize_memory(m), "MEMORY:\n- Notes: likes data");
}

TEST(SerializeMemory, NothingWhenEmpty) {
  EXPECT_EQ(serialize_memory({}), "");
  AthleteMemory weak;
  weak.key_facts = {fact("has back issue", 0.4)};
  EXPECT_EQ(serialize_memory(weak), "");
}

// ---- activity patterns ----

namespace {
Json activities_with(std::initializer_list<const char*> intents) {
  Json a = Json::array();
  for (const char* i : intents) a.push_back(Json{{"intent", i}, {"sport", "running"}});
  return a;
}
}  // namespace

TEST(DetectPatterns, SkippedWeekdays) {
  EXPECT_EQ(detect_patterns(Json::array(), {0, 1, 2, 3, 4}),
            (Strings{"often skips Mondays", "often skips Tuesdays", "often skips Wednesdays", "often skips Thursdays",
                     "often skips Fridays"}));
  EXPECT_EQ(detect_patterns(Json::array(), {5, 6}), (Strings{"often skips Saturdays", "often skips Sundays"}));
  EXPECT_EQ(detect_patterns(Json::array(), {6, 6}), Strings{"often skips Sundays"});
  EXPECT_TRUE(detect_patterns(Json::array(), {}).empty());
}

TEST(DetectPatterns, SkippedWeekdayOutOfRangeIsAnError) {
  EXPECT_EQ(error_of([] { detect_patterns(Json::array(), {1, 7}); }),
            "skip_days[1]: expected a weekday 0..6 (0 = Monday), got 7");
  EXPECT_NE(error_of([] { detect_patterns(Json::array(), {-1}); }), "");
}

TEST(DetectPatterns, HighIntensityShare) {
  EXPECT_EQ(detect_patterns(activities_with({"Z4", "Z5", "Z4+", "Z2", "Z1"}), {}),
            Strings{"tends to favor high-intensity sessions"});  // 3/5
  EXPECT_TRUE(detect_patterns(activities_with({"Z4", "Z5", "Z4", "Z2", "Z1", "Z3"}), {}).empty());  // 0.5 exactly
  // Fewer than five activities say nothing.
  EXPECT_TRUE(detect_patterns(activities_with({"Z4", "Z5", "Z4", "Z5"}), {}).empty());
}

TEST(DetectPatterns, EasyShare) {
  EXPECT_EQ(detect_patterns(activities_with({"Z2", "Z1", "Z2", "R", "Z3"}), {}),
            Strings{"prefers easy/moderate sessions"});
  EXPECT_EQ(detect_patterns(activities_with({"Z4", "Z1", "Z2", "Z2", "Z2", "Z3", "Z1"}), {}),
            Strings{"prefers easy/moderate sessions"});  // 1/7 < 0.15
  EXPECT_TRUE(detect_patterns(activities_with({"Z4", "Z1", "Z2", "Z2", "Z2", "Z3"}), {}).empty());  // 1/6
  EXPECT_EQ(detect_patterns(activities_with({"Z6", "Z3", "Z3", "Z3", "Z3"}), {}),
            Strings{"prefers easy/moderate sessions"});  // Z6 is not Z4/Z5
}

TEST(DetectPatterns, ShareCountsEveryActivity) {
  // Activities without an intent count in the total: 5 of 10 is not above half.
  Json a = activities_with({"Z4", "Z4", "Z4", "Z4", "Z5"});
  for (int i = 0; i < 5; ++i) a.push_back(Json{{"sport", "running"}});
  EXPECT_TRUE(detect_patterns(a, {}).empty());
  // 1 of 8 is below 0.15 (1 of the 5 with an intent would not be).
  Json b = activities_with({"Z4", "Z2", "Z2", "Z2", "Z2"});
  for (int i = 0; i < 3; ++i) b.push_back(Json::object());
  EXPECT_EQ(detect_patterns(b, {}), Strings{"prefers easy/moderate sessions"});
}

TEST(DetectPatterns, CapsAtFive) {
  auto p = detect_patterns(activities_with({"Z4", "Z4", "Z4", "Z4", "Z4"}), {0, 1, 2, 3, 4, 5});
  EXPECT_EQ(p.size(), 5u);
  EXPECT_EQ(p.back(), "often skips Fridays");
  auto q = detect_patterns(activities_with({"Z4", "Z4", "Z4", "Z4", "Z4"}), {0, 1});
  EXPECT_EQ(q, (Strings{"often skips Mondays", "often skips Tuesdays", "tends to favor high-intensity sessions"}));
}

TEST(DetectPatterns, BadActivitiesAreErrors) {
  EXPECT_EQ(error_of([] { detect_patterns(Json::object(), {}); }), "activities: expected an array");
  EXPECT_EQ(error_of([] { detect_patterns(Json::array({1}), {}); }), "activities[0]: expected an object");
  EXPECT_EQ(error_of([] { detect_patterns(Json::array({Json{{"intent", "Z4"}}, Json{{"intent", 4}}}), {}); }),
            "activities[1].intent: expected a string");
  EXPECT_TRUE(detect_patterns(Json(), {}).empty());
}

// ---- JSON ----

TEST(MemoryJson, ChatContextShape) {
  AthleteMemory m;
  m.key_facts = {fact("has knee issue", 0.9), fact("skips Mondays", 0.6, "behavior")};
  m.patterns = {"often skips Mondays"};
  EXPECT_EQ(josi::coach::to_json(m).dump(),
            R"({"key_facts":[{"fact":"has knee issue","source":"conversation","confidence":0.9},)"
            R"({"fact":"skips Mondays","source":"behavior","confidence":0.6}],)"
            R"("patterns":["often skips Mondays"],"coaching_notes":[]})");
}

TEST(MemoryJson, RoundTrip) {
  Json j = Json::parse(R"({"key_facts": [{"fact": "goal: 10k", "source": "profile_change", "confidence": 1}],
                           "patterns": ["a", "b"], "coaching_notes": ["c"]})");
  auto m = josi::coach::memory_from_json(j);
  ASSERT_EQ(m.key_facts.size(), 1u);
  EXPECT_EQ(m.key_facts[0].fact, "goal: 10k");
  EXPECT_EQ(m.key_facts[0].source, "profile_change");
  EXPECT_DOUBLE_EQ(m.key_facts[0].confidence, 1.0);
  EXPECT_EQ(m.patterns, (Strings{"a", "b"}));
  EXPECT_EQ(m.coaching_notes, Strings{"c"});
  EXPECT_EQ(josi::coach::memory_from_json(josi::coach::to_json(m)).key_facts[0].fact, "goal: 10k");
  auto f = josi::coach::fact_from_json(josi::coach::to_json(fact("x", 0.25, "behavior")));
  EXPECT_EQ(f.fact, "x");
  EXPECT_EQ(f.source, "behavior");
  EXPECT_DOUBLE_EQ(f.confidence, 0.25);
}

TEST(MemoryJson, MissingSectionsAreEmpty) {
  EXPECT_TRUE(josi::coach::memory_from_json(Json::object()).empty());
  EXPECT_TRUE(josi::coach::memory_from_json(Json()).empty());
}

TEST(MemoryJson, ErrorsNameTheField) {
  auto bad = [](const char* text) {
    return error_of([text] { josi::coach::memory_from_json(Json::parse(text)); });
  };
  const char* ok = R"({"fact": "a", "source": "conversation", "confidence": 0.5})";
  EXPECT_EQ(bad((std::string(R"({"key_facts": [)") + ok + "," + ok +
                 R"(, {"fact": "a", "source": "conversation", "confidence": "high"}]})")
                    .c_str()),
            "key_facts[2].confidence: expected a number");
  EXPECT_EQ(bad(R"({"key_facts": [{"fact": "a", "source": "conversation", "confidence": true}]})"),
            "key_facts[0].confidence: expected a number");
  EXPECT_EQ(bad(R"({"key_facts": [{"fact": "a", "source": "conversation", "confidence": 1.5}]})"),
            "key_facts[0].confidence: expected 0..1");
  EXPECT_EQ(bad(R"({"key_facts": [{"source": "conversation", "confidence": 0.5}]})"), "key_facts[0].fact: missing");
  EXPECT_EQ(bad(R"({"key_facts": [{"fact": 1, "source": "conversation", "confidence": 0.5}]})"),
            "key_facts[0].fact: expected a string");
  EXPECT_EQ(bad(R"({"key_facts": [{"fact": "a", "source": "gossip", "confidence": 0.5}]})"),
            "key_facts[0].source: expected one of conversation, behavior, profile_change");
  EXPECT_EQ(bad(R"({"key_facts": [{"fact": "a", "source": "behavior", "confidence": 0.5, "ts": "x"}]})"),
            "key_facts[0].ts: unknown field");
  EXPECT_EQ(bad(R"({"key_facts": ["a"]})"), "key_facts[0]: expected an object");
  EXPECT_EQ(bad(R"({"key_facts": {}})"), "key_facts: expected an array");
  EXPECT_EQ(bad(R"({"patterns": ["a", 2]})"), "patterns[1]: expected a string");
  EXPECT_EQ(bad(R"({"coaching_notes": "be nice"})"), "coaching_notes: expected an array");
  EXPECT_EQ(bad(R"({"keyfacts": []})"), "keyfacts: unknown field");
  EXPECT_EQ(bad(R"([])"), "athlete_memory: expected an object");
  EXPECT_EQ(error_of([] { josi::coach::fact_from_json(Json::parse(R"({"fact": "a", "source": "behavior"})")); }),
            "confidence: missing");
  EXPECT_EQ(error_of([] { josi::coach::fact_from_json(Json::array()); }), "key_fact: expected an object");
}

TEST(HistoryJson, ReadsTurns) {
  auto h = josi::coach::history_from_json(Json::parse(
      R"([{"role": "user", "message": "I run", "ts": "2024-01-01"}, {"role": "assistant", "message": "Nice"}])"));
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].role, "user");
  EXPECT_EQ(h[0].message, "I run");
  EXPECT_EQ(h[0].ts, "2024-01-01");
  EXPECT_EQ(h[1].ts, "");
  EXPECT_EQ(fact_texts(extract_facts(h)), Strings{"primary sport: running"});
}

TEST(HistoryJson, ErrorsNameTheField) {
  auto bad = [](const char* text) {
    return error_of([text] { josi::coach::history_from_json(Json::parse(text)); });
  };
  EXPECT_EQ(bad(R"({})"), "history: expected an array");
  EXPECT_EQ(bad(R"([1])"), "history[0]: expected an object");
  EXPECT_EQ(bad(R"([{"role": "user", "message": "a"}, {"role": "coach", "message": "b"}])"),
            "history[1].role: expected \"user\" or \"assistant\"");
  EXPECT_EQ(bad(R"([{"message": "a"}])"), "history[0].role: missing");
  EXPECT_EQ(bad(R"([{"role": "user"}])"), "history[0].message: missing");
  EXPECT_EQ(bad(R"([{"role": "user", "message": null}])"), "history[0].message: expected a string");
  EXPECT_EQ(bad(R"([{"role": "user", "message": "a", "ts": 5}])"), "history[0].ts: expected a string");
  EXPECT_EQ(bad(R"([{"role": "user", "message": "a", "mood": "ok"}])"), "history[0].mood: unknown field");
}
