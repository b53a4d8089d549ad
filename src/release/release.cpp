#include "release/release.hpp"

#include <map>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "check/sanity.hpp"
#include "formats/gguf.hpp"
#include "formats/peft_adapter.hpp"
#include "lora/merge.hpp"
#include "quant/hf_to_gguf.hpp"
#include "quant/model_quantizer.hpp"

namespace josi::release {

namespace fs = std::filesystem;

namespace {

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
// export F16, quantize, drop the intermediates (the F16 unless keep_f16).
fs::path build_gguf(const RoleSource& source, const quant::FileType& type, const ReleaseOptions& o, std::ostream& out) {
  const std::string& role = source.role;
  fs::path model = source.model_dir;
  RemovedAfterwards merged;
  if (is_adapter(model)) {
    lora::MergeOptions m;
    m.lora_path = model;
    m.base_model = o.base_model;
    m.output_path = o.output_dir / ("josi-v5-" + role + "-merged");
    merged.dir = m.output_path;
    auto s = lora::merge_adapter(m);
    out << "publish: " << role << ": merged " << s.merged_weights << " adapted weights into " << s.base_model.string()
        << "\n";
    model = s.output;
  }
  fs::path gguf = o.output_dir / ship::model_file_name(role, type.name);
  quant::ExportOptions e;
  e.name = "josi-v5-" + role;
  auto direct = formats::ggml_type_from_name(base::to_lower_ascii(type.name));
  if (direct && (*direct == formats::GgmlType::F32 || *direct == formats::GgmlType::F16 ||
                 *direct == formats::GgmlType::BF16 || *direct == formats::GgmlType::Q8_0)) {
    e.outtype = *direct;
    quant::export_gguf(model, gguf, e);
    out << "publish: " << role << ": exported " << gguf.string() << "\n";
    return gguf;
  }
  fs::path f16 = o.output_dir / ("josi-v5-" + role + "-f16.gguf");
  quant::export_gguf(model, f16, e);
  auto report = quant::quantize_model(f16, gguf, {type, 0, true});
  formats::GgufFile check(gguf);  // reads back before the intermediate goes
  out << "publish: " << role << ": " << report.file_type << " " << gguf.string() << " (" << report.output_bytes
      << " bytes)\n";
  if (!o.keep_f16) fs::remove(f16);
  return gguf;
}

// The input checks, before any long work: each role once, a directory that is
// an adapter or a model, a ready file of the right quant, a known quant.
std::vector<ship::PublishFile> check_sources(const ReleaseOptions& o) {
  if (!o.base_model.empty() && !fs::is_directory(o.base_model))
    throw Error("publish: --base-model " + o.base_model.string() + " is not a directory", ExitCode::io);
  std::vector<ship::PublishFile> files;
  for (const auto& s : o.sources) {
    if (!s.model_dir.empty() == !s.gguf.empty())
      throw Error("publish: the " + s.role + " needs a model directory or a GGUF file, exactly one", ExitCode::usage);
    for (const auto& f : files)
      if (f.role == s.role) throw Error("publish: the " + s.role + " is given twice", ExitCode::usage);
    const fs::path& path = s.gguf.empty() ? s.model_dir : s.gguf;
    if (!fs::exists(path)) throw Error("publish: " + path.string() + " does not exist", ExitCode::io);
    ship::PublishFile f{s.role, s.gguf, ""};
    if (!s.gguf.empty()) {
      f.quant = quant_of(s.gguf);
      if (o.quant_given && f.quant != base::to_lower_ascii(o.quant))
        throw Error("publish: " + s.gguf.string() + " is " + f.quant + ", not the --quant " + o.quant, ExitCode::usage);
    } else if (is_adapter(s.model_dir)) {
      formats::PeftAdapter adapter(s.model_dir);  // reads and checks it
    } else if (!fs::exists(s.model_dir / "config.json")) {
      throw Error("publish: " + s.model_dir.string() +
                      " is neither a LoRA adapter (adapter_config.json) nor a model (config.json)",
                  ExitCode::usage);
    }
    files.push_back(std::move(f));
  }
  return files;
}

data::DatasetMode mode_of(const std::string& role) {
  return role == "interpreter" ? data::DatasetMode::interpreter : data::DatasetMode::explainer;
}

// The seed's checks on each file that would ship, as `josi sanity` runs
// them (the seed's settings, the app's path). Returns the score per role; throws, listing every
// failing check of every role, when one fails.
std::map<std::string, std::string> run_gate(const std::vector<ship::PublishFile>& files, const ReleaseOptions& o,
                                            std::ostream& out) {
  std::map<std::string, std::string> scores;
  std::string failures;
  for (const auto& f : files) {
    check::SanityOptions s;
    s.model = f.path;
    s.mode = mode_of(f.role);
    s.threads = o.threads;
    const auto report = check::run_sanity(s);
    out << check::to_table(report);
    scores[f.role] = report.score();
    if (report.ok()) continue;
    std::string failed;
    for (size_t i = 0; i < report.results.size(); ++i) {
      const auto& r = report.results[i];
      if (!r.pass) failed += std::string(failed.empty() ? "#" : "; #") + std::to_string(i + 1) + " expected " + r.expected + ", got " + r.got;
    }
    failures += (failures.empty() ? "" : "; ") + f.role + " " + report.score() + " (" + failed + ")";
  }
  if (!failures.empty())
    throw Error("publish: sanity checks failed, nothing uploaded: " + failures + " (--skip-sanity ships anyway)");
  return scores;
}

}  // namespace

std::string quant_of(const fs::path& path) {
  formats::GgufFile file(path);
  const auto* ft = file.find("general.file_type");
  if (!ft) throw Error(path.string() + ": no general.file_type: not a GGUF written by a converter or quantizer");
  uint64_t id = ft->as_uint("general.file_type");
  for (auto name : quant::file_type_names())
    if (quant::file_type_from_name(name)->id == id) return base::to_lower_ascii(name);
  throw Error(path.string() + ": general.file_type " + std::to_string(id) + " is not a type Josi knows");
}

ReleaseResult publish_release(const ReleaseOptions& o, std::ostream& out) {
  auto type = quant::file_type_from_name(o.quant);
  if (!type) throw Error("publish: unknown --quant " + base::quoted(o.quant), ExitCode::usage);
  ship::parse_url(o.public_url, "--public-url");
  ReleaseResult result;
  result.files = check_sources(o);
  bool builds = false;
  for (const auto& s : o.sources) builds = builds || !s.model_dir.empty();
  const fs::path local_manifest = o.output_dir / ship::kManifestFile;
  if (builds || !o.upload) {
    std::error_code ec;
    fs::create_directories(o.output_dir, ec);
    base::check_output_path(local_manifest);
  }

  for (size_t i = 0; i < result.files.size(); ++i) {
    if (!result.files[i].path.empty()) continue;
    result.files[i].path = build_gguf(o.sources[i], *type, o, out);
    result.files[i].quant = base::to_lower_ascii(type->name);
  }
  std::map<std::string, std::string> sanity;
  if (o.skip_sanity) {
    for (const auto& f : result.files) sanity[f.role] = "skipped";
    out << "publish: sanity checks skipped (--skip-sanity); the manifest says so\n";
  } else {
    sanity = run_gate(result.files, o, out);
  }

  result.manifest = ship::build_manifest(result.files, o.public_url);
  result.manifest.sanity = sanity;
  for (const auto& e : result.manifest.models)
    out << "publish: " << e.role << ": " << e.file << ", " << e.size_bytes << " bytes, sha256 " << e.sha256
        << ", sanity " << sanity[e.role] << "\n";
  if (builds || !o.upload) {
    base::write_file_atomic(local_manifest, ship::manifest_json(result.manifest));
    result.local_manifest = local_manifest;
    out << "publish: wrote " << local_manifest.string() << "\n";
  }
  if (!o.upload) return result;
  ship::upload_release(result.files, result.manifest, o.public_url, *o.upload, o.upload_options, out);
  out << "publish: done: " << ship::join_url(o.public_url, ship::kManifestFile) << "\n";
  return result;
}

}  // namespace josi::release
