// josi prepare-sequential: the seed's "python prepare_sequential_data.py".
#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "data/prepare_sequential.hpp"
#include "data/system_prompts.hpp"

namespace josi::cli {

namespace {

struct Options {
  std::string interpreter_train = "data/train_interpreter.jsonl";
  std::string explainer_train = "data/train_explainer.jsonl";
  std::string output_train = "data/train_explainer_sequential.jsonl";
  std::string interpreter_val = "data/val_interpreter.jsonl";
  std::string explainer_val = "data/val_explainer.jsonl";
  std::string output_val = "data/val_explainer_sequential.jsonl";
  std::string system_prompt;
};

void run_split(const char* split, const std::string& interpreter, const std::string& explainer,
               const std::string& output, const std::string& prompt) {
  auto s = data::prepare_sequential(interpreter, explainer, output, prompt);
  std::cout << split << ": " << s.explainer_examples << " explainer examples, " << s.matched << " matched, "
            << s.unmatched << " unmatched, " << s.skipped_by_action << " skipped by action, " << s.skipped_invalid
            << " invalid -> " << s.written << " written to " << output << "\n";
  std::cout << "  actions:";
  for (const auto& [action, n] : s.actions) std::cout << " " << action << "=" << n;
  std::cout << "\n";
  for (const auto& line : s.first_skipped) std::cout << "  skipped " << line << "\n";
}

}  // namespace

void register_prepare_sequential(CLI::App& app) {
  auto opts = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("prepare-sequential",
                                 "Build the sequential explainer data (user turn + [INTERPRETER] JSON)");
  cmd->add_option(flag("interpreter_train"), opts->interpreter_train, "Interpreter training JSONL")->capture_default_str();
  cmd->add_option(flag("explainer_train"), opts->explainer_train, "Explainer training JSONL")->capture_default_str();
  cmd->add_option(flag("output_train"), opts->output_train, "Output training JSONL")->capture_default_str();
  cmd->add_option(flag("interpreter_val"), opts->interpreter_val, "Interpreter validation JSONL")->capture_default_str();
  cmd->add_option(flag("explainer_val"), opts->explainer_val, "Explainer validation JSONL")->capture_default_str();
  cmd->add_option(flag("output_val"), opts->output_val, "Output validation JSONL")->capture_default_str();
  cmd->add_option(flag("system_prompt"), opts->system_prompt,
                  "Explainer sequential system prompt file (default: Josi's own)");
  cmd->callback([opts] {
    std::string prompt = opts->system_prompt.empty()
                             ? std::string(data::default_system_prompt(data::PromptRole::explainer_sequential))
                             : data::load_system_prompt(opts->system_prompt);
    run_split("train", opts->interpreter_train, opts->explainer_train, opts->output_train, prompt);
    run_split("val", opts->interpreter_val, opts->explainer_val, opts->output_val, prompt);
  });
}

}  // namespace josi::cli
