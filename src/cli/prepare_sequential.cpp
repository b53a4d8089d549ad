#include "cli/commands.hpp"

namespace josi::cli {

void register_prepare_sequential(CLI::App& app) { (void)app; }

}  // namespace josi::cli
