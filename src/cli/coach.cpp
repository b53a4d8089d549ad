// josi coach <filter>: the deterministic coach layers as JSONL filters, one
// JSON object per input line and one per output line, in order.
#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/jsonl_filter.hpp"
#include "cli/options.hpp"
#include "coach/governor.hpp"
#include "coach/legacy_intent.hpp"
#include "coach/memory.hpp"
#include "coach/postprocessor.hpp"
#include "coach/prompt_builder.hpp"
#include "coach/router.hpp"
#include "data/system_prompts.hpp"
#include "text/chat_template.hpp"

namespace josi::cli {

namespace {

using json::Json;

const Json& field(const Json& in, const char* key) {
  auto it = in.find(key);
  if (it == in.end()) throw Error(std::string("missing field \"") + key + "\"");
  return *it;
}

std::string string_field(const Json& in, const char* key) {
  const Json& v = field(in, key);
  if (!v.is_string()) throw Error(std::string("\"") + key + "\": expected a string, got " + json::type_name(v));
  return v.get<std::string>();
}

// An optional array field; absent or null means empty.
Json array_field(const Json& in, const char* key) {
  auto it = in.find(key);
  if (it == in.end() || it->is_null()) return Json::array();
  if (!it->is_array()) throw Error(std::string("\"") + key + "\": expected an array, got " + json::type_name(*it));
  return *it;
}

std::vector<std::string> strings_of(const Json& array, const char* key) {
  std::vector<std::string> out;
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string())
      throw Error(std::string("\"") + key + "\"[" + std::to_string(i) + "]: expected a string");
    out.push_back(array[i].get<std::string>());
  }
  return out;
}

Json postprocess(const Json& in) {
  auto result = coach::postprocess(string_field(in, "raw"), string_field(in, "user"));
  return {{"request", result.request ? *result.request : Json()}, {"valid", result.valid}, {"errors", result.errors}};
}

Json govern(const Json& in) {
  std::string response_type = in.contains("response_type") ? string_field(in, "response_type") : "";
  return {{"text", coach::govern(string_field(in, "text"), response_type)}};
}

Json route(const Json& in) {
  auto decision = coach::route_request(field(in, "request"));
  Json out = {{"route", coach::route_name(decision.route)}, {"action", decision.action}};
  if (decision.route == coach::Route::clarify) out["clarify_message"] = decision.clarify_message;
  return out;
}

Json parse_intent(const Json& in) {
  auto intent = coach::parse_legacy_intent(string_field(in, "raw"));
  return {{"intent", intent ? *intent : Json()}};
}

Json memory_extract(const Json& in) {
  Json facts = Json::array();
  for (const auto& fact : coach::extract_facts(coach::history_from_json(field(in, "history"))))
    facts.push_back(coach::to_json(fact));
  return {{"facts", facts}};
}

Json memory_merge(const Json& in) {
  coach::AthleteMemory existing;
  if (in.contains("existing") && !in["existing"].is_null()) existing = coach::memory_from_json(in["existing"]);
  std::vector<coach::Fact> facts;
  for (const auto& f : array_field(in, "facts")) facts.push_back(coach::fact_from_json(f));
  auto merged = coach::merge_memory(existing, facts, strings_of(array_field(in, "patterns"), "patterns"),
                                    strings_of(array_field(in, "notes"), "notes"));
  return coach::to_json(merged);
}

Json memory_serialize(const Json& in) { return {{"text", coach::serialize_memory(coach::memory_from_json(in))}}; }

Json memory_patterns(const Json& in) {
  std::vector<int> skip_days;
  Json days = array_field(in, "skip_days");
  for (size_t i = 0; i < days.size(); ++i) {
    if (!days[i].is_number_integer()) throw Error("\"skip_days\"[" + std::to_string(i) + "]: expected an integer");
    skip_days.push_back(days[i].get<int>());
  }
  return {{"patterns", coach::detect_patterns(array_field(in, "activities"), skip_days)}};
}

struct PromptOptions {
  std::string interpreter_prompt;
  std::string explainer_prompt;
  std::shared_ptr<text::Tokenizer> tokenizer;  // counts the budget when given
};

