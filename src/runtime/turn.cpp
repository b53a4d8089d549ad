#include "runtime/turn.hpp"

#include <cmath>
#include <set>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "base/utf8.hpp"
#include "coach/think_block.hpp"
#include "json/schema.hpp"
#include "runtime/preset.hpp"

namespace josi::runtime {

using json::Json;

RoleSettings interpreter_preset() {
  RoleSettings s;
  s.sampling.temperature = 0.45f;
  s.sampling.top_p = 0.9f;
  s.sampling.repeat_penalty = 1.0f;
  return s;
}

RoleSettings explainer_preset() {
  RoleSettings s = interpreter_preset();
  s.sampling.repeat_penalty = 1.1f;
  return s;
}

namespace {

const std::set<std::string> kSamplingKeys = {"max_tokens", "temperature", "top_p",        "top_k",
                                             "min_p",      "repeat_penalty", "repeat_last_n"};

double number_of(const Json& v, const std::string& where) {
  if (!v.is_number()) throw Error(where + ": expected a number, got " + json::type_name(v));
  return v.get<double>();
}

int64_t integer_of(const Json& v, const std::string& where) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) throw Error(where + ": expected an integer, got " + json::type_name(v));
  return v.get<int64_t>();
}

// options.knowledge: {"max_cards": 0..8, "roles": ["interpreter", "explainer"]}.
void parse_knowledge_options(const Json& value, TurnInput& t) {
  if (!value.is_object()) throw Error("\"options.knowledge\": expected an object, got " + json::type_name(value));
  for (const auto& [key, v] : value.items()) {
    const std::string where = base::quoted("options.knowledge." + key);
    if (key == "max_cards") {
      const int64_t n = integer_of(v, where);
      if (n < 0 || n > 8) throw Error(where + ": must be 0..8");
      t.max_cards = static_cast<size_t>(n);
    } else if (key == "roles") {
      if (!v.is_array()) throw Error(where + ": expected an array of \"interpreter\" and \"explainer\"");
      std::vector<std::string> roles;
      for (const auto& role : v) {
        if (!role.is_string() || (role != "interpreter" && role != "explainer"))
          throw Error(where + ": expected \"interpreter\" or \"explainer\", got " + role.dump());
        roles.push_back(role.get<std::string>());
      }
      t.card_roles = roles;
    } else {
      throw Error(where + ": unknown option");
    }
  }
}

}  // namespace

RoleSettings with_overrides(RoleSettings settings, const Json& overrides, const char* role) {
  const std::string at = std::string("options") + (role ? std::string(".") + role : "");
  for (const auto& [key, value] : overrides.items()) {
    const std::string where = "\"" + at + "." + key + "\"";
    if (key == "max_tokens") {
      const int64_t n = integer_of(value, where);
      if (n < 1 || n > 4096) throw Error(where + ": must be 1..4096");
      settings.max_tokens = static_cast<int32_t>(n);
    } else if (key == "temperature") {
      settings.sampling.temperature = static_cast<float>(number_of(value, where));
    } else if (key == "top_p") {
      settings.sampling.top_p = static_cast<float>(number_of(value, where));
    } else if (key == "top_k") {
      settings.sampling.top_k = static_cast<int32_t>(integer_of(value, where));
    } else if (key == "min_p") {
      settings.sampling.min_p = static_cast<float>(number_of(value, where));
    } else if (key == "repeat_penalty") {
      settings.sampling.repeat_penalty = static_cast<float>(number_of(value, where));
    } else if (key == "repeat_last_n") {
      settings.sampling.repeat_last_n = static_cast<int32_t>(integer_of(value, where));
    } else if (key == "replay") {
      if (!value.is_string()) throw Error(where + ": expected the answer's text");
      settings.replay = value.get<std::string>();
    } else {
      throw Error(where + ": unknown option");
    }
  }
  try {
    settings.sampling.check();
  } catch (const Error& e) {
    throw Error(at + ": " + e.what());
  }
  return settings;
}

TurnInput parse_turn(const Json& input) {
  if (!input.is_object()) throw Error("turn: expected an object, got " + json::type_name(input));
  for (const auto& [key, _] : input.items())
    if (key != "message" && key != "context" && key != "options") throw Error("turn: unknown field \"" + key + "\"");
  TurnInput t;
  const auto message = input.find("message");
  if (message == input.end()) throw Error("turn: missing field \"message\"");
  if (!message->is_string()) throw Error("\"message\": expected a string, got " + json::type_name(*message));
  t.message = message->get<std::string>();
  if (t.message.find_first_not_of(" \t\r\n") == std::string::npos) throw Error("\"message\": is empty");
  const auto context = input.find("context");
  if (context == input.end()) throw Error("turn: missing field \"context\" (a ChatContext)");
  const auto errors = json::Schema::chat_context().validate(*context);
  if (!errors.empty()) {
    std::string line = "ChatContext " + errors.front();
    if (errors.size() > 1) line += " (+" + std::to_string(errors.size() - 1) + " more)";
    throw Error(line);
  }
  t.context = *context;

  const auto options = input.find("options");
  if (options == input.end() || options->is_null()) return t;
  if (!options->is_object()) throw Error("\"options\": expected an object, got " + json::type_name(*options));
  for (const auto& [key, value] : options->items()) {
    if (key == "seed") {
      if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
        throw Error("\"options.seed\": expected a non-negative integer");
      t.seed = value.get<uint64_t>();
    } else if (key == "preset") {
      if (!value.is_string()) throw Error("\"options.preset\": expected \"v5\" or \"v6\"");
      t.preset = preset_named(value.get<std::string>(), "\"options.preset\"").name;
    } else if (key == "knowledge") {
      parse_knowledge_options(value, t);
    } else if (key == "constrain") {
      if (!value.is_boolean()) throw Error("\"options.constrain\": expected true or false");
      t.constrain = value.get<bool>();
    } else if (key == "interpreter" || key == "explainer") {
      if (!value.is_object()) throw Error("\"options." + key + "\": expected an object");
      // A role also takes "replay": an answer its model is taken to write.
      for (const auto& [k, _] : value.items())
        if (!kSamplingKeys.count(k) && k != "replay") throw Error("\"options." + key + "." + k + "\": unknown option");
      Json& target = key == "interpreter" ? t.interpreter_overrides : t.explainer_overrides;
      for (const auto& [k, v] : value.items()) target[k] = v;
    } else if (kSamplingKeys.count(key)) {
      // Both roles, unless a role's own object says otherwise.
      if (!t.interpreter_overrides.contains(key)) t.interpreter_overrides[key] = value;
      if (!t.explainer_overrides.contains(key)) t.explainer_overrides[key] = value;
    } else {
      throw Error("\"options." + key + "\": unknown option");
    }
  }
  // Settle the values now, so a bad one fails before any model work.
  with_overrides(interpreter_preset(), t.interpreter_overrides, "interpreter");
  with_overrides(explainer_preset(), t.explainer_overrides, "explainer");
  return t;
}

