#include "data/validate.hpp"

#include <algorithm>
#include <numeric>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "base/utf8.hpp"
#include "base/files.hpp"
#include "data/chat_example.hpp"
#include "data/conversation_file.hpp"
#include "data/jsonl.hpp"
#include "json/schema.hpp"
#include "text/chat_template.hpp"

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

class Checker {
 public:
  explicit Checker(DatasetReport& report) : report_(report) {}

  void problem(size_t line, const std::string& kind, const std::string& detail) {
    ++report_.problem_counts[kind];
    report_.problems.push_back({line, kind, detail});
  }
  void warning(size_t line, const std::string& kind, const std::string& detail) {
    ++report_.warning_counts[kind];
    report_.warnings.push_back({line, kind, detail});
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

std::string mode_name(DatasetMode mode) {
  switch (mode) {
    case DatasetMode::interpreter: return "interpreter";
    case DatasetMode::explainer: return "explainer";
    case DatasetMode::unified: return "unified";
  }
  return "?";
}

DatasetMode dataset_mode_from_name(const std::string& name, const std::string& flag) {
  for (auto mode : {DatasetMode::interpreter, DatasetMode::explainer, DatasetMode::unified})
    if (name == mode_name(mode)) return mode;
  throw Error(flag + " " + name + ": expected interpreter, explainer or unified", ExitCode::usage);
}

namespace {

// The app always sends a system prompt, CONTEXT, and for the coach the
// interpreter's request: rows without them train on what the app never sends.
constexpr std::string_view kContextLine = "CONTEXT:";
constexpr std::string_view kKnowledgeTag = "[KNOWLEDGE]";

size_t occurrences(std::string_view text, std::string_view part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string_view::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

// interpreter when most targets are GATCRequests, explainer when almost none
// are, unified (both roles) in between.
DatasetMode guess_mode(const std::vector<ChatExample>& rows) {
  size_t requests = 0, targets = 0;
  for (const auto& row : rows)
    for (const auto& turn : unroll(row)) {
      ++targets;
      requests += is_request_target(turn.target);
    }
  if (requests * 10 >= targets * 9) return DatasetMode::interpreter;
  if (requests * 10 <= targets) return DatasetMode::explainer;
  return DatasetMode::unified;
}

}  // namespace

DatasetReport validate_dataset(const std::filesystem::path& path, std::optional<DatasetMode> mode,
                               const LengthCheck& length) {
  DatasetReport report;
  report.file = path.string();
  Checker check(report);
  // A .conv file is checked as the rows it converts to, each at the line
  // its conversation starts, with the converter's own checks first.
  std::vector<JsonlRecord> records;
  if (path.extension() == ".conv") {
    const ConversationFile file = parse_conversation_file(base::read_file(path));
    for (const auto& c : file.conversations) {
      for (const auto& problem : conversation_problems(c)) check.problem(c.line, "conversation", problem);
      records.push_back({c.line, conversation_row(file, c), ""});
    }
  } else {
    records = read_jsonl(path);
  }
  if (records.empty()) throw Error(path.string() + ": no examples (empty file)");
  std::vector<ChatExample> rows;
  report.lines = records.size();
  for (auto& record : records) {
    if (!record.ok()) {
      check.problem(record.line, "invalid_json", record.error.substr(record.error.find(": ") + 2));
      continue;
    }
    std::string why;
    auto row = chat_example_from_json(record.value, record.line, why);
    if (!row) {
      check.problem(record.line, "bad_structure", why);
      continue;
    }
    if (!row->last("assistant")) {
      check.problem(record.line, "no_answer", "no assistant message: nothing to train on");
      continue;
    }
    rows.push_back(std::move(*row));
  }
  report.mode = mode ? *mode : guess_mode(rows);

  std::vector<size_t> prompt_lengths, target_lengths;
  for (const auto& row : rows) {
    const size_t line = row.line;
    ++report.rows_by_messages[row.messages.size()];
    const bool has_system = row.messages.front().role == "system";
    const bool interpreter_prompt = has_system && is_interpreter_prompt(row.messages.front().content);
    if (!has_system) {
      ++report.rows_without_system_prompt;
      check.warning(line, "no_system_prompt", "no system prompt (the app always sends one)");
    } else {
      ++(interpreter_prompt ? report.rows_with_interpreter_prompt : report.rows_with_other_prompt);
    }
    size_t knowledge = 0;
    bool two_blocks = false;
    for (const auto& m : row.messages) {
      if (m.role != "user") continue;
      const size_t blocks = occurrences(m.content, kKnowledgeTag);
      knowledge += blocks;
      two_blocks = two_blocks || blocks >= 2;
      report.knowledge_blocks.selector += occurrences(m.content, std::string(kKnowledgeTag) + "\n\n");
    }
    report.knowledge_blocks.total += knowledge;
    report.rows_with_knowledge += knowledge > 0;
    if (two_blocks) {
      ++report.rows_with_two_knowledge_blocks;
      check.warning(line, "two_knowledge_blocks", "a user turn with two [KNOWLEDGE] blocks (the app sends one)");
    }
    const auto turns = unroll(row);
    report.unrolled_examples += turns.size();
    report.multi_turn_rows += turns.size() > 1;
    bool coach_under_interpreter = false, coach_without_context = false, coach_without_request = false;
    for (const auto& [prompt, target] : turns) {
      const Message* user = nullptr;
      for (const auto& m : prompt)
        if (m.role == "user") user = &m;
      const std::string user_text = user ? user->content : std::string();
      const bool interpreter = report.mode == DatasetMode::interpreter ||
                               (report.mode == DatasetMode::unified && is_request_target(target));
      bool ok = true;
      if (interpreter) {
        ok = check.check_request(line, target, "target");
        report.request_targets_under_interpreter_prompt += interpreter_prompt;
      } else {
        if (target.find_first_not_of(" \t\r\n") == std::string::npos) {
          check.problem(line, "empty_target", "assistant answer is empty");
          ok = false;
        } else if (is_request_target(target)) {
          check.problem(line, "target_is_json", "explainer answer is a JSON request, expected plain text");
          ok = false;
        }
        if (auto at = user_text.find(kInterpreterMarker); at != std::string::npos)
          ok = check.check_request(line, user_text.substr(at + kInterpreterMarker.size()), "interpreter_block") && ok;
        coach_under_interpreter = coach_under_interpreter || interpreter_prompt;
        coach_without_context = coach_without_context || user_text.find(kContextLine) == std::string::npos;
        coach_without_request = coach_without_request || user_text.find(kInterpreterMarker) == std::string::npos;
      }
      report.length_checked = length.tokenizer != nullptr;
      if (length.tokenizer) {
        std::vector<text::ChatMessage> chat;
        for (const auto& m : prompt) chat.push_back({m.role, m.content});
        const size_t tokens = text::encode_chatml(*length.tokenizer, chat, true).size() +
                              length.tokenizer->encode(target).size() + 1;  // + <|im_end|>
        if (static_cast<int64_t>(tokens) >= length.max_seq_length) {
          ++report.over_length_examples;
          check.warning(line, "over_length", std::to_string(tokens) + " tokens, the limit is " +
                                                std::to_string(length.max_seq_length) + ": the answer is cut");
        }
      }
      if (!ok) continue;
      ++report.examples;
      size_t prompt_chars = 0;
      for (const auto& m : prompt) prompt_chars += base::code_points(m.content);
      prompt_lengths.push_back(prompt_chars);
      target_lengths.push_back(base::code_points(target));
    }
    const Message* last_answer = row.last("assistant");
    if (!is_request_target(last_answer->content)) {
      const Message* last_user = row.last("user");
      auto grounding = scoring::check_grounding(last_user ? last_user->content : std::string(), last_answer->content);
      report.grounding.add(grounding);
      if (!grounding.violations.empty()) report.grounding_violations.push_back({line, std::move(grounding)});
    }
    if (coach_under_interpreter) {
      ++report.coach_answers_under_interpreter_prompt;
      check.warning(line, "coach_answer_under_interpreter_prompt",
                    "a plain-text answer under the interpreter's system prompt");
    }
    if (coach_without_context) {
      ++report.coach_rows_without_context;
      check.warning(line, "coach_turn_without_context", "a coach answer to a user turn without CONTEXT");
    }
    if (coach_without_request) {
      ++report.coach_rows_without_interpreter;
      check.warning(line, "coach_turn_without_interpreter", "a coach answer to a user turn without [INTERPRETER]");
    }
  }
  report.prompt_chars = summarize(prompt_lengths);
  report.target_chars = summarize(target_lengths);
  for (auto* list : {&report.problems, &report.warnings})
    std::stable_sort(list->begin(), list->end(),
                     [](const DatasetProblem& a, const DatasetProblem& b) { return a.line < b.line; });
  return report;
}

namespace {
json::Json to_json(const LengthStats& s) {
  return {{"count", s.count}, {"min", s.min}, {"mean", s.mean}, {"p95", s.p95}, {"max", s.max}};
}
}  // namespace

json::Json to_json(const DatasetReport& report) {
  const auto listed = [](const std::vector<DatasetProblem>& list) {
    json::Json out = json::Json::array();
    for (const auto& p : list) out.push_back({{"line", p.line}, {"kind", p.kind}, {"detail", p.detail}});
    return out;
  };
  const auto counted = [](const auto& map) {
    json::Json out = json::Json::object();
    for (const auto& [key, n] : map) out[key] = n;
    return out;
  };
  json::Json by_messages = json::Json::object();
  for (const auto& [n, rows] : report.rows_by_messages) by_messages[std::to_string(n)] = rows;
  json::Json out = {{"file", report.file},
                    {"mode", mode_name(report.mode)},
                    {"lines", report.lines},
                    {"rows", report.lines},
                    {"examples", report.unrolled_examples},
                    {"valid_examples", report.examples},
                    {"multi_turn_rows", report.multi_turn_rows},
                    {"rows_by_messages", by_messages},
                    {"rows_without_system_prompt", report.rows_without_system_prompt},
                    {"rows_with_interpreter_prompt", report.rows_with_interpreter_prompt},
                    {"rows_with_other_system_prompt", report.rows_with_other_prompt},
                    {"request_targets_under_interpreter_prompt", report.request_targets_under_interpreter_prompt},
                    {"coach_answers_under_interpreter_prompt", report.coach_answers_under_interpreter_prompt},
                    {"coach_rows_without_context", report.coach_rows_without_context},
                    {"coach_rows_without_interpreter", report.coach_rows_without_interpreter},
                    {"rows_with_knowledge", report.rows_with_knowledge},
                    {"rows_with_two_knowledge_blocks", report.rows_with_two_knowledge_blocks},
                    {"knowledge_blocks", {{"total", report.knowledge_blocks.total},
                                          {"selector", report.knowledge_blocks.selector},
                                          {"hint", report.knowledge_blocks.total - report.knowledge_blocks.selector}}},
                    {"problem_counts", counted(report.problem_counts)},
                    {"problems", listed(report.problems)},
                    {"warning_counts", counted(report.warning_counts)},
                    {"warnings", listed(report.warnings)},
                    {"actions", counted(report.actions)},
                    {"prompt_chars", to_json(report.prompt_chars)},
                    {"target_chars", to_json(report.target_chars)}};
  json::Json grounded_rows = json::Json::array();
  for (const auto& r : report.grounding_violations) {
    json::Json row = scoring::to_json(r.grounding);
    row["line"] = r.line;
    grounded_rows.push_back(std::move(row));
  }
  out["grounding"] = scoring::to_json(report.grounding);
  out["grounding"]["rows"] = std::move(grounded_rows);
  out["over_length_examples"] = report.length_checked ? json::Json(report.over_length_examples) : json::Json();
  return out;
}

}  // namespace josi::data
