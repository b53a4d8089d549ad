#include "ship/transfer_progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace josi::ship {

TransferProgress::TransferProgress(std::string label, uint64_t total_bytes)
    : label_(std::move(label)), total_(total_bytes), tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

TransferProgress::~TransferProgress() {
  if (tty_ && drawn_ && !finished_) std::fputc('\n', stderr);
}

void TransferProgress::add(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  bytes_ += bytes;
  draw(false);
}

void TransferProgress::done() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  draw(true);
  finished_ = true;
}

void TransferProgress::draw(bool final) {
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  int percent = total_ ? static_cast<int>(100.0 * static_cast<double>(std::min(bytes_, total_)) / total_) : 100;
  // Called for every chunk: decide cheaply whether to draw at all.
  if (tty_) {
    if (!final && now - last_draw_ < std::chrono::milliseconds(100)) return;
  } else {
    // A transfer done within a second needs no log lines.
    bool step = elapsed >= 1 && (percent / 25 > last_quarter_ || now - last_draw_ > std::chrono::seconds(10));
    if (!final && !step) return;
    if (final && !drawn_ && elapsed < 1) return;
    last_quarter_ = percent / 25;
  }
  double rate = elapsed > 0 ? bytes_ / elapsed : 0;
  std::string amount = format_bytes(bytes_) + (total_ ? " of " + format_bytes(total_) : "");
  std::string speed = format_bytes(static_cast<uint64_t>(rate)) + "/s";
  if (tty_) {
    const int width = 30;
    std::string bar(static_cast<size_t>(width * percent / 100), '#');
    bar.resize(width, '.');
    std::string left;
    if (!final && rate > 0 && total_ > bytes_) left = "  " + std::to_string(static_cast<int>((total_ - bytes_) / rate) + 1) + "s left";
    std::fprintf(stderr, "\r%s [%s] %3d%%  %s  %s%s\x1b[K", label_.c_str(), bar.c_str(), percent, amount.c_str(),
                 speed.c_str(), left.c_str());
    if (final) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "%s: %d%% (%s, %s)\n", label_.c_str(), percent, amount.c_str(), speed.c_str());
  }
  drawn_ = true;
  last_draw_ = now;
  std::fflush(stderr);
}

std::string format_bytes(uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return buf;
}

}  // namespace josi::ship
