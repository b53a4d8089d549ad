#pragma once
// What both executables do around their commands: parse, run, and turn any
// error into one line on stderr and an exit code.
#include <CLI/CLI.hpp>

namespace josi::cli {

int run_cli(CLI::App& app, int argc, char** argv);

}  // namespace josi::cli
