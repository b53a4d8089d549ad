#pragma once
// The one exception type of the project: a one-line message that names the
// input (file, line, key) and the process exit code it maps to. The CLI and
// the C API catch it; nothing else should need to.
#include <stdexcept>
#include <string>

namespace josi {

enum class ExitCode : int {
  failure = 1,   // the work could not be done (bad input data, failed check)
  usage = 2,     // wrong flags or arguments
  io = 3,        // a file or directory could not be read or written
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::failure)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// A turn ended on request (a cancel from another thread, or a text callback
// that asked to stop); not a failure of the input.
class Cancelled : public Error {
 public:
  explicit Cancelled(const std::string& message) : Error(message) {}
};

}  // namespace josi
