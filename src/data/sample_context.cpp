#include "data/sample_context.hpp"

#include "embedded/samples.hpp"

namespace josi::data {

std::string_view sample_chat_context() { return embedded::samples::chat_context(); }

}  // namespace josi::data
