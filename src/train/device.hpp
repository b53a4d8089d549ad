#pragma once
// Where training runs: the CPU, or an NVIDIA GPU when libtorch was built with
// CUDA and one is present. Compute type follows the device (bf16 on a GPU,
// f32 on a CPU, where bf16 matmuls are slow); peak memory is measured the way
// each device reports it.
#include <cstdint>
#include <string>

#include <torch/torch.h>

namespace josi::train {

// "cpu", "cuda" or "cuda:N"; throws josi::Error naming the flag when the
// device does not exist in this build or on this machine.
torch::Device resolve_device(const std::string& name);

torch::ScalarType compute_type(torch::Device device);

// libtorch's CPU threads = the machine's hardware threads (some builds start with one).
void use_all_cpu_cores();

// Waits for queued GPU work, so timings measure work done, not work queued.
void synchronize(torch::Device device);

// Peak memory of the run: the process's peak resident set on the CPU; on a
// GPU the device memory in use (what nvidia-smi shows: libtorch's cached
// blocks plus the CUDA context), sampled after each step.
class MemoryMeter {
 public:
  explicit MemoryMeter(torch::Device device) : device_(device) {}
  void sample();
  uint64_t peak_bytes() const { return peak_; }
  std::string kind() const;  // "cpu peak RSS" or "gpu memory in use"

 private:
  torch::Device device_;
  uint64_t peak_ = 0;
};

}  // namespace josi::train
