#include "coach/duration.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

#include "base/regex.hpp"

namespace josi::coach {

namespace {

constexpr int kMinMinutes = 10;
constexpr int kMaxMinutes = 300;

bool in_range(long long minutes) { return minutes >= kMinMinutes && minutes <= kMaxMinutes; }

// Decimal digits to a value, saturating: anything past the range is just "too big".
long long digits_value(const std::string& digits) {
  long long value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
    if (value > 1'000'000) return value;
  }
  return value;
}

}  // namespace

// Rules are tried in order and a rule whose number falls outside 10..300 gives
// way to the next one (as the reference does), so "5 min warm-up, 1 hour ride"
// still yields 60. Only the first occurrence of each rule is looked at.
std::optional<int> extract_duration_minutes(std::string_view text) {
  static const base::Regex minutes(R"((\d+)\s*(?:min|mins|minute|minutes)\b)");
  static const base::Regex hours(R"((\d+(?:\.\d+)?)\s*(?:hour|hours|hr|hrs)\b)");
  static const base::Regex half_hour(R"(\bhalf\s+an?\s+hour\b)");
  static const base::Regex one_hour(R"(\ban?\s+hour\b|\bone\s+hour\b)");

  if (auto m = minutes.find(text)) {
    long long value = digits_value(*m->groups[0]);
    if (in_range(value)) return static_cast<int>(value);
  }
  if (auto m = hours.find(text)) {
    // Python's int(float(x) * 60): same double arithmetic, truncated toward zero.
    double value = std::strtod(m->groups[0]->c_str(), nullptr) * 60.0;
    if (value < kMaxMinutes + 1 && value >= kMinMinutes) return static_cast<int>(std::trunc(value));
  }
  if (half_hour.search(text)) return 30;
  if (one_hour.search(text)) return 60;
  return std::nullopt;
}

}  // namespace josi::coach
