// The model manifest: the seed's layout, round trips, and every
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

// The adapters shape: one base, each role an adapter of it.
Json adapters() {
  return Json::parse(R"({"version": "v5", "base_model": "Qwen2.5-1.5B-Instruct", "published": "2025-01-31T12:00:00Z",
    "ship": "adapters",
    "models": {"base": {"file": "josi-v5-base-q4_k_m.gguf", "size_bytes": 986000000, "sha256": ")" + kSha + R"(",
                        "quant": "q4_k_m"},
               "interpreter": {"file": "josi-v5-interpreter-lora-f16.gguf", "size_bytes": 36960000,
                               "sha256": ")" + std::string(64, 'c') + R"(", "quant": "f16", "adapter_of": "base"},
               "explainer": {"file": "josi-v5-explainer-lora-f16.gguf", "size_bytes": 36960001,
                             "sha256": ")" + std::string(64, 'd') + R"(", "quant": "f16", "adapter_of": "base"}}})");
}

TEST(Manifest, TheAdaptersShapeNamesTheBaseAndEachRolesAdapter) {
  Manifest m = parse_manifest(adapters().dump(), "m.json");
  EXPECT_EQ(m.ship, ShipShape::adapters);
  ASSERT_EQ(m.models.size(), 3u);
  EXPECT_EQ(m.models.front().role, "base");
  EXPECT_EQ(m.find("base")->adapter_of, "");
  EXPECT_EQ(m.find("interpreter")->adapter_of, "base");
  EXPECT_EQ(m.find("explainer")->quant, "f16");
  EXPECT_EQ(parse_manifest(valid().dump(), "m.json").ship, ShipShape::merged);
  // Written back as read, "ship" after "published"; merged manifests stay without it.
  std::string text = manifest_json(m);
  EXPECT_EQ(manifest_json(parse_manifest(text, "again")), text);
  const Json written = Json::parse(text);
  std::vector<std::string> keys;
  for (auto& [k, v] : written.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "base_model", "published", "ship", "models"}));
  EXPECT_EQ(written["models"]["explainer"]["adapter_of"], "base");
  EXPECT_EQ(adapter_file_name("interpreter", "F16"), "josi-v5-interpreter-lora-f16.gguf");

  // What a download of some roles needs: the base once, first.
  auto names = [&](const Manifest& manifest, std::vector<std::string> roles) {
    std::vector<std::string> files;
    for (const ModelEntry* e : files_for_roles(manifest, roles, "m.json")) files.push_back(e->file);
    return files;
  };
  EXPECT_EQ(names(m, {"interpreter", "explainer"}),
            (std::vector<std::string>{"josi-v5-base-q4_k_m.gguf", "josi-v5-interpreter-lora-f16.gguf",
                                      "josi-v5-explainer-lora-f16.gguf"}));
  EXPECT_EQ(names(m, {"explainer"}),
            (std::vector<std::string>{"josi-v5-base-q4_k_m.gguf", "josi-v5-explainer-lora-f16.gguf"}));
  EXPECT_EQ(names(parse_manifest(valid().dump(), "m.json"), {"explainer"}),
            (std::vector<std::string>{"josi-v5-explainer-q4_k_m.gguf"}));
  Json one_role = adapters();
  one_role["models"].erase("explainer");
  try {
    files_for_roles(parse_manifest(one_role.dump(), "m.json"), {"explainer"}, "m.json");
    FAIL() << "no error";
  } catch (const josi::Error& e) {
    EXPECT_STREQ(e.what(), "m.json: the manifest has no explainer model");
  }
}

TEST(Manifest, AnAdapterWithoutItsBaseIsRefused) {
  const std::string source = "https://x/josi-v5-manifest.json: manifest: ";
  Json no_base = adapters();
  no_base["models"].erase("base");
  no_base.erase("ship");
  EXPECT_EQ(error_of(no_base), source + "models.interpreter is an adapter of models.base, which the manifest lacks");
  no_base["ship"] = "adapters";
  EXPECT_EQ(error_of(no_base), source + "models.interpreter is an adapter of models.base, which the manifest lacks");
  Json full_role = adapters();
  full_role["models"]["explainer"].erase("adapter_of");
  EXPECT_EQ(error_of(full_role), source + "ship is \"adapters\" but models.explainer is not an adapter of the base");
  Json unmarked = adapters();
  unmarked.erase("ship");
  EXPECT_EQ(error_of(unmarked), source + "models.interpreter is an adapter, but ship is not \"adapters\"");
  Json other = adapters();
  other["models"]["interpreter"]["adapter_of"] = "explainer";
  EXPECT_EQ(error_of(other), source + "models.interpreter.adapter_of must be \"base\", not \"explainer\"");
  Json shape = adapters();
  shape["ship"] = "zip";
  EXPECT_EQ(error_of(shape), source + "ship must be \"merged\" or \"adapters\", not \"zip\"");
  Json only_base = adapters();
  only_base["models"].erase("interpreter");
  only_base["models"].erase("explainer");
  EXPECT_EQ(error_of(only_base), source + "models has neither an interpreter nor an explainer entry");
  Json base_adapter = adapters();
  base_adapter["models"]["base"]["adapter_of"] = "base";
  EXPECT_EQ(error_of(base_adapter), source + "models.base cannot be an adapter itself");
  Json same = adapters();
  same["models"]["explainer"]["file"] = "josi-v5-base-q4_k_m.gguf";
  EXPECT_EQ(error_of(same), source + "models.explainer.file is the same as models.base.file; refused");
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

// The coaching cards ride along: an entry like a model's, read and written
// as the manifest's "knowledge", fetched with the explainer.
TEST(Manifest, TheCoachingCardsHaveTheirOwnEntry) {
  Json j = valid();
  j["preset"] = "v6";
  j["knowledge"] = {{"file", "josi-v5-knowledge.json"}, {"size_bytes", 156747}, {"sha256", kSha},
                    {"url", "https://objects.mivalta.com/models/josi-v5-knowledge.json"}};
  const Manifest m = parse_manifest(j.dump(), "m.json");
  ASSERT_NE(m.find("knowledge"), nullptr);
  EXPECT_EQ(m.find("knowledge")->size_bytes, 156747u);
  EXPECT_EQ(m.preset, "v6");
  const Json back = Json::parse(manifest_json(m));
  EXPECT_EQ(back["knowledge"], j["knowledge"]);
  EXPECT_FALSE(back["models"].contains("knowledge"));
  EXPECT_EQ(back["preset"], "v6");
  const auto files = files_for_roles(m, {"interpreter", "explainer"}, "m.json");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[2]->role, "knowledge");
  EXPECT_EQ(files_for_roles(m, {"interpreter"}, "m.json").size(), 1u);

  j["knowledge"]["file"] = "../evil.json";
  EXPECT_NE(error_of(j).find("manifest: knowledge.file \"../evil.json\" is not a plain file name"), std::string::npos)
      << error_of(j);
  j["knowledge"]["file"] = "josi-v5-explainer-q4_k_m.gguf";
  EXPECT_NE(error_of(j).find("manifest: knowledge.file is the same as models.explainer.file"), std::string::npos) << error_of(j);
  j["knowledge"] = "x";
  EXPECT_NE(error_of(j).find("manifest: knowledge must be an object"), std::string::npos) << error_of(j);
}
