#include "runtime/preset.hpp"

#include <array>

#include "base/error.hpp"
#include "base/strings.hpp"

namespace josi::runtime {

namespace {

std::vector<Preset> make_presets() {
  Preset v5;
  v5.name = "v5";
  Preset v6;
  v6.name = "v6";
  v6.layout = coach::PromptLayout::v6;
  v6.n_ctx = 4096;
  v6.interpreter_n_ctx = 2048;
  // The users' runtime passes no repetition penalty to either call.
  v6.interpreter = {{"temperature", 0.3}, {"top_p", 0.9}, {"max_tokens", 200}, {"repeat_penalty", 1.0}};
  v6.explainer = {{"temperature", 0.5}, {"top_p", 0.9}, {"max_tokens", 200}, {"repeat_penalty", 1.0}};
  v6.complex_max_tokens = 400;
  return {v5, v6};
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = make_presets();
  return all;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& p : presets()) names.push_back(p.name);
  return names;
}

const Preset& preset_named(std::string_view name, const std::string& where) {
  for (const auto& p : presets())
    if (p.name == name) return p;
  throw Error(where + ": unknown preset " + base::quoted(std::string(name)) + " (v5 or v6)");
}

bool is_complex_question(const json::Json& request) {
  const std::string action = request.value("action", "");
  if (action == "explain") return true;
  if (action != "answer_question") return false;
  std::string text;
  if (const auto q = request.find("question"); q != request.end() && q->is_string()) text = q->get<std::string>();
  if (text.empty())
    if (const auto f = request.find("free_text"); f != request.end() && f->is_string()) text = f->get<std::string>();
  text = base::to_lower_ascii(text);
  static constexpr std::array<std::string_view, 14> kWords = {"why",    "waarom", "how come", "hoe komt", "should i",
                                                              "moet ik", "injury", "blessure", "pain",     "pijn",
                                                              "plan",   "schema", "instead",  "in plaats"};
  for (auto word : kWords)
    if (text.find(word) != std::string::npos) return true;
  return false;
}

}  // namespace josi::runtime
