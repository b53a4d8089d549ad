// coach.md §3 fixup 5: every listed red-flag phrase, and what is not one.
#include "coach/red_flags.hpp"

#include <gtest/gtest.h>

#include <string>

using josi::coach::has_medical_red_flag;

namespace {

void expect_flag(const std::string& text) { EXPECT_TRUE(has_medical_red_flag(text)) << text; }
void expect_no_flag(const std::string& text) { EXPECT_FALSE(has_medical_red_flag(text)) << text; }

}  // namespace

TEST(RedFlags, CardiacPhrases) {
  expect_flag("I have chest pain when I run");
  expect_flag("CHEST  PAIN");
  expect_flag("heart pain after intervals");
  expect_flag("my heart feels weird");
  expect_flag("my heart feel weird today");
  expect_flag("heart racing at rest");
  expect_flag("heart pounding all night");
  expect_flag("pain in my chest");
  expect_flag("a pain in my heart");
}

TEST(RedFlags, FaintnessAndNeuroPhrases) {
  for (const char* t : {"I feel dizzy", "some dizziness", "lightheaded", "light-headed", "light headed",
                        "I might black out", "I blacked out", "I had a blackout", "I keep blacking out", "I passed out",
                        "felt like passing out", "I feel faint", "I fainted", "lost consciousness",
                        "my foot is numb", "numbness in my arm", "tingling fingers", "DIZZY"})
    expect_flag(t);
}

TEST(RedFlags, BreathingPhrases) {
  for (const char* t : {"I can't breathe", "I cant breathe", "I can\xe2\x80\x99t breathe", "CAN'T  BREATHE",
                        "breathing problem", "breathing difficult at night", "breathing trouble",
                        "breathing problems", "breathing difficulty", "breathing difficulties", "breathing troubles"})
    expect_flag(t);
}

TEST(RedFlags, PersistentPainPhrases) {
  expect_flag("it has been hurting for 3 days");
  expect_flag("hurt for 2 days");
  expect_flag("painful for 10 days now");
  expect_flag("pain for 1 day");
  expect_flag("it's been hurting");
  expect_flag("been paining me");
  expect_flag("sharp pain in the calf");
  expect_flag("shooting pain down my leg");
}

TEST(RedFlags, BodyPartPhrases) {
  for (const char* part : {"knee", "back", "shin", "shoulder", "hip", "ankle"}) {
    std::string p(part);
    expect_flag("my " + p + " has been hurting");
    expect_flag("my " + p + " been paining");
    expect_flag("my " + p + " really hurts, about 3 days now");
    expect_flag("my " + p + " is hurting since 12 days");
  }
}

TEST(RedFlags, CommonIllnessIsNotARedFlag) {
  expect_no_flag("I'm sick");
  expect_no_flag("I have the flu");
  expect_no_flag("I have a cold");
  expect_no_flag("stomach bug since yesterday");
  expect_no_flag("sick with flu, a cold and a stomach bug, skip today");
  expect_no_flag("feeling ill, can I skip?");
}

TEST(RedFlags, NearMissesAreNot) {
  expect_no_flag("chest day at the gym");
  expect_no_flag("my heart rate is high");
  expect_no_flag("heart feels great");
  expect_no_flag("a dizzying pace");
  expect_no_flag("lighthearted run");
  expect_no_flag("black outfit");
  expect_no_flag("I passed our group on the climb");
  expect_no_flag("faintly tired");
  expect_no_flag("numbers look good");
  expect_no_flag("I can breathe fine");
  expect_no_flag("breathing is fine");
  expect_no_flag("pain for a few days");         // no number of days
  expect_no_flag("hurt for 2 weeks");            // days only
  expect_no_flag("pain in my legs");             // only chest or heart
  expect_no_flag("a dull pain");
  expect_no_flag("my knee hurts");               // no day count
  expect_no_flag("my knee was hurting 3 hours");
  expect_no_flag("been hurtful");
  expect_no_flag("kneel and it hurts, 3 days");  // "kneel" is not "knee"
}

TEST(RedFlags, BodyPartWindowIsTwentyCharacters) {
  // 20 characters between the body part and "hurts", then 20 more to the day count.
  expect_flag("knee" + std::string(20, '.') + "hurts 3 days");
  expect_no_flag("knee" + std::string(21, '.') + "hurts 3 days");
  expect_flag("knee hurts" + std::string(20, '.') + "3 days");
  expect_no_flag("knee hurts" + std::string(21, '.') + "3 days");
  // Python's '.' stops at a line break, so the window does too.
  expect_no_flag("knee\nhurts 3 days");
}

TEST(RedFlags, FoundAnywhereInTheText) {
  expect_flag("Can I run today?\n\nCONTEXT:\n- Readiness: Green\n\nHISTORY:\n  [user]: I blacked out yesterday");
}

TEST(RedFlags, BrokenUtf8NeitherThrowsNorHidesAFlag) {
  EXPECT_FALSE(josi::coach::has_medical_red_flag("training \xff\xfe today"));
  EXPECT_TRUE(josi::coach::has_medical_red_flag("\xc3 I have chest pain \xff"));
}
