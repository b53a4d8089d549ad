// josi publish: the seed's publish_models.py, its flags and credentials;
// the pipeline itself (build, sanity gate, manifest, upload) is
// release/release.hpp.
#include <cctype>
#include <cstdlib>
#include <iostream>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "release/release.hpp"
#include "runtime/preset.hpp"
#include "ship/url.hpp"

namespace josi::cli {

namespace {

struct Options {
  std::string interpreter, explainer, gguf_interpreter, gguf_explainer, gguf_base;
  std::string ship = "merged";
  bool upload_only = false, no_upload = false, keep_f16 = false, quant_given = false, skip_sanity = false;
  std::string bucket = "mivalta-models";
  std::string public_url = std::string(ship::kDefaultPublicUrl);
  std::string quant = "Q4_K_M";
  std::string output_dir = "models/gguf";
  std::string base_model, preset, knowledge, eval_data, criteria;
  std::string access_key, secret_key, endpoint, region, addressing = "auto";
  std::string part_size = "16MiB";
  int jobs = 4, retries = 5, timeout = 60;
  size_t threads = 0;
};

std::string env_or(const std::string& flag_value, const char* name) {
  if (!flag_value.empty()) return flag_value;
  const char* v = std::getenv(name);
  return v ? v : "";
}

// "16MiB", "16M", "256KiB", "1048576" -> bytes.
uint64_t parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = base::to_lower_ascii(text.substr(digits));
  uint64_t scale = unit.empty() || unit == "b" ? 1
                   : unit == "k" || unit == "kib" ? 1ull << 10
                   : unit == "m" || unit == "mib" ? 1ull << 20
                   : unit == "g" || unit == "gib" ? 1ull << 30
                                                  : 0;
  if (digits == 0 || digits > 12 || scale == 0)
    throw Error("publish: --part-size " + base::quoted(text) + " is not a size like 16MiB", ExitCode::usage);
  uint64_t bytes = std::stoull(text.substr(0, digits)) * scale;
  if (bytes < (64ull << 10) || bytes > (5ull << 30))
    throw Error("publish: --part-size must be between 64KiB and 5GiB (stores want at least 5MiB)", ExitCode::usage);
  return bytes;
}

ship::S3Config s3_config(const Options& o) {
  ship::S3Config c;
  c.credentials.access_key = env_or(o.access_key, "S3_ACCESS_KEY");
  c.credentials.secret_key = env_or(o.secret_key, "S3_SECRET_KEY");
  std::string endpoint = env_or(o.endpoint, "S3_ENDPOINT");
  if (endpoint.empty()) throw Error("publish: no S3 endpoint: set S3_ENDPOINT or --s3-endpoint", ExitCode::usage);
  if (c.credentials.access_key.empty())
    throw Error("publish: no S3 access key: set S3_ACCESS_KEY or --s3-access-key", ExitCode::usage);
  if (c.credentials.secret_key.empty())
    throw Error("publish: no S3 secret key: set S3_SECRET_KEY or --s3-secret-key", ExitCode::usage);
  c.endpoint = ship::parse_url(endpoint, "--s3-endpoint", true);
  if (c.endpoint.scheme == "file") throw Error("publish: --s3-endpoint must be an http(s) URL or a host", ExitCode::usage);
  // Hetzner's endpoints are <region>.your-objectstorage.com.
  std::string region = env_or(o.region, "S3_REGION");
  const std::string hetzner = ".your-objectstorage.com";
  if (region.empty() && c.endpoint.host.size() > hetzner.size() &&
      c.endpoint.host.compare(c.endpoint.host.size() - hetzner.size(), hetzner.size(), hetzner) == 0)
    region = c.endpoint.host.substr(0, c.endpoint.host.find('.'));
  if (!region.empty()) c.region = region;
  c.bucket = o.bucket;
  c.addressing = o.addressing == "path"      ? ship::Addressing::path
                 : o.addressing == "virtual" ? ship::Addressing::virtual_host
                                             : ship::Addressing::automatic;
  c.http.stall_timeout_s = o.timeout;
  c.retry.retries = o.retries;
  return c;
}

void run(const Options& o) {
  if (o.upload_only && o.no_upload) throw Error("publish: --upload-only and --no-upload exclude each other", ExitCode::usage);
  release::ReleaseOptions r;
  const std::pair<std::string, std::string> roles[] = {{o.interpreter, o.gguf_interpreter}, {o.explainer, o.gguf_explainer}};
  for (size_t i = 0; i < 2; ++i) {
    const std::string role(ship::kRoles[i]);
    const auto& [dir, gguf] = roles[i];
    if (!dir.empty() && !gguf.empty())
      throw Error("publish: give --" + role + " or --gguf-" + role + ", not both", ExitCode::usage);
    if (dir.empty() && gguf.empty())
      throw Error("publish: the " + role + " is missing: give --" + role + " DIR or --gguf-" + role + " FILE",
                  ExitCode::usage);
    if (o.upload_only && !dir.empty())
      throw Error("publish: --upload-only takes ready GGUF files: use --gguf-" + role + " instead of --" + role,
                  ExitCode::usage);
    r.sources.push_back({role, dir, gguf});
  }
  r.ship = o.ship == "adapters" ? ship::ShipShape::adapters : ship::ShipShape::merged;
  r.base_gguf = o.gguf_base;
  if (o.upload_only && r.ship == ship::ShipShape::adapters && o.gguf_base.empty())
    throw Error("publish: --upload-only takes ready GGUF files: with --ship adapters, the base as --gguf-base FILE",
                ExitCode::usage);
  r.quant = o.quant;
  r.quant_given = o.quant_given;
  r.base_model = o.base_model;
  r.preset = o.preset;
  r.knowledge = o.knowledge;
  r.eval_data = o.eval_data;
  r.criteria = o.criteria;
  r.output_dir = o.output_dir;
  r.keep_f16 = o.keep_f16;
  r.skip_sanity = o.skip_sanity;
  r.threads = o.threads;
  r.public_url = o.public_url;
  if (!o.no_upload) {
    r.upload = s3_config(o);
    r.upload_options.part_size = parse_size(o.part_size);
    r.upload_options.jobs = o.jobs;
  }
  release::publish_release(r, std::cout);
}

}  // namespace

