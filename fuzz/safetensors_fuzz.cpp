// Fuzzes SafetensorsFile: any input either opens, with every view inside the
// mapped file, or fails with josi::Error. An input that opens is written back
// with SafetensorsWriter and must read back the same. Anything else (another
// exception, a crash, a sanitizer report) is a finding.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "formats/safetensors.hpp"

namespace {

namespace fs = std::filesystem;
using josi::formats::SafetensorsFile;
using josi::formats::SafetensorsWriter;
using josi::formats::TensorView;

// The reader takes a path, so each input goes through a per-process file.
fs::path scratch(const char* suffix) {
  return fs::temp_directory_path() / ("josi_safetensors_fuzz." + std::to_string(::getpid()) + suffix);
}
const fs::path in_path = scratch(".in");
const fs::path out_path = scratch(".out");

struct Cleanup {
  ~Cleanup() {
    std::error_code ec;
    fs::remove(in_path, ec);
    fs::remove(out_path, ec);
  }
} cleanup;

void check(bool ok) {
  if (!ok) std::abort();
}

uint64_t touch(const TensorView& view) {
  // Reads every byte so ASan sees any view that strays outside the mapping.
  uint64_t sum = 0;
  for (size_t i = 0; i < view.nbytes; ++i) sum += view.data[i];
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(in_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) return 0;
  }
  std::unique_ptr<SafetensorsFile> file;
  try {
    file = std::make_unique<SafetensorsFile>(in_path);
  } catch (const josi::Error&) {
    return 0;  // a refused input is the expected outcome for most of them
  }
  // From here on nothing may throw: the file was accepted.
  SafetensorsWriter writer;
  std::vector<uint64_t> sums;
  for (const TensorView& view : file->tensors()) {
    sums.push_back(touch(view));
    check(file->find(view.name) == &view);
    check(&file->at(view.name) == &view);
    check(view.numel() >= 0);
    check(static_cast<uint64_t>(view.numel()) * josi::formats::dtype_size(view.dtype) == view.nbytes);
    writer.add_bytes(view.name, view.dtype, view.shape, std::string(reinterpret_cast<const char*>(view.data), view.nbytes));
  }
  for (const auto& [key, value] : file->metadata()) writer.set_metadata(key, value);
  writer.write(out_path);

  SafetensorsFile again(out_path);
  check(again.tensors().size() == file->tensors().size());
  for (size_t i = 0; i < file->tensors().size(); ++i) {
    const TensorView& a = file->tensors()[i];
    const TensorView& b = again.tensors()[i];
    check(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.nbytes == b.nbytes);
    check(touch(b) == sums[i]);
    check(a.nbytes == 0 || std::equal(a.data, a.data + a.nbytes, b.data));
  }
  auto expected = file->metadata();
  expected.emplace("format", "pt");  // the writer always adds it
  check(again.metadata() == expected);
  return 0;
}
