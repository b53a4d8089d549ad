#include "ship/verified_download.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "base/error.hpp"
#include "base/files.hpp"
#include "json/json.hpp"
#include "ship/digest.hpp"
#include "ship/hashing_writer.hpp"

namespace josi::ship {

namespace fs = std::filesystem;

namespace {

// Records which file a partial belongs to, so a later run resumes it only
// for the same expected bytes.
fs::path state_path(const fs::path& dest) {
  return dest.parent_path() / ("." + dest.filename().string() + ".partial.json");
}

std::string state_text(const FileDownload& f) {
  return json::Json{{"url", f.url}, {"size_bytes", f.size}, {"sha256", f.sha256}}.dump() + "\n";
}

void discard_partial(const fs::path& dest) {
  std::error_code ec;
  fs::remove(partial_path(dest), ec);
  fs::remove(state_path(dest), ec);
}

// Bytes of an earlier partial worth keeping: only when it was started for
// the same checksum and size (or, with no checksum known, the same URL).
uint64_t usable_partial(const FileDownload& f) {
  std::error_code ec;
  uint64_t have = fs::file_size(partial_path(f.dest), ec);
  if (ec || have == 0) return 0;
  json::Json state;
  bool same = false;
  if (fs::exists(state_path(f.dest), ec) && json::try_parse(base::read_file(state_path(f.dest)), state) &&
      state.is_object()) {
    same = state.value("sha256", "") == f.sha256 && state.value("size_bytes", uint64_t{0}) == f.size &&
           (!f.sha256.empty() || state.value("url", "") == f.url);
  }
  if (same && (f.size == 0 || have <= f.size)) return have;
  discard_partial(f.dest);
  return 0;
}

// The partial file: appended to, and hashed on a second thread, as data arrives.
class PartialFile {
 public:
  PartialFile(const fs::path& path, uint64_t keep) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(path.string() + ": cannot write: " + std::strerror(errno), ExitCode::io);
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error(path.string() + ": another josi download is writing this file", ExitCode::io);
    }
    // Truncating only when needed: ext4 flushes a file on close after it was truncated to zero.
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("cannot stat");
    if (static_cast<uint64_t>(st.st_size) > keep && ::ftruncate(fd_, static_cast<off_t>(keep)) != 0) fail("cannot truncate");
    std::vector<char> block(4 << 20);
    while (offset_ < keep) {
      ssize_t n = ::pread(fd_, block.data(), std::min<uint64_t>(block.size(), keep - offset_), static_cast<off_t>(offset_));
      if (n <= 0) fail("cannot read back");
      digest_.update(std::string_view(block.data(), static_cast<size_t>(n)));
      offset_ += static_cast<uint64_t>(n);
    }
    if (::lseek(fd_, static_cast<off_t>(keep), SEEK_SET) < 0) fail("cannot seek");
    writer_.emplace(fd_, path.string(), digest_);
  }
  ~PartialFile() {
    writer_.reset();
    if (fd_ >= 0) ::close(fd_);  // what arrived stays for the next run
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  uint64_t offset() const { return offset_; }

  void append(std::string_view bytes) {
    writer_->append(bytes);
    offset_ += bytes.size();
  }

  // The server sent the whole file although a range was asked for.
  void restart() {
    writer_->flush();
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) < 0) fail("cannot truncate");
    digest_.reset();
    offset_ = 0;
  }

  std::string close_and_hash() {
    writer_->flush();
    writer_.reset();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw Error(path_.string() + ": write failed (disk full?)", ExitCode::io);
    return digest_.finish_hex();
  }

 private:
  [[noreturn]] void fail(const std::string& what) { throw Error(path_.string() + ": " + what, ExitCode::io); }
  fs::path path_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  Digest digest_;
  std::optional<HashingWriter> writer_;
};

std::string failure_hint(long status) {
  if (status == 404) return " (not found: is the model published, and is the URL right?)";
  if (status == 403) return " (access denied: is the object public-read?)";
  return "";
}

