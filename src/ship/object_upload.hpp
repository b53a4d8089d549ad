#pragma once
// Uploads one file as one S3 object: a single PUT up to the part size,
// otherwise a multipart upload with several parts in flight, each part
// checked against its MD5 and retried on its own. A failed multipart upload
// is aborted so the store keeps no orphan parts.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "ship/s3_client.hpp"

namespace josi::ship {

struct UploadOptions {
  uint64_t part_size = 16ull << 20;  // stores require >= 5 MiB for all but the last part
  int jobs = 4;                      // parts in flight
  HeaderList headers;                // content-type, x-amz-acl, x-amz-meta-*: with the PUT or the multipart start
};

struct UploadResult {
  uint64_t bytes = 0;
  int parts = 0;          // 0 for a single PUT
  std::string etag;       // the ETag the store should now report
};

// `on_bytes` (called from several threads, one call at a time per thread)
// sees each part as it is stored.
UploadResult upload_file(const S3Config& config, const std::string& key, const std::filesystem::path& file,
                         const UploadOptions& options, const std::function<void(uint64_t)>& on_bytes = {});

// Aborts unfinished multipart uploads of `key` left by an earlier run that
// could not abort them itself (the store was unreachable). Returns how many,
// or -1 when the store cannot list them.
int abort_unfinished_uploads(S3Client& client, const std::string& key);

}  // namespace josi::ship
