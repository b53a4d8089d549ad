#pragma once
// Retrying what the network may fix by itself: a refused or cut connection,
// a timeout, HTTP 5xx or 429. Waits grow from `first_wait_s` by doubling (with
// jitter, honouring a server's Retry-After) up to `max_wait_s`; each retry is
// announced on stderr so a slow run never looks hung.
#include <functional>
#include <string>

#include "base/error.hpp"

namespace josi::ship {

// An error a later attempt may not have.
class TransientError : public Error {
 public:
  explicit TransientError(const std::string& message, double retry_after_s = 0)
      : Error(message), retry_after_s_(retry_after_s) {}
  double retry_after_s() const { return retry_after_s_; }

 private:
  double retry_after_s_;
};

struct RetryPolicy {
  int retries = 5;  // attempts after the first
  double first_wait_s = 0.5;
  double max_wait_s = 30;
};

// Runs `attempt` until it returns; a TransientError is retried while retries
// are left, then rethrown as a josi::Error whose message says how many
// attempts were made. Any other exception passes through at once.
void with_retries(const RetryPolicy& policy, const std::string& what, const std::function<void()>& attempt);

}  // namespace josi::ship
