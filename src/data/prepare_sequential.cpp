#include "data/prepare_sequential.hpp"

#include <unordered_map>

#include "base/files.hpp"
#include "data/chat_example.hpp"
#include "data/jsonl.hpp"
#include "json/python_dumps.hpp"

namespace josi::data {

namespace {

constexpr size_t kReportedSkips = 5;

void note_skip(SequentialStats& stats, const std::filesystem::path& file, size_t line, const std::string& why) {
  ++stats.skipped_invalid;
  if (stats.first_skipped.size() < kReportedSkips)
    stats.first_skipped.push_back(file.string() + ":" + std::to_string(line) + ": " + why);
}

// user turn -> interpreter assistant text; a later duplicate wins, as a dict would.
std::unordered_map<std::string, std::string> index_interpreter(const std::filesystem::path& path,
                                                               SequentialStats& stats) {
  std::unordered_map<std::string, std::string> index;
  for (const auto& record : read_jsonl_strict(path)) {
    ++stats.interpreter_examples;
    std::string problem;
    auto example = chat_example_from_json(record.value, record.line, problem);
    if (!example) {
      note_skip(stats, path, record.line, problem);
      continue;
    }
    if (!example->is_single_turn()) {
      note_skip(stats, path, record.line, "not a single-turn example");
      continue;
    }
    index[example->first("user")->content] = example->last("assistant")->content;
  }
  return index;
}

}  // namespace

std::string sequential_user_turn(const std::string& user, const std::string& interpreter_json) {
  return user + "\n\n[INTERPRETER]\n" + interpreter_json;
}

SequentialStats prepare_sequential(const std::filesystem::path& interpreter_data,
                                   const std::filesystem::path& explainer_data, const std::filesystem::path& output,
                                   const std::string& system_prompt) {
  SequentialStats stats;
  const auto index = index_interpreter(interpreter_data, stats);
  const auto explainer = read_jsonl_strict(explainer_data);

  std::string out;
  for (const auto& record : explainer) {
    ++stats.explainer_examples;
    std::string problem;
    auto example = chat_example_from_json(record.value, record.line, problem);
    if (!example) {
      note_skip(stats, explainer_data, record.line, problem);
      continue;
    }
    if (!example->is_single_turn()) {
      note_skip(stats, explainer_data, record.line, "not a single-turn example");
      continue;
    }
    const std::string& user = example->first("user")->content;
    auto hit = index.find(user);
    if (hit == index.end()) {
      ++stats.unmatched;
      continue;
    }
    ++stats.matched;
    json::Json request;
    if (!json::try_parse(hit->second, request) || !request.is_object() || !request.contains("action") ||
        !request["action"].is_string()) {
      note_skip(stats, explainer_data, record.line, "interpreter target for this user turn is not a JSON request");
      continue;
    }
    const std::string action = request["action"].get<std::string>();
    ++stats.actions[action];
    if (action != "explain" && action != "answer_question") {
      ++stats.skipped_by_action;
      continue;
    }
    json::Json line = {
        {"messages", json::Json::array({
                         {{"role", "system"}, {"content", system_prompt}},
                         {{"role", "user"}, {"content", sequential_user_turn(user, hit->second)}},
                         {{"role", "assistant"}, {"content", example->last("assistant")->content}},
                     })}};
    out += json::python_dumps(line);
    out += '\n';
    ++stats.written;
  }
  base::write_file_atomic(output, out);
  return stats;
}

}  // namespace josi::data
