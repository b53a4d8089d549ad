// josi quantize IN.gguf OUT.gguf TYPE: the seed's llama-quantize step, plus
// removing the F16 intermediate afterwards (the seed's `rm *-f16.gguf`).
#include <filesystem>
#include <iostream>

#include "base/error.hpp"
#include "base/files.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "formats/gguf.hpp"
#include "quant/model_quantizer.hpp"

namespace josi::cli {

namespace {

struct Options {
  std::string in, out, type, report;
  size_t threads = 0;
  bool keep_f16 = false;
};

// An unquantized export (F32/F16/BF16 file type) is an intermediate.
bool is_intermediate(const formats::GgufFile& file) {
  const auto* ft = file.find("general.file_type");
  if (!ft) return false;
  uint64_t id = ft->as_uint("general.file_type");
  return id == 0 || id == 1 || id == 32;
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto opts = std::make_shared<Options>();
  std::string types;
  for (auto n : quant::file_type_names()) types += (types.empty() ? "" : ", ") + std::string(n);
  auto* cmd = app.add_subcommand("quantize", "Quantize a GGUF model (F16 -> Q4_K_M, ...)");
  cmd->add_option("input", opts->in, "Input .gguf (F32/F16/BF16)")->required()->check(CLI::ExistingFile);
  cmd->add_option("output", opts->out, "Output .gguf")->required();
  cmd->add_option("type", opts->type, "File type: " + types)->required();
  cmd->add_option(flag("threads"), opts->threads, "Worker threads (default: all cores)");
  cmd->add_option(flag("report"), opts->report, "Write a JSON report: each tensor's type, bytes, relative RMS error");
  cmd->add_flag(flag("keep_f16"), opts->keep_f16, "Keep the F16/BF16/F32 input (it is removed after a successful run)");
  cmd->callback([opts] {
    auto file_type = quant::file_type_from_name(opts->type);
    if (!file_type) throw Error("quantize: unknown type \"" + opts->type + "\"", ExitCode::usage);
    if (std::filesystem::weakly_canonical(opts->in) == std::filesystem::weakly_canonical(opts->out))
      throw Error("quantize: output must differ from input", ExitCode::usage);
    quant::QuantizeOptions q{*file_type, opts->threads, true};
    auto report = quant::quantize_model(opts->in, opts->out, q);
    if (!opts->report.empty()) base::write_file_atomic(opts->report, quant::to_json(report).dump(2) + "\n");
    std::cout << "quantize: " << report.file_type << ", " << report.tensors.size() << " tensors, " << report.input_bytes
              << " -> " << report.output_bytes << " bytes in " << report.seconds << " s\n";
    // Remove the intermediate only once the output reads back as a valid GGUF.
    bool intermediate = is_intermediate(formats::GgufFile(opts->in));
    formats::GgufFile check(opts->out);
    if (intermediate && !opts->keep_f16) {
      std::filesystem::remove(opts->in);
      std::cout << "quantize: removed the intermediate " << opts->in << " (--keep-f16 keeps it)\n";
    }
  });
}

}  // namespace josi::cli
