#pragma once
// Token byte strings as a trie laid out in depth-first order: node k's
// subtree is [k + 1, subtree_end). A search that rejects a byte at node k
// skips straight to subtree_end, so the tokens sharing that prefix cost
// nothing more; prefixes shared by many tokens are stepped once.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace josi::constrain {

class TokenTrie {
 public:
  struct Node {
    uint32_t subtree_end = 0;
    uint16_t depth = 0;  // 1 for the first byte
    uint8_t byte = 0;
  };

  TokenTrie() = default;
  // (bytes, token id) pairs in any order; several tokens may share bytes.
  explicit TokenTrie(std::vector<std::pair<std::string, int32_t>> entries);

  const std::vector<Node>& nodes() const { return nodes_; }
  // Tokens whose bytes end at node k.
  std::span<const int32_t> tokens_at(uint32_t k) const {
    return {tokens_.data() + token_begin_[k], token_begin_[k + 1] - token_begin_[k]};
  }
  uint16_t max_depth() const { return max_depth_; }

 private:
  std::vector<Node> nodes_;
  std::vector<uint32_t> token_begin_{0};
  std::vector<int32_t> tokens_;
  uint16_t max_depth_ = 0;
};

}  // namespace josi::constrain
