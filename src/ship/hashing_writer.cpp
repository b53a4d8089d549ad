#include "ship/hashing_writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace josi::ship {

HashingWriter::HashingWriter(int fd, std::string path, Digest& digest)
    : fd_(fd), path_(std::move(path)), digest_(digest), worker_([this] { work(); }) {
  filling_.reserve(kBlock);
}

HashingWriter::~HashingWriter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

void HashingWriter::append(std::string_view bytes) {
  for (std::string_view rest = bytes; !rest.empty();) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path_ + ": write failed: " + std::strerror(errno), ExitCode::io);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), kBlock - filling_.size());
    filling_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (filling_.size() == kBlock) hand_over();
  }
}

void HashingWriter::hand_over() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return queue_.size() < kMaxQueued; });
  queue_.push_back(std::move(filling_));
  if (spare_.empty()) {
    filling_ = std::string();
    filling_.reserve(kBlock);
  } else {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
    filling_.clear();
  }
  changed_.notify_all();
}

void HashingWriter::flush() {
  if (!filling_.empty()) hand_over();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void HashingWriter::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return !queue_.empty() || stop_; });
    if (queue_.empty()) return;
    std::string block = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    digest_.update(block);
    lock.lock();
    busy_ = false;
    spare_.push_back(std::move(block));
    changed_.notify_all();
  }
}

}  // namespace josi::ship
