#include "cli/run_cli.hpp"

#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"

namespace josi::cli {
namespace {
int g_exit_code = 0;
}
int exit_code() { return g_exit_code; }
void set_exit_code(int code) { g_exit_code = code; }

int run_cli(CLI::App& app, int argc, char** argv) {
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
    return static_cast<int>(ExitCode::usage);
  } catch (const Error& e) {
    std::cerr << "josi: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "josi: internal error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::failure);
  }
  return exit_code();
}

}  // namespace josi::cli
