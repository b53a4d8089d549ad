#pragma once
// A release for the publish/download tests: two small GGUF files standing in
// for the Q4_K_M models (a few MiB, so a 1 MiB part size takes the multipart
// path), and `josi publish` / `josi download` runs whose output is checked
// never to contain the S3 secret.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "formats/gguf.hpp"
#include "ship/digest.hpp"
#include "integration/ship_servers.hpp"

namespace josi::test {

// A valid GGUF of about `bytes` bytes with general.file_type Q4_K_M (15).
inline void write_test_gguf(const fs::path& path, size_t bytes, uint32_t seed) {
  formats::GgufWriter w;
  w.set("general.architecture", formats::GgufValue::string("qwen2"));
  w.set("general.file_type", formats::GgufValue::u32(15));
  const uint64_t floats = bytes / 4;
  w.add_tensor("blob", {floats}, formats::GgmlType::F32, [=](std::string& out) {
    std::mt19937 rng(seed);
    for (uint64_t i = 0; i < floats; ++i) {
      uint32_t v = rng();
      out.append(reinterpret_cast<const char*>(&v), 4);
    }
  });
  w.write(path);
}

struct Release {
  TempDir dir;
  fs::path interpreter = dir / "interpreter.gguf";
  fs::path explainer = dir / "explainer.gguf";
  Release(size_t interpreter_bytes = (5u << 19) + 12345, size_t explainer_bytes = (7u << 19) + 777) {
    write_test_gguf(interpreter, interpreter_bytes, 1);
    write_test_gguf(explainer, explainer_bytes, 2);
  }
};

inline void expect_no_secret(const RunResult& r) {
  EXPECT_EQ(r.out.find(S3Store::kSecretKey), std::string::npos) << "the secret is on stdout";
  EXPECT_EQ(r.err.find(S3Store::kSecretKey), std::string::npos) << "the secret is on stderr";
}

// josi publish --upload-only of `release` to `endpoint` (the store, or a proxy to it).
inline RunResult publish(const Release& release, const S3Store& store, const std::string& endpoint,
                         const std::string& public_url, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"publish", "--gguf-interpreter", release.interpreter.string(), "--gguf-explainer",
                                   release.explainer.string(), "--upload-only", "--s3-endpoint", endpoint,
                                   "--s3-access-key", S3Store::kAccessKey, "--s3-secret-key", S3Store::kSecretKey,
                                   "--bucket", store.bucket(), "--public-url", public_url, "--part-size", "1MiB",
                                   "--jobs", "3", "--skip-sanity"};  // stand-ins, not models: nothing to check
  args.insert(args.end(), extra.begin(), extra.end());
  if (std::find(extra.begin(), extra.end(), "--retries") == extra.end()) args.insert(args.end(), {"--retries", "2"});
  RunResult r = run_josi(args);
  expect_no_secret(r);
  return r;
}

inline RunResult download(const std::string& manifest_url, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"download", "--manifest-url", manifest_url, "--output-dir", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  if (std::find(extra.begin(), extra.end(), "--retries") == extra.end()) args.insert(args.end(), {"--retries", "2"});
  return run_josi(args);
}

inline std::string file_sha256(const fs::path& path) { return ship::sha256_file_hex(path); }

// The guide's blocks, made local.
inline std::string proxy_block(const S3Store& store) {
  return guide_server_block("nginx-proxy", {{"listen 80;", "listen 127.0.0.1:@PORT@;"},
                                            {"https://fsn1.your-objectstorage.com", store.endpoint()}});
}
inline std::string static_block(const fs::path& root) {
  return guide_server_block("nginx-static", {{"listen 80;", "listen 127.0.0.1:@PORT@;"}, {"/srv/josi/models", root.string()}});
}

}  // namespace josi::test
