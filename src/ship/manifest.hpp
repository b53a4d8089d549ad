#pragma once
// The model manifest (docs/architecture.md "Shipping"): version, base model,
// publication time, per role the file name, size, SHA-256, quant and URL,
// the release checks' scores and the preset the models run with. What `josi publish` uploads last and
// `josi download` trusts only after checking every field, above all that
// file names are plain names.
//
// Two shapes: "merged" (the seed's: each role a full model) and "adapters"
// (`"ship": "adapters"`: one base model, models.base, and each role a LoRA
// adapter file applied on it at run time, marked `"adapter_of": "base"`).
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.hpp"

namespace josi::ship {

inline constexpr std::string_view kManifestFile = "josi-v5-manifest.json";
inline constexpr std::string_view kDefaultPublicUrl = "https://objects.mivalta.com/models";
inline constexpr std::array<std::string_view, 2> kRoles = {"interpreter", "explainer"};
inline constexpr std::string_view kBaseRole = "base";  // the shared base of an adapters manifest
// The coaching cards (knowledge.json) shipped beside the models: an entry like
// a model's (file, size, SHA-256, URL), written as the manifest's "knowledge".
inline constexpr std::string_view kKnowledgeRole = "knowledge";

enum class ShipShape { merged, adapters };

struct ModelEntry {
  std::string role;         // "interpreter" | "explainer" | "base" | "knowledge"
  std::string file;         // a plain file name
  uint64_t size_bytes = 0;  // 0: unknown (built-in defaults only)
  std::string sha256;       // lower-case hex; "": unknown (built-in defaults only)
  std::string quant;        // "q4_k_m"
  std::string url;          // where to fetch it; "": beside the manifest
  std::string adapter_of;   // "base": a LoRA adapter applied on models.base; "": a full model
};

struct Manifest {
  std::string version = "v5";
  std::string base_model = "Qwen2.5-1.5B-Instruct";
  std::string published;  // ISO 8601 UTC
  ShipShape ship = ShipShape::merged;
  std::vector<ModelEntry> models;  // the base first, when there is one
  // Per role, what `josi publish` found: "5/5", "2/2" or "skipped"; empty in
  // manifests from before the release gate.
  std::map<std::string, std::string> sanity;
  // How the models are to be run (josi.preset in their files): "v5", "v6",
  // or "" in manifests of files that do not say.
  std::string preset;
  // What the release gate measured beyond sanity (docs/release_checks.md):
  // per check ("sanity", "eval_loss", "fidelity") its scores and verdict,
  // or "skipped"; null in manifests from before it. Kept as written.
  json::Json checks;

  const ModelEntry* find(std::string_view role) const;
};

// Throws josi::Error naming `source` and the field for anything malformed:
// not JSON, a missing or mistyped field, a checksum that is not 64 hex
// digits, a URL that is not http(s) or file, and a file name that is not a
// plain name ("../x", "a/b", ".hidden"); in the adapters shape, a role that
// is not an adapter of the base, or an adapter whose base is missing.
Manifest parse_manifest(std::string_view text, const std::string& source);
std::string manifest_json(const Manifest& manifest);  // pretty-printed, ends with a newline

// What the app falls back to when no manifest can be fetched: the file names
// and URLs under `base_url`, sizes and checksums unknown.
Manifest default_manifest(std::string_view base_url);

std::string model_file_name(std::string_view role, std::string_view quant);  // josi-v5-<role>-<quant>.gguf
std::string adapter_file_name(std::string_view role, std::string_view type);  // josi-v5-<role>-lora-<type>.gguf
std::string knowledge_file_name();  // josi-v5-knowledge.json
// The files a download of `roles` needs: each role's, the base first when
// they are adapters of it, and the coaching cards with the explainer's.
std::vector<const ModelEntry*> files_for_roles(const Manifest& manifest, const std::vector<std::string>& roles,
                                               const std::string& source);
// Letters, digits, '.', '_', '-', '+'; not starting with '.'; at most 255 bytes.
bool is_plain_file_name(std::string_view name);
std::string iso_time_now();  // "2025-01-31T12:00:00Z"

}  // namespace josi::ship
