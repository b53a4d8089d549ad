// The turn boundary fuzz target: arbitrary bytes as the app's turn JSON and
// as what the two models write, through the turn flow without models (prompt
// builder, post-processor, router, explainer clean-up and governor, memory)
// and the result's serialisation. The input is up to three parts split at
// NUL bytes: turn JSON, interpreter text, explainer text. A turn that is not
// valid JSON becomes the athlete's message in the sample context instead, so
// the model-text parts are always exercised.
//
// A bad turn or prompt may fail with josi::Error. A finding is a crash, a
// sanitizer report, any other exception, a request routed to the engine
// that breaks the GATCRequest schema, or a result that is not valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/utf8.hpp"
#include "coach/prompt_builder.hpp"
#include "data/sample_context.hpp"
#include "json/json.hpp"
#include "json/python_dumps.hpp"
#include "json/schema.hpp"
#include "runtime/turn.hpp"
#include "runtime/turn_flow.hpp"

namespace {

using josi::json::Json;
using josi::runtime::RoleRun;
using josi::runtime::TextCallback;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "turn_fuzz: %s\n", what.c_str());
  std::abort();
}

std::vector<std::string_view> split_parts(std::string_view bytes) {
  std::vector<std::string_view> parts;
  while (parts.size() < 2) {
    const size_t nul = bytes.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(bytes.substr(0, nul));
    bytes.remove_prefix(nul + 1);
  }
  parts.push_back(bytes);
  parts.resize(3);
  return parts;
}

josi::runtime::TurnInput turn_of(std::string_view text) {
  try {
    const Json input = josi::json::parse(text, "turn_json");
    if (input.is_object()) return josi::runtime::parse_turn(input);
  } catch (const josi::Error&) {
  }
  static const josi::runtime::TurnInput sample = josi::runtime::parse_turn(
      Json{{"message", "hi"}, {"context", josi::json::parse(josi::data::sample_chat_context(), "the sample ChatContext")}});
  josi::runtime::TurnInput turn = sample;
  if (!text.empty()) turn.message = josi::base::valid_utf8(text);
  return turn;
}

// A model that "writes" `text`: the runtime hands on its bytes as valid UTF-8.
josi::runtime::RoleRunner model_writing(std::string_view text) {
  return [text](josi::coach::PromptRequest request, const TextCallback& on_text, std::string& user_turn) {
    const auto prompt = josi::coach::build_prompt(request);
    user_turn = prompt.user;
    RoleRun run;
    run.prompt = prompt.chatml;
    run.set_output(text);
    if (on_text) on_text(run.text);
    return run;
  };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = split_parts({reinterpret_cast<const char*>(data), size});
  try {
    const auto input = turn_of(parts[0]);
    const auto result =
        josi::runtime::run_turn_flow(input, model_writing(parts[1]), model_writing(parts[2]), [](std::string_view) {});
    if (result.route == "engine" && !josi::json::Schema::gatc_request().is_valid(*result.request))
      finding("an invalid GATCRequest was routed to the engine");
    const std::string out = josi::json::python_dumps(josi::runtime::to_json(result));
    if (!josi::json::parse(out, "the turn's result").is_object()) finding("the result is not a JSON object");
  } catch (const josi::Error&) {
    // A clean rejection (a bad turn, a prompt that cannot fit) is expected.
  }
  return 0;
}
