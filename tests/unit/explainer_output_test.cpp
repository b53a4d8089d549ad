#include "coach/explainer_output.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "coach/governor.hpp"
#include "json/json.hpp"
#include "support/test_support.hpp"

using josi::coach::find_jargon;
using josi::coach::finish_explainer_text;
using Terms = std::vector<std::string>;

// ---- clean-up ----

TEST(FinishExplainerText, Trims) {
  EXPECT_EQ(finish_explainer_text("  \n Rest today.  \n").text, "Rest today.");
  EXPECT_EQ(finish_explainer_text("").text, "");
  EXPECT_EQ(finish_explainer_text(" \n ").text, "");
}

TEST(FinishExplainerText, DropsCodeFenceMarkersButKeepsTheText) {
  EXPECT_EQ(finish_explainer_text("```\nRest today. Easy tomorrow.\n```").text, "Rest today. Easy tomorrow.");
  EXPECT_EQ(finish_explainer_text("```text\nRest today.\n  ```  ").text, "Rest today.");
  // Backticks inside a line are not a fence.
  EXPECT_EQ(finish_explainer_text("Rest today, say ```hi```.").text, "Rest today, say ```hi```.");
}

TEST(FinishExplainerText, DropsAStrayJsonObject) {
  EXPECT_EQ(finish_explainer_text(R"(Rest today. {"action": "explain"})").text, "Rest today.");
  EXPECT_EQ(finish_explainer_text("{\"action\": \"explain\"}\nRest today.").text, "Rest today.");
  EXPECT_EQ(finish_explainer_text("[INTERPRETER]\n{\"action\": \"explain\"}\n\nRest today.").text, "Rest today.");
  EXPECT_EQ(finish_explainer_text("Rest today.\n```json\n{\"a\": 1}\n```").text, "Rest today.");
  // Braces and quotes inside strings do not end the object.
  EXPECT_EQ(finish_explainer_text(R"(Rest today. {"a": {"b": "}\"{"}} Easy tomorrow.)").text,
            "Rest today. Easy tomorrow.");
  EXPECT_EQ(finish_explainer_text(R"(Rest today.{"a": 1}Easy tomorrow.)").text, "Rest today. Easy tomorrow.");
}

