#pragma once
// `josi eval`: how well a model (GGUF or Hugging Face directory) does on a
// dataset, in the seed's terms and on the file that ships.
//  * Teacher-forced eval_loss and token accuracy over the answer tokens,
//    with the tokens and masking of `josi train` (data/tokenized_dataset),
//    so the numbers compare with training's best_eval_loss.
//  * With a reference model (the F16 export): per-token KL divergence of the
//    model from the reference, top-1 agreement and the loss difference, the
//    usual measure of what quantization costs.
//  * A generative pass through the runtime's path: for the interpreter, how
//    often its text is JSON, a valid request after the post-processor, the
//    right action, the whole request, each field; for the explainer, how
//    often the governor leaves the text as it is, has no brace, and how long.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "data/validate.hpp"
#include "infer/kv_cache.hpp"
#include "json/json.hpp"
#include "runtime/turn.hpp"

namespace josi::check {

// What a role's eval_loss must stay under and its token accuracy above:
// the seed's targets, which the users' v6 release keeps (interpreter 0.01
// and 99 %, explainer 1.5 and 70 %).
struct Targets {
  double loss, accuracy;
};
Targets seed_targets(data::DatasetMode mode);

struct EvalOptions {
  std::filesystem::path model;
  std::filesystem::path adapter;  // a GGUF LoRA adapter applied on model at run time; empty: none
  std::filesystem::path data;
  data::DatasetMode mode = data::DatasetMode::interpreter;
  // Unified data: only the examples of one role, those whose target is a
  // request (interpreter) or text (explainer). Unset: every example.
  std::optional<data::DatasetMode> role_targets;
  std::optional<std::filesystem::path> compare;  // reference model of the same vocabulary
  // How the model's KV cache keeps keys and values (the reference's is F16),
  // so comparing a file with itself measures what a Q8_0 cache costs.
  infer::KvType kv_type = infer::KvType::f16;
  size_t limit = 0;                               // 0: every example
  int64_t max_seq_length = 2048;                  // josi train's default
  bool generate = true;                           // the generative pass
  bool constrain = true;                          // the interpreter's output constraint in that pass
  runtime::RoleSettings settings = runtime::interpreter_preset();  // the seed's generation settings
  uint64_t seed = 0;                              // example i samples with seed + i
  size_t threads = 0;
  bool progress = true;
};

struct Stats {
  double mean = 0, median = 0, p95 = 0, p99 = 0, max = 0;
};

struct EvalReport {
  std::string model, data, mode;
  size_t examples = 0;
  int64_t answer_tokens = 0;
  double eval_loss = 0, token_accuracy = 0;
  struct Comparison {
    std::string reference;
    Stats kl;  // nats per token, KL(reference || model)
    double top1_agreement = 0;
    double reference_loss = 0;
  };
  std::optional<Comparison> comparison;
  struct Interpreter {
    size_t json = 0, valid = 0, action = 0, exact = 0;
    std::map<std::string, std::pair<size_t, size_t>> fields;  // key -> (right, examples where either side has it)
  };
  struct Explainer {
    size_t governed_unchanged = 0, brace_free = 0;
    Stats characters, tokens;
  };
  size_t generated = 0;  // examples of the generative pass
  std::optional<Interpreter> interpreter;
  std::optional<Explainer> explainer;
  double seconds = 0;
};

// Throws josi::Error (one line) for a model or data that cannot be used:
// data of the other mode, an empty file, a reference with another vocabulary.
EvalReport run_eval(const EvalOptions& options);

json::Json to_json(const EvalReport& report);
// The report with the seed's targets beside the numbers.
std::string to_text(const EvalReport& report);

}  // namespace josi::check
