#include "constrain/token_trie.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace josi::constrain {

TokenTrie::TokenTrie(std::vector<std::pair<std::string, int32_t>> entries) {
  std::sort(entries.begin(), entries.end());
  std::vector<std::pair<uint32_t, int32_t>> owned;  // (node, token)
  std::vector<uint32_t> path;                        // open node at each depth
  const std::string* previous = nullptr;
  for (const auto& [bytes, id] : entries) {
    if (bytes.empty()) continue;
    if (bytes.size() > UINT16_MAX) throw Error("a token of over 65535 bytes");
    size_t common = 0;
    if (previous) {
      while (common < previous->size() && common < bytes.size() && (*previous)[common] == bytes[common]) ++common;
    }
    while (path.size() > common) {  // close the nodes this token does not share
      nodes_[path.back()].subtree_end = static_cast<uint32_t>(nodes_.size());
      path.pop_back();
    }
    for (size_t d = common; d < bytes.size(); ++d) {
      path.push_back(static_cast<uint32_t>(nodes_.size()));
      nodes_.push_back({0, static_cast<uint16_t>(d + 1), static_cast<uint8_t>(bytes[d])});
    }
    max_depth_ = std::max<uint16_t>(max_depth_, static_cast<uint16_t>(bytes.size()));
    owned.emplace_back(path.back(), id);
    previous = &bytes;
  }
  for (uint32_t k : path) nodes_[k].subtree_end = static_cast<uint32_t>(nodes_.size());

  std::sort(owned.begin(), owned.end());
  token_begin_.assign(nodes_.size() + 1, 0);
  for (const auto& [node, _] : owned) ++token_begin_[node + 1];
  for (size_t k = 0; k < nodes_.size(); ++k) token_begin_[k + 1] += token_begin_[k];
  tokens_.reserve(owned.size());
  for (const auto& [_, id] : owned) tokens_.push_back(id);
}

}  // namespace josi::constrain
