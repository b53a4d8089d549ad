#include "ship/retry.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

namespace josi::ship {

void with_retries(const RetryPolicy& policy, const std::string& what, const std::function<void()>& attempt) {
  thread_local std::mt19937 rng(std::random_device{}());
  double wait = policy.first_wait_s;
  for (int done = 0;; ++done) {
    try {
      attempt();
      return;
    } catch (const TransientError& e) {
      if (done >= policy.retries)
        throw Error(std::string(e.what()) + " (gave up after " + std::to_string(done + 1) +
                    (done ? " attempts)" : " attempt)"));
      // Jitter spreads the retries of parallel transfers apart.
      double pause = std::uniform_real_distribution<double>(0.5 * wait, wait)(rng);
      pause = std::min(std::max(pause, e.retry_after_s()), policy.max_wait_s);
      std::fprintf(stderr, "josi: %s: %s; retry %d of %d in %.1f s\n", what.c_str(), e.what(), done + 1, policy.retries,
                   pause);
      std::this_thread::sleep_for(std::chrono::duration<double>(pause));
      wait = std::min(wait * 2, policy.max_wait_s);
    }
  }
}

}  // namespace josi::ship
