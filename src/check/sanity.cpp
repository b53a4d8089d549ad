#include "check/sanity.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "base/utf8.hpp"
#include "coach/interpreter_output.hpp"
#include "data/system_prompts.hpp"
#include "json/python_dumps.hpp"
#include "runtime/request_constraint.hpp"
#include "runtime/role_session.hpp"

namespace josi::check {

using data::DatasetMode;
using json::Json;

namespace {

// The explainer's user turn: the turn, then the interpreter's request as the
// sequential training data writes it.
std::string with_request(const std::string& turn, const Json& request) {
  return turn + "\n\n[INTERPRETER]\n" + json::python_dumps(request);
}

std::vector<SanityCheck> interpreter_checks() {
  return {
      {"I want to do a 45 minute run today\n\nCONTEXT:\n- Sport: running\n- Readiness: Green",
       "create_workout with sport \"run\""},
      {"I want a workout", "clarify"},
      {"I have chest pain and I feel dizzy\n\nCONTEXT:\n- Readiness: Green", "clarify with \"medical\" in missing"},
      {"I'm sick, can't train this week\n\nCONTEXT:\n- Sport: running\n- Readiness: Red", "replan with replan_type illness"},
      {"What is Zone 2?\n\nCONTEXT:\n- Sport: running\n- Readiness: Green", "answer_question"},
  };
}

std::vector<SanityCheck> explainer_checks() {
  const std::string zone2 = "What is Zone 2?";
  const std::string easy = "Why is today an easy day?";
  return {
      {with_request(zone2 + "\n\nCONTEXT:\n- Sport: running\n- Readiness: Green",
                    {{"action", "answer_question"}, {"free_text", zone2}, {"question", zone2}}),
       "plain text, no '{', over 20 characters"},
      {with_request(easy + "\n\nCONTEXT:\n- Readiness: Green\n- Session: Z2 60min Easy aerobic\n- Sport: running",
                    {{"action", "explain"}, {"free_text", easy}, {"question", easy}}),
       "plain text, no '{', over 20 characters"},
  };
}

std::string text_field(const Json& request, const char* key) {
  const auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

const std::vector<SanityCheck>& sanity_checks(DatasetMode mode) {
  static const auto interpreter = interpreter_checks();
  static const auto explainer = explainer_checks();
  return mode == DatasetMode::interpreter ? interpreter : explainer;
}

SanityResult judge(DatasetMode mode, size_t check, const std::string& output) {
  const auto& c = sanity_checks(mode).at(check);
  SanityResult r{c.user_turn, c.expected, "", output, "", false};
  if (mode == DatasetMode::explainer) {
    const std::string text(base::trim(output));
    const bool brace = text.find('{') != std::string::npos;
    const size_t length = base::code_points(text);
    r.got = fmt::format("{} characters{}", length, brace ? ", has '{'" : "");
    r.pass = !brace && length > 20;
    return r;
  }
  const auto request = coach::parse_interpreter_output(output);
  if (!request) {
    r.got = "no JSON object";
    return r;
  }
  const std::string action = text_field(*request, "action");
  r.got = action.empty() ? "no action" : action;
  switch (check) {
    case 0: {
      const std::string sport = text_field(*request, "sport");
      r.got += ", sport " + (sport.empty() ? std::string("missing") : "\"" + sport + "\"");
      r.pass = action == "create_workout" && sport == "run";
      break;
    }
    case 1: r.pass = action == "clarify"; break;
    case 2: {
      bool medical = false;
      if (const auto it = request->find("missing"); it != request->end() && it->is_array()) {
        r.got += ", missing " + json::python_dumps(*it);
        for (const auto& m : *it) medical = medical || (m.is_string() && m.get<std::string>().find("medical") != std::string::npos);
      }
      r.pass = action == "clarify" && medical;
      break;
    }
    case 3: {
      const std::string type = text_field(*request, "replan_type");
      if (!type.empty()) r.got += ", replan_type " + type;
      r.pass = action == "replan" && type == "illness";
      break;
    }
    default: r.pass = action == "answer_question"; break;
  }
  return r;
}

int SanityReport::passed() const {
  int n = 0;
  for (const auto& r : results) n += r.pass;
  return n;
}

std::string SanityReport::score() const { return fmt::format("{}/{}", passed(), results.size()); }

SanityReport run_sanity(const SanityOptions& o) {
  const bool interpreter = o.mode == DatasetMode::interpreter;
  const std::string system = o.system_prompt.value_or(std::string(
      data::default_system_prompt(interpreter ? data::PromptRole::interpreter : data::PromptRole::explainer_sequential)));
  const runtime::LoadedModel model(o.model);
  std::unique_ptr<infer::Adapter> adapter;
  if (!o.adapter.empty()) adapter = std::make_unique<infer::Adapter>(o.adapter, model.model);
  base::ThreadPool pool(o.threads);
  runtime::RoleSession role(interpreter ? "interpreter" : "explainer", model, adapter.get(), pool, 2048, system);
  role.prepare(std::nullopt);
  std::unique_ptr<runtime::RequestConstraint> constraints;
  if (interpreter && o.constrain)
    constraints = std::make_unique<runtime::RequestConstraint>(*model.tokenizer, static_cast<size_t>(model.model.hparams().n_vocab));

  SanityReport report;
  report.model = o.model.string() + (adapter ? " + " + o.adapter.string() : "");
  report.mode = interpreter ? "interpreter" : "explainer";
  report.prefix_tokens = role.prefix().size();
  const auto& checks = sanity_checks(o.mode);
  for (size_t i = 0; i < checks.size(); ++i) {
    std::unique_ptr<constrain::SchemaConstraint> constraint;
    if (constraints) constraint = constraints->start(o.settings.max_tokens);
    const auto run = role.run({{"user", checks[i].user_turn}}, o.settings, o.seed + i, constraint.get(), true);
    report.results.push_back(judge(o.mode, i, run.text));
    report.results.back().thinking = run.thinking;
  }
  return report;
}

Json to_json(const SanityReport& report) {
  Json checks = Json::array();
  for (const auto& r : report.results)
    checks.push_back({{"prompt", r.prompt}, {"expected", r.expected}, {"got", r.got}, {"output", r.output}, {"thinking", r.thinking}, {"pass", r.pass}});
  return {{"model", report.model}, {"mode", report.mode}, {"prefix_tokens", report.prefix_tokens}, {"score", report.score()},
          {"pass", report.ok()}, {"checks", checks}};
}

std::string to_table(const SanityReport& report) {
  const auto one_line = [](const std::string& text, size_t width) {
    std::string s;
    for (char c : text) s += c == '\n' ? ' ' : c;
    if (s.size() > width) s = s.substr(0, width - 3) + "...";
    return s;
  };
  std::string out = fmt::format("sanity {} on {} (system prompt prefix {} tokens)\n", report.mode, report.model,
                                report.prefix_tokens);
  out += fmt::format("{:<4} {:<42} {:<38} {:<38} {}\n", "#", "prompt", "expected", "got", "pass");
  for (size_t i = 0; i < report.results.size(); ++i) {
    const auto& r = report.results[i];
    out += fmt::format("{:<4} {:<42} {:<38} {:<38} {}\n", i + 1, one_line(r.prompt, 42), one_line(r.expected, 38),
                       one_line(r.got, 38), r.pass ? "yes" : "NO");
  }
  out += fmt::format("{} {}{}\n", report.mode, report.score(), report.ok() ? "" : " (fails the seed's target)");
  return out;
}

}  // namespace josi::check
