#pragma once
// Chat examples as token ids, the way training and evaluation score them:
// each row unrolled into one example per assistant turn (data::unroll), the
// prompt (every earlier message, then "<|im_start|>assistant\n") built by
// the project's chat template and tokenizer, followed by the completion
// (the assistant text plus <|im_end|>), which alone carries the loss. An
// example longer than the maximum length keeps its prompt and loses the end
// of its completion, unless the prompt leaves 10 tokens or fewer, in which
// case it is dropped. Every skip is counted.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/validate.hpp"
#include "text/chat_template.hpp"
#include "text/tokenizer.hpp"

namespace josi::data {

struct TokenizedExample {
  size_t line = 0;
  size_t turn = 0;                        // which assistant turn of its row (0: the first)
  std::vector<text::ChatMessage> prompt;  // the turns before the answer
  std::string target;                     // the assistant's answer
  std::vector<int32_t> ids;  // prompt, then completion
  int64_t prompt_tokens = 0;
  int64_t completion_tokens() const { return static_cast<int64_t>(ids.size()) - prompt_tokens; }
};

struct DatasetCounts {
  size_t lines = 0;                // non-blank lines: rows
  size_t examples = 0;             // assistant turns of the usable rows
  size_t used = 0;                 // examples kept
  size_t unusable_rows = 0;        // malformed, or without an assistant turn
  size_t prompt_too_long = 0;      // the prompt leaves <= 10 tokens of the maximum length
  size_t truncated = 0;            // completion cut to fit
  size_t request_targets = 0;      // targets that are a JSON object with an "action" (interpreter data)
  std::vector<std::string> first_skipped;  // "<file>:<line>: reason", the first five
};

struct TokenizedDataset {
  std::string path;
  std::vector<TokenizedExample> examples;
  DatasetCounts counts;
  int64_t tokens() const;
};

// Reads and tokenizes `path`. Throws josi::Error naming the file when it
// cannot be read, has a line that is not JSON, has no usable example, or its
// targets do not fit `mode` (interpreter data is mostly GATCRequest JSON,
// explainer data plain text; unified data may be either).
TokenizedDataset tokenize_dataset(const std::filesystem::path& path, DatasetMode mode,
                                  const text::Tokenizer& tokenizer, int64_t max_seq_length);

// One line: "323 of 323 examples used (from 272 rows), 3 truncated, ...".
std::string describe(const DatasetCounts& counts);

}  // namespace josi::data
