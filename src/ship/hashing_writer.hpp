#pragma once
// Appends a byte stream to a file and hashes it, the hashing on a worker
// thread so that it overlaps with receiving and writing. Each chunk is
// written at once from the caller's (cache-hot) buffer, so the file always
// holds exactly what was appended, whenever the process stops; a copy goes
// to the hasher in blocks.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ship/digest.hpp"

namespace josi::ship {

class HashingWriter {
 public:
  // Writes at `fd`'s current offset; `digest` gets every byte written and
  // must not be touched elsewhere until flush() has returned.
  HashingWriter(int fd, std::string path, Digest& digest);
  ~HashingWriter();
  HashingWriter(const HashingWriter&) = delete;
  HashingWriter& operator=(const HashingWriter&) = delete;

  // Throws josi::Error (io) naming the path when the write fails.
  void append(std::string_view bytes);
  // Returns when everything appended is hashed.
  void flush();

 private:
  void hand_over();  // queues the block being filled
  void work();

  static constexpr size_t kBlock = 1 << 20;
  static constexpr size_t kMaxQueued = 16;  // memory stays bounded when hashing falls behind

  int fd_;
  std::string path_;
  Digest& digest_;
  std::string filling_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;
  std::vector<std::string> spare_;
  bool busy_ = false, stop_ = false;
  std::thread worker_;
};

}  // namespace josi::ship
