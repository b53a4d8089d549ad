#include "base/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace josi::base {

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_) done();
}

void Progress::advance(uint64_t units, const std::string& note) {
  current_ += units;
  note_ = note;
  draw(false);
}

void Progress::done() {
  if (finished_) return;
  current_ = total_;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final) {
  auto now = std::chrono::steady_clock::now();
  int percent = total_ ? static_cast<int>(100.0 * current_ / total_) : 100;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  // The time left at the rate so far, once there is a rate.
  char eta[32] = "";
  if (!final && current_ > 0 && current_ < total_)
    std::snprintf(eta, sizeof(eta), " ETA %.0fs", elapsed * static_cast<double>(total_ - current_) / static_cast<double>(current_));
  if (tty_) {
    if (!final && now - last_draw_ < std::chrono::milliseconds(100)) return;
    const int width = 30;
    int filled = total_ ? static_cast<int>(width * static_cast<double>(current_) / total_) : width;
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu%s%s %.1fs%s %s\x1b[K", label_.c_str(), bar.c_str(), percent,
                 static_cast<unsigned long long>(current_), static_cast<unsigned long long>(total_),
                 unit_.empty() ? "" : " ", unit_.c_str(), elapsed, eta, note_.c_str());
    if (final) std::fputc('\n', stderr);
  } else {
    bool step = percent / 25 != last_percent_ / 25 || now - last_draw_ > std::chrono::seconds(10);
    if (!final && !step) return;
    if (final && percent == last_percent_) return;
    std::fprintf(stderr, "%s: %d%% (%llu/%llu%s%s) %.1fs%s %s\n", label_.c_str(), percent,
                 static_cast<unsigned long long>(current_), static_cast<unsigned long long>(total_),
                 unit_.empty() ? "" : " ", unit_.c_str(), elapsed, eta, note_.c_str());
  }
  last_percent_ = percent;
  last_draw_ = now;
  std::fflush(stderr);
}

}  // namespace josi::base
