#pragma once
// One pool of worker threads shared by all parallel work (quantization,
// inference kernels), so threads are created once and never oversubscribe
// the machine.
//
// Generation calls parallel_for a few hundred times per token, each job
// lasting tens of microseconds, so a condition-variable wake-up per job would
// cost more than the work. After a job, workers spin for a short while
// (kSpin) watching for the next one and only then sleep; the caller spins
// until its job is done. Spinning yields the core between short rounds, so
// an oversubscribed machine still runs the thread being waited for.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace josi::base {

class ThreadPool {
 public:
  // How long an idle worker keeps spinning before it sleeps.
  static constexpr std::chrono::microseconds kSpin{500};

  // `threads` = 0 uses the hardware concurrency. The calling thread also
  // works, so a pool of n threads starts n - 1 workers.
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  // Runs fn(begin, end) over [0, n) split into contiguous chunks of at least
  // `grain` items, and returns when all are done. The first exception thrown
  // by any chunk is rethrown here. One caller at a time; fn must not call
  // parallel_for on the same pool.
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t begin, size_t end)>& fn);

 private:
  void work();
  bool run_one_chunk(uint32_t generation);
  // Waits for a job newer than `seen`; false when the pool is stopping.
  bool wait_for_job(uint32_t seen, uint32_t& generation);

  std::vector<std::thread> workers_;
  // The current job: written by the caller before it publishes the job in
  // claim_, read by whoever claims one of its chunks.
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t n_ = 0, chunk_ = 0;
  uint32_t generation_ = 0;
  // generation << 32 | chunk count << 16 | index of the next unclaimed
  // chunk. Claiming compares the generation, so a worker that slept through
  // a job never takes a chunk of the next one with the old job's parameters,
  // and nobody reads the fields above before holding a chunk.
  std::atomic<uint64_t> claim_{0};
  std::atomic<size_t> finished_{0};
  std::atomic<size_t> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;  // guards error_ and the sleeping workers
  std::condition_variable wake_;
  std::exception_ptr error_;
};

}  // namespace josi::base
