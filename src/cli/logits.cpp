// josi logits MODEL.gguf --tokens ID,ID,... --out F.bin: one batch through
// the model, float32 logits of every position, row-major [n_tokens x n_vocab]:
// what tests and comparisons with other engines read.
#include <iostream>

#include "base/error.hpp"
#include "base/files.hpp"
#include "cli/adapter_option.hpp"
#include "cli/commands.hpp"
#include "cli/kv_type_option.hpp"
#include "cli/options.hpp"
#include "infer/context.hpp"

namespace josi::cli {
namespace {

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || v < 0 || v > INT32_MAX) {
      throw Error("logits: --tokens: \"" + item + "\" is not a token id", ExitCode::usage);
    }
    ids.push_back(static_cast<int32_t>(v));
    pos = comma + 1;
  }
  return ids;
}

}  // namespace

void register_logits(CLI::App& app) {
  struct Options {
    std::string model, tokens, out, adapter, kv_type = "f16";
    size_t threads = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("logits", "Float32 logits of every position of one batch of token ids");
  cmd->add_option("model", o->model, "Model .gguf")->required()->check(CLI::ExistingFile);
  cmd->add_option(flag("tokens"), o->tokens, "Token ids, comma-separated")->required();
  cmd->add_option(flag("out"), o->out, "Output file: n_tokens x n_vocab float32, row-major")->required();
  cmd->add_option(flag("threads"), o->threads, "Threads (default: all cores)");
  cmd->add_option(flag("adapter"), o->adapter, kAdapterHelp)->check(CLI::ExistingFile);
  add_kv_type_option(cmd, o->kv_type);
  cmd->callback([o] {
    const auto ids = parse_ids(o->tokens);
    infer::Model model(o->model);
    const auto adapter = open_adapter(o->adapter, model);
    base::ThreadPool pool(o->threads);
    infer::Context context(model, pool, static_cast<int64_t>(ids.size()), adapter.get(), kv_type_of(o->kv_type));
    const auto logits = context.eval(ids, infer::Logits::all);
    base::write_file_atomic(o->out, std::string_view(reinterpret_cast<const char*>(logits.data()), logits.size_bytes()));
    std::cout << "logits: " << ids.size() << " x " << model.hparams().n_vocab << " float32 -> " << o->out << "\n";
  });
}

}  // namespace josi::cli
