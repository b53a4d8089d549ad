#include "constrain/token_index.hpp"

#include "base/error.hpp"
#include "base/utf8.hpp"

namespace josi::constrain {
namespace {

// How a token reads from inside a JSON string, at a character boundary:
// plain content (and the continuation bytes its last character leaves due),
// content up to a byte that ends or escapes the string, or neither (invalid
// UTF-8, a character cut by a special byte).
struct StringReading {
  enum Kind { content, special, invalid } kind = invalid;
  int pending = 0;       // content: continuation bytes due at the end
  size_t special_at = 0; // special: offset of the first '"', '\\' or control byte
};

StringReading read_in_string(std::string_view b) {
  int need = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  for (size_t i = 0; i < b.size(); ++i) {
    const auto c = static_cast<uint8_t>(b[i]);
    if (need > 0) {
      if (c < lo || c > hi) return {};
      --need;
      lo = 0x80, hi = 0xBF;
      continue;
    }
    if (c == '"' || c == '\\' || c < 0x20) return {StringReading::special, 0, i};
    const base::Utf8Lead lead = base::utf8_lead(c);
    if (lead.need < 0) return {};
    need = lead.need, lo = lead.lo, hi = lead.hi;
  }
  return {StringReading::content, need, 0};
}

std::vector<std::pair<std::string, int32_t>> ordinary_tokens(const text::Tokenizer& tokenizer) {
  std::vector<std::pair<std::string, int32_t>> out;
  for (size_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const auto i = static_cast<int32_t>(id);
    if (tokenizer.token_type(i) != text::TokenType::normal) continue;
    const auto b = tokenizer.token_bytes(i);
    if (!b.empty()) out.emplace_back(std::string(b), i);
  }
  return out;
}

std::vector<std::pair<std::string, int32_t>> string_tails(const std::vector<std::pair<std::string, int32_t>>& tokens) {
  std::vector<std::pair<std::string, int32_t>> out;
  for (const auto& [bytes, id] : tokens) {
    const auto r = read_in_string(bytes);
    if (r.kind == StringReading::special) out.emplace_back(bytes.substr(r.special_at), id);
  }
  return out;
}

}  // namespace

TokenIndex::TokenIndex(const text::Tokenizer& tokenizer, size_t n_vocab)
    : n_vocab_(n_vocab) {
  if (tokenizer.vocab_size() > n_vocab)
    throw Error("the tokenizer has " + std::to_string(tokenizer.vocab_size()) + " tokens but the model only " +
                std::to_string(n_vocab) + " rows");
  auto tokens = ordinary_tokens(tokenizer);
  tail_ = TokenTrie(string_tails(tokens));
  all_ = TokenTrie(std::move(tokens));
  for (auto& m : content_) m = infer::TokenMask(n_vocab);
  offsets_.assign(tokenizer.vocab_size() + 1, 0);
  for (size_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const auto i = static_cast<int32_t>(id);
    if (tokenizer.token_type(i) == text::TokenType::normal) {
      const auto b = tokenizer.token_bytes(i);
      bytes_ += b;
      const auto r = read_in_string(b);
      if (r.kind == StringReading::content && !b.empty()) content_[static_cast<size_t>(r.pending)].set(i);
    }
    offsets_[id + 1] = static_cast<uint32_t>(bytes_.size());
  }
}

std::string_view TokenIndex::bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) + 1 >= offsets_.size()) return {};
  return std::string_view(bytes_).substr(offsets_[static_cast<size_t>(id)],
                                         offsets_[static_cast<size_t>(id) + 1] - offsets_[static_cast<size_t>(id)]);
}

}  // namespace josi::constrain
