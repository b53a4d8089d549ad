#pragma once
// `josi download`: fetch the manifest (or fall back to the built-in file
// names when the default one cannot be fetched), then each selected model in
// parallel (in an adapters release, each role's adapter and the base they
// share): kept when present with the manifest's checksum and version,
// otherwise fetched through download_verified.
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "ship/http.hpp"
#include "ship/manifest.hpp"
#include "ship/retry.hpp"
#include "ship/verified_download.hpp"

namespace josi::ship {

struct DownloadOptions {
  std::filesystem::path output_dir = "models/gguf";
  std::vector<std::string> roles{"interpreter", "explainer"};
  bool verify = true;
  bool force = false;
  std::string manifest_url;  // "": <base>/josi-v5-manifest.json, with the built-in fallback
  std::string base_url;      // "": the manifest's URLs (default base: kDefaultPublicUrl); set: models come from here
  HttpOptions http;
  RetryPolicy retry;
};

struct ModelDownload {
  std::string role;
  std::string file;
  bool downloaded = false;  // false: already present
  std::string reason;       // why it was (re)downloaded or kept
  DownloadResult transfer;
};

// Prints one line per model on `out`; throws josi::Error naming every model
// that failed (the others still finish).
std::vector<ModelDownload> download_models(const DownloadOptions& options, std::ostream& out);

// Fetches and checks a manifest (http, https or file URL).
Manifest fetch_manifest(const std::string& url, HttpClient& http, const RetryPolicy& retry);

}  // namespace josi::ship
