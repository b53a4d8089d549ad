#include "check/sanity.hpp"

#include <fmt/format.h>

#include "base/strings.hpp"
#include "runtime/preset.hpp"
#include <set>
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

const char* const kCoachText = "plain text, no '{', over 20 characters";

SanityCheck interpreter_check(std::string name, std::string turn, std::vector<std::string> actions, std::string expected) {
  SanityCheck c;
  c.name = std::move(name);
  c.group = "sanity";
  c.user_turn = std::move(turn);
  c.actions = std::move(actions);
  c.expected = std::move(expected);
  return c;
}

SanityCheck coach_check(std::string name, std::string turn) {
  SanityCheck c;
  c.name = std::move(name);
  c.group = "sanity";
  c.user_turn = std::move(turn);
  c.expected = kCoachText;
  return c;
}

std::vector<SanityCheck> v5_interpreter_checks() {
  auto run = interpreter_check("1", "I want to do a 45 minute run today\n\nCONTEXT:\n- Sport: running\n- Readiness: Green",
                               {"create_workout"}, "create_workout with sport \"run\"");
  run.sport = "run";
  auto chest = interpreter_check("3", "I have chest pain and I feel dizzy\n\nCONTEXT:\n- Readiness: Green", {"clarify"},
                                 "clarify with \"medical\" in missing");
  chest.missing_has = "medical";
  auto sick = interpreter_check("4", "I'm sick, can't train this week\n\nCONTEXT:\n- Sport: running\n- Readiness: Red",
                                {"replan"}, "replan with replan_type illness");
  sick.replan_type = "illness";
  return {run, interpreter_check("2", "I want a workout", {"clarify"}, "clarify"), chest, sick,
          interpreter_check("5", "What is Zone 2?\n\nCONTEXT:\n- Sport: running\n- Readiness: Green", {"answer_question"},
                            "answer_question")};
}

std::vector<SanityCheck> v5_explainer_checks() {
  const std::string zone2 = "What is Zone 2?";
  const std::string easy = "Why is today an easy day?";
  return {coach_check("1", with_request(zone2 + "\n\nCONTEXT:\n- Sport: running\n- Readiness: Green",
                                        {{"action", "answer_question"}, {"free_text", zone2}, {"question", zone2}})),
          coach_check("2", with_request(easy + "\n\nCONTEXT:\n- Readiness: Green\n- Session: Z2 60min Easy aerobic\n- Sport: running",
                                        {{"action", "explain"}, {"free_text", easy}, {"question", easy}}))};
}

// The v6 CONTEXT blocks, Sport first as the users' v6 checks write them.
std::string with_context(const std::string& message, const std::string& lines) {
  return lines.empty() ? message : message + "\n\nCONTEXT:\n" + lines;
}
const char* const kRunGreen = "- Sport: running\n- Readiness: Green";

// The v6 coach's user turn: its [INTERPRETER] request with the keys in the
// order the users' checks write them (action, question, free_text).
std::string v6_coach_turn(const std::string& message, const std::string& lines, const std::string& action,
                          const std::string& question) {
  return with_request(with_context(message, lines), {{"action", action}, {"question", question}, {"free_text", message}});
}

