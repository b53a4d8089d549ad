// base::ThreadPool: every index runs exactly once whatever the pool size,
// grain and job length; exceptions come back to the caller and leave the pool
// usable; workers that went to sleep wake up for the next job; back-to-back
// tiny jobs (generation's pattern) neither lose nor repeat work.
#include "base/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using josi::base::ThreadPool;

// Runs one job and checks that [0, n) was covered exactly once by chunks of
// at least `grain` (but the last).
void expect_covers_once(ThreadPool& pool, size_t n, size_t grain) {
  std::vector<std::atomic<int>> hits(n);
  std::atomic<bool> short_chunk{false};
  pool.parallel_for(n, grain, [&](size_t begin, size_t end) {
    if (end - begin < grain && end != n) short_chunk = true;
    for (size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
  });
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n " << n << " grain " << grain << " i " << i;
  EXPECT_FALSE(short_chunk) << "n " << n << " grain " << grain;
}

TEST(ThreadPool, CoversEveryIndexOnceForAnySizeAndGrain) {
  for (size_t threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (size_t n : {0, 1, 2, 3, 7, 64, 1000, 100003})
      for (size_t grain : {0, 1, 5, 1000}) expect_covers_once(pool, n, grain);
  }
}

TEST(ThreadPool, OneThreadRunsOnTheCaller) {
  ThreadPool pool(1);
  const auto caller = std::this_thread::get_id();
  bool elsewhere = false;
  pool.parallel_for(100, 1, [&](size_t, size_t) { elsewhere |= std::this_thread::get_id() != caller; });
  EXPECT_FALSE(elsewhere);
}

TEST(ThreadPool, WorkersShareTheWork) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> by_worker{0};
  // Chunks long enough that the caller cannot take them all before the worker wakes.
  for (int round = 0; round < 20 && by_worker == 0; ++round) {
    pool.parallel_for(8, 1, [&](size_t, size_t) {
      if (std::this_thread::get_id() != caller) ++by_worker;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  EXPECT_GT(by_worker.load(), 0);
}

TEST(ThreadPool, RethrowsTheChunksExceptionAndStaysUsable) {
  ThreadPool pool(3);
  for (int round = 0; round < 50; ++round) {
    try {
      pool.parallel_for(100, 1, [&](size_t begin, size_t end) {
        if (begin <= 42 && 42 < end) throw std::runtime_error("chunk with 42");
      });
      FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "chunk with 42");
    }
    expect_covers_once(pool, 1000, 1);
  }
}

TEST(ThreadPool, SleepingWorkersWakeForTheNextJob) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  int worker_ran = 0;
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(ThreadPool::kSpin * 4);  // long enough for the worker to sleep
    std::atomic<bool> seen{false};
    pool.parallel_for(4, 1, [&](size_t, size_t) {
      if (std::this_thread::get_id() != caller) seen = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    });
    worker_ran += seen;
  }
  EXPECT_GT(worker_ran, 0);
}

// Generation's pattern: many short jobs back to back. Each job adds its
// index sum to a total, which must come out exact. Also prints the time per
// job of two 20 µs chunks: 20 µs when both threads take one at once, up to
// 40 when the caller ends up doing both, more if waking the worker is slow.
TEST(ThreadPool, ManyShortJobsBackToBack) {
  ThreadPool pool(2);
  constexpr int kJobs = 2000;
  constexpr size_t kN = 16;
  std::atomic<uint64_t> total{0};
  for (int j = 0; j < kJobs; ++j) {
    pool.parallel_for(kN, 1, [&](size_t begin, size_t end) {
      uint64_t s = 0;
      for (size_t i = begin; i < end; ++i) s += i + 1;
      total.fetch_add(s);
    });
  }
  EXPECT_EQ(total.load(), uint64_t{kJobs} * kN * (kN + 1) / 2);

  const auto busy = [](std::chrono::microseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (int j = 0; j < kJobs; ++j) pool.parallel_for(2, 1, [&](size_t, size_t) { busy(std::chrono::microseconds(20)); });
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.1f us per job of two 20 us chunks on 2 threads (ideal 20)\n", us / kJobs);
}

}  // namespace
