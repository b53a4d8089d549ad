#include "base/thread_pool.hpp"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace josi::base {

namespace {

// Tells the core we are busy-waiting (frees the sibling hyperthread, saves power).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

using Clock = std::chrono::steady_clock;

// Spins until done() or `limit` has passed; true when done() held. Yields
// between rounds: when the machine is oversubscribed the thread we wait for
// may be queued on this very core.
template <class Done>
bool spin_until(Done done, std::chrono::microseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
}

uint32_t generation_of(uint64_t claim) { return static_cast<uint32_t>(claim >> 32); }
constexpr size_t kMaxChunks = 0xffff;

}  // namespace

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

// Claims the next chunk of job `generation` and runs it; false when that job
// has no chunk left (or is already over).
bool ThreadPool::run_one_chunk(uint32_t generation) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  for (;;) {
    if (generation_of(claim) != generation || (claim & 0xffff) >= ((claim >> 16) & 0xffff)) return false;
    if (claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel)) break;
  }
  // A claimed chunk keeps the job unfinished, so its parameters are stable.
  const size_t begin = static_cast<size_t>(claim & 0xffff) * chunk_;
  const size_t end = std::min(n_, begin + chunk_);
  try {
    (*job_)(begin, end);
  } catch (...) {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
  finished_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

bool ThreadPool::wait_for_job(uint32_t seen, uint32_t& generation) {
  const auto fresh = [&] { return generation_of(claim_.load()) != seen; };
  if (!spin_until([&] { return fresh() || stop_.load(std::memory_order_relaxed); }, kSpin)) {
    std::unique_lock lock(mutex_);
    // Announced before the last check: a caller publishing a job after this
    // point sees a sleeper and notifies under the mutex.
    sleepers_.fetch_add(1);
    wake_.wait(lock, [&] { return stop_.load() || fresh(); });
    sleepers_.fetch_sub(1);
  }
  if (stop_.load()) return false;
  generation = generation_of(claim_.load(std::memory_order_acquire));
  return true;
}

void ThreadPool::work() {
  uint32_t seen = 0, generation = 0;
  while (wait_for_job(seen, generation)) {
    seen = generation;
    while (run_one_chunk(generation)) {
    }
  }
}

void ThreadPool::parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<size_t>(1, grain);
  // A few chunks per thread for balance.
  const size_t chunk = std::max({grain, (n + size() * 4 - 1) / (size() * 4), (n + kMaxChunks - 1) / kMaxChunks});
  if (workers_.empty() || chunk >= n) {
    fn(0, n);
    return;
  }
  job_ = &fn;
  n_ = n;
  chunk_ = chunk;
  const size_t chunks = (n + chunk - 1) / chunk;
  error_ = nullptr;
  finished_.store(0, std::memory_order_relaxed);
  const uint32_t generation = ++generation_;
  claim_.store(static_cast<uint64_t>(generation) << 32 | chunks << 16);  // publishes the fields above
  if (sleepers_.load() > 0) {
    { std::lock_guard lock(mutex_); }  // a worker between its check and its wait holds the mutex
    wake_.notify_all();
  }
  while (run_one_chunk(generation)) {
  }
  const auto done = [&] { return finished_.load(std::memory_order_acquire) == chunks; };
  // Workers are at most one chunk behind; spin, then yield the core to them
  // should they have been descheduled.
  while (!spin_until(done, kSpin)) std::this_thread::yield();
  job_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

}  // namespace josi::base
