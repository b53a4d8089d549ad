#pragma once
// A read-only memory map of a whole file: model weights are read in place
// (or rearranged once, release_pages below). Views into it stay valid while
// the MappedFile lives.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace josi::base {

class MappedFile {
 public:
  // Throws josi::Error (io) naming the path when it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Drops the pages wholly inside [data, data + size) of a map from this
// process's resident memory (its copy elsewhere took their place); the map
// stays valid and reads them back from the file if they are touched again.
void release_pages(const void* data, size_t size);

}  // namespace josi::base
