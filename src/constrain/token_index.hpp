#pragma once
// A model's vocabulary prepared for output constraints, built once per
// tokenizer and shared by every constraint on it: the trie of all ordinary
// tokens, and, for the common case of a free string being written, the
// tokens that are plain string content (grouped by how many UTF-8
// continuation bytes they leave due) plus a trie of the rest of the tokens
// that may close or escape a string, keyed from their first special byte.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "constrain/token_trie.hpp"
#include "infer/token_mask.hpp"
#include "text/tokenizer.hpp"

namespace josi::constrain {

class TokenIndex {
 public:
  // `n_vocab`: the model's rows (the mask size), at least the tokenizer's.
  TokenIndex(const text::Tokenizer& tokenizer, size_t n_vocab);

  size_t n_vocab() const { return n_vocab_; }
  const TokenTrie& all() const { return all_; }
  const TokenTrie& string_tail() const { return tail_; }
  // Tokens made only of string content from a character boundary, leaving
  // `pending` (0-3) continuation bytes of a last character due.
  const infer::TokenMask& string_content(int pending) const { return content_[static_cast<size_t>(pending)]; }
  // The bytes of an ordinary token; empty for control, padding and added tokens.
  std::string_view bytes(int32_t id) const;

 private:
  size_t n_vocab_;
  std::vector<uint32_t> offsets_;
  std::string bytes_;
  TokenTrie all_, tail_;
  std::array<infer::TokenMask, 4> content_;
};

}  // namespace josi::constrain
