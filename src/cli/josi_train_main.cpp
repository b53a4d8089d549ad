// josi-train: `josi train` in its own executable, the only one that links
// libtorch (josi hands `josi train ...` to it; see main.cpp).
#include "cli/commands.hpp"
#include "cli/run_cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"josi-train: LoRA fine-tuning of the Josi models on libtorch (run as josi train)", "josi"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "josi 0.1.0");
  josi::cli::register_train(app);
  return josi::cli::run_cli(app, argc, argv);
}
