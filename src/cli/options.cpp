#include "cli/options.hpp"

#include <algorithm>

namespace josi::cli {

std::string flag(const std::string& name) {
  std::string dashed = name;
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  std::string underscored = name;
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  if (dashed == underscored) return "--" + dashed;
  return "--" + underscored + ",--" + dashed;
}

}  // namespace josi::cli
