#include "release/release.hpp"

#include <map>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "check/eval.hpp"
#include "check/fidelity_eval.hpp"
#include "check/sanity.hpp"
#include "formats/gguf.hpp"
#include "formats/josi_metadata.hpp"
#include "formats/peft_adapter.hpp"
#include "knowledge/knowledge_base.hpp"
#include "infer/adapter.hpp"
#include "infer/model.hpp"
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

// A model directory -> josi-v5-<role>-<quant>.gguf: export F16, quantize,
// drop the F16 unless keep_f16 (the types export writes directly skip it).
fs::path export_quantized(const fs::path& model, const std::string& role, const quant::FileType& type,
                          const formats::TrainedAs& trained_as, const ReleaseOptions& o, std::ostream& out) {
  fs::path gguf = o.output_dir / ship::model_file_name(role, type.name);
  quant::ExportOptions e;
  e.name = "josi-v5-" + role;
  e.trained_as = trained_as;
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

// What a role's model directory was trained for: --preset, else its training run's.
formats::TrainedAs trained_as_of(const RoleSource& source, const ReleaseOptions& o) {
  if (!o.preset.empty()) return {o.preset, o.preset};
  return formats::trained_as_of_run(source.model_dir);
}

// A role's model directory -> the shippable merged GGUF: merge an adapter
// into its base (an intermediate), then export and quantize.
fs::path build_gguf(const RoleSource& source, const quant::FileType& type, const ReleaseOptions& o, std::ostream& out) {
  const std::string& role = source.role;
  const formats::TrainedAs trained_as = trained_as_of(source, o);
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
  return export_quantized(model, role, type, trained_as, o, out);
}

// A role's PEFT adapter directory -> josi-v5-<role>-lora-f16.gguf.
fs::path build_adapter_gguf(const RoleSource& source, const ReleaseOptions& o, std::ostream& out) {
  fs::path gguf = o.output_dir / ship::adapter_file_name(source.role, "f16");
  quant::LoraExportOptions e;
  e.base = o.base_model;
  e.name = "josi-v5-" + source.role;
  e.trained_as = trained_as_of(source, o);
  auto summary = quant::export_lora_gguf(source.model_dir, gguf, e);
  out << "publish: " << source.role << ": adapter " << gguf.string() << " (" << summary.tensors << " tensors, "
      << summary.bytes << " bytes)\n";
  return gguf;
}

// The base model directory the adapters were trained on: --base-model, or
// the local directory they all name as base_model_name_or_path.
fs::path adapters_base_dir(const ReleaseOptions& o) {
  if (!o.base_model.empty()) return o.base_model;
  fs::path named;
  for (const auto& s : o.sources) {
    if (s.model_dir.empty()) continue;
    fs::path base = formats::PeftAdapter(s.model_dir).config().base_model_name_or_path;
    if (!named.empty() && base != named)
      throw Error("publish: the adapters name different bases (" + named.string() + ", " + base.string() +
                      "); one base serves both roles: give --base-model DIR",
                  ExitCode::usage);
    named = base;
  }
  if (named.empty() || !fs::exists(named / "config.json"))
    throw Error("publish: --ship adapters needs the adapters' base as a local model directory (--base-model DIR) or " +
                    std::string("a ready GGUF (--gguf-base FILE)") +
                    (named.empty() ? std::string() : "; " + base::quoted(named.string()) + " is not one"),
                ExitCode::usage);
  return named;
}

// A ready adapter file's tensor type ("f16"), refusing a file that is not a GGUF LoRA adapter.
std::string adapter_type_of(const fs::path& path) {
  formats::GgufFile file(path);
  const auto* type = file.find("general.type");
  if (!type || type->as_string("general.type") != "adapter" || file.tensors().empty())
    throw Error("publish: " + path.string() + " is not a GGUF LoRA adapter (general.type \"adapter\"); " +
                    "--ship adapters takes the files `josi export-gguf --lora` writes",
                ExitCode::usage);
  return base::to_lower_ascii(formats::ggml_type_info(file.tensors().front().type).name);
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
    const bool adapters = o.ship == ship::ShipShape::adapters;
    ship::PublishFile f{s.role, s.gguf, "", adapters ? std::string(ship::kBaseRole) : ""};
    if (adapters && !s.gguf.empty()) {
      f.quant = adapter_type_of(s.gguf);
    } else if (adapters) {
      if (!is_adapter(s.model_dir))
        throw Error("publish: --ship adapters ships LoRA adapters: " + s.model_dir.string() +
                        " has no adapter_config.json (a merged model ships with --ship merged)",
                    ExitCode::usage);
      formats::PeftAdapter adapter(s.model_dir);
    } else if (!s.gguf.empty()) {
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

// The adapters shape's base: a ready file of the right quant, or (checked
// here, built later) the adapters' base directory.
ship::PublishFile check_base(const ReleaseOptions& o) {
  ship::PublishFile base{std::string(ship::kBaseRole), o.base_gguf, "", ""};
  if (o.base_gguf.empty()) {
    adapters_base_dir(o);
    return base;
  }
  if (!fs::exists(o.base_gguf)) throw Error("publish: " + o.base_gguf.string() + " does not exist", ExitCode::io);
  base.quant = quant_of(o.base_gguf);
  if (o.quant_given && base.quant != base::to_lower_ascii(o.quant))
    throw Error("publish: " + o.base_gguf.string() + " is " + base.quant + ", not the --quant " + o.quant,
                ExitCode::usage);
  for (const auto& s : o.sources)
    if (!s.model_dir.empty()) adapters_base_dir(o);  // exporting an adapter reads the base's shapes
  return base;
}

// Each adapter against the base it ships with: architecture, shapes, rank, alpha.
void check_adapters_fit(const fs::path& base, const std::vector<ship::PublishFile>& adapters, std::ostream& out) {
  const infer::Model model(base);
  for (const auto& f : adapters) {
    const infer::Adapter adapter(f.path, model);
    out << "publish: " << f.role << ": " << f.path.filename().string() << " fits " << base.filename().string() << " ("
        << adapter.adapted_projections() << " adapted projections, alpha " << adapter.alpha() << ")\n";
  }
}

data::DatasetMode mode_of(const std::string& role) {
  return role == "interpreter" ? data::DatasetMode::interpreter : data::DatasetMode::explainer;
}

// The file a role runs as: its model, or the base with the role's adapter.
struct RunAs {
  fs::path model, adapter;
};
RunAs run_as(const ship::PublishFile& f, const fs::path& base) {
  return f.adapter_of.empty() ? RunAs{f.path, {}} : RunAs{base, f.path};
}

// What the gate found: the manifest's per-role sanity scores, its "checks",
// and every failure, in words.
struct GateResult {
  std::map<std::string, std::string> sanity;
  json::Json checks = json::Json::object();
  std::vector<std::string> failures;
};

// The sanity checks of the preset on each role that would ship, as `josi
// sanity` runs them (the app's path; an adapter on its base).
void gate_sanity(const std::vector<ship::PublishFile>& files, const fs::path& base, const std::string& preset,
                 const ReleaseOptions& o, GateResult& gate, std::ostream& out) {
  json::Json recorded = json::Json::object();
  for (const auto& f : files) {
    check::SanityOptions s;
    const RunAs as = run_as(f, base);
    s.model = as.model;
    s.adapter = as.adapter;
    s.mode = mode_of(f.role);
    s.preset = preset;
    s.threads = o.threads;
    const auto report = check::run_sanity(s);
    out << check::to_table(report);
    gate.sanity[f.role] = report.score();
    json::Json scores = {{"score", report.score()}, {"pass", report.ok()}};
    for (const auto& g : report.groups()) scores[g] = report.score(g);
    recorded[f.role] = std::move(scores);
    if (report.ok()) continue;
    // One failing check is told in full; more are named (the tables above have them).
    std::vector<const check::SanityResult*> failed;
    for (const auto& r : report.results)
      if (!r.pass) failed.push_back(&r);
    std::vector<std::string> told;
    for (const auto* r : failed)
      told.push_back(failed.size() == 1 ? r->name + " expected " + r->expected + ", got " + r->got : r->name);
    gate.failures.push_back(f.role + " sanity " + report.score() + " (failed: " + base::join(told, ", ") + ")");
  }
  gate.checks["sanity"] = std::move(recorded);
}

// Teacher-forced eval_loss of each role's file on its targets of the validation split.
void gate_eval_loss(const std::vector<ship::PublishFile>& files, const fs::path& base, const ReleaseOptions& o,
                    GateResult& gate, std::ostream& out) {
  json::Json recorded = json::Json::object();
  for (const auto& f : files) {
    check::EvalOptions e;
    const RunAs as = run_as(f, base);
    e.model = as.model;
    e.adapter = as.adapter;
    e.data = o.eval_data;
    e.mode = data::DatasetMode::unified;
    e.role_targets = mode_of(f.role);
    e.max_seq_length = 4096;
    e.generate = false;
    e.threads = o.threads;
    e.progress = false;
    const auto report = check::run_eval(e);
    const double threshold = check::seed_targets(mode_of(f.role)).loss;
    const bool pass = report.eval_loss < threshold;
    out << "publish: " << f.role << ": eval_loss " << report.eval_loss << " on " << report.examples << " examples of "
        << o.eval_data.filename().string() << " (must be under " << threshold << ")" << (pass ? "" : ": FAILS") << "\n";
    recorded[f.role] = {{"eval_loss", report.eval_loss}, {"threshold", threshold}, {"examples", report.examples},
                        {"data", o.eval_data.filename().string()}, {"pass", pass}};
    if (!pass) gate.failures.push_back(f.role + " eval_loss " + std::to_string(report.eval_loss) + " (must be under " +
                                       json::Json(threshold).dump() + ")");
  }
  gate.checks["eval_loss"] = std::move(recorded);
}

// The knowledge-fidelity cases as athlete turns on the files that ship, with the cards that ship.
void gate_fidelity(const std::vector<ship::PublishFile>& files, const fs::path& base, const std::string& preset,
                   const ReleaseOptions& o, GateResult& gate, std::ostream& out) {
  check::FidelityEvalOptions f;
  f.criteria = o.criteria;
  for (const auto& file : files) {
    const RunAs as = run_as(file, base);
    if (file.role == "interpreter") {
      f.model = as.model;
      f.adapter = as.adapter;
    } else {
      f.explainer_model = as.model;
      f.explainer_adapter = as.adapter;
    }
  }
  if (f.model.empty()) {  // a release of the coach alone: it serves both roles
    std::swap(f.model, f.explainer_model);
    std::swap(f.adapter, f.explainer_adapter);
  }
  if (!o.knowledge.empty()) f.knowledge = o.knowledge;
  f.preset = preset.empty() ? "v6" : preset;
  f.threads = o.threads;
  const auto report = check::run_fidelity_eval(f);
  out << check::to_table(report);
  json::Json categories = json::Json::object();
  for (const auto& [name, c] : report.categories) categories[name] = c.status();
  gate.checks["fidelity"] = {{"criteria", o.criteria.filename().string()}, {"passed", report.passed()},
                             {"total", report.cases.size()},           {"status", report.status()},
                             {"categories", categories},               {"grounding", scoring::to_json(report.grounding)}};
  if (!report.ok()) {
    std::string weak;
    for (const auto& [name, c] : report.categories)
      if (c.status() != "PASS") weak += (weak.empty() ? "" : ", ") + name + " " + std::to_string(c.passed) + "/" + std::to_string(c.total);
    gate.failures.push_back("fidelity " + report.status() + " " + std::to_string(report.passed()) + "/" +
                            std::to_string(report.cases.size()) + " (" + weak + ")");
  }
}

// The release gate: sanity for every preset; for v6 models (and whenever
// given) the eval_loss thresholds on --eval-data and the fidelity cases of
// --criteria. Every check runs, then a failure of any refuses the release,
// listing them all.
GateResult run_gate(const std::vector<ship::PublishFile>& files, const fs::path& base, const std::string& preset,
                    const ReleaseOptions& o, std::ostream& out) {
  GateResult gate;
  gate_sanity(files, base, preset.empty() ? "v5" : preset, o, gate, out);
  if (!o.eval_data.empty()) gate_eval_loss(files, base, o, gate, out);
  if (!o.criteria.empty()) gate_fidelity(files, base, preset, o, gate, out);
  if (!gate.failures.empty())
    throw Error("publish: the release checks failed, nothing uploaded: " + base::join(gate.failures, "; ") +
                " (--skip-sanity ships anyway)");
  return gate;
}

// Every check the gate would have run, recorded as "skipped".
GateResult skipped_gate(const std::vector<ship::PublishFile>& files, const ReleaseOptions& o) {
  GateResult gate;
  for (const auto& f : files) gate.sanity[f.role] = "skipped";
  gate.checks["sanity"] = "skipped";
  if (!o.eval_data.empty()) gate.checks["eval_loss"] = "skipped";
  if (!o.criteria.empty()) gate.checks["fidelity"] = "skipped";
  return gate;
}

// The coaching cards ship only when `josi knowledge check` would pass them.
void check_knowledge_file(const ReleaseOptions& o) {
  if (o.knowledge.empty()) return;
  if (!fs::is_regular_file(o.knowledge)) throw Error("publish: --knowledge " + o.knowledge.string() + " is not a file", ExitCode::io);
  try {
    knowledge::KnowledgeBase::load(o.knowledge);
  } catch (const Error& e) {
    throw Error(std::string("publish: the coaching cards fail their check, nothing built or uploaded: ") + e.what(),
                ExitCode::usage);
  }
}

// The gate's data, checked before the long work: the fidelity cases load,
// the validation split exists, and a v6 release has one (its eval_loss
// thresholds are part of the users' v6 gate).
void check_gate_inputs(const ReleaseOptions& o) {
  if (!o.criteria.empty()) check::load_fidelity_cases(o.criteria);
  if (!o.eval_data.empty() && !fs::is_regular_file(o.eval_data))
    throw Error("publish: --eval-data " + o.eval_data.string() + " is not a file", ExitCode::io);
  if (o.skip_sanity || !o.eval_data.empty()) return;
  for (const auto& s : o.sources) {
    const std::string preset = !s.model_dir.empty() ? trained_as_of(s, o).preset
                                                    : formats::trained_as(formats::GgufFile(s.gguf), s.gguf.string()).preset;
    if (preset == "v6")
      throw Error("publish: the " + s.role + " is a v6 model, whose release gate measures eval_loss: give --eval-data " +
                      "FILE (the validation split), or --skip-sanity",
                  ExitCode::usage);
  }
}

// The preset the role files carry, which the manifest repeats for the app:
// one for both roles (a file that names none leaves it to the other).
std::string preset_of_roles(const std::vector<ship::PublishFile>& roles) {
  std::string preset, first;
  for (const auto& f : roles) {
    const std::string p = formats::trained_as(formats::GgufFile(f.path), f.path.string()).preset;
    if (p.empty()) continue;
    if (!preset.empty() && p != preset)
      throw Error("publish: the roles run with different presets (" + first + ": " + preset + ", " + f.role + ": " + p +
                      "); give --preset to build both alike",
                  ExitCode::usage);
    preset = p;
    first = f.role;
  }
  return preset;
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
  const bool adapters = o.ship == ship::ShipShape::adapters;
  if (!adapters && !o.base_gguf.empty())
    throw Error("publish: --gguf-base is the base of --ship adapters", ExitCode::usage);
  ReleaseResult result;
  check_knowledge_file(o);
  std::vector<ship::PublishFile> roles = check_sources(o);
  check_gate_inputs(o);
  std::optional<ship::PublishFile> base;
  if (adapters) base = check_base(o);
  bool builds = base && base->path.empty();
  for (const auto& s : o.sources) builds = builds || !s.model_dir.empty();
  const fs::path local_manifest = o.output_dir / ship::kManifestFile;
  if (builds || !o.upload) {
    std::error_code ec;
    fs::create_directories(o.output_dir, ec);
    base::check_output_path(local_manifest);
  }

  if (base && base->path.empty()) {
    base->path = export_quantized(adapters_base_dir(o), base->role, *type, {}, o, out);
    base->quant = base::to_lower_ascii(type->name);
  }
  for (size_t i = 0; i < roles.size(); ++i) {
    if (!roles[i].path.empty()) continue;
    roles[i].path = adapters ? build_adapter_gguf(o.sources[i], o, out) : build_gguf(o.sources[i], *type, o, out);
    roles[i].quant = adapters ? "f16" : base::to_lower_ascii(type->name);
  }
  if (base) check_adapters_fit(base->path, roles, out);
  const std::string preset = preset_of_roles(roles);
  GateResult gate;
  if (o.skip_sanity) {
    gate = skipped_gate(roles, o);
    out << "publish: release checks skipped (--skip-sanity); the manifest says so\n";
  } else {
    gate = run_gate(roles, base ? base->path : fs::path(), preset, o, out);
  }
  const auto& sanity = gate.sanity;
  if (base) result.files.push_back(*base);
  result.files.insert(result.files.end(), roles.begin(), roles.end());
  if (!o.knowledge.empty()) result.files.push_back({std::string(ship::kKnowledgeRole), o.knowledge, "", ""});

  result.manifest = ship::build_manifest(result.files, o.public_url);
  result.manifest.sanity = sanity;
  result.manifest.preset = preset;
  result.manifest.checks = gate.checks;
  for (const auto& e : result.manifest.models)
    out << "publish: " << e.role << ": " << e.file << ", " << e.size_bytes << " bytes, sha256 " << e.sha256
        << (e.role == ship::kBaseRole || e.role == ship::kKnowledgeRole ? std::string() : ", sanity " + sanity.at(e.role))
        << "\n";
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
