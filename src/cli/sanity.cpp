// josi sanity / josi eval: the seed's release checks and metrics, on a merged
// Hugging Face directory or on the GGUF file that ships.
#include <iostream>

#include "base/error.hpp"
#include "base/files.hpp"
#include "check/eval.hpp"
#include "check/fidelity_eval.hpp"
#include "check/sanity.hpp"
#include "cli/adapter_option.hpp"
#include "cli/commands.hpp"
#include "cli/kv_type_option.hpp"
#include "cli/options.hpp"
#include "data/system_prompts.hpp"

namespace josi::cli {

namespace {

data::DatasetMode mode_of(const std::string& mode) {
  if (mode == "interpreter") return data::DatasetMode::interpreter;
  if (mode == "explainer") return data::DatasetMode::explainer;
  throw Error("--mode must be interpreter or explainer, got \"" + mode + "\"", ExitCode::usage);
}

// The generation flags both commands share: the seed's settings by default.
struct Generation {
  bool greedy = false;
  uint64_t seed = 0;
  size_t threads = 0;
  std::string kv_type = "f16";
  void add_to(CLI::App* cmd) {
    add_kv_type_option(cmd, kv_type);
    cmd->add_flag(flag("greedy"), greedy, "Take the most likely token (default: the seed's sampling, temperature 0.45, top-p 0.9)");
    cmd->add_option(flag("seed"), seed, "Seed of the first prompt's sampling (then +1 each)")->capture_default_str();
    cmd->add_option(flag("threads"), threads, "Threads (default: all cores)");
  }
  runtime::RoleSettings settings() const {
    auto s = runtime::interpreter_preset();
    if (greedy) s.sampling.temperature = 0;
    return s;
  }
};

}  // namespace

void register_sanity(CLI::App& app) {
  struct Options {
    std::string model, adapter, mode, system_prompt, preset = "v5";
    bool json = false, no_constrain = false;
    Generation generation;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "sanity", "The release checks of a role: v5 (the seed's 5 interpreter or 2 explainer prompts) or v6 (I1-I6 + 16 tests, C1-C3 + 6)");
  cmd->add_option(flag("model_path"), o->model, "Model: a .gguf file or a merged Hugging Face directory")
      ->required()->check(CLI::ExistingPath);
  cmd->add_option(flag("mode"), o->mode, "interpreter or explainer (the coach)")->required();
  cmd->add_option(flag("preset"), o->preset, "Which checks and settings: v5 or v6")
      ->check(CLI::IsMember({"v5", "v6"}))
      ->capture_default_str();
  cmd->add_option(flag("system_prompt"), o->system_prompt, "System prompt file (default: Josi's own for the mode)")
      ->check(CLI::ExistingFile);
  cmd->add_flag(flag("json"), o->json, "One JSON object instead of the table");
  cmd->add_flag(flag("no_constrain"), o->no_constrain, "The interpreter writes unconstrained (the raw model)");
  cmd->add_option(flag("adapter"), o->adapter, kAdapterHelp)->check(CLI::ExistingFile);
  o->generation.add_to(cmd);
  cmd->callback([o] {
    check::SanityOptions s;
    s.model = o->model;
    s.adapter = o->adapter;
    s.mode = mode_of(o->mode);
    if (!o->system_prompt.empty()) s.system_prompt = data::load_system_prompt(o->system_prompt);
    s.constrain = !o->no_constrain;
    s.preset = o->preset;
    s.greedy = o->generation.greedy;
    s.seed = o->generation.seed;
    s.threads = o->generation.threads;
    s.kv_type = kv_type_of(o->generation.kv_type);
    const auto report = check::run_sanity(s);
    if (o->json) {
      std::cout << check::to_json(report).dump() << "\n";
    } else {
      std::cout << check::to_table(report);
    }
    if (!report.ok()) set_exit_code(1);
  });
}

namespace {

// josi eval --criteria: the knowledge-fidelity cases, on a model or on replayed answers.
void run_criteria_eval(const std::string& criteria, const std::string& replay, const std::string& model,
                       const std::string& adapter, const std::string& knowledge, const std::string& preset,
                       const Generation& generation, bool json, const std::string& report_path) {
  check::FidelityReport report;
  if (!replay.empty()) {
    report = check::score_replayed_answers(criteria, replay);
  } else {
    check::FidelityEvalOptions f;
    f.criteria = criteria;
    f.model = model;
    f.adapter = adapter;
    if (!knowledge.empty()) f.knowledge = knowledge;
    f.preset = preset;
    f.seed = generation.seed;
    f.threads = generation.threads;
    f.kv_type = kv_type_of(generation.kv_type);
    f.progress = !json;
    report = check::run_fidelity_eval(f);
  }
  if (!report_path.empty()) base::write_file_atomic(report_path, check::to_json(report).dump(2) + "\n");
  std::cout << (json ? check::to_json(report).dump() + "\n" : check::to_table(report));
  if (!report.ok()) set_exit_code(1);
}

}  // namespace

void register_eval(CLI::App& app) {
  struct Options {
    std::string model, adapter, data, mode, compare, report, criteria, replay, knowledge, preset = "v6";
    size_t limit = 0;
    int64_t max_seq_length = 2048;
    bool json = false, no_generate = false, no_constrain = false;
    Generation generation;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "eval", "eval_loss, token accuracy and generation metrics of a model on a dataset; or (--criteria) knowledge fidelity");
  cmd->add_option(flag("model"), o->model, "Model: a .gguf file or a merged Hugging Face directory")->check(CLI::ExistingPath);
  cmd->add_option(flag("data"), o->data, "JSONL chat examples (the validation split)")->check(CLI::ExistingFile);
  cmd->add_option(flag("mode"), o->mode, "interpreter or explainer (with --data)");
  cmd->add_option(flag("criteria"), o->criteria,
                  "Knowledge-fidelity cases (JSON array): each run as a coach turn on --model, or scored on --replay answers")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("replay"), o->replay, "With --criteria: JSONL of {\"id\", \"answer\"} to score instead of running a model")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("knowledge"), o->knowledge, "With --criteria: the coaching cards the model ships with (knowledge.json)")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("preset"), o->preset, "With --criteria: the preset the turns run with")
      ->check(CLI::IsMember({"v5", "v6"}))
      ->capture_default_str();
  cmd->add_option(flag("compare"), o->compare, "Reference model (the F16 export): KL divergence, top-1 agreement, loss delta")
      ->check(CLI::ExistingPath);
  cmd->add_option(flag("adapter"), o->adapter, kAdapterHelp)->check(CLI::ExistingFile);
  cmd->add_option(flag("limit"), o->limit, "Only the first N examples");
  cmd->add_option(flag("max_seq_length"), o->max_seq_length, "Longest example, as josi train cuts")->capture_default_str();
  cmd->add_flag(flag("json"), o->json, "One JSON object instead of the text report");
  cmd->add_option(flag("report"), o->report, "Also write the JSON report to this file");
  cmd->add_flag(flag("no_generate"), o->no_generate, "Teacher forcing only, no generative pass");
  cmd->add_flag(flag("no_constrain"), o->no_constrain, "The interpreter writes unconstrained in the generative pass");
  o->generation.add_to(cmd);
  cmd->callback([o] {
    if (!o->report.empty()) base::check_output_path(o->report);
    if (!o->criteria.empty()) {
      if (!o->data.empty() || !o->mode.empty() || !o->compare.empty())
        throw Error("--criteria runs the fidelity cases: --data, --mode and --compare belong to the dataset eval", ExitCode::usage);
      if (o->replay.empty() == o->model.empty())
        throw Error("--criteria needs --model (run the cases) or --replay (score given answers), one of them", ExitCode::usage);
      if (!o->replay.empty() && (!o->adapter.empty() || !o->knowledge.empty()))
        throw Error("--replay scores answers already written: --adapter and --knowledge need --model", ExitCode::usage);
      return run_criteria_eval(o->criteria, o->replay, o->model, o->adapter, o->knowledge, o->preset, o->generation, o->json,
                               o->report);
    }
    if (!o->replay.empty() || !o->knowledge.empty()) throw Error("--replay and --knowledge go with --criteria", ExitCode::usage);
    if (o->model.empty() || o->data.empty() || o->mode.empty())
      throw Error("josi eval needs --model, --data and --mode (or --criteria)", ExitCode::usage);
    if (o->max_seq_length < 64 || o->max_seq_length > 32768) throw Error("--max_seq_length must be 64..32768", ExitCode::usage);
    check::EvalOptions e;
    e.model = o->model;
    e.adapter = o->adapter;
    e.data = o->data;
    e.mode = mode_of(o->mode);
    if (!o->compare.empty()) e.compare = o->compare;
    e.limit = o->limit;
    e.max_seq_length = o->max_seq_length;
    e.kv_type = kv_type_of(o->generation.kv_type);
    e.generate = !o->no_generate;
    e.constrain = !o->no_constrain;
    e.settings = o->generation.settings();
    e.seed = o->generation.seed;
    e.threads = o->generation.threads;
    const auto report = check::run_eval(e);
    if (!o->report.empty()) base::write_file_atomic(o->report, check::to_json(report).dump(2) + "\n");
    std::cout << (o->json ? check::to_json(report).dump() + "\n" : check::to_text(report));
  });
}

}  // namespace josi::cli
