#include "train/device.hpp"

#include <dlfcn.h>

#include <thread>

#include "base/error.hpp"
#include "base/memory_usage.hpp"

namespace josi::train {

namespace {

// The CUDA driver's cuMemGetInfo, looked up at run time: the driver library
// is on every machine with an NVIDIA GPU, and this keeps the CUDA headers out
// of the build.
using MemGetInfo = int (*)(size_t* free, size_t* total);

MemGetInfo driver_mem_get_info() {
  static MemGetInfo fn = [] {
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    return lib ? reinterpret_cast<MemGetInfo>(dlsym(lib, "cuMemGetInfo_v2")) : nullptr;
  }();
  return fn;
}

}  // namespace

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("--device " + name + ": no usable CUDA device (this josi's libtorch has no CUDA, or no GPU is present); use --device cpu",
                  ExitCode::usage);
    torch::Device device(torch::kCUDA, 0);
    if (name.size() > 5) {
      try {
        device = torch::Device(name);
      } catch (const std::exception&) {
        throw Error("--device " + name + ": not a device (cpu, cuda or cuda:N)", ExitCode::usage);
      }
      if (device.index() >= static_cast<int64_t>(torch::cuda::device_count()))
        throw Error("--device " + name + ": this machine has " + std::to_string(torch::cuda::device_count()) +
                        " CUDA device(s)",
                    ExitCode::usage);
    }
    return device;
  }
  throw Error("--device " + name + ": not a device (cpu, cuda or cuda:N)", ExitCode::usage);
}

torch::ScalarType compute_type(torch::Device device) { return device.is_cuda() ? torch::kBFloat16 : torch::kFloat; }

void use_all_cpu_cores() {
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores > 0 && at::get_num_threads() < static_cast<int>(cores)) at::set_num_threads(static_cast<int>(cores));
}

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

void MemoryMeter::sample() {
  uint64_t now = 0;
  if (device_.is_cuda()) {
    size_t free = 0, total = 0;
    if (auto fn = driver_mem_get_info(); fn != nullptr && fn(&free, &total) == 0) now = total - free;
  } else {
    now = base::peak_resident_bytes();
  }
  peak_ = std::max(peak_, now);
}

std::string MemoryMeter::kind() const { return device_.is_cuda() ? "gpu memory in use" : "cpu peak RSS"; }

}  // namespace josi::train
