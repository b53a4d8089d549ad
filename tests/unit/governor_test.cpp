#include "coach/governor.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "json/json.hpp"
#include "support/test_support.hpp"

using josi::coach::govern;
using josi::coach::is_question;
using josi::coach::is_rhetorical;
using josi::coach::question_score;
using josi::coach::split_sentences;
using Sentences = std::vector<std::string>;

// ---- sentence splitting ----

TEST(SplitSentences, SplitsAfterTerminatorAndWhitespace) {
  EXPECT_EQ(split_sentences("Rest today. Easy tomorrow! Ready for it? Good."),
            (Sentences{"Rest today.", "Easy tomorrow!", "Ready for it?", "Good."}));
  EXPECT_EQ(split_sentences("One.\nTwo.\n\n  Three."), (Sentences{"One.", "Two.", "Three."}));
}

TEST(SplitSentences, NeedsWhitespaceAfterTheTerminator) {
  EXPECT_EQ(split_sentences("Run 3.5 km at 5:30/km.Then stop"), (Sentences{"Run 3.5 km at 5:30/km.Then stop"}));
  EXPECT_EQ(split_sentences("Wait...really? Yes"), (Sentences{"Wait...really?", "Yes"}));
  // A line break without a terminator does not end a sentence.
  EXPECT_EQ(split_sentences("Rest\ntoday. Easy"), (Sentences{"Rest\ntoday.", "Easy"}));
}

TEST(SplitSentences, ProtectsZoneDots) {
  EXPECT_EQ(split_sentences("Today is a Z2. Nice and easy."), (Sentences{"Today is a Z2. Nice and easy."}));
  EXPECT_EQ(split_sentences("Hold Z12. Then rest."), (Sentences{"Hold Z12. Then rest."}));
  // Case-insensitive like all coach text matching.
  EXPECT_EQ(split_sentences("Stay in z2. Then rest."), (Sentences{"Stay in z2. Then rest."}));
  // Only Z<digits> at a word start is a zone.
  EXPECT_EQ(split_sentences("Plan AZ2. Then rest."), (Sentences{"Plan AZ2.", "Then rest."}));
  EXPECT_EQ(split_sentences("Plan Z. Then rest."), (Sentences{"Plan Z.", "Then rest."}));
  EXPECT_EQ(split_sentences("Is it Z2? Yes."), (Sentences{"Is it Z2?", "Yes."}));
}

TEST(SplitSentences, TrimsAndDropsEmpties) {
  EXPECT_EQ(split_sentences("   "), Sentences{});
  EXPECT_EQ(split_sentences(""), Sentences{});
  EXPECT_EQ(split_sentences("  Hi.   \t Bye.  "), (Sentences{"Hi.", "Bye."}));
}

TEST(IsQuestion, EndsWithQuestionMark) {
  EXPECT_TRUE(is_question("Ready?"));
  EXPECT_TRUE(is_question("Ready?  "));
  EXPECT_FALSE(is_question("Ready."));
  EXPECT_FALSE(is_question("Ready? Go"));
  EXPECT_FALSE(is_question(""));
}

// ---- rhetorical ----

TEST(IsRhetorical, EveryCloserWithAndWithoutQuestionMark) {
  for (const char* closer :
       {"sound good", "does that make sense", "make sense", "right", "okay", "got it", "ready to go", "ready",
        "shall we", "what do you think", "how does that sound", "fair enough", "does that help", "anything else",
        "any questions", "clear"}) {
    std::string s = closer;
    EXPECT_TRUE(is_rhetorical(s)) << s;
    EXPECT_TRUE(is_rhetorical(s + "?")) << s;
    s[0] = static_cast<char>(s[0] - 'a' + 'A');
    EXPECT_TRUE(is_rhetorical(s + "?")) << s;
    // Whole sentence only: more words make it a real sentence.
    EXPECT_FALSE(is_rhetorical(s + " about the plan?")) << s;
    EXPECT_FALSE(is_rhetorical("So " + s + "?")) << s;
  }
  EXPECT_TRUE(is_rhetorical("SOUND GOOD?"));
  EXPECT_FALSE(is_rhetorical("Sound good??"));
}