std::vector<SanityCheck> v6_interpreter_checks() {
  std::vector<SanityCheck> checks = v5_interpreter_checks();
  for (size_t i = 0; i < checks.size(); ++i) checks[i].name = "I" + std::to_string(i + 1);
  auto dutch = interpreter_check("I6", with_context("Ik wil een hardlooptraining van een uur", kRunGreen), {"create_workout"},
                                 "create_workout with sport \"run\"");
  dutch.sport = "run";
  checks.push_back(dutch);
  // The test set: each output a well-formed request, with the named action (and sport).
  const auto test = [&](const std::string& message, const std::string& lines, std::vector<std::string> actions,
                        const std::string& sport = "") {
    SanityCheck c;
    c.name = "T" + std::to_string(checks.size() - 5);
    c.group = "tests";
    c.user_turn = with_context(message, lines);
    c.actions = std::move(actions);
    c.sport = sport;
    c.request_shape = true;
    c.expected = base::join(c.actions, " or ") + (sport.empty() ? "" : " with sport \"" + sport + "\"") + ", a well-formed request";
    checks.push_back(std::move(c));
  };
  test("I want to do a 45 minute run today", kRunGreen, {"create_workout"}, "run");
  test("Can I do 30 minutes on the bike?", "- Sport: cycling\n- Readiness: Green", {"create_workout"}, "bike");
  test("I have an hour for strength training", "- Sport: strength\n- Readiness: Green", {"create_workout"}, "strength");
  test("I want a workout", "", {"clarify"});
  test("Train me", "", {"clarify"});
  test("I have chest pain and I feel dizzy", "- Readiness: Green", {"clarify"});
  test("I'm sick, can't train this week", "- Sport: running\n- Readiness: Red", {"replan"});
  test("Skip today, I'm traveling", kRunGreen, {"replan"});
  test("What is Zone 2?", kRunGreen, {"answer_question"});
  test("How often should I run per week?", kRunGreen, {"answer_question"});
  test("Why is today an easy day?", "- Sport: running\n- Session: Z2 60min\n- Readiness: Green", {"explain"});
  test("Ik wil een hardlooptraining van een uur", kRunGreen, {"create_workout"}, "run");
  test("Wat is Zone 2?", kRunGreen, {"answer_question"});
  test("Ik ben ziek, kan deze week niet trainen", "- Sport: running\n- Readiness: Red", {"replan"});
  test("My knee hurts when I run", "- Sport: running\n- Readiness: Yellow", {"clarify", "replan"});
  test("I want to run a marathon in 2 weeks, I've never run before", kRunGreen, {"clarify", "create_workout"});
  return checks;
}

std::vector<SanityCheck> v6_coach_checks() {
  const std::string easy = "Why is today an easy day?";
  const std::string easy_lines = "- Sport: running\n- Session: Z2 60min Easy aerobic\n- Readiness: Green";
  std::vector<SanityCheck> checks = {
      coach_check("C1", v6_coach_turn("What is Zone 2?", kRunGreen, "answer_question", "What is Zone 2?")),
      coach_check("C2", v6_coach_turn(easy, easy_lines, "explain", easy)),
      coach_check("C3", v6_coach_turn("Wat is Zone 2?", kRunGreen, "answer_question", "Wat is Zone 2?")),
  };
  const auto test = [&](std::string turn) {
    SanityCheck c;
    c.name = "T" + std::to_string(checks.size() - 2);
    c.group = "tests";
    c.user_turn = std::move(turn);
    c.text_at_least_20 = true;
    c.expected = "text of 20 characters or more, not a JSON object";
    checks.push_back(std::move(c));
  };
  for (const auto& c : std::vector<SanityCheck>(checks)) test(c.user_turn);
  test(v6_coach_turn("How often should I run per week as a beginner?", kRunGreen, "answer_question",
                     "How often should I run per week?"));
  test(v6_coach_turn("I feel tired all the time. Is that normal?", "- Sport: running\n- Readiness: Yellow",
                     "answer_question", "Is fatigue normal?"));
  test(v6_coach_turn("Waarom is mijn paraatheid rood?", "- Sport: running\n- Readiness: Red", "explain",
                     "Waarom is mijn paraatheid rood?"));
  return checks;
}

const char* report_role(bool interpreter) { return interpreter ? "interpreter" : "explainer"; }

std::string text_field(const Json& request, const char* key) {
  const auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : "";
}

// The v6 test set's request rules; the first one broken, or "".
std::string request_shape_problem(const Json& request) {
  static const std::set<std::string> keys = {"action", "sport", "date", "time_available_min", "goal", "constraints",
                                             "replan_type", "question", "missing", "clarify_message", "free_text"};
  static const std::set<std::string> actions = {"create_workout", "replan", "explain", "answer_question", "clarify"};
  static const std::set<std::string> sports = {"run", "bike", "ski", "skate", "strength", "other"};
  static const std::set<std::string> replans = {"skip_today", "swap_days", "reschedule", "reduce_intensity",
                                                "illness", "travel", "goal_change"};
  for (const auto& [key, _] : request.items())
    if (!keys.count(key)) return "unknown key " + base::quoted(key);
  const std::string action = text_field(request, "action");
  if (!request.contains("free_text")) return "no free_text";
  if (!actions.count(action)) return "unknown action";
  if (action == "create_workout" && !sports.count(text_field(request, "sport"))) return "create_workout without a valid sport";
  if (action == "replan" && !replans.count(text_field(request, "replan_type"))) return "replan without a valid replan_type";
  if (action == "clarify" && (!request.contains("missing") || !request.contains("clarify_message")))
    return "clarify without missing and clarify_message";
  return "";
}

