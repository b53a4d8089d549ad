#include "ship/object_upload.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "ship/digest.hpp"

namespace josi::ship {

namespace {

class InputFile {
 public:
  explicit InputFile(const std::filesystem::path& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw Error(path.string() + ": cannot open: " + std::strerror(errno), ExitCode::io);
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads [offset, offset + length) into `out`; safe from several threads.
  void read(uint64_t offset, uint64_t length, std::string& out) const {
    out.resize(length);
    for (uint64_t done = 0; done < length;) {
      ssize_t n = ::pread(fd_, out.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error(path_.string() + ": read failed (was the file changed during the upload?)", ExitCode::io);
      done += static_cast<uint64_t>(n);
    }
  }

 private:
  std::filesystem::path path_;
  int fd_;
};

UploadResult upload_single(S3Client& client, const std::string& key, const InputFile& in, uint64_t size,
                           const UploadOptions& options, const std::function<void(uint64_t)>& on_bytes) {
  std::string body;
  in.read(0, size, body);
  std::string md5 = md5_raw(body);
  client.put_object(key, body, md5, options.headers);
  if (on_bytes) on_bytes(size);
  return {size, 0, to_hex(md5)};
}

UploadResult upload_multipart(S3Client& client, const std::string& key, const InputFile& in, uint64_t size,
                              const UploadOptions& options, const std::function<void(uint64_t)>& on_bytes) {
  const uint64_t part_size = options.part_size;
  const int parts = static_cast<int>((size + part_size - 1) / part_size);
  if (parts > 10000)
    throw Error("upload " + client.location(key) + ": " + std::to_string(parts) +
                    " parts exceed the 10,000 S3 allows; use a larger --part-size",
                ExitCode::usage);
  std::string upload_id = client.create_multipart_upload(key, options.headers);

  std::vector<std::string> etags(parts), md5s(parts);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&](S3Client& own) {
    std::string body;
    for (int i; !failed && (i = next++) < parts;) {
      try {
        uint64_t offset = static_cast<uint64_t>(i) * part_size;
        in.read(offset, std::min(part_size, size - offset), body);
        md5s[i] = md5_raw(body);
        etags[i] = own.upload_part(key, upload_id, i + 1, body, md5s[i]);
        if (on_bytes) on_bytes(body.size());
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  int jobs = std::max(1, std::min(options.jobs, parts));
  std::deque<S3Client> clients;  // one connection per thread; a deque never moves them
  for (int j = 1; j < jobs; ++j) clients.emplace_back(client.config());
  std::vector<std::thread> threads;
  for (auto& c : clients) threads.emplace_back(worker, std::ref(c));
  worker(client);
  for (auto& t : threads) t.join();

  if (!error) {
    try {
      client.complete_multipart_upload(key, upload_id, etags);
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (error) {
    // Abort so the store drops the parts it holds; say so either way.
    std::string note;
    try {
      client.abort_multipart_upload(key, upload_id);
      note = " (the unfinished upload was aborted; no parts remain)";
    } catch (const std::exception&) {
      note = " (the unfinished upload " + upload_id + " could not be aborted; the next publish aborts it)";
    }
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      throw Error(e.what() + note, e.code());
    }
  }
  return {size, parts, multipart_etag(md5s)};
}

}  // namespace

UploadResult upload_file(const S3Config& config, const std::string& key, const std::filesystem::path& file,
                         const UploadOptions& options, const std::function<void(uint64_t)>& on_bytes) {
  InputFile in(file);
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) throw Error(file.string() + ": cannot read its size: " + ec.message(), ExitCode::io);
  S3Client client(config);
  if (size <= options.part_size) return upload_single(client, key, in, size, options, on_bytes);
  return upload_multipart(client, key, in, size, options, on_bytes);
}

int abort_unfinished_uploads(S3Client& client, const std::string& key) {
  auto ids = client.list_multipart_uploads(key);
  if (!ids) return -1;
  for (const auto& id : *ids) client.abort_multipart_upload(key, id);
  return static_cast<int>(ids->size());
}

}  // namespace josi::ship