TEST(IsRhetorical, OffersToElaborate) {
  for (const char* prefix : {"Would you like me to", "Want me to", "Shall I", "Need me to"}) {
    for (const char* verb : {"elaborate", "explain", "go into", "break that down", "walk you through"}) {
      std::string s = std::string(prefix) + " " + verb;
      EXPECT_TRUE(is_rhetorical(s + "?")) << s;
      EXPECT_TRUE(is_rhetorical(s + " today's session in more detail?")) << s;
    }
    EXPECT_FALSE(is_rhetorical(std::string(prefix) + " schedule it for tomorrow?")) << prefix;
  }
  EXPECT_FALSE(is_rhetorical("Do you want me to explain?"));
  // The sentence must start with the offer.
  EXPECT_FALSE(is_rhetorical("Great, would you like me to explain?"));
}

TEST(IsRhetorical, OffersToTellMore) {
  EXPECT_TRUE(is_rhetorical("Would you like to know more?"));
  EXPECT_TRUE(is_rhetorical("Would you like to hear more about zones?"));
  EXPECT_TRUE(is_rhetorical("Want to learn more?"));
  EXPECT_FALSE(is_rhetorical("Would you like to know why?"));
  EXPECT_FALSE(is_rhetorical("Want to run tomorrow?"));
}

TEST(IsRhetorical, HelpWithAnythingElse) {
  EXPECT_TRUE(is_rhetorical("Can I help with anything else?"));
  EXPECT_TRUE(is_rhetorical("May I help you with anything else?"));
  EXPECT_TRUE(is_rhetorical("can i help you with anything else"));
  EXPECT_FALSE(is_rhetorical("Can I help you with anything else today?"));
  EXPECT_FALSE(is_rhetorical("Can I help you with the plan?"));
  EXPECT_TRUE(is_rhetorical("Is there anything else?"));
  EXPECT_TRUE(is_rhetorical("Is there anything else on your mind?"));
  EXPECT_FALSE(is_rhetorical("Is there anywhere flat to run?"));
}

// ---- question score ----

TEST(QuestionScore, AthleteStateTerms) {
  EXPECT_EQ(question_score("How are you feeling?"), 5);  // +3 and "how " +2
  EXPECT_EQ(question_score("How do you feel about it?"), 5);
  EXPECT_EQ(question_score("How's your knee?"), 3);  // "how's" is not "how "
  EXPECT_EQ(question_score("What's your plan?"), 3);
  EXPECT_EQ(question_score("How did it go?"), 5);
  EXPECT_EQ(question_score("How was the run?"), 5);
  EXPECT_EQ(question_score("So, how are you?"), 5);  // "contains", not "starts with"
  EXPECT_EQ(question_score("HOW ARE YOU?"), 5);
}

TEST(QuestionScore, SpecificInfoTerms) {
  EXPECT_EQ(question_score("What time suits you?"), 5);
  EXPECT_EQ(question_score("Which day works?"), 3);
  EXPECT_EQ(question_score("What goal are you chasing?"), 5);
  EXPECT_EQ(question_score("How many days can you train?"), 5);
  EXPECT_EQ(question_score("How long do you have?"), 5);
  EXPECT_EQ(question_score("What kind of run?"), 5);
  // Both +3 groups add up.
  EXPECT_EQ(question_score("How did it go and how long was it?"), 8);
}

TEST(QuestionScore, OpenEndedWords) {
  EXPECT_EQ(question_score("What pace?"), 2);
  EXPECT_EQ(question_score("How so?"), 2);
  EXPECT_EQ(question_score("Why not?"), 2);
  EXPECT_EQ(question_score("When is the race?"), 2);
  EXPECT_EQ(question_score("And why rest and when?"), 2);  // counted once
  EXPECT_EQ(question_score("Whatever?"), 0);
  EXPECT_EQ(question_score("Somehow?"), 0);
  EXPECT_EQ(question_score("Why?"), 0);  // needs the following space
}

TEST(QuestionScore, YesNoOpeners) {
  for (const char* q : {"Do you have a race?", "Are you sore?", "Can you rest?", "Would you rather swim?",
                        "Is there a race?", "Did you sleep?", "Have you eaten?", "Should we rest?"}) {
    EXPECT_EQ(question_score(q), 1) << q;
  }
  EXPECT_EQ(question_score("Shouldn't we rest?"), 0);
  EXPECT_EQ(question_score("Sleep well?"), 0);
  EXPECT_EQ(question_score("Then do you rest?"), 0);  // must start with it
}