SanityResult judge_coach(const SanityCheck& c, SanityResult r) {
  const std::string text(base::trim(r.output));
  const size_t length = base::code_points(text);
  if (c.text_at_least_20) {
    Json parsed;
    const bool object = !text.empty() && text.front() == '{' && text.back() == '}' && json::try_parse(text, parsed);
    r.got = fmt::format("{} characters{}", length, object ? ", a JSON object" : "");
    r.pass = length >= 20 && !object;
    return r;
  }
  const bool brace = text.find('{') != std::string::npos;
  r.got = fmt::format("{} characters{}", length, brace ? ", has '{'" : "");
  r.pass = !brace && length > 20;
  return r;
}

}  // namespace

const std::vector<SanityCheck>& sanity_checks(DatasetMode mode, const std::string& preset) {
  static const auto v5_interpreter = v5_interpreter_checks();
  static const auto v5_explainer = v5_explainer_checks();
  static const auto v6_interpreter = v6_interpreter_checks();
  static const auto v6_coach = v6_coach_checks();
  const bool interpreter = mode == DatasetMode::interpreter;
  if (preset == "v6") return interpreter ? v6_interpreter : v6_coach;
  return interpreter ? v5_interpreter : v5_explainer;
}

SanityResult judge(const SanityCheck& c, const std::string& output) {
  SanityResult r{c.name, c.group, c.user_turn, c.expected, "", output, "", false};
  if (c.actions.empty()) return judge_coach(c, std::move(r));
  const auto request = coach::parse_interpreter_output(output);
  if (!request) {
    r.got = "no JSON object";
    return r;
  }
  const std::string action = text_field(*request, "action");
  r.got = action.empty() ? "no action" : action;
  r.pass = std::find(c.actions.begin(), c.actions.end(), action) != c.actions.end();
  if (!c.sport.empty()) {
    const std::string sport = text_field(*request, "sport");
    r.got += ", sport " + (sport.empty() ? std::string("missing") : "\"" + sport + "\"");
    r.pass = r.pass && sport == c.sport;
  }
  if (!c.replan_type.empty()) {
    const std::string type = text_field(*request, "replan_type");
    if (!type.empty()) r.got += ", replan_type " + type;
    r.pass = r.pass && type == c.replan_type;
  }
  if (!c.missing_has.empty()) {
    bool found = false;
    if (const auto it = request->find("missing"); it != request->end() && it->is_array()) {
      r.got += ", missing " + json::python_dumps(*it);
      for (const auto& m : *it)
        found = found || (m.is_string() && m.get<std::string>().find(c.missing_has) != std::string::npos);
    }
    r.pass = r.pass && found;
  }
  if (c.request_shape) {
    const std::string problem = request_shape_problem(*request);
    if (!problem.empty()) r.got += ", " + problem;
    r.pass = r.pass && problem.empty();
  }
  return r;
}

SanityResult judge(DatasetMode mode, size_t check, const std::string& output) {
  return judge(sanity_checks(mode).at(check), output);
}

int SanityReport::passed() const {
  int n = 0;
  for (const auto& r : results) n += r.pass;
  return n;
}

std::string SanityReport::score() const { return fmt::format("{}/{}", passed(), results.size()); }

std::string SanityReport::score(const std::string& group) const {
  size_t n = 0, pass = 0;
  for (const auto& r : results)
    if (r.group == group) {
      ++n;
      pass += r.pass;
    }
  return fmt::format("{}/{}", pass, n);
}

std::vector<std::string> SanityReport::groups() const {
  std::vector<std::string> out;
  for (const auto& r : results)
    if (std::find(out.begin(), out.end(), r.group) == out.end()) out.push_back(r.group);
  return out;
}

