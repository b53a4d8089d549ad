// josi download: the seed's download_models.py, verified and resumable:
// fetch the manifest, then both models in parallel into --output-dir, each
// kept only when its SHA-256 matches.
#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "ship/downloader.hpp"

namespace josi::cli {

void register_download(CLI::App& app) {
  auto o = std::make_shared<ship::DownloadOptions>();
  auto output_dir = std::make_shared<std::string>("models/gguf");
  auto interpreter_only = std::make_shared<bool>(false);
  auto explainer_only = std::make_shared<bool>(false);
  auto no_verify = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("download", "Download the published models, verified, resuming interrupted transfers");
  cmd->add_option(flag("output_dir"), *output_dir, "Where the GGUF files go")->capture_default_str();
  cmd->add_flag(flag("interpreter_only"), *interpreter_only, "Only the interpreter model");
  cmd->add_flag(flag("explainer_only"), *explainer_only, "Only the explainer model");
  cmd->add_flag(flag("no_verify"), *no_verify, "Do not check SHA-256 checksums");
  cmd->add_flag(flag("force"), o->force, "Download again even when the files are present and verified");
  cmd->add_option(flag("manifest_url"), o->manifest_url,
                  "Manifest URL, http(s) or file (default: <base-url>/josi-v5-manifest.json)");
  cmd->add_option(flag("base_url"), o->base_url,
                  std::string("Where the models are (default: the manifest's URLs, under ") +
                      std::string(ship::kDefaultPublicUrl) + ")");
  cmd->add_option(flag("retries"), o->retry.retries, "Retries of a failed transfer")
      ->check(CLI::Range(0, 20))
      ->capture_default_str();
  cmd->add_option(flag("timeout"), o->http.stall_timeout_s, "Seconds a stalled transfer may wait")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->callback([=] {
    if (*interpreter_only && *explainer_only)
      throw Error("download: --interpreter-only and --explainer-only exclude each other", ExitCode::usage);
    o->output_dir = *output_dir;
    o->verify = !*no_verify;
    if (*interpreter_only) o->roles = {"interpreter"};
    if (*explainer_only) o->roles = {"explainer"};
    ship::download_models(*o, std::cout);
  });
}

}  // namespace josi::cli
