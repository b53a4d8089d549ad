#pragma once
// The system-prompt prefix of a role, saved to disk so that a restarted app
// does not evaluate its ~1,300 tokens again. A cache file holds the prefix's
// tokens and their keys and values, under a key naming everything they
// depend on: the model file (size, modification time and sampled content),
// the exact prefix text and the engine's version and cache layout. A file
// whose key, shape or checksum does not match, or that is cut short, is
// ignored and rebuilt, never trusted.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "infer/context.hpp"

namespace josi::runtime {

// What a model is, cheaply: for its file (or each file of its directory) the
// size, modification time and a checksum of the header and of chunks spread
// over the data. Two different models (or one rewritten) give different
// identities.
std::string model_identity(const std::filesystem::path& model);

class PrefixCache {
 public:
  // `dir`: the cache directory (created when missing). `key`: model identity,
  // prompt text and engine, as one string.
  PrefixCache(std::filesystem::path dir, std::string key);

  const std::filesystem::path& path() const { return path_; }

  // Fills positions [0, tokens.size()) of the context from the file and
  // returns true, when the file exists and holds exactly these tokens for
  // this key and model shape. Otherwise returns false and says why in
  // `reason` ("missing", "stale", "corrupt: ...").
  bool load(const std::vector<int32_t>& tokens, infer::Context& context, std::string& reason) const;
  // Writes positions [0, tokens.size()) of the context (atomically).
  void save(const std::vector<int32_t>& tokens, const infer::Context& context) const;

 private:
  std::filesystem::path path_;
  std::string key_;
};

}  // namespace josi::runtime
