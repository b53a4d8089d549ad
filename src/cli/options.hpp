#pragma once
// Flag spelling: the users' scripts spell long flags with underscores
// (--train_data), shell users with dashes; both always work.
#include <string>

namespace josi::cli {

// "train_data" -> "--train_data,--train-data" (one name when they are the same).
std::string flag(const std::string& name);

}  // namespace josi::cli
