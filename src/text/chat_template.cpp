#include "text/chat_template.hpp"

#include "base/error.hpp"

namespace josi::text {

namespace {
constexpr const char* kStart = "<|im_start|>";
constexpr const char* kEnd = "<|im_end|>";
}  // namespace

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (const auto& m : messages) {
    out += kStart;
    out += m.role;
    out += '\n';
    out += m.content;
    out += kEnd;
    out += '\n';
  }
  if (add_generation_prompt) {
    out += kStart;
    out += "assistant\n";
  }
  return out;
}

std::vector<int32_t> encode_chatml(const Tokenizer& tokenizer, const std::vector<ChatMessage>& messages,
                                   bool add_generation_prompt) {
  auto marker = [&](const char* text) {
    auto id = tokenizer.token_id(text);
    if (!id || !tokenizer.is_control(*id)) throw Error(std::string("the tokenizer has no control token ") + text);
    return *id;
  };
  const int32_t start = marker(kStart);
  const int32_t end = marker(kEnd);
  std::vector<int32_t> ids;
  auto append = [&](const std::string& text) {
    auto part = tokenizer.encode(text, /*allow_special=*/false);
    ids.insert(ids.end(), part.begin(), part.end());
  };
  for (const auto& m : messages) {
    ids.push_back(start);
    // Role, line break and content are one stretch of text between two
    // markers, and are encoded as one: a content that starts with a line
    // break or spaces merges with the role's line break exactly as it does
    // when the rendered text is encoded.
    append(m.role + "\n" + m.content);
    ids.push_back(end);
    append("\n");
  }
  if (add_generation_prompt) {
    ids.push_back(start);
    append("assistant\n");
  }
  return ids;
}

}  // namespace josi::text