TEST(QuestionScore, RhetoricalPenalty) {
  EXPECT_EQ(question_score("Does that make sense?"), -5);
  EXPECT_EQ(question_score("How does that sound?"), -3);      // "how " +2, -5
  EXPECT_EQ(question_score("What do you think?"), -3);        // "what " +2, -5
  EXPECT_EQ(question_score("Would you like me to explain?"), -4);  // opener +1, -5
  EXPECT_EQ(question_score("Would you like me to schedule it?"), 1);
}

// ---- rule 1: answer first ----

TEST(Govern, AnswerFirstMovesTheFirstStatementToTheFront) {
  EXPECT_EQ(govern("How are you feeling today? You have a 60-minute Zone 2 session planned. It's a nice easy run."),
            "You have a 60-minute Zone 2 session planned. It's a nice easy run. How are you feeling today?");
}

TEST(Govern, AnswerFirstKeepsTheRestInOrderAndTheOpeningQuestionLast) {
  // Rule 1 gives "Rest today. Which day is the race? Easy tomorrow. How did you sleep?";
  // rule 2 then keeps the better question (5 against 3).
  EXPECT_EQ(govern("How did you sleep? Which day is the race? Rest today. Easy tomorrow."),
            "Rest today. Easy tomorrow. How did you sleep?");
  // With the opener dropped afterwards as rhetorical, the order of the rest shows.
  EXPECT_EQ(govern("Sound good? Rest today.\nEasy tomorrow. Stretch tonight."),
            "Rest today. Easy tomorrow. Stretch tonight.");
}

TEST(Govern, AnswerFirstLeavesAllQuestionsAndSingleSentencesAlone) {
  // All questions, all rhetorical: rule 1 changes nothing and rule 2 would
  // keep nothing, so even the spacing survives.
  EXPECT_EQ(govern("Sound good?  Ready?"), "Sound good?  Ready?");
  EXPECT_EQ(govern("How are you feeling?"), "How are you feeling?");
  EXPECT_EQ(govern("Rest today."), "Rest today.");
}

TEST(Govern, ZoneDotDoesNotEndTheOpeningQuestion) {
  // "Today is a Z2. How are you feeling?" is one sentence, a question, so the statement moves up.
  EXPECT_EQ(govern("Today is a Z2. How are you feeling? Keep it easy."),
            "Keep it easy. Today is a Z2. How are you feeling?");
  EXPECT_EQ(govern("Today is a Z2. Nice and easy, just keep it conversational."),
            "Today is a Z2. Nice and easy, just keep it conversational.");
}

// ---- rule 2: at most one question ----

TEST(Govern, KeepsOnlyTheHighestScoringQuestion) {
  EXPECT_EQ(govern("Your readiness is Yellow today. That means we should take it easier. How did you sleep? "
                   "Are you feeling any muscle soreness? What's your energy level?"),
            "Your readiness is Yellow today. That means we should take it easier. How did you sleep?");
}

TEST(Govern, KeptQuestionStaysInItsPlace) {
  EXPECT_EQ(govern("Rest today. Are you sore? Stay warm. Which day is your race?"),
            "Rest today. Stay warm. Which day is your race?");
  EXPECT_EQ(govern("Rest today. Which day is your race? Stay warm. Are you sore?"),
            "Rest today. Which day is your race? Stay warm.");
}

TEST(Govern, FirstQuestionWinsTies) {
  EXPECT_EQ(govern("Rest today. Why rest? When to run?"), "Rest today. Why rest?");
  EXPECT_EQ(govern("Rest today. When to run? Why rest?"), "Rest today. When to run?");
  // A repeated question is still one question.
  EXPECT_EQ(govern("Rest today. Why rest? Why rest?"), "Rest today. Why rest?");
}

TEST(Govern, DropsRhetoricalQuestions) {
  EXPECT_EQ(govern("You have a recovery day today. Light stretching would be perfect. Sound good?"),
            "You have a recovery day today. Light stretching would be perfect.");
  EXPECT_EQ(govern("Your plan is set. Would you like me to elaborate on today's prescription?"),
            "Your plan is set.");
  EXPECT_EQ(govern("Rest today. Anything else? Which day is your race?"), "Rest today. Which day is your race?");
  // A rhetorical phrase that is not a question is a statement and stays.
  EXPECT_EQ(govern("Rest today. Got it."), "Rest today. Got it.");
}

