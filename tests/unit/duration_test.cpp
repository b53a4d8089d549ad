// coach.md §3 fixup 1: duration rules, their order, and the 10..300 window.
#include "coach/duration.hpp"

#include <gtest/gtest.h>

using josi::coach::extract_duration_minutes;

TEST(Duration, MinuteForms) {
  EXPECT_EQ(extract_duration_minutes("I have 45 min today"), 45);
  EXPECT_EQ(extract_duration_minutes("45min easy"), 45);
  EXPECT_EQ(extract_duration_minutes("20 mins"), 20);
  EXPECT_EQ(extract_duration_minutes("a 30 minute jog"), 30);
  EXPECT_EQ(extract_duration_minutes("60 minutes please"), 60);
  EXPECT_EQ(extract_duration_minutes("got 40\tMINUTES."), 40);
}

TEST(Duration, MinuteUnitMustEndAWord) {
  EXPECT_EQ(extract_duration_minutes("45 minimum effort"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("45 mint tea"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("45 minutesx"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("45"), std::nullopt);
}

TEST(Duration, HourForms) {
  EXPECT_EQ(extract_duration_minutes("2 hours"), 120);
  EXPECT_EQ(extract_duration_minutes("1 hour"), 60);
  EXPECT_EQ(extract_duration_minutes("1.5 hours"), 90);
  EXPECT_EQ(extract_duration_minutes("1 hr"), 60);
  EXPECT_EQ(extract_duration_minutes("2hrs"), 120);
  EXPECT_EQ(extract_duration_minutes("1.25 HOUR"), 75);
  EXPECT_EQ(extract_duration_minutes("2 hourly"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("3 hrsx"), std::nullopt);
}

TEST(Duration, HoursTruncateLikePythonInt) {
  EXPECT_EQ(extract_duration_minutes("1.33 hours"), 79);  // 79.8
  EXPECT_EQ(extract_duration_minutes("1.1 hours"), 66);   // 66.00000000000001
  EXPECT_EQ(extract_duration_minutes("5.01 hours"), 300);  // 300.6 truncates into range
  EXPECT_EQ(extract_duration_minutes("5.02 hours"), std::nullopt);  // 301.2
}

TEST(Duration, HalfAnHourAndAnHour) {
  EXPECT_EQ(extract_duration_minutes("only half an hour"), 30);
  EXPECT_EQ(extract_duration_minutes("half a hour"), 30);
  EXPECT_EQ(extract_duration_minutes("HALF  AN HOUR"), 30);
  EXPECT_EQ(extract_duration_minutes("about an hour"), 60);
  EXPECT_EQ(extract_duration_minutes("a hour"), 60);
  EXPECT_EQ(extract_duration_minutes("one hour"), 60);
  EXPECT_EQ(extract_duration_minutes("ONE HOUR"), 60);
}

TEST(Duration, PhraseRulesNeedWholeWords) {
  EXPECT_EQ(extract_duration_minutes("another hour"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("someone hour"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("an hourglass"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("behalf an hourx"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("hours of fun"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes(""), std::nullopt);
}

TEST(Duration, Window10To300) {
  EXPECT_EQ(extract_duration_minutes("9 min"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("10 min"), 10);
  EXPECT_EQ(extract_duration_minutes("300 min"), 300);
  EXPECT_EQ(extract_duration_minutes("301 min"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("0.1 hours"), std::nullopt);  // 6
  EXPECT_EQ(extract_duration_minutes("5 hours"), 300);
  EXPECT_EQ(extract_duration_minutes("6 hours"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("99999999999999999999999 minutes"), std::nullopt);
  EXPECT_EQ(extract_duration_minutes("1e999 hours 99999999999999999999.5 hours"), std::nullopt);
}

TEST(Duration, RuleOrderWins) {
  // Minutes are tried before hours wherever they appear in the text.
  EXPECT_EQ(extract_duration_minutes("2 hours or 30 min"), 30);
  EXPECT_EQ(extract_duration_minutes("half an hour, maybe 45 minutes"), 45);
  EXPECT_EQ(extract_duration_minutes("an hour or 1.5 hours"), 90);
  EXPECT_EQ(extract_duration_minutes("an hour or half an hour"), 30);
}

TEST(Duration, OutOfRangeRuleGivesWayToTheNext) {
  EXPECT_EQ(extract_duration_minutes("5 min warm-up then 1 hour ride"), 60);
  EXPECT_EQ(extract_duration_minutes("400 minutes or half an hour"), 30);
  EXPECT_EQ(extract_duration_minutes("8 hours of sleep, one hour to train"), 60);
  // Only the first occurrence of a rule counts: 5 min is out of range, and the
  // later 45 min is not looked at.
  EXPECT_EQ(extract_duration_minutes("5 min warm-up then 45 min"), std::nullopt);
}
