// josi data validate FILE... [--mode interpreter|explainer] [--json]
#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "data/validate.hpp"
#include "json/python_dumps.hpp"

namespace josi::cli {

namespace {

constexpr size_t kShownProblems = 10;

void print_lengths(const char* what, const data::LengthStats& s) {
  if (!s.count) return;
  std::cout << "  " << what << " chars: min " << s.min << ", mean " << static_cast<size_t>(s.mean + 0.5) << ", p95 "
            << s.p95 << ", max " << s.max << "\n";
}

void print_report(const data::DatasetReport& r) {
  std::cout << r.file << ": " << r.lines << " lines, mode " << data::mode_name(r.mode) << ", " << r.examples
            << " valid examples, " << r.problems.size() << " problems\n";
  for (const auto& [kind, n] : r.problem_counts) {
    std::cout << "  " << kind << ": " << n << " (lines";
    size_t listed = 0;
    for (const auto& p : r.problems)
      if (p.kind == kind && listed++ < kShownProblems) std::cout << " " << p.line;
    std::cout << (n > kShownProblems ? " ...)" : ")") << "\n";
  }
  size_t shown = 0;
  for (const auto& p : r.problems) {
    if (shown++ == kShownProblems) break;
    std::cout << "  line " << p.line << ": " << p.kind << ": " << p.detail << "\n";
  }
  if (!r.actions.empty()) {
    std::cout << "  actions:";
    for (const auto& [action, n] : r.actions) std::cout << " " << action << "=" << n;
    std::cout << "\n";
  }
  print_lengths("prompt", r.prompt_chars);
  print_lengths("target", r.target_chars);
}

}  // namespace

void register_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Dataset tools");
  data->require_subcommand(1);
  auto* validate = data->add_subcommand("validate", "Check JSONL training data: structure, single-turn rule, targets");
  struct Options {
    std::vector<std::string> files;
    std::string mode;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  validate->add_option("files", opts->files, "JSONL files")->required()->check(CLI::ExistingFile);
  validate->add_option(flag("mode"), opts->mode, "interpreter or explainer (default: guessed per file)")
      ->check(CLI::IsMember({"interpreter", "explainer"}));
  validate->add_flag(flag("json"), opts->json, "Print one JSON report per file instead of text");
  validate->callback([opts] {
    std::optional<data::DatasetMode> mode;
    if (!opts->mode.empty())
      mode = opts->mode == "interpreter" ? data::DatasetMode::interpreter : data::DatasetMode::explainer;
    bool clean = true;
    for (const auto& file : opts->files) {
      auto report = data::validate_dataset(file, mode);
      clean = clean && report.clean();
      if (opts->json)
        std::cout << json::python_dumps(data::to_json(report)) << "\n";
      else
        print_report(report);
    }
    set_exit_code(clean ? 0 : static_cast<int>(ExitCode::failure));
  });
}

}  // namespace josi::cli
