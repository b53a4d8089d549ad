// Matmul speed per weight type × instruction set on the Qwen2.5-1.5B
// shapes; bench/matmul.sh builds and runs it. Prints a Markdown table:
// GFLOP/s (2·rows·k·tokens per second) for one token (gemv, generation) and
// 512 tokens (gemm, prompt processing), and for gemv the GB/s of weight bytes
// read (in the layout the engine gives the matrix on that path: Q4_K and
// Q6_K in 16-row groups on AVX-512, kernels/row_groups.hpp).
//   matmul_bench [--types Q4_K,Q6_K,...] [--isas avx512_vnni,...] [--threads 1,2]
//                [--seconds S]   (time per cell, default 0.4) [--cpu-time 1] [--hot 1]
// --cpu-time 1 times one thread by its CPU time instead of the wall clock,
// which a busy machine disturbs less (use with --threads 1); --hot 1 keeps
// one copy of the weights, so gemv measures the kernel rather than memory.
// Weights are random rows quantized by quant::quantize_row and repeated, in
// enough copies (≥ 512 MB together) that every gemv reads them from memory
// as generation does, not from the cache. The scalar path only runs gemv
// (its gemm would take minutes and is not what the engine uses).
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "formats/ggml_type.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/matmul.hpp"
#include "quant/block_quant.hpp"

