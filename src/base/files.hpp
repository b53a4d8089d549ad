#pragma once
// Whole-file reads and crash-safe writes: output goes to a temporary name in
// the same directory and is renamed into place only when complete, so a
// failed or interrupted run never leaves a half-written file under the final
// name and never destroys what the user had there.
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace josi::base {

// Reads a whole file; throws josi::Error (io) naming the path.
std::string read_file(const std::filesystem::path& path);

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path final_path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ostream& stream() { return out_; }
  void write(std::string_view bytes);
  // Flushes, closes and renames onto the final path; throws on failure.
  void commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  std::ofstream out_;
  bool committed_ = false;
};

// Checks, before long work starts, that `path`'s directory exists and is
// writable; throws josi::Error (io) naming the path otherwise.
void check_output_path(const std::filesystem::path& path);

// Writes a whole file through AtomicFile.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

}  // namespace josi::base
