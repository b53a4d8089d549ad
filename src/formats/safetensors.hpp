#pragma once
// safetensors (Hugging Face weights and PEFT adapters): 8-byte little-endian
// header length N, N bytes of JSON header, then the data buffer. Reading maps
// the file and hands out zero-copy views; every offset, shape and dtype is
// checked against the file before use. Writing streams tensor by tensor to a
// temporary name and renames it into place.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mapped_file.hpp"
#include "formats/dtype.hpp"

namespace josi::formats {

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // into the mapped file
  size_t nbytes = 0;
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Throws josi::Error naming the path on any inconsistency: N larger than the
  // file, bad JSON, unknown dtype, offsets out of range or overlapping, a
  // shape whose element count times dtype size differs from its span.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::vector<TensorView>& tensors() const { return tensors_; }  // in file (offset) order
  const TensorView* find(const std::string& name) const;              // nullptr when absent
  const TensorView& at(const std::string& name) const;                // throws naming the file
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return file_.path(); }

 private:
  base::MappedFile file_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A model's weights: `model.safetensors`, or shards listed by
// `model.safetensors.index.json` (weight_map), opened together.
class SafetensorsModel {
 public:
  // `dir` holds the files; throws when neither form is there, a shard is
  // missing, or the index names a tensor its shard lacks.
  explicit SafetensorsModel(const std::filesystem::path& dir);
  std::vector<const TensorView*> tensors() const;  // every tensor, shards in order
  const TensorView* find(const std::string& name) const;
  const TensorView& at(const std::string& name) const;

 private:
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, const TensorView*> by_name_;
};

// Streams a safetensors file: declare every tensor first (the header needs
// all shapes), then each tensor's bytes are produced by its callback in turn.
class SafetensorsWriter {
 public:
  using Producer = std::function<void(std::string& out)>;  // appends exactly the tensor's bytes

  void add(std::string name, DType dtype, std::vector<int64_t> shape, Producer produce);
  // Convenience: a tensor whose bytes are already in memory (copied when written).
  void add_bytes(std::string name, DType dtype, std::vector<int64_t> shape, std::string bytes);
  void set_metadata(std::string key, std::string value);  // "format": "pt" is always written

  // Writes to `path` atomically; the header is padded with spaces to a
  // multiple of 8 bytes. Throws when a producer emits the wrong byte count.
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    Producer produce;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace josi::formats
