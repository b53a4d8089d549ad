#include "coach/postprocessor.hpp"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>

#include "base/regex.hpp"
#include "base/strings.hpp"
#include "coach/duration.hpp"
#include "coach/interpreter_output.hpp"
#include "coach/red_flags.hpp"
#include "json/schema.hpp"

namespace josi::coach {

namespace {

using json::Json;

constexpr const char* kActions[] = {"create_workout", "replan", "explain", "answer_question", "clarify"};
constexpr const char* kSportQuestion = "What sport would you like to train? Running, cycling, strength, or something else?";
constexpr const char* kIntentQuestion =
    "What would you like help with? A workout, explaining your plan, or a training question?";
constexpr const char* kMedicalStop = "Please stop training and consult a medical professional immediately.";

// Python truthiness, which the reference's "missing or empty" tests rely on.
bool is_falsy(const Json& v) {
  if (v.is_null()) return true;
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v == 0;
  if (v.is_number_float()) return v.get<double>() == 0.0;
  if (v.is_string()) return v.get_ref<const std::string&>().empty();  // Json::empty() is false for strings
  if (v.is_array() || v.is_object()) return v.empty();
  return false;
}

std::string string_field(const Json& request, const char* key) {
  auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
}

size_t word_count(std::string_view text) { return base::split_whitespace(text).size(); }

long long saturate(double value) {
  // Out-of-range values only need to stay out of range (the schema rejects them).
  if (value >= 9.2e18) return std::numeric_limits<long long>::max();
  if (value <= -9.2e18) return std::numeric_limits<long long>::min();
  return static_cast<long long>(value);
}

// Python's int(s) for a str: surrounding whitespace, an optional sign, decimal
// digits with single underscores between them ("1_000"). No decimal point.
std::optional<long long> python_int_of_string(std::string_view text) {
  std::string_view s = base::trim(text);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() == '_' || s.back() == '_') return std::nullopt;
  double magnitude = 0;  // only to detect overflow
  long long value = 0;
  bool previous_underscore = false;
  for (char c : s) {
    if (c == '_') {
      if (previous_underscore) return std::nullopt;
      previous_underscore = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    previous_underscore = false;
    magnitude = magnitude * 10 + (c - '0');
    if (magnitude < 9.2e18) value = value * 10 + (c - '0');
  }
  if (magnitude >= 9.2e18) return saturate(negative ? -magnitude : magnitude);
  return negative ? -value : value;
}

// Python's int(v) on a JSON value; nullopt where Python raises.
std::optional<Json> python_int(const Json& v) {
  if (v.is_boolean()) return Json(v.get<bool>() ? 1 : 0);
  if (v.is_number_integer() || v.is_number_unsigned()) return v;
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    return Json(saturate(std::trunc(d)));
  }
  if (v.is_string()) {
    if (auto n = python_int_of_string(v.get_ref<const std::string&>())) return Json(*n);
  }
  return std::nullopt;
}

void make_clarify(Json& request, const char* missing, const char* question,
                  std::initializer_list<const char*> drop) {
  request["action"] = "clarify";
  request["missing"] = Json::array({missing});
  request["clarify_message"] = question;
  for (const char* key : drop) request.erase(key);
}

bool has_sport_line(std::string_view user_turn) {
  static const base::Regex sport(R"(sport:\s*\w+)");
  return sport.search(user_turn);
}

bool has_context_line(std::string_view user_turn) {
  static const base::Regex context(R"(\nCONTEXT:)");
  return context.search(user_turn);
}

// Fixup 6: the model sometimes writes the action name, or a two-word summary,
// where the athlete's words belong. A non-string or blank free_text counts as
// empty (the reference would keep a truthy non-string and fail the schema).
bool free_text_needs_backfill(const Json& request, std::string_view message) {
  auto it = request.find("free_text");
  if (it == request.end() || !it->is_string()) return true;
  std::string_view free_text = base::trim(it->get_ref<const std::string&>());
  if (free_text.empty()) return true;
  std::string lowered = base::to_lower_ascii(free_text);
  for (const char* action : kActions)
    if (lowered == action) return true;
  return word_count(free_text) <= 2 && word_count(message) > 3;
}

}  // namespace

std::string message_part(std::string_view user_turn) {
  size_t end = user_turn.find("\n\nCONTEXT:");
  return std::string(base::trim(user_turn.substr(0, end)));
}

json::Json apply_fixups(json::Json request, std::string_view user_turn) {
  if (!request.is_object()) return request;  // nothing to fix; the schema reports it
  // Fixups 3 and 4 test the action the model chose, not one an earlier fixup set.
  const std::string action = string_field(request, "action");
  const std::string message = message_part(user_turn);

  // 1. time_available_min from the words, when the model left it out.
  if (action == "create_workout" && !request.contains("time_available_min")) {
    std::string free_text = string_field(request, "free_text");
    auto minutes = extract_duration_minutes(free_text.empty() ? user_turn : std::string_view(free_text));
    if (!minutes) minutes = extract_duration_minutes(user_turn);
    if (minutes) request["time_available_min"] = *minutes;
  }

  // 2. Coerce to an integer the way Python's int() would, or drop it.
  if (auto it = request.find("time_available_min"); it != request.end()) {
    if (auto value = python_int(*it))
      *it = *value;
    else
      request.erase(it);
  }

  // 3. Never guess a sport: ask, unless the turn names one.
  if (action == "create_workout") {
    auto sport = request.find("sport");
    bool no_sport = sport == request.end() || is_falsy(*sport) || *sport == "other";
    if (no_sport && !has_sport_line(user_turn))
      make_clarify(request, "sport", kSportQuestion, {"sport", "time_available_min", "goal", "constraints"});
  }

  // 4. A short statement with no context and no question is too vague to answer.
  if ((action == "explain" || action == "answer_question") && !has_context_line(user_turn)) {
    std::string lowered = base::to_lower_ascii(message);
    if (word_count(lowered) <= 4 && lowered.find('?') == std::string::npos)
      make_clarify(request, "intent", kIntentQuestion, {"question"});
  }

  // 5. Medical red flags override whatever the model decided.
  if (has_medical_red_flag(user_turn))
    make_clarify(request, "medical_clearance", kMedicalStop, {"replan_type", "sport", "question"});

  // 6. free_text carries the athlete's own words for traceability.
  if (!message.empty() && free_text_needs_backfill(request, message)) request["free_text"] = message;

  return request;
}

PostprocessResult postprocess(std::string_view raw, std::string_view user_turn) {
  PostprocessResult result;
  auto parsed = parse_interpreter_output(raw);
  if (!parsed) {
    result.errors.push_back("interpreter output is not a JSON object");
    return result;
  }
  result.request = apply_fixups(std::move(*parsed), user_turn);
  result.errors = json::Schema::gatc_request().validate(*result.request);
  result.valid = result.errors.empty();
  return result;
}

}  // namespace josi::coach
