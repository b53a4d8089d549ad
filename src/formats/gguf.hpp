#pragma once
// GGUF, the llama.cpp model file (versions 2 and 3, little-endian): header,
// typed key/value metadata, tensor infos, aligned data section. Reading maps
// the file and bounds-checks every count, length and offset against the file
// size before allocating; writing streams tensor by tensor to a temporary
// name and renames it into place.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/mapped_file.hpp"
#include "formats/ggml_type.hpp"

namespace josi::formats {

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view gguf_value_type_name(GgufValueType type);

struct GgufArray;

// One metadata value. Arrays hold elements of a single type (nested arrays allowed).
struct GgufValue {
  GgufValueType type = GgufValueType::U32;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<GgufArray>> value;

  static GgufValue u8(uint8_t v);
  static GgufValue i8(int8_t v);
  static GgufValue u16(uint16_t v);
  static GgufValue i16(int16_t v);
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue i64(int64_t v);
  static GgufValue f32(float v);
  static GgufValue f64(double v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue array(GgufValueType element_type, std::vector<GgufValue> elements);
  static GgufValue string_array(const std::vector<std::string>& v);
  static GgufValue i32_array(const std::vector<int32_t>& v);
  static GgufValue f32_array(const std::vector<float>& v);

  // Typed access; each throws josi::Error "<key>: expected <type>" via the
  // caller-supplied key when the type does not match.
  uint64_t as_uint(const std::string& key) const;   // any unsigned or non-negative signed integer
  int64_t as_int(const std::string& key) const;     // any integer type
  double as_float(const std::string& key) const;    // F32 or F64
  bool as_bool(const std::string& key) const;
  const std::string& as_string(const std::string& key) const;
  const GgufArray& as_array(const std::string& key) const;
};

struct GgufArray {
  GgufValueType element_type = GgufValueType::U8;
  std::vector<GgufValue> elements;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // dims[0] is the contiguous row length
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;         // relative to the data section
  uint64_t nbytes = 0;         // from dims and type
  uint64_t numel() const;
};

class GgufFile {
 public:
  // Throws josi::Error naming the path for: bad magic, an unsupported version
  // (only 2 and 3), counts or lengths beyond the file, unknown value or
  // tensor types, bad alignment, tensor data outside the file or overlapping,
  // duplicate keys or tensor names.
  explicit GgufFile(const std::filesystem::path& path);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute offset of the data section
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  const GgufValue& at(const std::string& key) const;    // throws "<path>: missing metadata key <key>"
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // Frees a metadata value no longer needed (the vocabulary arrays, once a
  // tokenizer holds them: ~25 MB for a 151k-token vocabulary).
  void release(const std::string& key);
  const uint8_t* tensor_data(const GgufTensorInfo& tensor) const;  // into the map
  const base::MappedFile& file() const { return file_; }
  const std::filesystem::path& path() const { return file_.path(); }

 private:
  base::MappedFile file_;
  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
};

// Streams a GGUF file: set metadata and declare tensors, then write() emits
// the header and infos, and each tensor's bytes come from its producer in
// declaration order, padded to the alignment; memory stays near one tensor.
class GgufWriter {
 public:
  using Producer = std::function<void(std::string& out)>;  // appends exactly the tensor's bytes

  explicit GgufWriter(uint32_t version = 3);
  void set(const std::string& key, GgufValue value);  // replaces an existing key in place
  void remove(const std::string& key);
  void add_tensor(std::string name, std::vector<uint64_t> dims, GgmlType type, Producer produce);
  // Atomic: temporary name, then rename. Throws when a producer emits the
  // wrong byte count, or a row does not fit its type's block size.
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType type;
    Producer produce;
  };
  uint32_t version_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Entry> tensors_;
};

// The seed's "GGUF v2 patch", done safely: validates `in` as a GGUF file,
// refuses versions other than 2 and 3, and writes a copy that differs only in
// bytes 4-7 (atomically). Returns the input's version.
uint32_t gguf_set_version(const std::filesystem::path& in, const std::filesystem::path& out, uint32_t version);

}  // namespace josi::formats
