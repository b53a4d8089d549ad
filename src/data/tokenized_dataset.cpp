#include "data/tokenized_dataset.hpp"

#include "base/error.hpp"
#include "data/chat_example.hpp"
#include "data/jsonl.hpp"

namespace josi::data {

namespace {

// The seed drops an example whose prompt leaves this many tokens or fewer.
constexpr int64_t kMinCompletionRoom = 10;
constexpr size_t kReportedSkips = 5;

}  // namespace

int64_t TokenizedDataset::tokens() const {
  int64_t n = 0;
  for (const auto& e : examples) n += static_cast<int64_t>(e.ids.size());
  return n;
}

TokenizedDataset tokenize_dataset(const std::filesystem::path& path, DatasetMode mode,
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

  for (const auto& record : read_jsonl_strict(path)) {
    ++counts.lines;
    std::string problem;
    const auto row = chat_example_from_json(record.value, record.line, problem);
    const auto turns = row ? unroll(*row) : std::vector<TurnExample>{};
    if (row && turns.empty()) problem = "no assistant turn";
    if (turns.empty()) {
      ++counts.unusable_rows;
      skip(record.line, problem);
      continue;
    }
    counts.examples += turns.size();
    for (size_t turn = 0; turn < turns.size(); ++turn) {
      const auto& [messages, target] = turns[turn];
      TokenizedExample tokenized;
      tokenized.line = record.line;
      tokenized.turn = turn;
      for (const auto& m : messages) tokenized.prompt.push_back({m.role, m.content});
      tokenized.target = target;
      tokenized.ids = text::encode_chatml(tokenizer, tokenized.prompt, /*add_generation_prompt=*/true);
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
      counts.request_targets += is_request_target(target);
      out.examples.push_back(std::move(tokenized));
    }
  }
  counts.used = out.examples.size();

  if (out.examples.empty())
    throw Error(out.path + ": no usable examples (" + describe(counts) + ")");
  // Most interpreter targets are requests; explainer targets almost never are.
  const bool looks_interpreter = counts.request_targets * 2 > counts.used;
  if (mode == DatasetMode::interpreter && !looks_interpreter)
    throw Error(out.path + ": only " + std::to_string(counts.request_targets) + " of " + std::to_string(counts.used) +
                " targets are GATCRequest JSON: this looks like explainer data, not --mode interpreter");
  if (mode == DatasetMode::explainer && looks_interpreter)
    throw Error(out.path + ": " + std::to_string(counts.request_targets) + " of " + std::to_string(counts.used) +
                " targets are GATCRequest JSON: this looks like interpreter data, not --mode explainer");
  return out;
}

std::string describe(const DatasetCounts& counts) {
  std::string text = std::to_string(counts.used) + " of " + std::to_string(counts.examples) + " examples used";
  if (counts.examples != counts.lines - counts.unusable_rows)
    text += " (from " + std::to_string(counts.lines - counts.unusable_rows) + " rows)";
  if (counts.truncated) text += ", " + std::to_string(counts.truncated) + " truncated";
  if (counts.unusable_rows) text += ", " + std::to_string(counts.unusable_rows) + " rows skipped (malformed or no answer)";
  if (counts.prompt_too_long) text += ", " + std::to_string(counts.prompt_too_long) + " skipped (prompt too long)";
  return text;
}

}  // namespace josi::data
