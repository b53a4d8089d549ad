// josi: one native tool for the Josi v5 model lifecycle. Each subcommand is
// registered from its own file (commands.hpp); this file only turns errors
// into one line on stderr and an exit code.
#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"

namespace josi::cli {
namespace {
int g_exit_code = 0;
}
int exit_code() { return g_exit_code; }
void set_exit_code(int code) { g_exit_code = code; }
}  // namespace josi::cli

int main(int argc, char** argv) {
  CLI::App app{"josi: prepare data, train, package, ship and run the Josi v5 coaching models", "josi"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "josi 0.1.0");
  josi::cli::register_data(app);
  josi::cli::register_prepare_sequential(app);
  josi::cli::register_coach(app);
  josi::cli::register_tokenize(app);
  josi::cli::register_gguf(app);
  josi::cli::register_init_base(app);
  josi::cli::register_export_gguf(app);
  josi::cli::register_quantize(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "josi: error: " << e.what() << " (see --help)\n";
    return static_cast<int>(josi::ExitCode::usage);
  } catch (const josi::Error& e) {
    std::cerr << "josi: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "josi: internal error: " << e.what() << "\n";
    return static_cast<int>(josi::ExitCode::failure);
  }
  return josi::cli::exit_code();
}
