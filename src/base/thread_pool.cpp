#include "base/thread_pool.hpp"

#include <algorithm>

namespace josi::base {

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

// Takes the next chunk of the current job and runs it; false when none is left.
bool ThreadPool::run_one_chunk() {
  size_t begin, end;
  const std::function<void(size_t, size_t)>* job;
  {
    std::lock_guard lock(mutex_);
    if (!job_ || next_ >= n_) return false;
    begin = next_;
    end = std::min(n_, begin + chunk_);
    next_ = end;
    job = job_;
  }
  std::exception_ptr error;
  try {
    (*job)(begin, end);
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    if (error && !error_) error_ = error;
    if (++finished_ == chunks_) done_.notify_all();
  }
  return true;
}

void ThreadPool::work() {
  size_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || (job_ && generation_ != seen); });
      if (stop_) return;
      seen = generation_;
    }
    while (run_one_chunk()) {
    }
  }
}

void ThreadPool::parallel_for(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  grain = std::max<size_t>(1, grain);
  size_t chunk = std::max(grain, (n + size() * 4 - 1) / (size() * 4));  // a few chunks per thread for balance
  if (workers_.empty() || chunk >= n) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    n_ = n;
    chunk_ = chunk;
    next_ = 0;
    finished_ = 0;
    chunks_ = (n + chunk - 1) / chunk;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  while (run_one_chunk()) {
  }
  std::exception_ptr error;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_ == chunks_; });
    job_ = nullptr;
    error = error_;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace josi::base