TEST(FinishExplainerText, DropsAJsonObjectCutOffByTheTokenLimit) {
  EXPECT_EQ(finish_explainer_text(R"(Rest today. {"action": "expl)").text, "Rest today.");
  EXPECT_EQ(finish_explainer_text("Rest today. {\n  \"action\": ").text, "Rest today.");
}

TEST(FinishExplainerText, KeepsBracesThatAreNotJson) {
  // From the users' data: a template placeholder is text, not a stray object.
  const std::string placeholder = "Great week — {compliance}% done! Readiness is stable. Wonderful progress!";
  EXPECT_EQ(finish_explainer_text(placeholder).text, placeholder);
  EXPECT_EQ(finish_explainer_text("Use {easy} effort. {Then rest").text, "Use {easy} effort. {Then rest");
  EXPECT_EQ(finish_explainer_text("Zones [1, 2] matter.").text, "Zones [1, 2] matter.");
}

TEST(FinishExplainerText, AWholeLegacyObjectGivesItsMessage) {
  EXPECT_EQ(
      finish_explainer_text(R"({"intent": "question", "message": "Rest today.", "response_type": "QuestionAnswer"})")
          .text,
      "Rest today.");
  EXPECT_EQ(finish_explainer_text(R"({"action": "explain"})").text, "");
  EXPECT_EQ(finish_explainer_text(R"({"message": 3})").text, "");
}

TEST(FinishExplainerText, Governs) {
  EXPECT_EQ(finish_explainer_text("How are you? Rest today. Easy tomorrow.").text,
            "Rest today. Easy tomorrow. How are you?");
  EXPECT_EQ(finish_explainer_text("```\nRest today.\nEasy tomorrow. Sound good?\n```").text,
            "Rest today. Easy tomorrow.");
  EXPECT_TRUE(finish_explainer_text("Rest today.").jargon.empty());
}

// ---- jargon ----

TEST(FindJargon, EveryForbiddenTerm) {
  for (const char* term : {"algorithm", "viterbi", "hidden markov", "acwr", "gatc", "ewma", "tss", "ctl", "atl",
                           "tsb", "periodization", "mesocycle", "microcycle", "macrocycle", "supercompensation",
                           "vo2max", "lactate threshold", "ftp", "threshold power", "anaerobic capacity"}) {
    EXPECT_EQ(find_jargon(std::string("We use the ") + term + " here."), Terms{term}) << term;
    std::string upper = term;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(find_jargon("It is " + upper + "."), Terms{term}) << upper;
  }
  EXPECT_EQ(find_jargon("The HMM says rest."), Terms{"hmm"});
}

TEST(FindJargon, CommonSpellings) {
  EXPECT_EQ(find_jargon("Two algorithms agree."), Terms{"algorithm"});
  EXPECT_EQ(find_jargon("Your periodisation."), Terms{"periodization"});
  EXPECT_EQ(find_jargon("Your VO2 max and VO2-max."), Terms{"vo2max"});
  EXPECT_EQ(find_jargon("A lactate-threshold run."), Terms{"lactate threshold"});
  EXPECT_EQ(find_jargon("This meso-cycle and the next mesocycles."), Terms{"mesocycle"});
  EXPECT_EQ(find_jargon("Hidden  Markov."), Terms{"hidden markov"});
}

TEST(FindJargon, WordBoundedAndNotEverydayWords) {
  EXPECT_TRUE(find_jargon("Atlanta is flat. The castle trail. Flat-out ftps-like.").empty());
  EXPECT_TRUE(find_jargon("Markov is a name; hidden trails are fun.").empty());
  EXPECT_TRUE(find_jargon("Your threshold is fine and your power is good.").empty());
  EXPECT_TRUE(find_jargon("Lactate builds up.").empty());
  // The interjection is everyday speech, not the model name.
  EXPECT_TRUE(find_jargon("Hmm, let's rest today. hmm.").empty());
}

TEST(FindJargon, FirstSeenOrderEachOnce) {
  EXPECT_EQ(find_jargon("Your FTP and the algorithm, then FTP again and TSS."),
            (Terms{"ftp", "algorithm", "tss"}));
}

TEST(FinishExplainerText, ReportsJargonWithoutRewriting) {
  auto out = finish_explainer_text("Your FTP went up. Your ACWR is fine.");
  EXPECT_EQ(out.text, "Your FTP went up. Your ACWR is fine.");
  EXPECT_EQ(out.jargon, (Terms{"ftp", "acwr"}));
}

TEST(FinishExplainerText, JargonOnlyInWhatTheAthleteSees) {
  auto out = finish_explainer_text(R"(Rest today. {"source": "gatc", "note": "tss"})");
  EXPECT_EQ(out.text, "Rest today.");
  EXPECT_TRUE(out.jargon.empty());
  // A question the governor drops takes its jargon with it.
  out = finish_explainer_text("Rest today. Easy tomorrow. Do you know your FTP?");
  EXPECT_EQ(out.text, "Rest today. Easy tomorrow.");
  EXPECT_TRUE(out.jargon.empty());
}

// ---- the users' data ----

TEST(FinishExplainerTextCorpus, CleanAnswersOnlyGetGoverned) {
  size_t total = 0, flagged = 0;
  for (const char* file : {"train_explainer_sequential.jsonl", "val_explainer_sequential.jsonl"}) {
    std::ifstream in(josi::test::reference_data(file));
    ASSERT_TRUE(in) << file;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto example = josi::json::parse(line, file);
      for (const auto& m : example.at("messages")) {
        if (m.at("role") != "assistant") continue;
        ++total;
        const std::string answer = m.at("content").get<std::string>();
        auto out = finish_explainer_text(answer);
        // The training answers hold no JSON or fences, so clean-up is the governor alone.
        EXPECT_EQ(out.text, josi::coach::govern(answer)) << answer;
        // They follow the prompt's jargon rule except for one answer (three copies)
        // that says "macro/meso/micro cycles".
        if (!out.jargon.empty()) {
          ++flagged;
          EXPECT_EQ(out.jargon, Terms{"microcycle"}) << answer;
          EXPECT_NE(answer.find("micro cycles"), std::string::npos) << answer;
        }
      }
    }
  }
  EXPECT_GT(total, 800u);
  EXPECT_EQ(flagged, 3u);
}
