#pragma once
// `josi publish` once the GGUF files exist: hash them into the manifest, then
// upload each model public-read with its SHA-256 as metadata, check it with
// HEAD (size, checksum, ETag), upload the manifest last, and check that the
// public URLs answer with the right sizes.
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "ship/manifest.hpp"
#include "ship/object_upload.hpp"
#include "ship/s3_client.hpp"

namespace josi::ship {

struct PublishFile {
  std::string role;             // "interpreter" | "explainer" | "base"
  std::filesystem::path path;   // the GGUF file
  std::string quant;            // "q4_k_m"; an adapter's tensor type, "f16"
  std::string adapter_of;       // "base": a LoRA adapter of the base file; "": a full model
};

// Hashes the files (with a progress bar) into a manifest whose URLs are
// under `public_url`: the adapters shape when a file is an adapter.
Manifest build_manifest(const std::vector<PublishFile>& files, const std::string& public_url);

// Uploads the files and then the manifest (which must describe them, with
// URLs under `public_url`); prints a line per step on `out`.
void upload_release(const std::vector<PublishFile>& files, const Manifest& manifest, const std::string& public_url,
                    const S3Config& s3, const UploadOptions& options, std::ostream& out);

}  // namespace josi::ship
