#include "ship/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/error.hpp"

namespace josi::ship {

Digest::Digest(DigestKind kind)
    : ctx_(EVP_MD_CTX_new()), md_(kind == DigestKind::sha256 ? EVP_sha256() : EVP_md5()) {
  if (!ctx_) throw std::bad_alloc();
  reset();
}

Digest::~Digest() { EVP_MD_CTX_free(ctx_); }

void Digest::reset() {
  if (EVP_DigestInit_ex(ctx_, md_, nullptr) != 1) throw Error("digest: OpenSSL could not start a digest");
}

void Digest::update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }

std::string Digest::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, out, &n);
  reset();
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Digest::finish_hex() { return to_hex(finish()); }

std::string sha256_hex(std::string_view bytes) {
  Digest d(DigestKind::sha256);
  d.update(bytes);
  return d.finish_hex();
}

std::string md5_raw(std::string_view bytes) {
  Digest d(DigestKind::md5);
  d.update(bytes);
  return d.finish();
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &n))
    throw Error("digest: OpenSSL HMAC failed");
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string to_hex(std::string_view raw) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string sha256_file_hex(const std::filesystem::path& path, const std::function<void(uint64_t)>& on_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path.string() + ": cannot open: " + std::strerror(errno), ExitCode::io);
  Digest digest;
  std::vector<char> block(4 << 20);
  for (;;) {
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(path.string() + ": read failed: " + std::strerror(err), ExitCode::io);
    }
    if (n == 0) break;
    digest.update(std::string_view(block.data(), static_cast<size_t>(n)));
    if (on_bytes) on_bytes(static_cast<uint64_t>(n));
  }
  ::close(fd);
  return digest.finish_hex();
}

}  // namespace josi::ship
