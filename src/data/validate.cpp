#include "data/validate.hpp"

#include <algorithm>
#include <numeric>

#include "base/error.hpp"
#include "base/utf8.hpp"
#include "data/chat_example.hpp"
#include "data/jsonl.hpp"
#include "json/schema.hpp"

namespace josi::data {

namespace {

const std::string kInterpreterMarker = "\n\n[INTERPRETER]\n";

LengthStats summarize(std::vector<size_t> values) {
  LengthStats stats;
  if (values.empty()) return stats;
  std::sort(values.begin(), values.end());
  stats.count = values.size();
  stats.min = values.front();
  stats.max = values.back();
  stats.mean = static_cast<double>(std::accumulate(values.begin(), values.end(), size_t{0})) / values.size();
  stats.p95 = values[std::min(values.size() - 1, (values.size() * 95 + 99) / 100 - 1)];
  return stats;
}

bool looks_like_request(const std::string& text) {
  json::Json value;
  return json::try_parse(text, value) && value.is_object() && value.contains("action");
}

class Checker {
 public:
  explicit Checker(DatasetReport& report) : report_(report) {}

  void problem(size_t line, const std::string& kind, const std::string& detail) {
    ++report_.problem_counts[kind];
    report_.problems.push_back({line, kind, detail});
  }

  // Parses `text` as a GATCRequest and checks it; true when valid.
  bool check_request(size_t line, const std::string& text, const std::string& what) {
    json::Json request;
    if (!json::try_parse(text, request) || !request.is_object()) {
      problem(line, what + "_not_json", what + " is not a JSON object");
      return false;
    }
    if (request.contains("action") && request["action"].is_string())
      if (what == "target") ++report_.actions[request["action"].get<std::string>()];
    auto errors = json::Schema::gatc_request().validate(request);
    if (!errors.empty()) {
      std::string detail = errors.front();
      if (errors.size() > 1) detail += " (+" + std::to_string(errors.size() - 1) + " more)";
      problem(line, what + "_schema", detail);
      return false;
    }
    return true;
  }

 private:
  DatasetReport& report_;
};

}  // namespace

std::string mode_name(DatasetMode mode) { return mode == DatasetMode::interpreter ? "interpreter" : "explainer"; }

DatasetReport validate_dataset(const std::filesystem::path& path, std::optional<DatasetMode> mode) {
  DatasetReport report;
  report.file = path.string();
  auto records = read_jsonl(path);
  if (records.empty()) throw Error(path.string() + ": no examples (empty file)");
  report.lines = records.size();
  Checker check(report);

  std::vector<ChatExample> examples;
  for (const auto& record : records) {
    if (!record.ok()) {
      check.problem(record.line, "invalid_json", record.error.substr(record.error.find(": ") + 2));
      continue;
    }
    std::string why;
    auto example = chat_example_from_json(record.value, record.line, why);
    if (!example) {
      check.problem(record.line, "bad_structure", why);
      continue;
    }
    if (!example->is_single_turn()) {
      check.problem(record.line, "not_single_turn",
                    "needs exactly one assistant message, last, after a user message");
      continue;
    }
    examples.push_back(std::move(*example));
  }
  if (!mode) {
    mode = !examples.empty() && looks_like_request(examples.front().last("assistant")->content)
               ? DatasetMode::interpreter
               : DatasetMode::explainer;
  }
  report.mode = *mode;

  std::vector<size_t> prompt_lengths, target_lengths;
  for (const auto& example : examples) {
    const std::string& target = example.last("assistant")->content;
    const std::string& user = example.first("user")->content;
    bool ok = true;
    if (report.mode == DatasetMode::interpreter) {
      ok = check.check_request(example.line, target, "target");
    } else {
      if (target.find_first_not_of(" \t\r\n") == std::string::npos) {
        check.problem(example.line, "empty_target", "assistant answer is empty");
        ok = false;
      } else if (looks_like_request(target)) {
        check.problem(example.line, "target_is_json", "explainer answer is a JSON request, expected plain text");
        ok = false;
      }
      if (auto at = user.find(kInterpreterMarker); at != std::string::npos)
        ok = check.check_request(example.line, user.substr(at + kInterpreterMarker.size()), "interpreter_block") && ok;
    }
    if (!ok) continue;
    ++report.examples;
    size_t prompt = base::code_points(user);
    if (const Message* system = example.first("system")) prompt += base::code_points(system->content);
    prompt_lengths.push_back(prompt);
    target_lengths.push_back(base::code_points(target));
  }
  report.prompt_chars = summarize(prompt_lengths);
  report.target_chars = summarize(target_lengths);
  std::stable_sort(report.problems.begin(), report.problems.end(),
                   [](const DatasetProblem& a, const DatasetProblem& b) { return a.line < b.line; });
  return report;
}

namespace {
json::Json to_json(const LengthStats& s) {
  return {{"count", s.count}, {"min", s.min}, {"mean", s.mean}, {"p95", s.p95}, {"max", s.max}};
}
}  // namespace

json::Json to_json(const DatasetReport& report) {
  json::Json problems = json::Json::array();
  for (const auto& p : report.problems) problems.push_back({{"line", p.line}, {"kind", p.kind}, {"detail", p.detail}});
  json::Json counts = json::Json::object();
  for (const auto& [kind, n] : report.problem_counts) counts[kind] = n;
  json::Json actions = json::Json::object();
  for (const auto& [action, n] : report.actions) actions[action] = n;
  return {{"file", report.file},
          {"mode", mode_name(report.mode)},
          {"lines", report.lines},
          {"valid_examples", report.examples},
          {"problem_counts", counts},
          {"problems", problems},
          {"actions", actions},
          {"prompt_chars", to_json(report.prompt_chars)},
          {"target_chars", to_json(report.target_chars)}};
}

}  // namespace josi::data
