#pragma once
// One pool of worker threads shared by all parallel work (quantization now,
// inference kernels later), so threads are created once and never
// oversubscribe the machine.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace josi::base {

class ThreadPool {
 public:
  // `threads` = 0 uses the hardware concurrency. The calling thread also
  // works, so a pool of n threads starts n - 1 workers.
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  // Runs fn(begin, end) over [0, n) split into contiguous chunks of at least
  // `grain` items, and returns when all are done. The first exception thrown
  // by any chunk is rethrown here.
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t begin, size_t end)>& fn);

 private:
  void work();
  bool run_one_chunk();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t n_ = 0, chunk_ = 0, next_ = 0, finished_ = 0, chunks_ = 0;
  size_t generation_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

}  // namespace josi::base