// "bytes 100-199/200" -> 100; -1 when unparsable.
int64_t content_range_start(const std::string& value) {
  if (value.rfind("bytes ", 0) != 0) return -1;
  return std::strtoll(value.c_str() + 6, nullptr, 10);
}

DownloadResult fetch(const FileDownload& f, HttpClient& http, const RetryPolicy& retry,
                     const std::function<void(uint64_t)>& on_bytes, bool may_restart) {
  DownloadResult result;
  uint64_t keep = usable_partial(f);
  base::write_file_atomic(state_path(f.dest), state_text(f));
  PartialFile partial(partial_path(f.dest), keep);
  result.resumed_from = keep;
  if (keep && on_bytes) on_bytes(keep);

  if (f.size == 0 || keep < f.size) {
    with_retries(retry, "download " + f.url, [&] {
      HttpRequest request;
      request.url = f.url;
      request.follow_redirects = true;
      request.resume_from = partial.offset();
      bool first = true;
      request.sink = [&](const HttpResponse& r, std::string_view chunk) {
        if (first) {
          first = false;
          if (request.resume_from > 0 && r.status == 206) {
            if (content_range_start(r.header("content-range")) != static_cast<int64_t>(request.resume_from))
              throw Error("download " + f.url + ": the server answered the range request with another range (" +
                          r.header("content-range") + ")");
          } else if (request.resume_from > 0 && r.status != 0) {
            partial.restart();  // the server ignored the range and sends everything
          }
        }
        if (f.size && partial.offset() + chunk.size() > f.size)
          throw Error("download " + f.url + ": the server sends more than the manifest's " + std::to_string(f.size) +
                      " bytes");
        partial.append(chunk);
        result.fetched += chunk.size();
        if (on_bytes) on_bytes(chunk.size());
      };
      HttpResponse r = http.send(request);
      if (r.status == 416 && f.size && partial.offset() == f.size) return;  // nothing was left to fetch
      if (!r.ok()) {
        std::string message = "download " + f.url + ": " + status_text(r.status) + failure_hint(r.status);
        if (is_transient_status(r.status)) throw TransientError(message, retry_after_s(r));
        throw Error(message);
      }
      if (f.size && partial.offset() < f.size)
        throw TransientError("download " + f.url + ": the transfer ended after " + std::to_string(partial.offset()) +
                             " of " + std::to_string(f.size) + " bytes");
    });
  }

  result.bytes = partial.offset();
  std::string got = partial.close_and_hash();
  if (f.size && result.bytes != f.size) {
    discard_partial(f.dest);
    throw Error("download " + f.url + ": got " + std::to_string(result.bytes) + " bytes, the manifest says " +
                std::to_string(f.size) + "; the download was discarded");
  }
  if (f.verify && !f.sha256.empty()) {
    if (got != f.sha256) {
      discard_partial(f.dest);
      if (keep > 0 && may_restart) {
        // The kept bytes of an earlier run may be the bad ones: one fresh try.
        std::fprintf(stderr, "josi: download %s: checksum mismatch after resuming; fetching the whole file again\n",
                     f.url.c_str());
        DownloadResult again = fetch(f, http, retry, on_bytes, false);
        again.fetched += result.fetched;
        return again;
      }
      throw Error("download " + f.url + ": SHA-256 mismatch: got " + got + ", the manifest says " + f.sha256 +
                  "; the download was discarded");
    }
    result.verified = true;
  }
  std::error_code ec;
  fs::rename(partial_path(f.dest), f.dest, ec);
  if (ec) throw Error(f.dest.string() + ": cannot rename into place: " + ec.message(), ExitCode::io);
  fs::remove(state_path(f.dest), ec);
  return result;
}

}  // namespace

fs::path partial_path(const fs::path& dest) { return dest.parent_path() / ("." + dest.filename().string() + ".partial"); }

DownloadResult download_verified(const FileDownload& file, HttpClient& http, const RetryPolicy& retry,
                                 const std::function<void(uint64_t)>& on_bytes) {
  return fetch(file, http, retry, on_bytes, true);
}

}  // namespace josi::ship
