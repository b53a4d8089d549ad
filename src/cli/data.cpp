// josi data validate FILE... [--mode interpreter|explainer|unified] [--tokenizer F|MODEL.gguf] [--max_seq_length N] [--json]
// josi data conv2jsonl FILE.conv... [--out F.jsonl]
// josi data inject-knowledge FILE... --knowledge knowledge.json [--max_cards 2] [--out F.jsonl]
#include <iostream>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "data/conversation_file.hpp"
#include "data/jsonl.hpp"
#include "data/knowledge_rows.hpp"
#include "data/validate.hpp"
#include "json/python_dumps.hpp"
#include "knowledge/knowledge_base.hpp"
#include "text/tokenizer.hpp"

namespace josi::cli {

namespace {

constexpr size_t kShownProblems = 10;

void print_lengths(const char* what, const data::LengthStats& s) {
  if (!s.count) return;
  std::cout << "  " << what << " chars: min " << s.min << ", mean " << static_cast<size_t>(s.mean + 0.5) << ", p95 "
            << s.p95 << ", max " << s.max << "\n";
}

// Each kind with its count and its first line numbers.
void print_kinds(const std::map<std::string, size_t>& counts, const std::vector<data::DatasetProblem>& list) {
  for (const auto& [kind, n] : counts) {
    std::cout << "  " << kind << ": " << n << " (lines";
    size_t listed = 0;
    for (const auto& p : list)
      if (p.kind == kind && listed++ < kShownProblems) std::cout << " " << p.line;
    std::cout << (n > kShownProblems ? " ...)" : ")") << "\n";
  }
}

void print_report(const data::DatasetReport& r) {
  std::cout << r.file << ": " << r.lines << " rows (" << r.multi_turn_rows << " multi-turn), "
            << r.unrolled_examples << " examples after unrolling, mode " << data::mode_name(r.mode) << ", "
            << r.examples << " valid examples, " << r.problems.size() << " problems, " << r.warnings.size()
            << " warnings\n";
  std::cout << "  rows by messages:";
  for (const auto& [n, rows] : r.rows_by_messages) std::cout << " " << n << "=" << rows;
  std::cout << "\n  system prompt: interpreter " << r.rows_with_interpreter_prompt << " (request targets "
            << r.request_targets_under_interpreter_prompt << ", coach answers " << r.coach_answers_under_interpreter_prompt
            << " rows), other " << r.rows_with_other_prompt << ", none " << r.rows_without_system_prompt << "\n";
  std::cout << "  [KNOWLEDGE]: " << r.rows_with_knowledge << " rows, " << r.knowledge_blocks.selector << " selector and "
            << r.knowledge_blocks.total - r.knowledge_blocks.selector << " hint blocks, " << r.rows_with_two_knowledge_blocks
            << " rows with two in one turn\n";
  if (r.length_checked) std::cout << "  over the length limit: " << r.over_length_examples << " examples\n";
  print_kinds(r.problem_counts, r.problems);
  size_t shown = 0;
  for (const auto& p : r.problems) {
    if (shown++ == kShownProblems) break;
    std::cout << "  line " << p.line << ": " << p.kind << ": " << p.detail << "\n";
  }
  if (!r.warnings.empty()) {
    std::cout << "  warnings (where the data cannot match what the app sends):\n";
    print_kinds(r.warning_counts, r.warnings);
  }
  if (!r.actions.empty()) {
    std::cout << "  actions:";
    for (const auto& [action, n] : r.actions) std::cout << " " << action << "=" << n;
    std::cout << "\n";
  }
  if (r.grounding.answers) {
    std::cout << "  " << scoring::summary_line(r.grounding, "coach rows") << "\n";
    size_t shown_rows = 0;
    for (const auto& [line, g] : r.grounding_violations) {
      if (shown_rows++ == kShownProblems) break;
      std::cout << "  line " << line << ": score " << g.score;
      for (const auto& v : g.violations)
        std::cout << "; " << scoring::kind_name(v.kind) << (v.error ? "" : " (warning)") << " " << base::quoted(v.text);
      std::cout << "\n";
    }
  }
  print_lengths("prompt", r.prompt_chars);
  print_lengths("target", r.target_chars);
}

}  // namespace

void register_data(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Dataset tools");
  data->require_subcommand(1);
  auto* validate = data->add_subcommand(
      "validate", "Check JSONL training data: structure, conversations unrolled, targets, where it differs from the app");
  struct Options {
    std::vector<std::string> files;
    std::string mode, tokenizer;
    int64_t max_seq_length = 4096;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  validate->add_option("files", opts->files, "JSONL files")->required()->check(CLI::ExistingFile);
  validate->add_option(flag("mode"), opts->mode, "interpreter, explainer or unified (default: guessed per file)")
      ->check(CLI::IsMember({"interpreter", "explainer", "unified"}));
  validate->add_option(flag("tokenizer"), opts->tokenizer,
                       "tokenizer.json or a model .gguf: count the examples of --max_seq_length tokens or more")
      ->check(CLI::ExistingPath);
  validate->add_option(flag("max_seq_length"), opts->max_seq_length, "The training length limit, with --tokenizer")
      ->capture_default_str();
  validate->add_flag(flag("json"), opts->json, "Print one JSON report per file instead of text");
  validate->callback([opts] {
    std::optional<data::DatasetMode> mode;
    if (!opts->mode.empty()) mode = data::dataset_mode_from_name(opts->mode);
    std::optional<text::Tokenizer> tokenizer;
    if (!opts->tokenizer.empty()) tokenizer.emplace(text::Tokenizer::load(opts->tokenizer));
    const data::LengthCheck length{tokenizer ? &*tokenizer : nullptr, opts->max_seq_length};
    bool clean = true;
    for (const auto& file : opts->files) {
      auto report = data::validate_dataset(file, mode, length);
      clean = clean && report.clean();
      if (opts->json)
        std::cout << json::python_dumps(data::to_json(report)) << "\n";
      else
        print_report(report);
    }
    set_exit_code(clean ? 0 : static_cast<int>(ExitCode::failure));
  });

  auto* inject = data->add_subcommand("inject-knowledge",
                                      "Give the coach rows of training data their coaching cards, as the runtime places them");
  struct InjectOptions {
    std::string knowledge, out;
    std::vector<std::string> files;
    size_t max_cards = 2;
  };
  auto inject_opts = std::make_shared<InjectOptions>();
  inject->add_option("files", inject_opts->files, "JSONL training rows")->required()->check(CLI::ExistingFile);
  inject->add_option(flag("knowledge"), inject_opts->knowledge, "knowledge.json")->required()->check(CLI::ExistingFile);
  inject->add_option(flag("max_cards"), inject_opts->max_cards, "Most cards a message gets (the users' training: 2)")
      ->check(CLI::Range(1, 8))
      ->capture_default_str();
  inject->add_option(flag("out"), inject_opts->out, "Output JSONL (default: standard output)");
  inject->callback([inject_opts] {
    const auto knowledge = knowledge::KnowledgeBase::load(inject_opts->knowledge);
    std::string text;
    data::KnowledgeRowsSummary summary;
    for (const auto& path : inject_opts->files)
      for (const auto& row : data::inject_knowledge_rows(data::read_jsonl(path), path, knowledge, inject_opts->max_cards, summary))
        text += json::python_dumps(row) + "\n";
    if (inject_opts->out.empty()) std::cout << text;
    else base::write_file_atomic(inject_opts->out, text);
    std::cerr << "inject-knowledge: " << summary.rows << " rows, " << summary.coach_rows << " for the coach; "
              << summary.messages_with_cards << " of their " << summary.messages << " athlete messages got cards\n";
  });

  auto* conv = data->add_subcommand("conv2jsonl", "Convert .conv conversations into training rows (JSONL)");
  struct ConvOptions {
    std::vector<std::string> files;
    std::string out;
  };
  auto conv_opts = std::make_shared<ConvOptions>();
  conv->add_option("files", conv_opts->files, ".conv files, converted in the order given")->required()->check(CLI::ExistingFile);
  conv->add_option(flag("out"), conv_opts->out, "Output JSONL (default: standard output)");
  conv->callback([conv_opts] {
    std::string rows;
    size_t problems = 0, conversations = 0;
    for (const auto& path : conv_opts->files) {
      const auto file = data::parse_conversation_file(base::read_file(path));
      for (const auto& c : file.conversations) {
        for (const auto& problem : data::conversation_problems(c)) {
          std::cerr << "josi data conv2jsonl: " << path << ":" << c.line << ": " << problem << "\n";
          ++problems;
        }
        rows += json::python_dumps(data::conversation_row(file, c), {.ensure_ascii = false}) + "\n";
        ++conversations;
      }
    }
    // A file with a broken conversation is fixed first: nothing is written.
    if (problems) throw Error(std::to_string(problems) + " problems in the conversations; nothing written");
    if (conv_opts->out.empty()) {
      std::cout << rows;
    } else {
      base::write_file_atomic(conv_opts->out, rows);
      std::cerr << "conv2jsonl: " << conversations << " conversations -> " << conv_opts->out << "\n";
    }
  });
}

}  // namespace josi::cli
