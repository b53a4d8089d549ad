#include "base/files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace josi::base {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path.string() + ": is a directory, expected a file", ExitCode::io);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot open: " + std::strerror(errno), ExitCode::io);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path.string() + ": read failed", ExitCode::io);
  return bytes;
}

AtomicFile::AtomicFile(fs::path final_path) : final_path_(std::move(final_path)) {
  temp_path_ = final_path_;
  temp_path_ += ".tmp." + std::to_string(::getpid());
  out_.open(temp_path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error(final_path_.string() + ": cannot write: " + std::strerror(errno), ExitCode::io);
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::error_code ec;
    fs::remove(temp_path_, ec);
  }
}

void AtomicFile::write(std::string_view bytes) { out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); }

void AtomicFile::commit() {
  out_.flush();
  out_.close();
  if (!out_) throw Error(final_path_.string() + ": write failed (disk full?)", ExitCode::io);
  std::error_code ec;
  fs::rename(temp_path_, final_path_, ec);
  if (ec) throw Error(final_path_.string() + ": cannot rename into place: " + ec.message(), ExitCode::io);
  committed_ = true;
}

void check_output_path(const fs::path& path) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(path.string() + ": directory " + dir.string() + " does not exist", ExitCode::io);
  if (::access(dir.c_str(), W_OK) != 0) throw Error(path.string() + ": directory " + dir.string() + " is not writable", ExitCode::io);
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace josi::base