void RoleRun::set_output(std::string_view written) {
  raw = base::valid_utf8(written);
  coach::ThinkSplit split = coach::split_thinking(raw);
  text = std::move(split.shown);
  thinking = std::move(split.thinking);
}

namespace {

Json cards_json(const std::vector<RoleRun::Card>& cards) {
  Json out = Json::array();
  for (const auto& c : cards) out.push_back({{"id", c.id}, {"score", c.score}});
  return out;
}

Json role_json(const RoleRun& r) {
  return {{"prompt", r.prompt},
          {"raw", r.raw},
          {"thinking", r.thinking},
          {"tokens", r.tokens},
          {"max_tokens", r.max_tokens},
          {"prompt_tokens", r.prompt_tokens},
          {"history_turns", r.history_turns},
          {"knowledge", cards_json(r.cards)},
          {"stop", r.stop},
          {"decoding",
           {{"forward_passes", r.decoding.forward_passes},
            {"forced_tokens", r.decoding.forced_tokens},
            {"drafted_tokens", r.decoding.drafted_tokens},
            {"accepted_draft_tokens", r.decoding.accepted_draft_tokens},
            {"fixed_text_tokens", r.decoding.fixed_text_tokens},
            {"accepted_fixed_text_tokens", r.decoding.accepted_fixed_text_tokens}}}};
}

}  // namespace

Json to_json(const TurnResult& r) {
  Json out;
  out["route"] = r.route;
  out["action"] = r.action;
  out["request"] = r.request ? *r.request : Json();
  out["reply"] = r.reply ? Json(*r.reply) : Json();
  Json interp = role_json(r.interpreter);
  interp["valid"] = r.interpreter_valid;
  interp["errors"] = r.interpreter_errors;
  interp["constrained"] = r.constrained;
  out["interpreter"] = interp;
  if (r.explainer) {
    Json ex = role_json(*r.explainer);
    ex["jargon"] = r.jargon;
    out["explainer"] = ex;
  } else {
    out["explainer"] = Json();
  }
  out["grounding"] = r.grounding ? scoring::to_json(*r.grounding) : Json();
  const auto ms = [](double v) { return std::round(v * 1000.0) / 1000.0; };
  Json timings = {{"interpreter_prompt", ms(r.interpreter.prompt_ms)},
                  {"interpreter_first_token", ms(r.interpreter.first_token_ms)},
                  {"interpreter_generate", ms(r.interpreter.generate_ms)},
                  {"interpreter_sample", ms(r.interpreter.sample_ms)},
                  {"interpreter_constraint", ms(r.interpreter.constraint_ms)},
                  {"explainer_prompt", r.explainer ? ms(r.explainer->prompt_ms) : 0.0},
                  {"explainer_first_token", r.explainer ? ms(r.explainer->first_token_ms) : 0.0},
                  {"explainer_generate", r.explainer ? ms(r.explainer->generate_ms) : 0.0},
                  {"total", ms(r.total_ms)}};
  out["timings_ms"] = timings;
  const auto cache_use = [](const RoleRun* run) -> Json {
    if (!run) return {{"reused", 0}, {"evaluated", 0}, {"moved", 0}, {"dropped", 0}};
    return {{"reused", run->reused_tokens},
            {"evaluated", run->prompt_tokens - run->reused_tokens},
            {"moved", run->moved_tokens},
            {"dropped", run->dropped_tokens}};
  };
  const RoleRun* explainer = r.explainer ? &*r.explainer : nullptr;
  out["cache"] = {{"interpreter", cache_use(&r.interpreter)},
                  {"explainer", cache_use(explainer)},
                  {"interpreter_prefix_tokens", r.interpreter.reused_tokens},
                  {"explainer_prefix_tokens", explainer ? explainer->reused_tokens : 0}};
  out["memory"] = r.memory;
  out["history"] = r.history;
  out["preset"] = r.preset;
  out["layout"] = r.layout;
  out["seed"] = r.seed;
  return out;
}

}  // namespace josi::runtime
