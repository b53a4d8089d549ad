#include "text/chat_template.hpp"

#include <algorithm>
#include <string_view>

#include "base/error.hpp"

namespace josi::text {

namespace {
constexpr const char* kStart = "<|im_start|>";
constexpr const char* kEnd = "<|im_end|>";

// Each message's content as the template renders it: an assistant turn
// before the last user turn loses its think block, keeping what follows its
// last "</think>" without the line breaks that open it (Qwen3's rule; a
// Qwen2.5 model never writes the tag, so its turns are unchanged).
std::vector<std::string_view> rendered_contents(const std::vector<ChatMessage>& messages) {
  size_t last_user = 0;
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].role == "user") last_user = i;
  std::vector<std::string_view> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string_view c = messages[i].content;
    const size_t close = c.rfind("</think>");
    if (messages[i].role == "assistant" && i < last_user && close != std::string_view::npos) {
      c.remove_prefix(close + std::string_view("</think>").size());
      c.remove_prefix(std::min(c.find_first_not_of('\n'), c.size()));
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  const auto contents = rendered_contents(messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    out += kStart;
    out += messages[i].role;
    out += '\n';
    out += contents[i];
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
  const auto contents = rendered_contents(messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    ids.push_back(start);
    // Role, line break and content are one stretch of text between two
    // markers, and are encoded as one: a content that starts with a line
    // break or spaces merges with the role's line break exactly as it does
    // when the rendered text is encoded.
    append(messages[i].role + "\n" + std::string(contents[i]));
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
