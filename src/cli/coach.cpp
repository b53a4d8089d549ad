#include "cli/commands.hpp"

namespace josi::cli {

void register_coach(CLI::App& app) { (void)app; }

}  // namespace josi::cli
