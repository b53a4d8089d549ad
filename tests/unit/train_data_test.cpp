// Training examples (pipeline.md §2): the ChatML prompt from the project's
// template, completion-only labels (assistant text plus <|im_end|>), the
// seed's truncation and skip rules with counts, padded batches, and the
// mode/data checks that stop a run before it starts.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "support/test_support.hpp"
#include "text/chat_template.hpp"
#include "train/training_data.hpp"

using namespace josi::train;
using namespace josi::data;
using josi::test::TempDir;
using josi::test::write_text;

namespace {

const josi::text::Tokenizer& tokenizer() {
  static const auto t = josi::text::Tokenizer::load(josi::test::qwen_tokenizer_json());
  return t;
}

std::string example(const std::string& user, const std::string& answer, const std::string& system = "You are Josi.") {
  return R"({"messages": [{"role": "system", "content": ")" + system + R"("}, {"role": "user", "content": ")" + user +
         R"("}, {"role": "assistant", "content": )" + answer + "}]}\n";
}

const std::string kRequest = R"("{\"action\": \"create_workout\", \"sport\": \"run\"}")";

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const josi::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TrainData, PromptTokensCarryNoLoss) {
  TempDir dir;
  write_text(dir / "d.jsonl", example("I want a 45 minute run", kRequest));
  auto data = tokenize_dataset(dir / "d.jsonl", DatasetMode::interpreter, tokenizer(), 2048);
  ASSERT_EQ(data.examples.size(), 1u);
  const auto& e = data.examples[0];
  const auto prompt = josi::text::encode_chatml(
      tokenizer(), {{"system", "You are Josi."}, {"user", "I want a 45 minute run"}}, /*add_generation_prompt=*/true);
  auto completion = tokenizer().encode(R"({"action": "create_workout", "sport": "run"})");
  completion.push_back(*tokenizer().token_id("<|im_end|>"));
  EXPECT_EQ(e.prompt_tokens, static_cast<int64_t>(prompt.size()));
  EXPECT_EQ(std::vector<int32_t>(e.ids.begin(), e.ids.begin() + e.prompt_tokens), prompt);
  EXPECT_EQ(std::vector<int32_t>(e.ids.begin() + e.prompt_tokens, e.ids.end()), completion);

  const Batch batch = make_batch({&e}, 151643);
  ASSERT_EQ(batch.label_count(), static_cast<int64_t>(completion.size()));
  // Every label is a completion token, predicted from the position before it.
  for (int64_t i = 0; i < batch.label_count(); ++i) {
    EXPECT_EQ(batch.label_positions[i].item<int64_t>(), e.prompt_tokens - 1 + i);
    EXPECT_EQ(batch.labels[i].item<int64_t>(), completion[static_cast<size_t>(i)]);
  }
}

TEST(TrainData, BatchesAreRightPaddedWithAMask) {
  TempDir dir;
  write_text(dir / "d.jsonl", example("short", kRequest) + example("a much longer message about my training week", kRequest));
  auto data = tokenize_dataset(dir / "d.jsonl", DatasetMode::interpreter, tokenizer(), 2048);
  const auto& a = data.examples[0];
  const auto& b = data.examples[1];
  const Batch batch = make_batch({&a, &b}, 151643);
  const int64_t seq = static_cast<int64_t>(b.ids.size());
  ASSERT_EQ(batch.input_ids.sizes(), (std::vector<int64_t>{2, seq}));
  EXPECT_EQ(batch.attention_mask[0].sum().item<int64_t>(), static_cast<int64_t>(a.ids.size()));
  EXPECT_EQ(batch.input_ids[0][seq - 1].item<int64_t>(), 151643);
  EXPECT_EQ(batch.tokens, static_cast<int64_t>(a.ids.size() + b.ids.size()));
  EXPECT_EQ(batch.label_count(), a.completion_tokens() + b.completion_tokens());
  EXPECT_EQ(batch.label_positions[a.completion_tokens()].item<int64_t>(), seq + b.prompt_tokens - 1);  // row 1
}

