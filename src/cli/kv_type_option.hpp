#pragma once
// The --kv-type option of the commands that run a model (chat, generate,
// logits, bench, eval): how the KV cache keeps keys and values.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/options.hpp"
#include "infer/kv_cache.hpp"

namespace josi::cli {

inline void add_kv_type_option(CLI::App* cmd, std::string& kv_type) {
  cmd->add_option(flag("kv_type"), kv_type, "KV cache type: f16, or q8_0 (53% of f16's memory)")
      ->check(CLI::IsMember({"f16", "q8_0"}))
      ->capture_default_str();
}

// The option's value (checked by the option).
inline infer::KvType kv_type_of(const std::string& kv_type) { return *infer::kv_type_named(kv_type); }

}  // namespace josi::cli
