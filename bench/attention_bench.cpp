// The prompt's attention at depth: infer::attention (blocked) against
// infer::attention_reference (each query head over the whole cache) on the
// Qwen3-4B heads (32 query heads, 8 KV heads of 128), one layer, a batch of
// 512 queries after `depth` cached positions, per KV cache type; the best
// of five runs, and what it adds per prompt token over the model's 36 layers.
// Usage: attention_bench [threads] [depths...]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "infer/attention.hpp"
#include "kernels/cpu_features.hpp"

using namespace josi;

int main(int argc, char** argv) {
  const size_t threads = argc > 1 ? std::stoul(argv[1]) : 2;
  std::vector<int64_t> depths;
  for (int i = 2; i < argc; ++i) depths.push_back(std::stoll(argv[i]));
  if (depths.empty()) depths = {0, 512, 1536, 2560};
  const infer::AttentionHeads heads{32, 8, 128};
  const int64_t batch = 512, layers = 36, kv_dim = heads.n_head_kv * heads.head_dim;
  base::ThreadPool pool(threads);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> q(static_cast<size_t>(batch * heads.n_head * heads.head_dim)), out(q.size());
  for (auto& x : q) x = normal(rng);
  std::printf("CPU path %s, %zu threads; one layer, %lld queries\n", std::string(kernels::isa_name(kernels::active_isa())).c_str(),
              threads, static_cast<long long>(batch));
  std::printf("%-5s %6s %13s %13s %8s %18s\n", "kv", "depth", "blocked ms", "reference ms", "speedup", "blocked ms/token*");
  for (const auto type : {infer::KvType::f16, infer::KvType::q8_0}) {
    for (const int64_t depth : depths) {
      infer::KvCache cache(1, depth + batch, kv_dim, heads.head_dim, type);
      std::vector<float> k(static_cast<size_t>(kv_dim)), v(k.size());
      for (int64_t pos = 0; pos < depth + batch; ++pos) {
        for (size_t i = 0; i < k.size(); ++i) {
          k[i] = normal(rng);
          v[i] = normal(rng);
        }
        cache.store(0, pos, k.data(), v.data());
      }
      double best[2] = {1e30, 1e30};
      for (int round = 0; round < 5; ++round) {
        for (int which = 0; which < 2; ++which) {
          const auto start = std::chrono::steady_clock::now();
          (which == 0 ? infer::attention : infer::attention_reference)(cache, 0, heads, q.data(), batch, depth, out.data(), pool, {});
          best[which] = std::min(best[which], std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        }
      }
      std::printf("%-5s %6lld %13.2f %13.2f %7.2fx %18.3f\n", std::string(infer::kv_type_name(type)).c_str(),
                  static_cast<long long>(depth), best[0], best[1], best[1] / best[0], best[0] * layers / batch);
    }
  }
  std::printf("* over 36 layers, per prompt token of the batch\n");
  return 0;
}
