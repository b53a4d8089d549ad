// josi bench MODEL.gguf [--adapter A.gguf] [--pp 512] [--tg 64] [--threads N]: prompt and
// generation speed, and how close generation comes to the memory-bandwidth
// limit.
#include <fmt/format.h>

#include <iostream>

#include "cli/adapter_option.hpp"
#include "cli/commands.hpp"
#include "cli/kv_type_option.hpp"
#include "cli/options.hpp"
#include "infer/benchmark.hpp"
#include "json/json.hpp"
#include "kernels/cpu_features.hpp"

namespace josi::cli {

void register_bench(CLI::App& app) {
  struct Options {
    std::string model, adapter, kv_type = "f16";
    infer::BenchOptions bench;
    size_t threads = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bench", "Prompt-processing and generation speed of a GGUF model");
  cmd->add_option("model", o->model, "Model .gguf")->required()->check(CLI::ExistingFile);
  cmd->add_option(flag("pp"), o->bench.pp, "Prompt tokens processed in one batch")->capture_default_str();
  cmd->add_option(flag("tg"), o->bench.tg, "Tokens generated one at a time")->capture_default_str();
  cmd->add_option(flag("repetitions"), o->bench.repetitions, "Runs of each; the median is reported")->capture_default_str();
  cmd->add_option(flag("threads"), o->threads, "Threads (default: all cores)");
  cmd->add_option(flag("adapter"), o->adapter, kAdapterHelp)->check(CLI::ExistingFile);
  add_kv_type_option(cmd, o->kv_type);
  cmd->add_flag(flag("json"), o->json, "Print one JSON object instead of the table");
  cmd->callback([o] {
    o->bench.kv_type = kv_type_of(o->kv_type);
    infer::Model model(o->model);
    const auto adapter = open_adapter(o->adapter, model);
    base::ThreadPool pool(o->threads);
    const auto r = infer::run_benchmark(model, pool, o->bench, adapter.get());
    const auto file_bytes = model.file_bytes();
    if (o->json) {
      json::Json j{{"model", o->model},
                   {"isa", kernels::isa_name(kernels::active_isa())},
                   {"threads", pool.size()},
                   {"file_bytes", file_bytes},
                   {"adapter_bytes", adapter ? adapter->bytes() : 0},
                   {"repetitions", o->bench.repetitions},
                   {"pp", o->bench.pp},
                   {"pp_tokens_per_s", r.pp_tokens_per_s},
                   {"tg", o->bench.tg},
                   {"tg_tokens_per_s", r.tg_tokens_per_s},
                   {"pp_base_tokens_per_s", r.pp_base_tokens_per_s},
                   {"tg_base_tokens_per_s", r.tg_base_tokens_per_s},
                   {"pp_adapter_cost", r.pp_adapter_cost},
                   {"tg_adapter_cost", r.tg_adapter_cost},
                   {"bytes_per_token", r.bytes_per_token},
                   {"read_bandwidth_bytes_per_s", r.read_bytes_per_s},
                   {"copy_bandwidth_bytes_per_s", r.copy_bytes_per_s},
                   {"bandwidth_share", r.bandwidth_share()},
                   {"kv_type", o->kv_type},
                   {"kv_bytes", r.kv_bytes},
                   {"peak_resident_bytes", r.peak_resident}};
      std::cout << j.dump() << "\n";
      return;
    }
    std::cout << fmt::format("model        {} ({:.1f} MB, {} threads, {})\n", o->model, file_bytes / 1e6, pool.size(),
                             kernels::isa_name(kernels::active_isa()));
    if (o->bench.pp > 0) std::cout << fmt::format("pp{:<10} {:8.2f} tok/s\n", o->bench.pp, r.pp_tokens_per_s);
    if (o->bench.tg > 0) std::cout << fmt::format("tg{:<10} {:8.2f} tok/s\n", o->bench.tg, r.tg_tokens_per_s);
    if (adapter) {
      std::cout << fmt::format("adapter      {} ({:.1f} MB), against the base alone:\n", o->adapter, adapter->bytes() / 1e6);
      if (o->bench.pp > 0)
        std::cout << fmt::format("  pp{:<8} {:8.2f} tok/s without it; it costs {:.1f}% of a prompt token\n", o->bench.pp,
                                 r.pp_base_tokens_per_s, 100 * r.pp_adapter_cost);
      if (o->bench.tg > 0)
        std::cout << fmt::format("  tg{:<8} {:8.2f} tok/s without it; it costs {:.1f}% of a generated token\n", o->bench.tg,
                                 r.tg_base_tokens_per_s, 100 * r.tg_adapter_cost);
    }
    std::cout << fmt::format("bandwidth    {:8.1f} GB/s read (parallel sum); {:.1f} GB/s parallel copy, read + write\n",
                             r.read_bytes_per_s / 1e9, r.copy_bytes_per_s / 1e9);
    if (o->bench.tg > 0) {
      std::cout << fmt::format("tg limit     {:8.2f} tok/s ({:.1f} MB read per token); tg reaches {:.0f}% of it\n",
                               r.read_bytes_per_s / static_cast<double>(r.bytes_per_token), r.bytes_per_token / 1e6,
                               100 * r.bandwidth_share());
    }
    std::cout << fmt::format("memory       peak resident {:.1f} MB (file {:.1f} MB + KV cache {:.1f} MB + {:.1f} MB)\n",
                             r.peak_resident / 1e6, file_bytes / 1e6, r.kv_bytes / 1e6,
                             (static_cast<double>(r.peak_resident) - static_cast<double>(file_bytes + r.kv_bytes)) / 1e6);
  });
}

}  // namespace josi::cli
