#include "runtime/prefix_cache.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <fmt/format.h>
#include <sys/stat.h>

#include "base/checksum.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/mapped_file.hpp"

namespace josi::runtime {
namespace {

constexpr char kMagic[8] = {'J', 'O', 'S', 'I', 'K', 'V', '0', '1'};
// The file's header after the magic and the key: layers, width, tokens and
// how the keys and values are stored (infer::KvType: 0 f16, 1 q8_0).
struct Shape {
  uint32_t n_layer = 0, kv_dim = 0, n_tokens = 0, kv_type = 0;
};

// Content sampled for a model's identity: the header (metadata and tensor
// table) and this many chunks spread evenly over the rest.
constexpr size_t kHeaderBytes = 1 << 20;
constexpr size_t kChunks = 32;
constexpr size_t kChunkBytes = 1 << 16;

std::string file_identity(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot be read", ExitCode::io);
  const uint64_t size = std::filesystem::file_size(path);
  base::Checksum sum;
  std::string chunk;
  const auto take = [&](uint64_t at, size_t n) {
    chunk.resize(static_cast<size_t>(std::min<uint64_t>(n, size - std::min(size, at))));
    in.seekg(static_cast<std::streamoff>(at));
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    sum.update(chunk);
  };
  take(0, kHeaderBytes);
  if (size > kHeaderBytes)
    for (size_t i = 0; i < kChunks; ++i) take(kHeaderBytes + (size - kHeaderBytes) / kChunks * i, kChunkBytes);
  struct stat st {};
  int64_t mtime_ns = 0;
  if (::stat(path.c_str(), &st) == 0) mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return fmt::format("size {} mtime {} content {:016x}", size, mtime_ns, sum.value());
}

}  // namespace

std::string model_identity(const std::filesystem::path& model) {
  if (!std::filesystem::is_directory(model)) return file_identity(model);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(model))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::string identity;
  for (const auto& f : files) identity += f.filename().string() + " " + file_identity(f) + "; ";
  return identity;
}

PrefixCache::PrefixCache(std::filesystem::path dir, std::string key) : key_(std::move(key)) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the cache directory: " + ec.message(), ExitCode::io);
  path_ = dir / fmt::format("prefix-{:016x}.kv", base::checksum(key_));
}

bool PrefixCache::load(const std::vector<int32_t>& tokens, infer::Context& context, std::string& reason) const {
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) {
    reason = "missing";
    return false;
  }
  try {
    const base::MappedFile file(path_);
    const auto bytes = file.bytes();
    const auto corrupt = [&](const char* why) {
      reason = std::string("corrupt: ") + why;
      return false;
    };
    if (bytes.size() < sizeof(kMagic) + 8 + sizeof(Shape) + 8) return corrupt("too short");
    if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) return corrupt("not a Josi prefix cache");
    uint64_t stored = 0;
    std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
    if (base::checksum(bytes.substr(0, bytes.size() - 8)) != stored) return corrupt("checksum mismatch");

    size_t at = sizeof(kMagic);
    uint64_t key_size = 0;
    std::memcpy(&key_size, bytes.data() + at, 8);
    at += 8;
    if (key_size > bytes.size() - at) return corrupt("key beyond the end");
    if (bytes.substr(at, key_size) != key_) {
      reason = "stale (another model, prompt or engine)";
      return false;
    }
    at += key_size;
    Shape shape;
    if (bytes.size() - at < sizeof(shape) + 8) return corrupt("too short");
    std::memcpy(&shape, bytes.data() + at, sizeof(shape));
    at += sizeof(shape);
    const auto& kv = context.kv_cache();
    if (shape.n_layer != kv.n_layer() || shape.kv_dim != kv.kv_dim()) return corrupt("another cache shape");
    if (shape.kv_type != static_cast<uint32_t>(kv.type())) {
      reason = "stale (another KV cache type)";
      return false;
    }
    if (shape.n_tokens != tokens.size() || tokens.size() > static_cast<size_t>(context.n_ctx())) {
      reason = "stale (other prefix tokens)";
      return false;
    }
    const size_t rows = size_t{shape.n_tokens} * kv.row_bytes();
    const uint64_t expected = at + tokens.size() * 4 + uint64_t{shape.n_layer} * 2 * rows + 8;
    if (expected != bytes.size()) return corrupt("size does not match its header");
    if (std::memcmp(bytes.data() + at, tokens.data(), tokens.size() * 4) != 0) {
      reason = "stale (other prefix tokens)";
      return false;
    }
    at += tokens.size() * 4;
    auto& cache = context.kv_cache();
    for (uint32_t layer = 0; layer < shape.n_layer; ++layer) {
      std::memcpy(cache.k(layer, 0), bytes.data() + at, rows);
      at += rows;
      std::memcpy(cache.v(layer, 0), bytes.data() + at, rows);
      at += rows;
    }
    context.set_n_past(static_cast<int64_t>(tokens.size()));
    return true;
  } catch (const Error& e) {
    reason = std::string("unreadable: ") + e.what();
    return false;
  }
}

void PrefixCache::save(const std::vector<int32_t>& tokens, const infer::Context& context) const {
  const auto& cache = context.kv_cache();
  base::AtomicFile out(path_);
  base::Checksum sum;
  const auto put = [&](const void* data, size_t size) {
    out.write(std::string_view(static_cast<const char*>(data), size));
    sum.update(data, size);
  };
  put(kMagic, sizeof(kMagic));
  const uint64_t key_size = key_.size();
  put(&key_size, 8);
  put(key_.data(), key_.size());
  const Shape shape{static_cast<uint32_t>(cache.n_layer()), static_cast<uint32_t>(cache.kv_dim()),
                    static_cast<uint32_t>(tokens.size()), static_cast<uint32_t>(cache.type())};
  put(&shape, sizeof(shape));
  put(tokens.data(), tokens.size() * 4);
  const size_t rows = tokens.size() * cache.row_bytes();
  for (int64_t layer = 0; layer < cache.n_layer(); ++layer) {
    put(cache.k(layer, 0), rows);
    put(cache.v(layer, 0), rows);
  }
  const uint64_t value = sum.value();
  out.write(std::string_view(reinterpret_cast<const char*>(&value), 8));
  out.commit();
}

}  // namespace josi::runtime
