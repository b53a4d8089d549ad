#pragma once
// Qwen2's byte-level BPE tokenizer, exact to the Hugging Face tokenizers
// library: NFC normalisation, the Qwen2 pre-tokenizer regex (PCRE2, Unicode
// properties), GPT-2 byte-to-unicode mapping, merges by rank. Added tokens
// (<|im_start|> ...) are recognised in text only when the caller allows it:
// the chat template does, athlete text never does.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocabulary.hpp"

namespace josi::text {

class Tokenizer {
 public:
  explicit Tokenizer(Vocabulary vocabulary);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;

  // Loads from a tokenizer.json (or a model directory holding one), or from
  // a .gguf file's metadata.
  static Tokenizer load(const std::filesystem::path& path);

  // `allow_special`: added tokens written in `text` become their ids (what
  // the Hugging Face library does by default); otherwise they are plain text.
  std::vector<int32_t> encode(std::string_view text, bool allow_special = false) const;
  // Concatenated bytes of the tokens (added tokens as their text); invalid
  // UTF-8 from a partial sequence is kept as bytes.
  std::string decode(const std::vector<int32_t>& ids) const;
  size_t count(std::string_view text, bool allow_special = false) const { return encode(text, allow_special).size(); }

  size_t vocab_size() const;                            // number of token rows
  std::optional<int32_t> token_id(std::string_view token) const;  // exact token string (added or byte-level)
  const std::string& token_text(int32_t id) const;      // the raw token string; throws when out of range
  bool is_control(int32_t id) const;
  TokenType token_type(int32_t id) const;               // throws when out of range
  // The bytes a token stands for (added tokens: their text); throws when out of range.
  std::string_view token_bytes(int32_t id) const;

  // Turns ids into text as they stream in: bytes of an incomplete UTF-8
  // sequence are held back until the sequence completes.
  class StreamDecoder {
   public:
    explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
    std::string push(int32_t id);  // text that is now complete
    std::string flush();           // whatever is held back (possibly invalid UTF-8)

   private:
    const Tokenizer& tokenizer_;
    std::string pending_;
  };

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace josi::text