void register_publish(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("publish", "Build the shippable GGUF files and upload them with their manifest");
  cmd->add_option(flag("ship"), o->ship,
                  "merged: each role a full quantized model; adapters: the quantized base once and each role's "
                  "LoRA adapter (F16), applied at run time")
      ->check(CLI::IsMember({"merged", "adapters"}))
      ->capture_default_str();
  cmd->add_option(flag("interpreter"), o->interpreter, "Interpreter LoRA adapter or merged model directory");
  cmd->add_option(flag("explainer"), o->explainer, "Explainer LoRA adapter or merged model directory");
  cmd->add_option(flag("base_model"), o->base_model,
                  "Base model directory of the adapters (default: their base_model_name_or_path)");
  cmd->add_option(flag("gguf_interpreter"), o->gguf_interpreter,
                  "Ready interpreter GGUF file (with --ship adapters, its GGUF LoRA adapter)");
  cmd->add_option(flag("gguf_explainer"), o->gguf_explainer, "Ready explainer GGUF file");
  cmd->add_option(flag("gguf_base"), o->gguf_base,
                  "Ready base GGUF file of --ship adapters (default: built from the adapters' base)");
  cmd->add_flag(flag("upload_only"), o->upload_only, "Upload ready GGUF files (--gguf-interpreter, --gguf-explainer)");
  cmd->add_flag(flag("no_upload"), o->no_upload, "Build the GGUF files and the manifest, upload nothing");
  cmd->add_option(flag("knowledge"), o->knowledge,
                  "Coaching cards (knowledge.json) to ship beside the models: checked first, uploaded as "
                  "josi-v5-knowledge.json, named in the manifest");
  cmd->add_option(flag("preset"), o->preset,
                  "How the models are to be run, written into the files built and the manifest: v5 or v6 (default: "
                  "each training run's)")
      ->check(CLI::IsMember(runtime::preset_names()));
  cmd->add_option(flag("output_dir"), o->output_dir, "Where built GGUF files and the manifest go")->capture_default_str();
  auto* quant = cmd->add_option(flag("quant"), o->quant, "Quantization of the built files (ready files: checked)")
                    ->capture_default_str();
  cmd->add_flag(flag("keep_f16"), o->keep_f16, "Keep the F16 intermediate GGUF files");
  cmd->add_option(flag("eval_data"), o->eval_data,
                  "Validation split (JSONL; unified data fits): the gate measures each role's eval_loss on its targets "
                  "(interpreter < 0.01, coach < 1.5); required for v6 models")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("criteria"), o->criteria,
                  "Knowledge-fidelity cases (as josi eval --criteria): the gate runs them on the files that ship, with "
                  "--knowledge, and wants every category PASS")
      ->check(CLI::ExistingFile);
  cmd->add_flag(flag("skip_sanity"), o->skip_sanity,
                "Ship without the release checks (sanity, eval_loss, fidelity) on the GGUF files (the manifest "
                "records \"skipped\")");
  cmd->add_option(flag("threads"), o->threads, "Threads of the sanity checks (default: all cores)");
  cmd->add_option(flag("bucket"), o->bucket, "Bucket")->capture_default_str();
  cmd->add_option(flag("public_url"), o->public_url, "Public base URL of the bucket's objects (goes into the manifest)")
      ->capture_default_str();
  cmd->add_option(flag("s3_endpoint"), o->endpoint, "S3 endpoint host or URL (default: $S3_ENDPOINT)");
  cmd->add_option(flag("s3_access_key"), o->access_key, "Access key (default: $S3_ACCESS_KEY)");
  cmd->add_option(flag("s3_secret_key"), o->secret_key,
                  "Secret key (default: $S3_SECRET_KEY; the variable keeps it out of the process list)");
  cmd->add_option(flag("s3_region"), o->region,
                  "Signing region (default: $S3_REGION, the Hetzner location in the endpoint, or us-east-1)");
  cmd->add_option(flag("s3_addressing"), o->addressing,
                  "auto (path-style for IP addresses and localhost), path or virtual (bucket.host)")
      ->check(CLI::IsMember({"auto", "path", "virtual"}))
      ->capture_default_str();
  cmd->add_option(flag("part_size"), o->part_size, "Multipart part size")->capture_default_str();
  cmd->add_option(flag("jobs"), o->jobs, "Parts uploaded at once")->check(CLI::Range(1, 32))->capture_default_str();
  cmd->add_option(flag("retries"), o->retries, "Retries of a failed request")->check(CLI::Range(0, 20))->capture_default_str();
  cmd->add_option(flag("timeout"), o->timeout, "Seconds a stalled transfer may wait")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->callback([o, quant] {
    o->quant_given = quant->count() > 0;
    run(*o);
  });
}

}  // namespace josi::cli
