#include "base/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdlib>
#include <string_view>

#include "base/error.hpp"

namespace josi::base {

namespace {

// JOSI_REGEX_JIT=0 turns PCRE2's JIT off: memory checkers (Valgrind) cannot
// follow its generated code, whose vector reads may pass a string's end.
bool jit_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("JOSI_REGEX_JIT");
    return !(v && std::string_view(v) == "0");
  }();
  return enabled;
}

}  // namespace

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern, unsigned flags) : compiled_(std::make_unique<Compiled>()) {
  // MATCH_INVALID_UTF: athlete and model text may hold broken UTF-8; it must
  // simply not match rather than fail the whole turn.
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (flags & caseless) options |= PCRE2_CASELESS;
  pcre2_compile_context* context = nullptr;
  if (flags & python_unicode) {
    options |= PCRE2_UCP;
    context = pcre2_compile_context_create(nullptr);
    if (context) pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  }
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                                  &offset, context);
  pcre2_compile_context_free(context);
  if (!compiled_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw Error("regex /" + std::string(pattern) + "/ at " + std::to_string(offset) + ": " +
                reinterpret_cast<char*>(message));
  }
  if (jit_enabled()) pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back silently
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

namespace {

struct MatchData {
  pcre2_match_data* data;
  explicit MatchData(const pcre2_code* code) : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
};

std::optional<RegexMatch> run(const pcre2_code* code, std::string_view text, size_t start, uint32_t options) {
  MatchData md(code);
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), start, options, md.data,
                       nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    throw Error(std::string("regex match failed: ") + reinterpret_cast<char*>(message));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md.data);
  uint32_t pairs = pcre2_get_ovector_count(md.data);
  RegexMatch match;
  match.begin = ovector[0];
  match.end = ovector[1];
  for (uint32_t i = 1; i < pairs; ++i) {
    if (static_cast<int>(i) < rc && ovector[2 * i] != PCRE2_UNSET) {
      match.groups.emplace_back(std::string(text.substr(ovector[2 * i], ovector[2 * i + 1] - ovector[2 * i])));
    } else {
      match.groups.emplace_back(std::nullopt);
    }
  }
  return match;
}

}  // namespace

bool Regex::full_match(std::string_view text) const {
  return run(compiled_->code, text, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED).has_value();
}

std::optional<RegexMatch> Regex::find(std::string_view text, size_t start) const {
  if (start > text.size()) return std::nullopt;
  return run(compiled_->code, text, start, 0);
}

std::vector<RegexMatch> Regex::find_all(std::string_view text) const {
  std::vector<RegexMatch> matches;
  size_t pos = 0;
  while (auto m = find(text, pos)) {
    pos = m->end > m->begin ? m->end : m->end + 1;
    matches.push_back(std::move(*m));
    if (pos > text.size()) break;
  }
  return matches;
}

}  // namespace josi::base