TEST(TrainData, LongCompletionsAreTruncatedAndLongPromptsDropped) {
  TempDir dir;
  const std::string long_answer = "\"" + std::string(400, 'x') + " " + std::string(400, 'y') + "\"";
  std::string long_prompt;
  for (int i = 0; i < 60; ++i) long_prompt += "word ";
  write_text(dir / "d.jsonl", example("hello", long_answer) + example(long_prompt, "\"fine\"") + example("hi", "\"ok\""));
  auto data = tokenize_dataset(dir / "d.jsonl", DatasetMode::explainer, tokenizer(), 48);
  EXPECT_EQ(data.counts.lines, 3u);
  EXPECT_EQ(data.counts.used, 2u);
  EXPECT_EQ(data.counts.truncated, 1u);
  EXPECT_EQ(data.counts.prompt_too_long, 1u);
  EXPECT_EQ(data.examples[0].ids.size(), 48u);  // prompt kept whole, completion cut to fit
  ASSERT_EQ(data.counts.first_skipped.size(), 1u);
  EXPECT_NE(data.counts.first_skipped[0].find("d.jsonl:2: prompt of"), std::string::npos);
  EXPECT_NE(describe(data.counts).find("1 truncated"), std::string::npos);
}

// A conversation gives one example per assistant turn, the earlier turns
// its prompt; rows without an answer, and malformed ones, are counted.
TEST(TrainData, ConversationsAreUnrolledAndMalformedRowsCounted) {
  TempDir dir;
  std::string text = example("one", kRequest);
  text += R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}, {"role": "user", "content": "e"}]})"
          "\n";
  text += R"({"messages": [{"role": "user", "content": "no answer"}]})" "\n";
  text += R"({"text": "not a chat"})" "\n";
  write_text(dir / "d.jsonl", text);
  auto data = tokenize_dataset(dir / "d.jsonl", DatasetMode::unified, tokenizer(), 2048);
  EXPECT_EQ(data.counts.lines, 4u);
  EXPECT_EQ(data.counts.examples, 3u);
  EXPECT_EQ(data.counts.used, 3u);
  EXPECT_EQ(data.counts.unusable_rows, 2u);
  EXPECT_EQ(data.counts.first_skipped.size(), 2u);
  EXPECT_EQ(describe(data.counts), "3 of 3 examples used (from 2 rows), 2 rows skipped (malformed or no answer)");
  const auto& second = data.examples[2];  // the conversation's second answer
  EXPECT_EQ(second.line, 2u);
  EXPECT_EQ(second.turn, 1u);
  EXPECT_EQ(second.target, "d");
  ASSERT_EQ(second.prompt.size(), 3u);  // a, b, c: the first answer is context, not loss
  EXPECT_EQ(second.prompt[1].role, "assistant");
  EXPECT_EQ(second.ids, [&] {
    auto ids = josi::text::encode_chatml(tokenizer(), second.prompt, true);
    ids.push_back(*tokenizer().token_id("d"));
    ids.push_back(*tokenizer().token_id("<|im_end|>"));
    return ids;
  }());
}

TEST(TrainData, UnusableDataAndModeMismatchStopBeforeTraining) {
  TempDir dir;
  write_text(dir / "none.jsonl", R"({"messages": [{"role": "user", "content": "no answer"}]})" "\n");
  EXPECT_NE(error_of([&] { tokenize_dataset(dir / "none.jsonl", DatasetMode::interpreter, tokenizer(), 2048); })
                .find("none.jsonl: no usable examples"),
            std::string::npos);
  write_text(dir / "explainer.jsonl", example("Why easy?", "\"Because you rode hard yesterday.\"") +
                                          example("What is Zone 2?", "\"An easy aerobic intensity.\""));
  EXPECT_NE(error_of([&] { tokenize_dataset(dir / "explainer.jsonl", DatasetMode::interpreter, tokenizer(), 2048); })
                .find("looks like explainer data, not --mode interpreter"),
            std::string::npos);
  write_text(dir / "interpreter.jsonl", example("run", kRequest));
  EXPECT_NE(error_of([&] { tokenize_dataset(dir / "interpreter.jsonl", DatasetMode::explainer, tokenizer(), 2048); })
                .find("looks like interpreter data, not --mode explainer"),
            std::string::npos);
  write_text(dir / "broken.jsonl", example("run", kRequest) + "{not json\n");
  EXPECT_NE(error_of([&] { tokenize_dataset(dir / "broken.jsonl", DatasetMode::interpreter, tokenizer(), 2048); })
                .find("broken.jsonl:2"),
            std::string::npos);
}

