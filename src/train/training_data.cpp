#include "train/training_data.hpp"

#include "base/error.hpp"
#include "data/chat_example.hpp"
#include "data/jsonl.hpp"
#include "text/chat_template.hpp"

namespace josi::train {

namespace {

// The seed drops an example whose prompt leaves this many tokens or fewer.
constexpr int64_t kMinCompletionRoom = 10;
constexpr size_t kReportedSkips = 5;

bool is_request(const std::string& target) {
  json::Json value;
  return json::try_parse(target, value) && value.is_object() && value.contains("action") && value["action"].is_string();
}

}  // namespace

int64_t TokenizedDataset::tokens() const {
  int64_t n = 0;
  for (const auto& e : examples) n += static_cast<int64_t>(e.ids.size());
  return n;
}

TokenizedDataset tokenize_dataset(const std::filesystem::path& path, data::DatasetMode mode,
                                  const text::Tokenizer& tokenizer, int64_t max_seq_length) {
  TokenizedDataset out;
  out.path = path.string();
  DatasetCounts& counts = out.counts;
  auto skip = [&](size_t line, const std::string& reason) {
    if (counts.first_skipped.size() < kReportedSkips)
      counts.first_skipped.push_back(out.path + ":" + std::to_string(line) + ": " + reason);
  };
  const auto im_end = tokenizer.token_id("<|im_end|>");
  if (!im_end) throw Error("the tokenizer has no <|im_end|> token (not a Qwen2 chat tokenizer)");

  for (const auto& record : data::read_jsonl_strict(path)) {
    ++counts.lines;
    std::string problem;
    auto example = data::chat_example_from_json(record.value, record.line, problem);
    if (example && !example->is_single_turn()) problem = "not a single-turn example (exactly one assistant turn, last)";
    if (!example || !problem.empty()) {
      ++counts.not_single_turn;
      skip(record.line, problem);
      continue;
    }
    std::vector<text::ChatMessage> prompt;
    for (size_t i = 0; i + 1 < example->messages.size(); ++i)
      prompt.push_back({example->messages[i].role, example->messages[i].content});
    const std::string& target = example->messages.back().content;

    TokenizedExample tokenized;
    tokenized.line = record.line;
    tokenized.ids = text::encode_chatml(tokenizer, prompt, /*add_generation_prompt=*/true);
    tokenized.prompt_tokens = static_cast<int64_t>(tokenized.ids.size());
    if (max_seq_length - tokenized.prompt_tokens <= kMinCompletionRoom) {
      ++counts.prompt_too_long;
      skip(record.line, "prompt of " + std::to_string(tokenized.prompt_tokens) + " tokens leaves no room in " +
                            std::to_string(max_seq_length));
      continue;
    }
    std::vector<int32_t> completion = tokenizer.encode(target);
    completion.push_back(*im_end);
    const int64_t room = max_seq_length - tokenized.prompt_tokens;
    if (static_cast<int64_t>(completion.size()) > room) {
      completion.resize(static_cast<size_t>(room));
      ++counts.truncated;
    }
    tokenized.ids.insert(tokenized.ids.end(), completion.begin(), completion.end());
    counts.request_targets += is_request(target);
    out.examples.push_back(std::move(tokenized));
  }
  counts.used = out.examples.size();

  if (out.examples.empty())
    throw Error(out.path + ": no usable training examples (" + describe(counts) + ")");
  // Most interpreter targets are requests; explainer targets almost never are.
  const bool looks_interpreter = counts.request_targets * 2 > counts.used;
  if (mode == data::DatasetMode::interpreter && !looks_interpreter)
    throw Error(out.path + ": only " + std::to_string(counts.request_targets) + " of " + std::to_string(counts.used) +
                " targets are GATCRequest JSON: this looks like explainer data, not --mode interpreter");
  if (mode == data::DatasetMode::explainer && looks_interpreter)
    throw Error(out.path + ": " + std::to_string(counts.request_targets) + " of " + std::to_string(counts.used) +
                " targets are GATCRequest JSON: this looks like interpreter data, not --mode explainer");
  return out;
}

std::string describe(const DatasetCounts& counts) {
  std::string text = std::to_string(counts.used) + " of " + std::to_string(counts.lines) + " examples used";
  if (counts.truncated) text += ", " + std::to_string(counts.truncated) + " truncated";
  if (counts.not_single_turn) text += ", " + std::to_string(counts.not_single_turn) + " skipped (not single-turn)";
  if (counts.prompt_too_long) text += ", " + std::to_string(counts.prompt_too_long) + " skipped (prompt too long)";
  return text;
}

Batch make_batch(const std::vector<const TokenizedExample*>& examples, int32_t pad_id) {
  int64_t seq = 0;
  for (const auto* e : examples) seq = std::max(seq, static_cast<int64_t>(e->ids.size()));
  const int64_t rows = static_cast<int64_t>(examples.size());
  auto ids = torch::full({rows, seq}, pad_id, torch::kLong);
  auto mask = torch::zeros({rows, seq}, torch::kLong);
  std::vector<int64_t> positions, labels;
  Batch batch;
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    const auto& e = *examples[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(e.ids.size());
    for (int64_t t = 0; t < n; ++t) {
      ids_a[r][t] = e.ids[static_cast<size_t>(t)];
      mask_a[r][t] = 1;
    }
    // Position t predicts token t + 1; completion tokens start at prompt_tokens.
    for (int64_t t = e.prompt_tokens - 1; t + 1 < n; ++t) {
      positions.push_back(r * seq + t);
      labels.push_back(e.ids[static_cast<size_t>(t + 1)]);
    }
    batch.tokens += n;
  }
  batch.input_ids = ids;
  batch.attention_mask = mask;
  batch.label_positions = torch::tensor(positions, torch::kLong);
  batch.labels = torch::tensor(labels, torch::kLong);
  return batch;
}

}  // namespace josi::train
