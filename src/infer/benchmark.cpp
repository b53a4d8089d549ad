#include "infer/benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <random>
#include <vector>

#include "base/error.hpp"
#include "base/memory_usage.hpp"
#include "infer/context.hpp"

namespace josi::infer {
namespace {

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point start) { return std::chrono::duration<double>(clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

constexpr size_t kBandwidthBytes = size_t{512} << 20;

// The best of 5 timed runs of `pass` over chunks [begin, end) of `chunks`.
template <class Pass>
double best_seconds(base::ThreadPool& pool, size_t chunks, const Pass& pass) {
  double best = 1e30;
  for (int run = 0; run < 5; ++run) {
    const auto start = clock::now();
    pool.parallel_for(chunks, 1, pass);
    best = std::min(best, seconds_since(start));
  }
  return best;
}

double measure_read_bandwidth(base::ThreadPool& pool) {
  std::vector<uint64_t> data(kBandwidthBytes / sizeof(uint64_t), 1);
  const size_t chunks = pool.size() * 16, chunk = data.size() / chunks;
  std::vector<uint64_t> sums(chunks);
  const double seconds = best_seconds(pool, chunks, [&](size_t begin, size_t end) {
    for (size_t c = begin; c < end; ++c) {
      uint64_t s[4] = {0, 0, 0, 0};  // independent adds, so the loop waits on memory only
      const uint64_t* p = &data[c * chunk];
      for (size_t i = 0; i < chunk; i += 4)
        for (int j = 0; j < 4; ++j) s[j] += p[i + static_cast<size_t>(j)];
      sums[c] = s[0] + s[1] + s[2] + s[3];
    }
  });
  if (std::find(sums.begin(), sums.end(), 0) != sums.end()) throw Error("bench: the read test lost its sums");
  return static_cast<double>(chunks * chunk * sizeof(uint64_t)) / seconds;
}

double measure_copy_bandwidth(base::ThreadPool& pool) {
  std::vector<uint8_t> from(kBandwidthBytes, 1), to(kBandwidthBytes, 0);
  const size_t chunks = pool.size() * 16, chunk = kBandwidthBytes / chunks;
  const double seconds = best_seconds(pool, chunks, [&](size_t begin, size_t end) {
    std::memcpy(&to[begin * chunk], &from[begin * chunk], (end - begin) * chunk);
  });
  return 2.0 * static_cast<double>(kBandwidthBytes) / seconds;
}

BenchResult run_benchmark(const Model& model, base::ThreadPool& pool, const BenchOptions& options,
                          const Adapter* adapter) {
  if (options.pp < 0 || options.tg < 0 || options.pp + options.tg == 0) {
    throw Error("bench: --pp and --tg must be >= 0 and not both 0", ExitCode::usage);
  }
  if (options.repetitions < 1) throw Error("bench: --repetitions must be >= 1", ExitCode::usage);
  const int64_t n_ctx = std::max<int64_t>({options.pp, options.tg, 1});
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> any_token(0, static_cast<int32_t>(model.hparams().n_vocab - 1));
  std::vector<int32_t> tokens(static_cast<size_t>(n_ctx));
  for (auto& t : tokens) t = any_token(rng);

  // Speeds of each context, taking turns with the other's: prompts batch by
  // batch, generation token by token, so that a busy host's drift falls on
  // both alike.
  struct Runs {
    std::unique_ptr<Context> context;
    std::vector<double> pp, tg;
  };
  std::vector<Runs> runs;
  runs.push_back({std::make_unique<Context>(model, pool, n_ctx, adapter, options.kv_type), {}, {}});
  if (adapter) runs.push_back({std::make_unique<Context>(model, pool, n_ctx, nullptr, options.kv_type), {}, {}});
  for (auto& r : runs) r.context->eval(std::span<const int32_t>(tokens.data(), 1));  // warm-up: touch the weights once
  for (int rep = 0; rep < options.repetitions; ++rep) {
    if (options.pp > 0) {
      for (auto& r : runs) {
        r.context->reset();
        const auto start = clock::now();
        r.context->eval(std::span<const int32_t>(tokens.data(), static_cast<size_t>(options.pp)));
        r.pp.push_back(static_cast<double>(options.pp) / seconds_since(start));
      }
    }
    if (options.tg > 0) {
      std::vector<double> seconds(runs.size(), 0.0);
      for (auto& r : runs) r.context->reset();
      for (int64_t i = 0; i < options.tg; ++i) {
        for (size_t turn = 0; turn < runs.size(); ++turn) {
          const size_t c = (turn + static_cast<size_t>(i)) % runs.size();  // each goes first every other token
          const auto start = clock::now();
          runs[c].context->eval(std::span<const int32_t>(&tokens[static_cast<size_t>(i)], 1));
          seconds[c] += seconds_since(start);
        }
      }
      for (size_t c = 0; c < runs.size(); ++c) runs[c].tg.push_back(static_cast<double>(options.tg) / seconds[c]);
    }
  }
  const auto median_of = [](const std::vector<double>& v) { return v.empty() ? 0.0 : median(v); };
  // The adapter's cost: the median of each repetition's own ratio.
  const auto cost_of = [&](const std::vector<double>& with, const std::vector<double>& without) {
    std::vector<double> costs;
    for (size_t i = 0; i < with.size(); ++i) costs.push_back(without[i] / with[i] - 1);
    return median_of(costs);
  };

  BenchResult result;
  result.bytes_per_token = model.bytes_per_token() + (adapter ? adapter->bytes() : 0);
  result.kv_bytes = runs[0].context->kv_bytes();
  result.pp_tokens_per_s = median_of(runs[0].pp);
  result.tg_tokens_per_s = median_of(runs[0].tg);
  if (adapter) {
    result.pp_base_tokens_per_s = median_of(runs[1].pp);
    result.tg_base_tokens_per_s = median_of(runs[1].tg);
    result.pp_adapter_cost = cost_of(runs[0].pp, runs[1].pp);
    result.tg_adapter_cost = cost_of(runs[0].tg, runs[1].tg);
  }
  result.peak_resident = base::peak_resident_bytes();
  result.read_bytes_per_s = measure_read_bandwidth(pool);
  result.copy_bytes_per_s = measure_copy_bandwidth(pool);
  return result;
}

}  // namespace josi::infer
