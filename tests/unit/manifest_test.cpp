// The model manifest: the layout of pipeline.md §6, round trips, and every
// way a fetched manifest can be hostile or broken (each refused with the
// field named), above all file names that are not plain names.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "json/json.hpp"
#include "ship/manifest.hpp"

using namespace josi::ship;
using josi::json::Json;

namespace {

const std::string kSha = std::string(64, 'a');

Json valid() {
  return Json::parse(R"({"version": "v5", "base_model": "Qwen2.5-1.5B-Instruct", "published": "2025-01-31T12:00:00Z",
    "models": {"interpreter": {"file": "josi-v5-interpreter-q4_k_m.gguf", "size_bytes": 935000000,
                               "sha256": ")" + kSha + R"(", "quant": "q4_k_m",
                               "url": "https://objects.mivalta.com/models/josi-v5-interpreter-q4_k_m.gguf"},
               "explainer": {"file": "josi-v5-explainer-q4_k_m.gguf", "size_bytes": 935000001,
                             "sha256": ")" + std::string(64, 'B') + R"(", "quant": "q4_k_m"}}})");
}

std::string error_of(const Json& manifest) {
  try {
    parse_manifest(manifest.dump(), "https://x/josi-v5-manifest.json");
  } catch (const josi::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Manifest, ParsesThePipelineLayout) {
  Manifest m = parse_manifest(valid().dump(), "m.json");
  EXPECT_EQ(m.version, "v5");
  EXPECT_EQ(m.base_model, "Qwen2.5-1.5B-Instruct");
  ASSERT_EQ(m.models.size(), 2u);
  const ModelEntry* i = m.find("interpreter");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->file, "josi-v5-interpreter-q4_k_m.gguf");
  EXPECT_EQ(i->size_bytes, 935000000u);
  EXPECT_EQ(i->sha256, kSha);
  EXPECT_EQ(m.find("explainer")->sha256, std::string(64, 'b')) << "checksums are lower-cased";
  EXPECT_EQ(m.find("explainer")->url, "");
  EXPECT_EQ(m.find("other"), nullptr);
}

TEST(Manifest, RoundTripsThroughItsJson) {
  Manifest m = parse_manifest(valid().dump(), "m.json");
  std::string text = manifest_json(m);
  EXPECT_EQ(text.back(), '\n');
  Json j = Json::parse(text);
  EXPECT_EQ(j["models"]["interpreter"]["size_bytes"], 935000000);
  std::vector<std::string> keys;
  for (auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "base_model", "published", "models"}));
  Manifest again = parse_manifest(text, "again");
  EXPECT_EQ(manifest_json(again), text);
}

TEST(Manifest, CarriesTheReleaseGatesScoresWhenItHasThem) {
  EXPECT_TRUE(parse_manifest(valid().dump(), "m.json").sanity.empty()) << "manifests from before the gate still read";
  Json gated = valid();
  gated["sanity"] = {{"explainer", "skipped"}, {"interpreter", "5/5"}};
  Manifest m = parse_manifest(gated.dump(), "m.json");
  EXPECT_EQ(m.sanity, (std::map<std::string, std::string>{{"interpreter", "5/5"}, {"explainer", "skipped"}}));
  Json written = Json::parse(manifest_json(m));
  std::vector<std::string> roles;
  for (auto& [k, v] : written["sanity"].items()) roles.push_back(k);
  EXPECT_EQ(roles, (std::vector<std::string>{"interpreter", "explainer"})) << "in the roles' order";
  gated["sanity"] = "5/5";
  EXPECT_EQ(error_of(gated), "https://x/josi-v5-manifest.json: manifest: sanity must be an object, not string");
  gated["sanity"] = {{"interpreter", 5}};
  EXPECT_EQ(error_of(gated), "https://x/josi-v5-manifest.json: manifest: sanity.interpreter must be a string, not integer");
}