TEST(TrainData, TheReferenceDataTokenizes) {
  auto data = tokenize_dataset(josi::test::reference_data("val_interpreter.jsonl"), DatasetMode::interpreter, tokenizer(), 2048);
  EXPECT_EQ(data.counts.lines, 149u);
  EXPECT_EQ(data.counts.used, 149u);
  EXPECT_GT(data.counts.request_targets, 140u);
  // The interpreter's completion is a small part of each example.
  int64_t completion = 0;
  for (const auto& e : data.examples) completion += e.completion_tokens();
  EXPECT_LT(completion * 5, data.tokens());
}

namespace {

// The Qwen3 chat template's rendering, written here from its rules (no
// tools): the system turn only when a row has one, user and later system
// turns as ChatML, an assistant turn without its think block unless it
// comes after the last user turn and is last or has reasoning, then the
// generation prompt.
std::string qwen3_prompt(const std::vector<josi::text::ChatMessage>& messages) {
  std::string out;
  size_t last_user = 0;
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].role == "user") last_user = i;
  const auto lstrip_newlines = [](std::string s) { return s.erase(0, std::min(s.find_first_not_of('\n'), s.size())); };
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& [role, content] = messages[i];
    if (role != "assistant") {
      out += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
      continue;
    }
    std::string c = content, reasoning;
    if (const size_t close = c.find("</think>"); close != std::string::npos) {
      std::string before = c.substr(0, close);
      before.erase(before.find_last_not_of('\n') + 1);
      const size_t open = before.rfind("<think>");
      reasoning = lstrip_newlines(open == std::string::npos ? before : before.substr(open + 7));
      c = lstrip_newlines(c.substr(c.rfind("</think>") + 8));
    }
    if (i > last_user && (i + 1 == messages.size() || !reasoning.empty()))
      out += "<|im_start|>assistant\n<think>\n" + reasoning + "\n</think>\n\n" + c + "<|im_end|>\n";
    else
      out += "<|im_start|>assistant\n" + c + "<|im_end|>\n";
  }
  return out + "<|im_start|>assistant\n";
}

}  // namespace

// Every example of the users' v7 split trains on the Qwen3 template's
// prompt plus its answer and <|im_end|>, byte for byte: 323 examples from
// 272 rows, none cut at 4096 tokens.
TEST(TrainData, TheUsersV7ExamplesAreTheQwen3TemplatesText) {
  const auto data = tokenize_dataset(josi::test::shared_dir() / "reference" / "mivalta-v7" / "data" / "val_v7_unified.jsonl",
                                     DatasetMode::unified, tokenizer(), 4096);
  EXPECT_EQ(data.counts.lines, 272u);
  EXPECT_EQ(data.counts.examples, 323u);
  EXPECT_EQ(data.counts.used, 323u);
  EXPECT_EQ(data.counts.truncated, 0u);
  size_t longest = 0;
  for (const auto& e : data.examples) {
    const std::string expected = qwen3_prompt(e.prompt) + e.target + "<|im_end|>";
    ASSERT_EQ(tokenizer().decode(e.ids), expected) << "line " << e.line << " turn " << e.turn;
    longest = std::max(longest, e.ids.size());
  }
  EXPECT_EQ(longest, 1917u);
}
