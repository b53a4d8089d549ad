// josi generate MODEL.gguf (--prompt TEXT | --messages F.json) [--system F]
// [sampling flags]: runs a GGUF model and streams the answer to stdout.
// Prompts are ChatML, the format the Josi models are trained on; --raw sends
// the prompt text as it is.
#include <iostream>
#include <random>

#include "base/error.hpp"
#include "base/files.hpp"
#include "cli/adapter_option.hpp"
#include "cli/kv_type_option.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "data/chat_example.hpp"
#include "infer/generator.hpp"
#include "json/json.hpp"
#include "text/chat_template.hpp"

namespace josi::cli {
namespace {

struct Options {
  std::string model, prompt, messages, system, adapter, kv_type = "f16";
  bool raw = false, greedy = false;
  infer::GenerateOptions generate;
  std::vector<std::string> stops;
  int64_t n_ctx = 2048;
  size_t threads = 0;
  std::optional<uint64_t> seed;
};

// A JSON array of {role, content}, or a training line {"messages": [...]}
// whose final assistant answer (if any) is dropped: the model writes it.
std::vector<text::ChatMessage> read_messages(const std::string& path) {
  json::Json doc = json::parse(base::read_file(path), path);
  if (doc.is_array()) doc = json::Json{{"messages", doc}};
  std::string problem;
  auto example = data::chat_example_from_json(doc, 0, problem);
  if (!example) throw Error(path + ": " + problem);
  std::vector<text::ChatMessage> out;
  for (const auto& m : example->messages) out.push_back({m.role, m.content});
  if (!out.empty() && out.back().role == "assistant") out.pop_back();
  if (out.empty()) throw Error(path + ": no messages before the answer");
  return out;
}

std::vector<int32_t> prompt_tokens(const Options& o, const text::Tokenizer& tokenizer) {
  if (o.prompt.empty() == o.messages.empty()) throw Error("generate: give exactly one of --prompt and --messages", ExitCode::usage);
  if (o.raw) {
    if (!o.messages.empty() || !o.system.empty()) throw Error("generate: --raw takes only --prompt", ExitCode::usage);
    return tokenizer.encode(o.prompt, true);
  }
  std::vector<text::ChatMessage> messages =
      o.messages.empty() ? std::vector<text::ChatMessage>{{"user", o.prompt}} : read_messages(o.messages);
  if (!o.system.empty()) {
    const std::string system = base::read_file(o.system);
    if (messages.front().role == "system") {
      messages.front().content = system;
    } else {
      messages.insert(messages.begin(), {"system", system});
    }
  }
  return text::encode_chatml(tokenizer, messages, true);
}

}  // namespace

void register_generate(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("generate", "Run a GGUF model on a prompt and stream the answer");
  cmd->add_option("model", o->model, "Model .gguf or Hugging Face directory (qwen2 or llama)")->required()->check(CLI::ExistingPath);
  cmd->add_option(flag("prompt"), o->prompt, "The user message (or, with --raw, the whole prompt text)");
  cmd->add_option(flag("messages"), o->messages, "JSON file: [{role, content}...] or a training line {\"messages\": [...]}")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("system"), o->system, "File with the system prompt (replaces one in --messages)")->check(CLI::ExistingFile);
  cmd->add_flag(flag("raw"), o->raw, "Send --prompt as it is, without the ChatML layout");
  auto& s = o->generate.sampling;
  cmd->add_option(flag("temperature"), s.temperature, "Sampling temperature; 0 = greedy")->capture_default_str();
  cmd->add_flag(flag("greedy"), o->greedy, "Always take the most likely token (temperature 0)");
  cmd->add_option(flag("top_k"), s.top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
  cmd->add_option(flag("top_p"), s.top_p, "Keep the smallest set with this probability mass; 1 = off")->capture_default_str();
  cmd->add_option(flag("min_p"), s.min_p, "Drop tokens below min_p x the best one's probability; 0 = off")->capture_default_str();
  cmd->add_option(flag("repeat_penalty"), s.repeat_penalty, "Penalty for recently seen tokens; 1 = off")->capture_default_str();
  cmd->add_option(flag("repeat_last_n"), s.repeat_last_n, "How many recent tokens the penalty looks at")->capture_default_str();
  cmd->add_option(flag("seed"), o->seed, "Random seed (default: a fresh one, printed so the run can be repeated)");
  cmd->add_option(flag("max_tokens"), o->generate.max_new_tokens, "Most tokens to generate")->capture_default_str();
  cmd->add_option(flag("ctx"), o->n_ctx, "Context cap in tokens (prompt + answer)")->capture_default_str();
  cmd->add_option(flag("stop"), o->stops, "A token that ends the answer (repeatable; default <|im_end|>, <|endoftext|>)");
  cmd->add_option(flag("threads"), o->threads, "Threads (default: all cores)");
  cmd->add_option(flag("adapter"), o->adapter, kAdapterHelp)->check(CLI::ExistingFile);
  add_kv_type_option(cmd, o->kv_type);
  cmd->add_option(flag("draft_tokens"), o->generate.draft_tokens,
                  "Speculation: most tokens drafted from the prompt per pass (the same answer); 0 = off")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd->callback([o] {
    if (o->greedy) o->generate.sampling.temperature = 0;
    o->generate.sampling.seed = o->seed ? *o->seed : std::random_device{}();
    o->generate.sampling.check();
    infer::Model model(o->model);
    const auto adapter = open_adapter(o->adapter, model);
    const auto tokenizer = text::Tokenizer::load(o->model);
    for (const auto& stop : o->stops) {
      const auto id = tokenizer.token_id(stop);
      if (!id) throw Error("generate: --stop " + stop + " is not a token of this model", ExitCode::usage);
      o->generate.stop_tokens.push_back(*id);
    }
    const auto prompt = prompt_tokens(*o, tokenizer);
    base::ThreadPool pool(o->threads);
    infer::Context context(model, pool, o->n_ctx, adapter.get(), kv_type_of(o->kv_type));
    const auto result = infer::generate(context, tokenizer, prompt, o->generate, [](std::string_view piece) {
      std::cout << piece << std::flush;
    });
    std::cout << "\n";
    std::cerr << "generate: seed " << o->generate.sampling.seed << ", " << result.prompt_tokens << " prompt tokens in "
              << result.prompt_seconds << " s, " << result.tokens.size() << " tokens in " << result.generate_seconds
              << " s (" << result.decoding.forward_passes << " forward passes, " << result.decoding.accepted_draft_tokens << " of "
              << result.decoding.drafted_tokens << " drafted tokens kept), stopped by " << infer::stop_reason_name(result.stop)
              << "\n";
  });
}

}  // namespace josi::cli
