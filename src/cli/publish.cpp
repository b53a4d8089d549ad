// josi publish: the seed's publish_models.py. LoRA adapters (or merged
// models) -> merge -> GGUF F16 -> quantized GGUF -> upload to S3-compatible
// storage with the manifest last; or ready GGUF files with --upload-only; or
// everything but the upload with --no-upload.
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "formats/gguf.hpp"
#include "formats/peft_adapter.hpp"
#include "quant/hf_to_gguf.hpp"
#include "quant/model_quantizer.hpp"
#include "ship/publisher.hpp"
#include "lora/merge.hpp"

namespace josi::cli {

namespace fs = std::filesystem;

namespace {

struct Options {
  std::string interpreter, explainer, gguf_interpreter, gguf_explainer;
  bool upload_only = false, no_upload = false, keep_f16 = false, quant_given = false;
  std::string bucket = "mivalta-models";
  std::string public_url = std::string(ship::kDefaultPublicUrl);
  std::string quant = "Q4_K_M";
  std::string output_dir = "models/gguf";
  std::string base_model;
  std::string access_key, secret_key, endpoint, region, addressing = "auto";
  std::string part_size = "16MiB";
  int jobs = 4, retries = 5, timeout = 60;
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

// The quant name ("q4_k_m") of a GGUF's general.file_type.
std::string quant_of(const fs::path& path) {
  formats::GgufFile file(path);
  const auto* ft = file.find("general.file_type");
  if (!ft) throw Error(path.string() + ": no general.file_type: not a GGUF written by a converter or quantizer");
  uint64_t id = ft->as_uint("general.file_type");
  for (auto name : quant::file_type_names())
    if (quant::file_type_from_name(name)->id == id) return base::to_lower_ascii(name);
  throw Error(path.string() + ": general.file_type " + std::to_string(id) + " is not a type Josi knows");
}

bool is_adapter(const fs::path& dir) { return fs::exists(dir / "adapter_config.json"); }

// Removes an intermediate directory when the step that needed it is over, or failed.
struct RemovedAfterwards {
  fs::path dir;
  ~RemovedAfterwards() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

// A model directory -> the shippable GGUF: merge an adapter into its base,
// export F16, quantize, drop the intermediates (the F16 unless --keep-f16).
fs::path build_gguf(const std::string& role, const fs::path& dir, const quant::FileType& type, const Options& o) {
  fs::path model = dir;
  RemovedAfterwards merged;
  if (is_adapter(dir)) {
    lora::MergeOptions m;
    m.lora_path = dir;
    m.base_model = o.base_model;
    m.output_path = fs::path(o.output_dir) / ("josi-v5-" + role + "-merged");
    merged.dir = m.output_path;
    auto s = lora::merge_adapter(m);
    std::cout << "publish: " << role << ": merged " << s.merged_weights << " adapted weights into "
              << s.base_model.string() << "\n";
    model = s.output;
  }
  fs::path out = fs::path(o.output_dir) / ship::model_file_name(role, type.name);
  quant::ExportOptions e;
  e.name = "josi-v5-" + role;
  auto direct = formats::ggml_type_from_name(base::to_lower_ascii(type.name));
  if (direct && (*direct == formats::GgmlType::F32 || *direct == formats::GgmlType::F16 ||
                 *direct == formats::GgmlType::BF16 || *direct == formats::GgmlType::Q8_0)) {
    e.outtype = *direct;
    quant::export_gguf(model, out, e);
    std::cout << "publish: " << role << ": exported " << out.string() << "\n";
    return out;
  }
  fs::path f16 = fs::path(o.output_dir) / ("josi-v5-" + role + "-f16.gguf");
  quant::export_gguf(model, f16, e);
  auto report = quant::quantize_model(f16, out, {type, 0, true});
  formats::GgufFile check(out);  // reads back before the intermediate goes
  std::cout << "publish: " << role << ": " << report.file_type << " " << out.string() << " (" << report.output_bytes
            << " bytes)\n";
  if (!o.keep_f16) fs::remove(f16);
  return out;
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
  struct Source {
    std::string role, dir, gguf;
  };
  const Source sources[] = {{"interpreter", o.interpreter, o.gguf_interpreter},
                            {"explainer", o.explainer, o.gguf_explainer}};
  // Everything that can be wrong with the input is found before the long work starts.
  auto type = quant::file_type_from_name(o.quant);
  if (!type) throw Error("publish: unknown --quant " + base::quoted(o.quant), ExitCode::usage);
  ship::parse_url(o.public_url, "--public-url");
  if (!o.base_model.empty() && !fs::is_directory(o.base_model))
    throw Error("publish: --base-model " + o.base_model + " is not a directory", ExitCode::io);
  std::vector<ship::PublishFile> files;
  for (const auto& s : sources) {
    if (!s.dir.empty() && !s.gguf.empty())
      throw Error("publish: give --" + s.role + " or --gguf-" + s.role + ", not both", ExitCode::usage);
    if (s.dir.empty() && s.gguf.empty())
      throw Error("publish: the " + s.role + " is missing: give --" + s.role + " DIR or --gguf-" + s.role + " FILE",
                  ExitCode::usage);
    if (o.upload_only && !s.dir.empty())
      throw Error("publish: --upload-only takes ready GGUF files: use --gguf-" + s.role + " instead of --" + s.role,
                  ExitCode::usage);
    const std::string& path = s.gguf.empty() ? s.dir : s.gguf;
    if (!fs::exists(path)) throw Error("publish: " + path + " does not exist", ExitCode::io);
    ship::PublishFile f{s.role, s.gguf, ""};
    if (!s.gguf.empty()) {
      f.quant = quant_of(s.gguf);
      if (o.quant_given && f.quant != base::to_lower_ascii(o.quant))
        throw Error("publish: " + s.gguf + " is " + f.quant + ", not the --quant " + o.quant, ExitCode::usage);
    } else if (is_adapter(s.dir)) {
      formats::PeftAdapter adapter(s.dir);  // reads and checks it
    } else if (!fs::exists(fs::path(s.dir) / "config.json")) {
      throw Error("publish: " + s.dir + " is neither a LoRA adapter (adapter_config.json) nor a model (config.json)",
                  ExitCode::usage);
    }
    files.push_back(std::move(f));
  }
  std::optional<ship::S3Config> s3;
  ship::UploadOptions upload;
  if (!o.no_upload) {
    s3 = s3_config(o);
    upload.part_size = parse_size(o.part_size);
    upload.jobs = o.jobs;
  }
  bool builds = !o.interpreter.empty() || !o.explainer.empty();
  if (builds || o.no_upload) {
    std::error_code ec;
    fs::create_directories(o.output_dir, ec);
    base::check_output_path(fs::path(o.output_dir) / ship::kManifestFile);
  }

  for (size_t i = 0; i < files.size(); ++i) {
    if (!files[i].path.empty()) continue;
    files[i].path = build_gguf(sources[i].role, sources[i].dir, *type, o);
    files[i].quant = base::to_lower_ascii(type->name);
  }

  auto manifest = ship::build_manifest(files, o.public_url);
  for (const auto& e : manifest.models)
    std::cout << "publish: " << e.role << ": " << e.file << ", " << e.size_bytes << " bytes, sha256 " << e.sha256 << "\n";
  if (builds || o.no_upload) {
    fs::path local = fs::path(o.output_dir) / ship::kManifestFile;
    base::write_file_atomic(local, ship::manifest_json(manifest));
    std::cout << "publish: wrote " << local.string() << "\n";
  }
  if (o.no_upload) return;
  ship::upload_release(files, manifest, o.public_url, *s3, upload, std::cout);
  std::cout << "publish: done: " << ship::join_url(o.public_url, ship::kManifestFile) << "\n";
}

}  // namespace

void register_publish(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("publish", "Build the shippable GGUF files and upload them with their manifest");
  cmd->add_option(flag("interpreter"), o->interpreter, "Interpreter LoRA adapter or merged model directory");
  cmd->add_option(flag("explainer"), o->explainer, "Explainer LoRA adapter or merged model directory");
  cmd->add_option(flag("base_model"), o->base_model,
                  "Base model directory of the adapters (default: their base_model_name_or_path)");
  cmd->add_option(flag("gguf_interpreter"), o->gguf_interpreter, "Ready interpreter GGUF file");
  cmd->add_option(flag("gguf_explainer"), o->gguf_explainer, "Ready explainer GGUF file");
  cmd->add_flag(flag("upload_only"), o->upload_only, "Upload ready GGUF files (--gguf-interpreter, --gguf-explainer)");
  cmd->add_flag(flag("no_upload"), o->no_upload, "Build the GGUF files and the manifest, upload nothing");
  cmd->add_option(flag("output_dir"), o->output_dir, "Where built GGUF files and the manifest go")->capture_default_str();
  auto* quant = cmd->add_option(flag("quant"), o->quant, "Quantization of the built files (ready files: checked)")
                    ->capture_default_str();
  cmd->add_flag(flag("keep_f16"), o->keep_f16, "Keep the F16 intermediate GGUF files");
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
