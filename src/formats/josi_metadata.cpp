#include "formats/josi_metadata.hpp"

#include "base/error.hpp"
#include "base/files.hpp"
#include "json/json.hpp"

namespace josi::formats {

TrainedAs trained_as(const GgufFile& file, const std::string& source) {
  TrainedAs t;
  for (auto [key, value] : {std::pair{kPresetKey, &t.preset}, std::pair{kPromptLayoutKey, &t.prompt_layout}}) {
    const GgufValue* v = file.find(key);
    if (!v) continue;
    if (v->type != GgufValueType::STRING) throw Error(source + ": " + key + " is not a string");
    *value = v->as_string(key);
  }
  return t;
}

void set_trained_as(GgufWriter& writer, const TrainedAs& trained_as) {
  if (!trained_as.preset.empty()) writer.set(kPresetKey, GgufValue::string(trained_as.preset));
  if (!trained_as.prompt_layout.empty()) writer.set(kPromptLayoutKey, GgufValue::string(trained_as.prompt_layout));
}

TrainedAs trained_as_of_run(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& candidate : {dir / "training_config.json", dir.parent_path() / "training_config.json"}) {
    if (!std::filesystem::is_regular_file(candidate, ec)) continue;
    const json::Json config = json::parse(base::read_file(candidate), candidate.string());
    const auto preset = config.find("preset");
    if (preset == config.end() || !preset->is_string()) return {};
    return {preset->get<std::string>(), preset->get<std::string>()};
  }
  return {};
}

}  // namespace josi::formats
