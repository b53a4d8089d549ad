#pragma once
// Progress of byte transfers running on several threads: bytes done of the
// total, the rate and the time left; a bar redrawn in place on a terminal,
// a line per quarter (or ten seconds) otherwise. Unlike base::Progress it
// never claims 100% for a transfer that failed.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace josi::ship {

class TransferProgress {
 public:
  TransferProgress(std::string label, uint64_t total_bytes);
  ~TransferProgress();  // ends the bar's line without claiming completion
  TransferProgress(const TransferProgress&) = delete;
  TransferProgress& operator=(const TransferProgress&) = delete;

  void add(uint64_t bytes);  // thread-safe
  void done();               // everything arrived

 private:
  void draw(bool final);
  std::mutex mutex_;
  std::string label_;
  uint64_t total_, bytes_ = 0;
  bool tty_, drawn_ = false, finished_ = false;
  int last_quarter_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "935.0 MiB", "12.3 KiB", "512 B"
std::string format_bytes(uint64_t bytes);

}  // namespace josi::ship
