#pragma once
// Josi's own sample ChatContext (data/chat_context.sample.json, built into
// the binary): the context `josi chat` starts from when none is given.
#include <string_view>

namespace josi::data {

std::string_view sample_chat_context();

}  // namespace josi::data
