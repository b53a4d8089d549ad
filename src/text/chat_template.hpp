#pragma once
// ChatML, the chat format of Qwen2.5 and Qwen3 instruct models:
//   <|im_start|>role\ncontent<|im_end|>\n ... [<|im_start|>assistant\n]
// with no default system prompt, and Qwen3's rule for earlier assistant
// turns: their think block is not rendered (the generation prompt never
// opens one; a trailing assistant turn is rendered as written).
// Rendering as text (for display and for the prompt builder) and encoding to
// ids, where the markers are control tokens and the contents never are.
#include <string>
#include <vector>

#include "text/tokenizer.hpp"

namespace josi::text {

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt);

// The ids of the rendered conversation: markers as their control-token ids,
// every role and content encoded with special tokens disabled. For content
// that holds no special-token text, equal to encoding the rendered text with
// special tokens allowed.
std::vector<int32_t> encode_chatml(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages,
                                   bool add_generation_prompt);

}  // namespace josi::text