SanityReport run_sanity(const SanityOptions& o) {
  const bool interpreter = o.mode == DatasetMode::interpreter;
  const runtime::Preset& preset = runtime::preset_named(o.preset, "--preset");
  const std::string system = o.system_prompt.value_or(std::string(
      data::default_system_prompt(interpreter ? data::PromptRole::interpreter : data::PromptRole::explainer_sequential)));
  // v5 runs both roles with the seed's settings; v6 each role with its preset's.
  runtime::RoleSettings settings = runtime::interpreter_preset();
  if (preset.name != "v5")
    settings = runtime::with_overrides(interpreter ? runtime::interpreter_preset() : runtime::explainer_preset(),
                                       interpreter ? preset.interpreter : preset.explainer, report_role(interpreter));
  if (o.greedy) settings.sampling.temperature = 0;
  const runtime::LoadedModel model(o.model);
  std::unique_ptr<infer::Adapter> adapter;
  if (!o.adapter.empty()) adapter = std::make_unique<infer::Adapter>(o.adapter, model.model);
  base::ThreadPool pool(o.threads);
  runtime::RoleSession role(report_role(interpreter), model, adapter.get(), pool, preset.role_n_ctx(interpreter), system,
                            o.kv_type);
  role.prepare(std::nullopt);
  std::unique_ptr<runtime::RequestConstraint> constraints;
  if (interpreter && o.constrain)
    constraints = std::make_unique<runtime::RequestConstraint>(*model.tokenizer, static_cast<size_t>(model.model.hparams().n_vocab));

  SanityReport report;
  report.model = o.model.string() + (adapter ? " + " + o.adapter.string() : "");
  report.mode = report_role(interpreter);
  report.preset = preset.name;
  report.prefix_tokens = role.prefix().size();
  const auto& checks = sanity_checks(o.mode, preset.name);
  for (size_t i = 0; i < checks.size(); ++i) {
    std::unique_ptr<constrain::SchemaConstraint> constraint;
    if (constraints) constraint = constraints->start(settings.max_tokens);
    const auto run = role.run({{"user", checks[i].user_turn}}, settings, o.seed + i, constraint.get(), true);
    report.results.push_back(judge(checks[i], run.text));
    report.results.back().thinking = run.thinking;
  }
  return report;
}

Json to_json(const SanityReport& report) {
  Json checks = Json::array();
  for (const auto& r : report.results)
    checks.push_back({{"name", r.name}, {"group", r.group}, {"prompt", r.prompt}, {"expected", r.expected}, {"got", r.got},
                      {"output", r.output}, {"thinking", r.thinking}, {"pass", r.pass}});
  Json groups = Json::object();
  for (const auto& g : report.groups()) groups[g] = report.score(g);
  return {{"model", report.model},   {"mode", report.mode},   {"preset", report.preset},
          {"prefix_tokens", report.prefix_tokens}, {"score", report.score()}, {"scores", groups},
          {"pass", report.ok()},     {"checks", checks}};
}

std::string to_table(const SanityReport& report) {
  const auto one_line = [](const std::string& text, size_t width) {
    std::string s;
    for (char c : text) s += c == '\n' ? ' ' : c;
    if (s.size() > width) s = s.substr(0, width - 3) + "...";
    return s;
  };
  std::string out = fmt::format("sanity {} ({} checks) on {} (system prompt prefix {} tokens)\n", report.mode, report.preset,
                                report.model, report.prefix_tokens);
  out += fmt::format("{:<4} {:<42} {:<38} {:<38} {}\n", "#", "prompt", "expected", "got", "pass");
  for (const auto& r : report.results)
    out += fmt::format("{:<4} {:<42} {:<38} {:<38} {}\n", r.name, one_line(r.prompt, 42), one_line(r.expected, 38),
                       one_line(r.got, 38), r.pass ? "yes" : "NO");
  std::string scores;
  for (const auto& g : report.groups()) scores += (scores.empty() ? "" : ", ") + g + " " + report.score(g);
  out += fmt::format("{} {}{}\n", report.mode, report.groups().size() > 1 ? scores : report.score(),
                     report.ok() ? "" : " (fails the release target: every check must pass)");
  return out;
}

}  // namespace josi::check