namespace {

using josi::formats::GgmlType;
using josi::kernels::Isa;
using Clock = std::chrono::steady_clock;

bool g_cpu_time = false;

double now_seconds() {
  timespec ts;
  clock_gettime(g_cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Shape {
  const char* name;
  int64_t rows, k;
  bool output;  // the tied output matrix: only Q6_K/Q8_0 (what Q4_K_M and Q8_0 files use), gemv only
};

const Shape kShapes[] = {
    {"1536->1536 (attn q/o)", 1536, 1536, false},    {"1536->256 (attn k/v)", 256, 1536, false},
    {"1536->8960 (ffn gate/up)", 8960, 1536, false}, {"8960->1536 (ffn down)", 1536, 8960, false},
    {"1536->151936 (output)", 151936, 1536, true},
};

constexpr int64_t kGemmTokens = 512;
size_t g_cold_bytes = size_t{512} << 20;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// `copies` matrices of rows × k, each filled with 64 distinct random rows.
std::vector<uint8_t> make_weights(GgmlType type, int64_t rows, int64_t k, size_t copies, size_t& matrix_bytes) {
  const size_t row_bytes = *josi::formats::ggml_row_bytes(type, static_cast<uint64_t>(k));
  matrix_bytes = row_bytes * static_cast<size_t>(rows);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<uint8_t> distinct(64 * row_bytes);
  std::vector<float> x(static_cast<size_t>(k));
  for (int r = 0; r < 64; ++r) {
    for (auto& v : x) v = normal(rng);
    josi::quant::quantize_row(type, x.data(), distinct.data() + r * row_bytes, k);
  }
  std::vector<uint8_t> w(matrix_bytes * copies);
  for (size_t r = 0; r < w.size() / row_bytes; ++r)
    std::memcpy(w.data() + r * row_bytes, distinct.data() + (r % 64) * row_bytes, row_bytes);
  return w;
}

// Seconds per call: the median over calls made for at least `seconds`
// (at least 3 calls), cycling through the weight copies.
double time_call(josi::base::ThreadPool& pool, GgmlType type, josi::kernels::WeightLayout layout,
                 const std::vector<uint8_t>& w, size_t matrix_bytes, int64_t rows, int64_t k,
                 const std::vector<float>& x, int64_t tokens, double seconds) {
  std::vector<float> y(static_cast<size_t>(rows * tokens));
  josi::kernels::MatmulScratch scratch;
  const size_t copies = w.size() / matrix_bytes;
  std::vector<double> times;
  const auto start = Clock::now();
  for (size_t i = 0; times.size() < 3 || std::chrono::duration<double>(Clock::now() - start).count() < seconds; ++i) {
    const double t0 = now_seconds();
    josi::kernels::matmul(pool, type, w.data() + (i % copies) * matrix_bytes, rows, k, x.data(), tokens, y.data(), rows,
                          scratch, layout);
    times.push_back(now_seconds() - t0);
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> types = {"Q4_K", "Q6_K", "Q8_0", "Q5_K", "Q4_0", "Q5_0", "Q5_1", "F16", "BF16", "F32"};
  std::vector<std::string> isas;
  std::vector<std::string> threads = {"1", "2"};
  double seconds = 0.4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--types")
      types = split(value);
    else if (flag == "--isas")
      isas = split(value);
    else if (flag == "--threads")
      threads = split(value);
    else if (flag == "--seconds")
      seconds = std::stod(value);
    else if (flag == "--cpu-time")
      g_cpu_time = value == "1";
    else if (flag == "--hot")
      g_cold_bytes = value == "1" ? 0 : g_cold_bytes;
    else {
      std::fprintf(stderr, "matmul_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (isas.empty())
    for (Isa isa : {Isa::avx512_vnni, Isa::avx2, Isa::scalar})
      if (josi::kernels::isa_supported(isa)) isas.emplace_back(josi::kernels::isa_name(isa));

  std::printf("| type | isa | layout | threads | shape | gemv GFLOP/s | gemv GB/s | gemm-512 GFLOP/s |\n");
  std::printf("|---|---|---|---:|---|---:|---:|---:|\n");
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (const auto& type_name : types) {
    const auto type = josi::formats::ggml_type_from_name(type_name);
    if (!type || !josi::kernels::can_matmul(*type)) {
      std::fprintf(stderr, "matmul_bench: cannot multiply %s\n", type_name.c_str());
      return 2;
    }
    for (const Shape& shape : kShapes) {
      if (shape.output && *type != GgmlType::Q6_K && *type != GgmlType::Q8_0) continue;
      size_t matrix_bytes =
          *josi::formats::ggml_row_bytes(*type, static_cast<uint64_t>(shape.k)) * static_cast<size_t>(shape.rows);
      const size_t copies = std::max<size_t>(1, (g_cold_bytes + matrix_bytes - 1) / matrix_bytes);
      const auto w = make_weights(*type, shape.rows, shape.k, copies, matrix_bytes);
      std::vector<float> x(static_cast<size_t>(shape.k * kGemmTokens));
      for (auto& v : x) v = normal(rng);
      for (const auto& isa_name : isas) {
        Isa isa = Isa::scalar;
        for (Isa i : {Isa::scalar, Isa::avx2, Isa::avx512_vnni})
          if (josi::kernels::isa_name(i) == isa_name) isa = i;
        josi::kernels::set_active_isa(isa);
        // The layout the engine gives such a matrix on this path (model.cpp).
        const auto layout = josi::kernels::best_layout(*type, shape.rows, shape.k);
        size_t bytes = matrix_bytes;
        std::vector<uint8_t> arranged;
        if (layout != josi::kernels::WeightLayout::rows) {
          bytes = josi::kernels::layout_bytes(layout, *type, shape.rows, shape.k);
          arranged.resize(bytes * copies);
          for (size_t c = 0; c < copies; ++c)
            josi::kernels::arrange_weights(layout, *type, w.data() + c * matrix_bytes, shape.rows, shape.k,
                                           arranged.data() + c * bytes);
        }
        const auto& weights = arranged.empty() ? w : arranged;
        const char* layout_name = arranged.empty() ? "rows" : "groups";
        for (const auto& n_threads : threads) {
          josi::base::ThreadPool pool(std::stoul(n_threads));
          const double flop1 = 2.0 * static_cast<double>(shape.rows) * static_cast<double>(shape.k);
          const double gemv = time_call(pool, *type, layout, weights, bytes, shape.rows, shape.k, x, 1, seconds);
          std::string gemm = "-";
          if (isa != Isa::scalar && !shape.output) {
            const double s =
                time_call(pool, *type, layout, weights, bytes, shape.rows, shape.k, x, kGemmTokens, seconds);
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.1f", flop1 * kGemmTokens / s / 1e9);
            gemm = buf;
          }
          std::printf("| %s | %s | %s | %s | %s | %.1f | %.1f | %s |\n", type_name.c_str(), isa_name.c_str(), layout_name,
                      n_threads.c_str(), shape.name, flop1 / gemv / 1e9, static_cast<double>(bytes) / gemv / 1e9,
                      gemm.c_str());
          std::fflush(stdout);
        }
      }
    }
  }
  return 0;
}