Json prompt(const Json& in, const PromptOptions& opts) {
  coach::PromptRequest request;
  const std::string mode = string_field(in, "mode");
  if (mode == "interpreter") {
    request.system = opts.interpreter_prompt;
  } else if (mode == "explainer") {
    request.system = opts.explainer_prompt;
    const Json& interpreter = field(in, "interpreter");
    if (!interpreter.is_object()) throw Error("\"interpreter\": expected the interpreter's request object");
    request.interpreter = interpreter;
  } else {
    throw Error("\"mode\": expected \"interpreter\" or \"explainer\", got \"" + mode + "\"");
  }
  request.context = field(in, "context");
  if (!request.context.is_object()) throw Error("\"context\": expected a ChatContext object");
  request.message = string_field(in, "message");
  if (in.contains("memory") && !in["memory"].is_null()) request.memory = coach::memory_from_json(in["memory"]);
  coach::TokenCounter count = coach::approximate_token_count;
  if (opts.tokenizer) {
    count = [t = opts.tokenizer](const std::vector<text::ChatMessage>& m) { return text::encode_chatml(*t, m, true).size(); };
  }
  auto built = coach::build_prompt(request, count);
  return {{"user", built.user}, {"chatml", built.chatml}};
}

// Registers `josi coach <name> [FILE]` running `handler` over each line.
CLI::App* add_filter(CLI::App* parent, const std::string& name, const std::string& description,
                     const std::string& command, LineHandler handler) {
  auto input = std::make_shared<std::string>("-");
  auto* sub = parent->add_subcommand(name, description);
  sub->add_option("input", *input, "JSONL input file (default: standard input)");
  sub->callback([input, command, handler] { set_exit_code(run_jsonl_filter(command, *input, handler)); });
  return sub;
}

}  // namespace

void register_coach(CLI::App& app) {
  auto* coach = app.add_subcommand("coach", "The deterministic coach layers as JSONL filters");
  coach->require_subcommand(1);
  add_filter(coach, "postprocess", "{\"raw\", \"user\"} -> {\"request\", \"valid\", \"errors\"}", "coach postprocess",
             postprocess);
  add_filter(coach, "govern", "{\"text\"} -> {\"text\"}: answer first, at most one question", "coach govern", govern);
  add_filter(coach, "route", "{\"request\"} -> {\"route\", \"action\"}", "coach route", route);
  add_filter(coach, "parse-intent", "{\"raw\"} -> {\"intent\"}: the legacy v3 LLMIntent parser",
             "coach parse-intent", parse_intent);

  auto opts = std::make_shared<PromptOptions>();
  auto paths = std::make_shared<std::pair<std::string, std::string>>();
  auto tokenizer_path = std::make_shared<std::string>();
  auto* prompt_cmd = add_filter(
      coach, "prompt", "{\"context\", \"message\", \"mode\", \"interpreter\"?, \"memory\"?} -> {\"user\", \"chatml\"}",
      "coach prompt", [opts](const Json& in) { return prompt(in, *opts); });
  prompt_cmd->add_option(flag("interpreter_prompt"), paths->first, "Interpreter system prompt file (default: Josi's own)");
  prompt_cmd->add_option(flag("explainer_prompt"), paths->second,
                         "Explainer sequential system prompt file (default: Josi's own)");
  prompt_cmd->add_option(flag("tokenizer"), *tokenizer_path,
                         "tokenizer.json or model .gguf whose tokens count the budget, as josi chat counts "
                         "(default: an estimate of 4 bytes per token)")
      ->check(CLI::ExistingFile);
  prompt_cmd->parse_complete_callback([opts, paths, tokenizer_path] {
    if (!tokenizer_path->empty()) opts->tokenizer = std::make_shared<text::Tokenizer>(text::Tokenizer::load(*tokenizer_path));
    opts->interpreter_prompt = paths->first.empty()
                                   ? std::string(data::default_system_prompt(data::PromptRole::interpreter))
                                   : data::load_system_prompt(paths->first);
    opts->explainer_prompt = paths->second.empty()
                                 ? std::string(data::default_system_prompt(data::PromptRole::explainer_sequential))
                                 : data::load_system_prompt(paths->second);
  });

  auto* memory = coach->add_subcommand("memory", "Athlete memory: extract, merge, serialize, patterns");
  memory->require_subcommand(1);
  add_filter(memory, "extract", "{\"history\"} -> {\"facts\"}", "coach memory extract", memory_extract);
  add_filter(memory, "merge", "{\"existing\", \"facts\", \"patterns\", \"notes\"} -> memory", "coach memory merge",
             memory_merge);
  add_filter(memory, "serialize", "memory -> {\"text\"}", "coach memory serialize", memory_serialize);
  add_filter(memory, "patterns", "{\"activities\", \"skip_days\"} -> {\"patterns\"}", "coach memory patterns",
             memory_patterns);
}

}  // namespace josi::cli
