#pragma once
// Message digests from OpenSSL's libcrypto: SHA-256 (manifest checksums and
// SigV4 payload hashes), MD5 (S3 ETags and Content-MD5) and HMAC-SHA256
// (SigV4 signing). Incremental, so a file is hashed while it streams.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;
struct evp_md_st;

namespace josi::ship {

enum class DigestKind { sha256, md5 };

class Digest {
 public:
  explicit Digest(DigestKind kind = DigestKind::sha256);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::string_view bytes);
  std::string finish();      // raw digest bytes; starts over afterwards
  std::string finish_hex();  // lower-case hex
  void reset();

 private:
  evp_md_ctx_st* ctx_;
  const evp_md_st* md_;
};

std::string sha256_hex(std::string_view bytes);
std::string md5_raw(std::string_view bytes);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string to_hex(std::string_view raw);
std::string base64(std::string_view raw);
bool is_sha256_hex(std::string_view text);  // 64 lower- or upper-case hex digits

// SHA-256 of a whole file, read in large blocks; `on_bytes` sees each block's
// size (for progress). Throws josi::Error (io) naming the path.
std::string sha256_file_hex(const std::filesystem::path& path, const std::function<void(uint64_t)>& on_bytes = {});

}  // namespace josi::ship
