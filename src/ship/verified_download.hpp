#pragma once
// Fetches one file so that its final name only ever holds the complete,
// verified bytes: data goes to a hidden ".NAME.partial" beside it, hashed as
// it arrives; an interrupted transfer resumes there with an HTTP Range
// request (in this run after a retry, or in the next run), and the file is
// renamed into place only when its size and SHA-256 match. A mismatch
// discards the data; nothing the user had is lost.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "ship/http.hpp"
#include "ship/retry.hpp"

namespace josi::ship {

struct FileDownload {
  std::string url;              // http(s) or file
  std::filesystem::path dest;   // the final name
  uint64_t size = 0;            // 0: unknown
  std::string sha256;           // lower-case hex; "": unknown
  bool verify = true;           // check the SHA-256 when known
};

struct DownloadResult {
  uint64_t bytes = 0;         // size of the file now under dest
  uint64_t fetched = 0;       // bytes that came over the network in this run
  uint64_t resumed_from = 0;  // bytes kept from an earlier, interrupted run
  bool verified = false;      // SHA-256 matched
};

// `on_bytes` sees every chunk written (and the kept bytes of a resumed file).
DownloadResult download_verified(const FileDownload& file, HttpClient& http, const RetryPolicy& retry,
                                 const std::function<void(uint64_t)>& on_bytes = {});

// Where the data of `dest` waits until it is complete: ".NAME.partial".
std::filesystem::path partial_path(const std::filesystem::path& dest);

}  // namespace josi::ship
