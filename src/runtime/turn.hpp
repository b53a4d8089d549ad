#pragma once
// One athlete turn as the app sends it and gets it back (docs/turn.md, with
// JSON Schemas in schemas/turn_input.schema.json and
// schemas/turn_result.schema.json), and the sampling settings of each role.
//
// Input:  {"message": str, "context": ChatContext, "options": {...}?}
// options: seed, preset ("v5" | "v6"), max_tokens, temperature, top_p,
//          top_k, min_p, repeat_penalty, repeat_last_n (both roles),
//          constrain (the interpreter's output constraint), knowledge
//          ({"max_cards": N, "roles": [...]}: the coaching cards), and
//          "interpreter" / "explainer" objects with the sampling keys for
//          one role only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infer/generator.hpp"
#include "json/json.hpp"
#include "scoring/grounding.hpp"
#include "text/chat_template.hpp"

namespace josi::runtime {

// Receives the reply text as it is produced.
using TextCallback = std::function<void(std::string_view piece)>;

// A role's generation settings: the seed's runtime preset (temperature 0.45,
// top-p 0.9, at most 150 tokens).
struct RoleSettings {
  infer::SamplingParams sampling;
  int32_t max_tokens = 150;
  // Fewer forward passes, the same answer (infer/generator.hpp).
  bool batch_forced = true;
  int32_t draft_tokens = 16;  // 0: no speculation
  // When set, the model is taken to write this answer (infer::GenerateOptions::replay):
  // for benchmarks on the users' real outputs.
  std::optional<std::string> replay;
  // Text the answer may copy into its strings (infer::GenerateOptions::copy_source);
  // the runtime sets the athlete's message for the constrained interpreter.
  std::string copy_source;
};

// The interpreter copies the athlete's words into free_text and question, so
// it gets no repetition penalty; the explainer a mild one against loops.
RoleSettings interpreter_preset();
RoleSettings explainer_preset();

struct TurnInput {
  std::string message;
  json::Json context;  // a schema-valid ChatContext
  std::optional<uint64_t> seed;
  std::optional<std::string> preset;  // unset: the coach's
  std::optional<size_t> max_cards;    // unset: the coach's
  std::optional<std::vector<std::string>> card_roles;  // unset: the coach's
  std::optional<bool> constrain;
  json::Json interpreter_overrides = json::Json::object();  // sampling keys for each role
  json::Json explainer_overrides = json::Json::object();
};

// Checks the shape of a turn and its ChatContext; throws josi::Error with one
// line naming the bad field (or the ChatContext's JSON path).
TurnInput parse_turn(const json::Json& input);

// `settings` with a role's overrides applied; throws naming a bad key or value.
RoleSettings with_overrides(RoleSettings settings, const json::Json& overrides, const char* role);

struct RoleRun {
  std::vector<text::ChatMessage> messages;  // the conversation the model answered
  std::string prompt;   // its ChatML text, sent to the model
  std::vector<int32_t> prompt_ids;  // and its tokens
  std::string raw;      // what the model wrote
  std::string text;     // raw without its think blocks: what the turn reads (coach/think_block.hpp)
  std::string thinking; // the think blocks' contents; empty when there were none
  int64_t tokens = 0;   // generated tokens
  int32_t max_tokens = 0;  // the most it could write
  int64_t history_turns = 0;  // history entries the prompt kept
  struct Card {
    std::string id;
    double score = 0;
  };
  std::vector<Card> cards;    // the coaching cards in its prompt
  int64_t prompt_tokens = 0;
  int64_t reused_tokens = 0;   // of the prompt's, whose keys and values came from the cache
  int64_t moved_tokens = 0;    // of those, moved over older turns the prompt no longer has
  int64_t dropped_tokens = 0;  // cached positions of those older turns, dropped
  double prompt_ms = 0, first_token_ms = 0, generate_ms = 0, sample_ms = 0, constraint_ms = 0;
  std::string stop;     // stop_token | max_tokens | context_full
  infer::DecodingCounts decoding;
  // Sets raw to what the model wrote (made valid UTF-8) and text and thinking from it.
  void set_output(std::string_view written);
};

struct TurnResult {
  std::string route;   // engine | clarify | explainer
  std::string action;
  std::optional<json::Json> request;  // the validated GATCRequest for the engine
  std::optional<std::string> reply;   // what the athlete sees
  RoleRun interpreter;
  bool interpreter_valid = false;
  bool constrained = true;
  std::vector<std::string> interpreter_errors;
  std::optional<RoleRun> explainer;
  std::vector<std::string> jargon;    // forbidden terms in the explainer's reply
  // The explainer's reply checked against the user turn it answered
  // (scoring/grounding.hpp): numbers the context does not hold,
  // prescriptions, system leaks. Flagged only; the app decides.
  std::optional<scoring::Grounding> grounding;
  json::Json memory;                  // athlete_memory after this turn
  // The entries this turn adds to the conversation's history, for the next
  // turn's context: the athlete's message (with the coach's user turn as
  // "prompt" in the v6 layout, when the coach answered) and the reply.
  json::Json history = json::Json::array();
  std::string preset, layout;         // what the turn ran with
  uint64_t seed = 0;
  double total_ms = 0;
};

json::Json to_json(const TurnResult& result);

}  // namespace josi::runtime
