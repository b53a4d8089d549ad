// GGUF reader fuzz target: any bytes must either open (and then every value
// and every tensor byte must be readable) or fail with josi::Error. Anything
// else, a crash or a sanitizer report, is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.hpp"
#include "formats/gguf.hpp"

namespace {

using josi::formats::GgufValue;
using josi::formats::GgufValueType;

// GgufFile maps a path, so the input goes through a per-process file,
// removed at exit.
struct Scratch {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("gguf_fuzz_" + std::to_string(::getpid()) + ".gguf");
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

const std::filesystem::path& scratch() {
  static const Scratch file;
  return file.path;
}

uint64_t walk(const GgufValue& v, const std::string& key) {
  switch (v.type) {
    case GgufValueType::U8: case GgufValueType::U16: case GgufValueType::U32: case GgufValueType::U64:
      return v.as_uint(key);
    case GgufValueType::I8: case GgufValueType::I16: case GgufValueType::I32: case GgufValueType::I64:
      return static_cast<uint64_t>(v.as_int(key));
    case GgufValueType::F32: case GgufValueType::F64: return v.as_float(key) != 0;
    case GgufValueType::BOOL: return v.as_bool(key);
    case GgufValueType::STRING: return v.as_string(key).size();
    case GgufValueType::ARRAY: {
      uint64_t sum = 0;
      for (const auto& e : v.as_array(key).elements) sum += walk(e, key);
      return sum;
    }
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(scratch(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    josi::formats::GgufFile file(scratch());
    volatile uint64_t sink = file.version() + file.alignment() + file.data_offset();
    // Lookups are linear scans; a few per input keep the run linear.
    size_t lookups = 0;
    for (const auto& [key, value] : file.metadata())
      sink = sink + walk(value, key) + (lookups++ < 16 && file.find(key) != &value);
    for (const auto& t : file.tensors()) {
      const uint8_t* bytes = file.tensor_data(t);
      uint64_t sum = t.numel() + (lookups++ < 32 && file.find_tensor(t.name) != &t);
      for (uint64_t i = 0; i < t.nbytes; ++i) sum += bytes[i];
      sink = sink + sum;
    }
    (void)sink;
  } catch (const josi::Error&) {
    // A clean rejection is the expected outcome for most inputs.
  }
  return 0;
}
