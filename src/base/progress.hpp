#pragma once
// Progress of long work: a bar redrawn in place on a terminal, plain lines
// (at most one per quarter or per ten seconds) when stderr is not a terminal, so
// logs stay readable; both with the time left at the rate so far.
#include <chrono>
#include <cstdint>
#include <string>

namespace josi::base {

class Progress {
 public:
  // `total` units of work (tensors, bytes...); `unit` names them in the output.
  Progress(std::string label, uint64_t total, std::string unit = "");
  ~Progress();  // finishes the line if done() was not called
  void advance(uint64_t units, const std::string& note = "");
  void done();

 private:
  void draw(bool final);
  std::string label_, unit_, note_;
  uint64_t total_, current_ = 0;
  bool tty_, finished_ = false;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace josi::base
