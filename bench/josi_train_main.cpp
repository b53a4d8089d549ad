// josi with only the commands of the training path (init-base, train,
// merge), from the same sources as josi. bench/train_gpu.sh builds it on a
// GPU machine that has a PyTorch installation but nothing else josi needs
// (no CMake, no libcurl or OpenSSL for the other commands), so the GPU
// benchmark times the real `josi train`.
#include "cli/commands.hpp"
#include "cli/run_cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"josi (training commands only)", "josi"};
  app.require_subcommand(1);
  josi::cli::register_init_base(app);
  josi::cli::register_train(app);
  josi::cli::register_merge(app);
  return josi::cli::run_cli(app, argc, argv);
}
