#include "cli/commands.hpp"

namespace josi::cli {

void register_data(CLI::App& app) { (void)app; }

}  // namespace josi::cli