TEST(Govern, AlwaysRejoinsWithSingleSpaces) {
  EXPECT_EQ(govern("Rest today.\n\nEasy tomorrow."), "Rest today. Easy tomorrow.");
  EXPECT_EQ(govern("  Rest today.   Easy tomorrow!  "), "Rest today. Easy tomorrow!");
  // Line breaks inside a sentence are not sentence breaks and stay.
  EXPECT_EQ(govern("Rest\ntoday. Easy."), "Rest\ntoday. Easy.");
}

TEST(Govern, KeepsTheTextWhenEverySentenceIsRhetorical) {
  EXPECT_EQ(govern("Sound good?\nAny questions?"), "Sound good?\nAny questions?");
}

// ---- rule 3: zero-question preference ----

TEST(Govern, DropsAWeakTrailingQuestionAfterTwoStatements) {
  EXPECT_EQ(govern("Your readiness is Yellow today. That means we should ease up. Do you want to proceed?"),
            "Your readiness is Yellow today. That means we should ease up.");
  EXPECT_EQ(govern("Rest today. Easy tomorrow. Why not?"), "Rest today. Easy tomorrow.");  // score 2
}

TEST(Govern, KeepsAStrongTrailingQuestion) {
  EXPECT_EQ(govern("Rest today. Easy tomorrow. Which day is your race?"),
            "Rest today. Easy tomorrow. Which day is your race?");  // score 3
  EXPECT_EQ(govern("Rest today. Easy tomorrow. How are you feeling?"),
            "Rest today. Easy tomorrow. How are you feeling?");
}

TEST(Govern, KeepsAWeakQuestionWithFewerThanTwoStatements) {
  EXPECT_EQ(govern("Rest today. Do you want to proceed?"), "Rest today. Do you want to proceed?");
  EXPECT_EQ(govern("Why not?"), "Why not?");
}

TEST(Govern, KeepsAWeakQuestionThatIsNotTrailing) {
  EXPECT_EQ(govern("Rest today. Do you feel ok? Easy tomorrow."), "Rest today. Do you feel ok? Easy tomorrow.");
}

// ---- pass-through ----

TEST(Govern, SafetyWarningsAndDeclinesPassUnchanged) {
  const std::string text = "Stop now?  Please see a doctor. Any questions?";
  EXPECT_EQ(govern(text, "SafetyWarning"), text);
  EXPECT_EQ(govern(text, "Decline"), text);
  EXPECT_EQ(govern(text, "QuestionAnswer"), "Please see a doctor. Stop now?");
  EXPECT_EQ(govern(text), "Please see a doctor. Stop now?");
}

TEST(Govern, EmptyAndBlankTextPassUnchanged) {
  EXPECT_EQ(govern(""), "");
  EXPECT_EQ(govern("  \n"), "  \n");
}

// ---- the users' data ----

namespace {

std::vector<std::string> assistant_answers(const std::string& file) {
  std::ifstream in(josi::test::reference_data(file));
  EXPECT_TRUE(in) << file;
  std::vector<std::string> answers;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto example = josi::json::parse(line, file);
    for (const auto& m : example.at("messages"))
      if (m.at("role") == "assistant") answers.push_back(m.at("content").get<std::string>());
  }
  return answers;
}

}  // namespace

TEST(GovernCorpus, AnswersComeFirstWithAtMostOneQuestion) {
  size_t total = 0;
  for (const char* file : {"train_explainer_sequential.jsonl", "val_explainer_sequential.jsonl",
                           "train_explainer.jsonl"}) {
    auto answers = assistant_answers(file);
    EXPECT_GT(answers.size(), 50u) << file;
    for (const auto& answer : answers) {
      ++total;
      const std::string governed = govern(answer);
      auto sentences = split_sentences(governed);
      ASSERT_FALSE(sentences.empty()) << file << ": " << answer;
      size_t questions = 0;
      for (const auto& s : sentences)
        if (is_question(s)) ++questions;
      EXPECT_LE(questions, 1u) << file << ": " << governed;
      if (sentences.size() > 1 && questions != sentences.size()) {
        EXPECT_FALSE(is_question(sentences.front())) << file << ": " << governed;
      }
    }
  }
  EXPECT_GT(total, 2000u);
}
