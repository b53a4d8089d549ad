#include "base/directory_tree.hpp"

#include <ftw.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.hpp"

namespace josi::base {

namespace fs = std::filesystem;

void remove_tree(const fs::path& dir) {
  // Children before their directory (FTW_DEPTH), links not followed (FTW_PHYS).
  auto remove_entry = [](const char* path, const struct stat*, int, struct FTW*) { return std::remove(path) == 0 ? 0 : errno; };
  const int result = nftw(dir.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (result != 0 && !(result == -1 && errno == ENOENT))
    throw Error(dir.string() + ": cannot remove: " + std::strerror(result > 0 ? result : errno), ExitCode::io);
}

void replace_tree(const fs::path& temp, const fs::path& final) {
  remove_tree(final);
  std::error_code ec;
  fs::rename(temp, final, ec);
  if (ec) throw Error(final.string() + ": cannot write: " + ec.message(), ExitCode::io);
}

}  // namespace josi::base
