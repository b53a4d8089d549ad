#pragma once
// `josi bench`: prompt-processing and generation speed of a model, measured
// the way CPU engines are usually compared (a batch of pp tokens from an
// empty context; tg tokens generated one at a time from an empty context),
// next to the machine's memory bandwidth, which bounds generation: each
// generated token reads every weight once.
#include <cstdint>

#include "base/thread_pool.hpp"
#include "infer/adapter.hpp"
#include "infer/kv_cache.hpp"
#include "infer/model.hpp"

namespace josi::infer {

struct BenchOptions {
  int64_t pp = 512;
  int64_t tg = 64;
  int repetitions = 3;
  KvType kv_type = KvType::f16;
};

struct BenchResult {
  double pp_tokens_per_s = 0;  // median of the repetitions
  double tg_tokens_per_s = 0;
  // With an adapter: the same runs on the base alone, alternated with the
  // adapter's in one process so that a busy host's drift falls on both, and
  // the adapter's cost (time with it over time without, less 1) as the
  // median of the repetitions' own ratios.
  double pp_base_tokens_per_s = 0;
  double tg_base_tokens_per_s = 0;
  double pp_adapter_cost = 0;
  double tg_adapter_cost = 0;
  double read_bytes_per_s = 0;  // bytes read per second by a parallel sum
  double copy_bytes_per_s = 0;  // bytes read + written per second by a parallel memcpy
  uint64_t bytes_per_token = 0;
  uint64_t kv_bytes = 0;
  uint64_t peak_resident = 0;
  // Generation speed as a share of the bandwidth limit: bytes read per second
  // while generating over the read test's bandwidth (generation only reads).
  double bandwidth_share() const { return tg_tokens_per_s * static_cast<double>(bytes_per_token) / read_bytes_per_s; }
};

// Parallel passes over a buffer far larger than the caches, the best of a
// few runs: a sum (read only) and a memcpy (read + write).
double measure_read_bandwidth(base::ThreadPool& pool);
double measure_copy_bandwidth(base::ThreadPool& pool);

// `adapter` (may be null) is applied on `model`; its bytes count as read by
// every token, and the base alone is measured too (pp_base_, tg_base_).
BenchResult run_benchmark(const Model& model, base::ThreadPool& pool, const BenchOptions& options,
                          const Adapter* adapter = nullptr);

}  // namespace josi::infer
