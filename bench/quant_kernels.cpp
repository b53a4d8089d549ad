// Block quantizer benchmark: ns/weight to quantize and dequantize each type,
// and the relative RMS error sqrt(Σ(x−x̂)²/Σx²) on Gaussian and Student-t(3)
// rows. Not a CMake target (the build only defines layer libraries, the CLI
// and tests); build it from the source root against a configured build
// directory (one line):
//   g++ -O2 -std=c++20 -Isrc bench/quant_kernels.cpp build/libjosi_quant.a build/libjosi_formats.a
//       build/libjosi_json.a build/libjosi_base.a -lfmt -o /tmp/quant_kernels
//   /tmp/quant_kernels [million weights, default 4]
// Times are this thread's CPU time, so a busy machine inflates them less
// than wall time would (it still shares caches and cores).
#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "formats/ggml_type.hpp"
#include "quant/block_quant.hpp"

namespace {

using josi::formats::GgmlType;

// splitmix64 + Box-Muller: the same data on every platform.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() { return std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()); }
  double student3() {
    const double a = normal(), b = normal(), c = normal();
    return normal() / std::sqrt((a * a + b * b + c * c) / 3);
  }
};

double cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

double rel_rms(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
    s += double(x[i]) * x[i];
  }
  return std::sqrt(e / s);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t row = 4096;
  const int64_t n = (argc > 1 ? std::atoll(argv[1]) : 4) * 1024 * 1024 / row * row;
  Rng rng{42};
  std::vector<float> gauss(n), heavy(n), back(n);
  for (auto& v : gauss) v = static_cast<float>(0.02 * rng.normal());
  for (auto& v : heavy) v = static_cast<float>(0.02 * rng.student3());
  const GgmlType types[] = {GgmlType::Q8_0, GgmlType::Q6_K, GgmlType::Q5_K, GgmlType::Q5_1,
                            GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q4_0, GgmlType::F16};
  std::printf("%-5s %10s %10s %12s %12s\n", "type", "quant ns/w", "deq ns/w", "rms gauss %", "rms t3 %");
  for (GgmlType t : types) {
    const size_t row_bytes = *josi::formats::ggml_row_bytes(t, row);
    std::vector<uint8_t> q(row_bytes * (n / row));
    double errs[2], qns = 0, dns = 0;
    int k = 0;
    for (const auto* x : {&gauss, &heavy}) {
      const double t0 = cpu_ns();
      for (int64_t r = 0; r < n / row; ++r) josi::quant::quantize_row(t, x->data() + r * row, q.data() + r * row_bytes, row);
      const double t1 = cpu_ns();
      for (int64_t r = 0; r < n / row; ++r) josi::quant::dequantize_row(t, q.data() + r * row_bytes, back.data() + r * row, row);
      const double t2 = cpu_ns();
      qns += (t1 - t0) / double(n) / 2;
      dns += (t2 - t1) / double(n) / 2;
      errs[k++] = rel_rms(*x, back);
    }
    std::printf("%-5s %10.2f %10.2f %12.4f %12.4f\n", std::string(josi::formats::ggml_type_info(t).name).c_str(), qns,
                dns, 100 * errs[0], 100 * errs[1]);
  }
}
