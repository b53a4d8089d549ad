// josi: one native tool for the Josi v5 model lifecycle. Each subcommand is
// registered from its own file (commands.hpp). `josi train` runs in
// josi-train, a second executable beside this one: only it links libtorch,
// whose loading alone costs ~150 MB of resident memory and a noticeable
// start-up on every command, which the engine's memory budget and the
// transfer commands must not pay.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/run_cli.hpp"

namespace {

[[noreturn]] void exec_josi_train(char** argv) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto trainer = (ec ? std::filesystem::path(argv[0]) : self).parent_path() / "josi-train";
  argv[0] = const_cast<char*>("josi-train");
  execv(trainer.c_str(), argv);
  std::cerr << "josi: error: josi train runs " << trainer.string() << ", which cannot be started (" << std::strerror(errno)
            << "); it is built with libtorch (scripts/test.sh builds it)\n";
  std::exit(static_cast<int>(josi::ExitCode::io));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "train") == 0) exec_josi_train(argv);
  CLI::App app{"josi: prepare data, train, package, ship and run the Josi v5 coaching models", "josi"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "josi " JOSI_VERSION);
  josi::cli::register_data(app);
  josi::cli::register_prepare_sequential(app);
  josi::cli::register_coach(app);
  josi::cli::register_tokenize(app);
  josi::cli::register_gguf(app);
  josi::cli::register_init_base(app);
  josi::cli::register_export_gguf(app);
  josi::cli::register_quantize(app);
  app.add_subcommand("train", "Fine-tune LoRA adapters (interpreter or explainer) on libtorch; see josi train --help");
  josi::cli::register_merge(app);
  josi::cli::register_publish(app);
  josi::cli::register_download(app);
  josi::cli::register_generate(app);
  josi::cli::register_chat(app);
  josi::cli::register_sanity(app);
  josi::cli::register_eval(app);
  josi::cli::register_logits(app);
  josi::cli::register_bench(app);
  josi::cli::register_knowledge(app);
  return josi::cli::run_cli(app, argc, argv);
}
