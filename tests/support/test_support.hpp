#pragma once
// Helpers for the tests: where things are, and running the josi binary.
#include <filesystem>
#include <string>
#include <vector>

namespace josi::test {

std::filesystem::path source_dir();
std::filesystem::path shared_dir();
std::filesystem::path reference_data(const std::string& name);  // ../shared/reference/mivalta-v5/data/<name>
std::filesystem::path reference_dir();                          // ../shared/reference/mivalta-v5

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `josi <args...>` with `input` on standard input.
RunResult run_josi(const std::vector<std::string>& args, const std::string& input = "");

// A fresh empty directory, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace josi::test