TEST(Manifest, RefusesFileNamesThatAreNotPlainNames) {
  for (const char* name : {"../x", "..", ".", "a/b", "/etc/passwd", "..\\x", ".hidden", "", "a b.gguf", "x\n.gguf",
                           "C:evil", "josi-v5-manifest.json"}) {
    Json m = valid();
    m["models"]["explainer"]["file"] = name;
    std::string e = error_of(m);
    EXPECT_NE(e.find("models.explainer.file"), std::string::npos) << name << ": " << e;
    EXPECT_NE(e.find("refused"), std::string::npos) << name << ": " << e;
  }
  Json same = valid();
  same["models"]["explainer"]["file"] = "josi-v5-interpreter-q4_k_m.gguf";
  EXPECT_NE(error_of(same).find("same as models.interpreter.file"), std::string::npos);
  EXPECT_TRUE(is_plain_file_name("josi-v5-explainer-q4_k_m.gguf"));
  EXPECT_TRUE(is_plain_file_name("model+v2_1.gguf"));
  EXPECT_FALSE(is_plain_file_name(std::string(256, 'a')));
}

TEST(Manifest, RefusesMalformedFieldsNamingThem) {
  struct Case {
    std::function<void(Json&)> edit;
    std::string expect;
  };
  const Case cases[] = {
      {[](Json& m) { m.erase("version"); }, "version is missing"},
      {[](Json& m) { m["version"] = 5; }, "version must be a string"},
      {[](Json& m) { m["version"] = ""; }, "version is empty"},
      {[](Json& m) { m["models"] = Json::array(); }, "models must be an object"},
      {[](Json& m) { m["models"] = Json::object(); }, "neither an interpreter nor an explainer"},
      {[](Json& m) { m["models"]["interpreter"] = "x.gguf"; }, "models.interpreter must be an object"},
      {[](Json& m) { m["models"]["interpreter"].erase("sha256"); }, "models.interpreter.sha256 is missing"},
      {[](Json& m) { m["models"]["interpreter"]["sha256"] = "abc"; }, "models.interpreter.sha256 \"abc\" is not 64 hex"},
      {[](Json& m) { m["models"]["interpreter"]["size_bytes"] = -1; }, "size_bytes must be a non-negative integer"},
      {[](Json& m) { m["models"]["interpreter"]["size_bytes"] = 1.5; }, "size_bytes must be a non-negative integer"},
      {[](Json& m) { m["models"]["interpreter"]["size_bytes"] = "9"; }, "size_bytes must be a non-negative integer"},
      {[](Json& m) { m["models"]["interpreter"]["url"] = "ftp://x/y"; }, "models.interpreter.url"},
      {[](Json& m) { m["models"]["interpreter"]["file"] = 7; }, "models.interpreter.file must be a string"},
  };
  for (const auto& c : cases) {
    Json m = valid();
    c.edit(m);
    std::string e = error_of(m);
    EXPECT_NE(e.find(c.expect), std::string::npos) << "want \"" << c.expect << "\", got: " << e;
    EXPECT_NE(e.find("josi-v5-manifest.json"), std::string::npos) << "names the source: " << e;
  }
  EXPECT_THROW(parse_manifest("{not json", "m.json"), josi::Error);
  EXPECT_THROW(parse_manifest("[]", "m.json"), josi::Error);
}

TEST(Manifest, DefaultsNameTheSeedsFilesWithoutChecksums) {
  Manifest m = default_manifest("https://objects.mivalta.com/models/");
  ASSERT_EQ(m.models.size(), 2u);
  EXPECT_EQ(m.find("interpreter")->file, "josi-v5-interpreter-q4_k_m.gguf");
  EXPECT_EQ(m.find("explainer")->url, "https://objects.mivalta.com/models/josi-v5-explainer-q4_k_m.gguf");
  EXPECT_EQ(m.find("explainer")->sha256, "");
  EXPECT_EQ(m.find("explainer")->size_bytes, 0u);
  EXPECT_EQ(model_file_name("interpreter", "Q4_K_M"), "josi-v5-interpreter-q4_k_m.gguf");
  std::string t = iso_time_now();
  EXPECT_EQ(t.size(), 20u);
  EXPECT_EQ(t[10], 'T');
}

}  // namespace
