#include "ship/manifest.hpp"

#include <cctype>
#include <ctime>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "json/json.hpp"
#include "ship/digest.hpp"
#include "ship/url.hpp"

namespace josi::ship {

namespace {

using json::Json;

const Json& field(const Json& object, const std::string& key, const std::string& where, const std::string& source) {
  auto it = object.find(key);
  if (it == object.end()) throw Error(source + ": manifest: " + where + key + " is missing");
  return *it;
}

std::string string_field(const Json& object, const std::string& key, const std::string& where,
                         const std::string& source) {
  const Json& v = field(object, key, where, source);
  if (!v.is_string())
    throw Error(source + ": manifest: " + where + key + " must be a string, not " + json::type_name(v));
  return v.get<std::string>();
}

std::string optional_string(const Json& object, const std::string& key, const std::string& where,
                            const std::string& source) {
  return object.contains(key) ? string_field(object, key, where, source) : std::string();
}

// Where an entry sits in the manifest: "models.<role>", or "knowledge".
std::string entry_name(const std::string& role) { return role == kKnowledgeRole ? role : "models." + role; }

ModelEntry parse_entry(const Json& entry, const std::string& role, const std::string& source) {
  const std::string name = entry_name(role);
  const std::string where = name + ".";
  if (!entry.is_object()) throw Error(source + ": manifest: " + name + " must be an object, not " + json::type_name(entry));
  ModelEntry m;
  m.role = role;
  m.file = string_field(entry, "file", where, source);
  if (!is_plain_file_name(m.file))
    throw Error(source + ": manifest: " + where + "file " + base::quoted(m.file) +
                " is not a plain file name (letters, digits, '.', '_', '-'; no directories); refused");
  const Json& size = field(entry, "size_bytes", where, source);
  if (!size.is_number_unsigned() && !(size.is_number_integer() && size.get<int64_t>() >= 0))
    throw Error(source + ": manifest: " + where + "size_bytes must be a non-negative integer");
  m.size_bytes = size.get<uint64_t>();
  m.sha256 = base::to_lower_ascii(string_field(entry, "sha256", where, source));
  if (!is_sha256_hex(m.sha256))
    throw Error(source + ": manifest: " + where + "sha256 " + base::quoted(m.sha256) + " is not 64 hex digits");
  m.quant = optional_string(entry, "quant", where, source);
  m.url = optional_string(entry, "url", where, source);
  if (!m.url.empty()) parse_url(m.url, source + ": manifest: " + where + "url");
  m.adapter_of = optional_string(entry, "adapter_of", where, source);
  if (!m.adapter_of.empty() && m.adapter_of != kBaseRole)
    throw Error(source + ": manifest: " + where + "adapter_of must be \"base\", not " + base::quoted(m.adapter_of));
  return m;
}

}  // namespace

const ModelEntry* Manifest::find(std::string_view role) const {
  for (const auto& m : models)
    if (m.role == role) return &m;
  return nullptr;
}

Manifest parse_manifest(std::string_view text, const std::string& source) {
  Json root = json::parse(text, source);
  if (!root.is_object()) throw Error(source + ": manifest must be a JSON object, not " + json::type_name(root));
  Manifest m;
  m.version = string_field(root, "version", "", source);
  if (m.version.empty()) throw Error(source + ": manifest: version is empty");
  m.base_model = optional_string(root, "base_model", "", source);
  m.published = optional_string(root, "published", "", source);
  m.preset = optional_string(root, "preset", "", source);
  const std::string ship = optional_string(root, "ship", "", source);
  if (ship == "adapters")
    m.ship = ShipShape::adapters;
  else if (!ship.empty() && ship != "merged")
    throw Error(source + ": manifest: ship must be \"merged\" or \"adapters\", not " + base::quoted(ship));
  const Json& models = field(root, "models", "", source);
  if (!models.is_object()) throw Error(source + ": manifest: models must be an object, not " + json::type_name(models));
  if (auto it = models.find(std::string(kBaseRole)); it != models.end()) {
    m.models.push_back(parse_entry(*it, std::string(kBaseRole), source));
    if (!m.models.back().adapter_of.empty())
      throw Error(source + ": manifest: models.base cannot be an adapter itself");
  }
  const bool has_base = !m.models.empty();
  for (auto role : kRoles) {
    auto it = models.find(std::string(role));
    if (it == models.end()) continue;
    m.models.push_back(parse_entry(*it, std::string(role), source));
    const ModelEntry& e = m.models.back();
    // An adapter is useless without its base, and a full model in an adapters release is not what its reader expects.
    if (!e.adapter_of.empty() && !has_base)
      throw Error(source + ": manifest: models." + e.role + " is an adapter of models.base, which the manifest lacks");
    if (e.adapter_of.empty() && m.ship == ShipShape::adapters)
      throw Error(source + ": manifest: ship is \"adapters\" but models." + e.role + " is not an adapter of the base");
    if (!e.adapter_of.empty() && m.ship != ShipShape::adapters)
      throw Error(source + ": manifest: models." + e.role + " is an adapter, but ship is not \"adapters\"");
  }
  if (m.ship == ShipShape::adapters && !has_base)
    throw Error(source + ": manifest: ship is \"adapters\" but models.base is missing");
  if (auto it = root.find("sanity"); it != root.end()) {
    if (!it->is_object()) throw Error(source + ": manifest: sanity must be an object, not " + json::type_name(*it));
    for (auto role : kRoles)
      if (it->contains(std::string(role))) m.sanity[std::string(role)] = string_field(*it, std::string(role), "sanity.", source);
  }
  if (auto it = root.find("checks"); it != root.end()) {
    if (!it->is_object()) throw Error(source + ": manifest: checks must be an object, not " + json::type_name(*it));
    m.checks = *it;
  }
  if (m.models.size() == static_cast<size_t>(has_base))
    throw Error(source + ": manifest: models has neither an interpreter nor an explainer entry");
  if (auto it = root.find(std::string(kKnowledgeRole)); it != root.end())
    m.models.push_back(parse_entry(*it, std::string(kKnowledgeRole), source));
  // Two roles writing one file, or a model overwriting the local manifest copy, would clobber each other.
  for (size_t i = 0; i < m.models.size(); ++i) {
    if (m.models[i].file == kManifestFile)
      throw Error(source + ": manifest: " + entry_name(m.models[i].role) + ".file is the manifest's own name; refused");
    for (size_t j = 0; j < i; ++j)
      if (m.models[i].file == m.models[j].file)
        throw Error(source + ": manifest: " + entry_name(m.models[i].role) + ".file is the same as " +
                    entry_name(m.models[j].role) + ".file; refused");
  }
  return m;
}

std::string manifest_json(const Manifest& manifest) {
  Json root = Json::object();
  root["version"] = manifest.version;
  root["base_model"] = manifest.base_model;
  root["published"] = manifest.published;
  // Merged manifests stay exactly the seed's layout.
  if (manifest.ship == ShipShape::adapters) root["ship"] = "adapters";
  Json models = Json::object();
  for (const auto& m : manifest.models) {
    if (m.role == kKnowledgeRole) continue;
    models[m.role] = {{"file", m.file}, {"size_bytes", m.size_bytes}, {"sha256", m.sha256},
                      {"quant", m.quant},  {"url", m.url}};
    if (!m.adapter_of.empty()) models[m.role]["adapter_of"] = m.adapter_of;
  }
  root["models"] = std::move(models);
  if (const ModelEntry* k = manifest.find(kKnowledgeRole))
    root["knowledge"] = {{"file", k->file}, {"size_bytes", k->size_bytes}, {"sha256", k->sha256}, {"url", k->url}};
  if (!manifest.sanity.empty()) {
    Json sanity = Json::object();
    for (auto role : kRoles)
      if (auto it = manifest.sanity.find(std::string(role)); it != manifest.sanity.end()) sanity[it->first] = it->second;
    root["sanity"] = std::move(sanity);
  }
  if (!manifest.preset.empty()) root["preset"] = manifest.preset;
  if (manifest.checks.is_object()) root["checks"] = manifest.checks;
  return root.dump(2) + "\n";
}

Manifest default_manifest(std::string_view base_url) {
  Manifest m;
  for (auto role : kRoles) {
    ModelEntry e;
    e.role = role;
    e.quant = "q4_k_m";
    e.file = model_file_name(role, e.quant);
    e.url = join_url(base_url, e.file);
    m.models.push_back(std::move(e));
  }
  return m;
}

std::string model_file_name(std::string_view role, std::string_view quant) {
  return "josi-v5-" + std::string(role) + "-" + base::to_lower_ascii(quant) + ".gguf";
}

std::string adapter_file_name(std::string_view role, std::string_view type) {
  return "josi-v5-" + std::string(role) + "-lora-" + base::to_lower_ascii(type) + ".gguf";
}

std::vector<const ModelEntry*> files_for_roles(const Manifest& manifest, const std::vector<std::string>& roles,
                                               const std::string& source) {
  std::vector<const ModelEntry*> files;
  for (const auto& role : roles) {
    const ModelEntry* entry = manifest.find(role);
    if (!entry) throw Error(source + ": the manifest has no " + role + " model");
    if (!entry->adapter_of.empty() && (files.empty() || files.front()->role != kBaseRole))
      files.insert(files.begin(), manifest.find(kBaseRole));  // parse_manifest made sure it is there
    files.push_back(entry);
    if (role == "explainer")
      if (const ModelEntry* cards = manifest.find(kKnowledgeRole)) files.push_back(cards);
  }
  return files;
}

std::string knowledge_file_name() { return "josi-v5-knowledge.json"; }

bool is_plain_file_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+')) return false;
  return true;
}

std::string iso_time_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace josi::ship
