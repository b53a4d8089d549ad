// josi publish -> S3-compatible store -> nginx (the configurations of
// docs/serving.md) -> josi download, end to end on real servers: s3rver as
// the store, Debian's nginx as the public server, s3cmd (the reference
// client) confirming objects and ACLs. Also the full build mode, the mirror
// set-up, file:// URLs, and what makes a download run again.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "integration/ship_release.hpp"
#include "formats/peft_adapter.hpp"
#include "json/json.hpp"
#include "ship/manifest.hpp"

using namespace josi::test;
using josi::json::Json;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

size_t count_lines(const std::vector<std::string>& lines, const std::string& part) {
  size_t n = 0;
  for (const auto& l : lines) n += contains(l, part);
  return n;
}

class PublishDownload : public ::testing::Test {
 protected:
  S3Store store;
  Nginx public_server{proxy_block(store)};
  Release release;
  std::string public_url = public_server.url("/models");
  std::string manifest_url = public_url + "/josi-v5-manifest.json";
};

TEST_F(PublishDownload, UploadsThroughS3AndDownloadsThroughNginx) {
  const std::string isize = std::to_string(fs::file_size(release.interpreter));
  const std::string esize = std::to_string(fs::file_size(release.explainer));
  auto r = publish(release, store, store.endpoint(), public_url);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "uploaded s3://mivalta-models/josi-v5-interpreter-q4_k_m.gguf (" + isize +
                              " bytes, 3 parts; checked size, sha256)"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "uploaded s3://mivalta-models/josi-v5-manifest.json")) << r.out;
  EXPECT_TRUE(contains(r.out, "public " + public_url + "/josi-v5-explainer-q4_k_m.gguf: " + esize + " bytes")) << r.out;

  // The reference client sees the objects, their sizes and MD5s, and public-read ACLs.
  auto ls = store.s3cmd("ls s3://mivalta-models/");
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(contains(ls.out, isize + "  s3://mivalta-models/josi-v5-interpreter-q4_k_m.gguf")) << ls.out;
  EXPECT_TRUE(contains(ls.out, esize + "  s3://mivalta-models/josi-v5-explainer-q4_k_m.gguf")) << ls.out;
  EXPECT_TRUE(contains(ls.out, "s3://mivalta-models/josi-v5-manifest.json")) << ls.out;
  for (const char* key : {"josi-v5-interpreter-q4_k_m.gguf", "josi-v5-explainer-q4_k_m.gguf", "josi-v5-manifest.json"}) {
    auto info = store.s3cmd(std::string("info s3://mivalta-models/") + key);
    ASSERT_EQ(info.exit_code, 0) << info.err;
    EXPECT_TRUE(contains(info.out, "*anon*: READ")) << key << ": " << info.out;
  }
  auto info = store.s3cmd("info s3://mivalta-models/josi-v5-interpreter-q4_k_m.gguf");
  EXPECT_TRUE(contains(info.out, "MD5 sum:   " + josi::ship::to_hex(josi::ship::md5_raw(read_text(release.interpreter)))))
      << info.out;
  TempDir fetched;
  auto get = store.s3cmd("get s3://mivalta-models/josi-v5-manifest.json " + (fetched / "m.json").string());
  ASSERT_EQ(get.exit_code, 0) << get.err;
  auto manifest = josi::ship::parse_manifest(read_text(fetched / "m.json"), "m.json");
  EXPECT_EQ(manifest.version, "v5");
  EXPECT_EQ(manifest.find("interpreter")->sha256, file_sha256(release.interpreter));
  EXPECT_EQ(std::to_string(manifest.find("explainer")->size_bytes), esize);
  EXPECT_EQ(manifest.find("explainer")->url, public_url + "/josi-v5-explainer-q4_k_m.gguf");

  // Every write was signed and public-read; the manifest went last; nothing unfinished is left.
  std::vector<Json> writes;
  for (const auto& req : store.requests())
    if (req["method"] == "PUT" || req["method"] == "POST") writes.push_back(req);
  ASSERT_GE(writes.size(), 3u);
  for (const auto& w : writes) {
    EXPECT_TRUE(w["signed"].get<bool>()) << w.dump();
    std::string url = w["url"];
    bool creates = contains(url, "?uploads") || !contains(url, "?");
    if (creates) {
      EXPECT_EQ(w["acl"], "public-read") << w.dump();
    }
  }
  EXPECT_EQ(writes.back()["url"], "/mivalta-models/josi-v5-manifest.json");
  EXPECT_EQ(store.unfinished_uploads(), 0);

  // Download through nginx: both files, verified, and the manifest kept beside them.
  TempDir out;
  auto d = download(manifest_url, out.path());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(read_text(out / "josi-v5-interpreter-q4_k_m.gguf"), read_text(release.interpreter));
  EXPECT_EQ(read_text(out / "josi-v5-explainer-q4_k_m.gguf"), read_text(release.explainer));
  EXPECT_TRUE(contains(d.out, "downloaded (not present), " + isize + " bytes, sha256 verified; fetched " + isize +
                              " bytes, resumed at 0"))
      << d.out;
  EXPECT_EQ(josi::ship::parse_manifest(read_text(out / "josi-v5-manifest.json"), "local").find("explainer")->sha256,
            file_sha256(release.explainer));

  // Run again: nothing is fetched but the manifest.
  auto gets_before = count_lines(public_server.access_log(), ".gguf");
  auto again = download(manifest_url, out.path());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "josi-v5-interpreter-q4_k_m.gguf already present, sha256 verified")) << again.out;
  EXPECT_TRUE(contains(again.out, "josi-v5-explainer-q4_k_m.gguf already present, sha256 verified")) << again.out;
  EXPECT_EQ(count_lines(public_server.access_log(), ".gguf"), gets_before);

  // --force fetches again; --interpreter-only fetches one.
  auto forced = download(manifest_url, out.path(), {"--force", "--interpreter-only"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(contains(forced.out, "downloaded (--force), " + isize + " bytes")) << forced.out;
  EXPECT_FALSE(contains(forced.out, "explainer")) << forced.out;

  // The proxy only reads: no listing, no writes.
  auto listing = run_shell("curl -s -o /dev/null -w '%{http_code}' " + public_url + "/");
  EXPECT_EQ(listing.out, "404");
  auto put = run_shell("curl -s -o /dev/null -w '%{http_code}' -X PUT --data x " + public_url + "/evil.gguf");
  EXPECT_EQ(put.out, "403");
  auto headers = run_shell("curl -sI " + manifest_url);
  EXPECT_TRUE(contains(headers.out, "Cache-Control: no-cache")) << headers.out;
}

TEST_F(PublishDownload, CredentialsComeFromTheEnvironment) {
  ::setenv("S3_ACCESS_KEY", S3Store::kAccessKey, 1);
  ::setenv("S3_SECRET_KEY", S3Store::kSecretKey, 1);
  ::setenv("S3_ENDPOINT", store.endpoint().c_str(), 1);
  auto r = run_josi({"publish", "--gguf-interpreter", release.interpreter.string(), "--gguf-explainer",
                     release.explainer.string(), "--upload-only", "--public-url", public_url, "--part-size", "1MiB",
                     "--skip-sanity"});
  ::unsetenv("S3_ACCESS_KEY");
  ::unsetenv("S3_SECRET_KEY");
  ::unsetenv("S3_ENDPOINT");
  expect_no_secret(r);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto missing = run_josi({"publish", "--gguf-interpreter", release.interpreter.string(), "--gguf-explainer",
                           release.explainer.string(), "--upload-only", "--s3-endpoint", store.endpoint()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "no S3 access key: set S3_ACCESS_KEY or --s3-access-key")) << missing.err;
}

// The tiny preset's random base, in HF form, at `dir`.
void init_tiny_base(const fs::path& dir) {
  auto tok = qwen_tokenizer_json();
  ASSERT_TRUE(fs::exists(tok)) << tok << " missing: run scripts/test.sh (it installs the npm test peers)";
  auto init = run_josi({"init-base", "--preset", "tiny", "--tokenizer", tok.string(), "--out", dir.string()});
  ASSERT_EQ(init.exit_code, 0) << init.err;
}

TEST_F(PublishDownload, AModelThatFailsItsSanityChecksIsNeverUploaded) {
  TempDir work;
  ASSERT_NO_FATAL_FAILURE(init_tiny_base(work / "base"));
  const fs::path gguf = work / "random-q8_0.gguf";
  auto exported = run_josi({"export-gguf", (work / "base").string(), "--outfile", gguf.string(), "--outtype", "q8_0"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto r = run_josi({"publish", "--gguf-interpreter", gguf.string(), "--gguf-explainer", gguf.string(), "--upload-only",
                     "--s3-endpoint", store.endpoint(), "--s3-access-key", S3Store::kAccessKey, "--s3-secret-key",
                     S3Store::kSecretKey, "--bucket", store.bucket(), "--public-url", public_url});
  expect_no_secret(r);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "release checks failed, nothing uploaded: interpreter sanity ")) << r.err;
  EXPECT_TRUE(contains(r.err, "/5 (failed: ")) << "the failing checks are named: " << r.err;
  auto ls = store.s3cmd("ls s3://mivalta-models/");
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out, "") << "the store holds nothing";
}

TEST_F(PublishDownload, HostNamesGetVirtualHostedAddressing) {
  // bucket.s3.example.test reaches the store through it as an HTTP proxy: no name is looked up.
  ::setenv("http_proxy", store.endpoint().c_str(), 1);
  ::setenv("no_proxy", "127.0.0.1", 1);
  const std::string port = std::to_string(store.port());
  auto r = publish(release, store, "http://s3.example.test:" + port, public_url);
  ::unsetenv("http_proxy");
  ::unsetenv("no_proxy");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t signed_requests = 0;
  for (const auto& req : store.requests()) {
    if (!req["signed"].get<bool>()) continue;
    ++signed_requests;
    EXPECT_EQ(req["host"], "mivalta-models.s3.example.test:" + port) << req.dump();
    EXPECT_FALSE(contains(req["url"].get<std::string>(), "mivalta-models")) << req.dump();
  }
  EXPECT_GE(signed_requests, 10u);
  auto ls = store.s3cmd("ls s3://mivalta-models/");
  EXPECT_TRUE(contains(ls.out, std::to_string(fs::file_size(release.explainer)) +
                                   "  s3://mivalta-models/josi-v5-explainer-q4_k_m.gguf"))
      << ls.out;
  EXPECT_TRUE(contains(ls.out, "s3://mivalta-models/josi-v5-manifest.json")) << ls.out;
}

TEST_F(PublishDownload, ANewVersionOrChecksumIsDownloadedAgain) {
  ASSERT_EQ(publish(release, store, store.endpoint(), public_url).exit_code, 0);
  TempDir out;
  ASSERT_EQ(download(manifest_url, out.path()).exit_code, 0);

  // A new explainer of the same size: only it comes again.
  auto size = fs::file_size(release.explainer);
  write_test_gguf(release.explainer, (7u << 19) + 777, 99);
  ASSERT_EQ(fs::file_size(release.explainer), size);
  ASSERT_EQ(publish(release, store, store.endpoint(), public_url).exit_code, 0);
  auto r = download(manifest_url, out.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "interpreter-q4_k_m.gguf already present, sha256 verified")) << r.out;
  EXPECT_TRUE(contains(r.out, "explainer-q4_k_m.gguf downloaded (checksum differs from the manifest)")) << r.out;
  EXPECT_EQ(read_text(out / "josi-v5-explainer-q4_k_m.gguf"), read_text(release.explainer));

  // A new version with the same bytes: both come again.
  Json m = Json::parse(read_text(out / "josi-v5-manifest.json"));
  m["version"] = "v5.1";
  write_text(out / "v51.json", m.dump());
  auto v = download("file://" + (out / "v51.json").string(), out.path());
  ASSERT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(count_lines({v.out}, "version changed from v5 to v5.1"), 1u) << v.out;
  EXPECT_TRUE(contains(v.out, "interpreter-q4_k_m.gguf downloaded (version changed from v5 to v5.1)")) << v.out;
  EXPECT_TRUE(contains(v.out, "explainer-q4_k_m.gguf downloaded (version changed from v5 to v5.1)")) << v.out;
}

// The coaching cards ship beside the models: checked before anything is
// uploaded, named in the manifest, downloaded through nginx with the
// explainer and verified; damaged bytes on the server are refused.
TEST_F(PublishDownload, TheCoachingCardsShipBesideTheModels) {
  const fs::path cards = source_dir() / "data" / "knowledge.sample.json";
  TempDir bad_dir;
  write_text(bad_dir / "bad.json", R"({"version": "v6", "total_entries": 1, "entries": [{"id": "a__b", "card": "x"}]})");
  auto refused = publish(release, store, store.endpoint(), public_url, {"--knowledge", (bad_dir / "bad.json").string()});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_TRUE(contains(refused.err, "the coaching cards fail their check, nothing built or uploaded")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "bad.json: entry \"a__b\"")) << refused.err;
  EXPECT_FALSE(contains(store.s3cmd("ls s3://mivalta-models/").out, "josi-v5")) << "nothing uploaded";

  auto r = publish(release, store, store.endpoint(), public_url, {"--knowledge", cards.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string size = std::to_string(fs::file_size(cards));
  EXPECT_TRUE(contains(r.out, "uploaded s3://mivalta-models/josi-v5-knowledge.json (" + size + " bytes")) << r.out;
  EXPECT_TRUE(contains(r.out, "public " + public_url + "/josi-v5-knowledge.json: " + size + " bytes")) << r.out;
  TempDir fetched;
  ASSERT_EQ(store.s3cmd("get s3://mivalta-models/josi-v5-manifest.json " + (fetched / "m.json").string()).exit_code, 0);
  const Json manifest = Json::parse(read_text(fetched / "m.json"));
  EXPECT_EQ(manifest["knowledge"]["file"], "josi-v5-knowledge.json");
  EXPECT_EQ(manifest["knowledge"]["sha256"], file_sha256(cards));
  EXPECT_EQ(manifest["knowledge"]["size_bytes"].get<uint64_t>(), fs::file_size(cards));
  EXPECT_FALSE(manifest["models"].contains("knowledge"));

  TempDir out;
  auto d = download(manifest_url, out.path());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(read_text(out / "josi-v5-knowledge.json"), read_text(cards));
  EXPECT_TRUE(contains(d.out, "download: knowledge: " + (out / "josi-v5-knowledge.json").string() + " downloaded")) << d.out;
  // The interpreter alone needs no cards.
  TempDir only;
  ASSERT_EQ(download(manifest_url, only.path(), {"--interpreter-only"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(only / "josi-v5-knowledge.json"));

  // Damaged on the server: the checksum refuses it, and nothing is left for the app to read.
  std::string damaged = read_text(cards);
  damaged[damaged.find("Zone 2")] = 'z';
  write_text(bad_dir / "damaged.json", damaged);
  ASSERT_EQ(store.s3cmd("put --acl-public " + (bad_dir / "damaged.json").string() + " s3://mivalta-models/josi-v5-knowledge.json").exit_code, 0);
  TempDir again;
  auto broken = download(manifest_url, again.path());
  EXPECT_NE(broken.exit_code, 0) << broken.out;
  EXPECT_TRUE(contains(broken.err, "knowledge")) << broken.err;
  EXPECT_TRUE(contains(broken.err, "SHA-256 mismatch")) << broken.err;
  EXPECT_FALSE(fs::exists(again / "josi-v5-knowledge.json"));
}

TEST(Mirror, StaticServingGuideServesAVerifiedMirror) {
  // josi download fills a directory; nginx (the guide's static block) serves it; josi download reads the mirror.
  Release release;
  TempDir mirror;
  josi::ship::Manifest manifest;
  manifest.published = josi::ship::iso_time_now();
  for (auto [role, path] : {std::pair{"interpreter", release.interpreter}, std::pair{"explainer", release.explainer}}) {
    josi::ship::ModelEntry e{role, josi::ship::model_file_name(role, "q4_k_m"), fs::file_size(path), file_sha256(path),
                             "q4_k_m", "file://" + path.string(), ""};
    manifest.models.push_back(e);
  }
  write_text(mirror / "source.json", josi::ship::manifest_json(manifest));
  // file:// URLs: the manifest and the models come from disk.
  auto fill = download("file://" + (mirror / "source.json").string(), mirror.path());
  ASSERT_EQ(fill.exit_code, 0) << fill.err;
  EXPECT_TRUE(contains(fill.out, "sha256 verified")) << fill.out;

  Nginx server(static_block(mirror.path()));
  write_text(mirror / ".josi-v5-interpreter-q4_k_m.gguf.partial", "half");
  TempDir out;
  auto r = run_josi({"download", "--base-url", server.url("/"), "--output-dir", out.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(out / "josi-v5-explainer-q4_k_m.gguf"), read_text(release.explainer));
  EXPECT_EQ(count_lines(server.access_log(), "GET /josi-v5-manifest.json 200"), 1u);

  auto head = [&](const std::string& path, const std::string& extra = "") {
    return run_shell("curl -s -D - -o /dev/null " + extra + " " + server.url(path)).out;
  };
  std::string gguf = head("/josi-v5-interpreter-q4_k_m.gguf");
  EXPECT_TRUE(contains(gguf, "HTTP/1.1 200")) << gguf;
  EXPECT_TRUE(contains(gguf, "Content-Type: application/octet-stream")) << gguf;
  EXPECT_TRUE(contains(gguf, "Accept-Ranges: bytes")) << gguf;
  EXPECT_TRUE(contains(gguf, "Cache-Control: public, max-age=3600")) << gguf;
  std::string range = head("/josi-v5-interpreter-q4_k_m.gguf", "-r 1000-");
  auto size = fs::file_size(release.interpreter);
  EXPECT_TRUE(contains(range, "HTTP/1.1 206")) << range;
  EXPECT_TRUE(contains(range, "Content-Range: bytes 1000-" + std::to_string(size - 1) + "/" + std::to_string(size)))
      << range;
  std::string json = head("/josi-v5-manifest.json");
  EXPECT_TRUE(contains(json, "Content-Type: application/json")) << json;
  EXPECT_TRUE(contains(json, "Cache-Control: no-cache")) << json;
  EXPECT_TRUE(contains(head("/.josi-v5-interpreter-q4_k_m.gguf.partial"), "HTTP/1.1 404"));
  EXPECT_TRUE(contains(head("/source.json"), "HTTP/1.1 404"));
  EXPECT_TRUE(contains(head("/"), "HTTP/1.1 404"));
  EXPECT_TRUE(contains(head("/josi-v5-manifest.json", "-X DELETE"), "HTTP/1.1 403"));
}

TEST(Mirror, WithoutAManifestTheBuiltInNamesAreUsedUnverified) {
  Release release;
  TempDir root;
  fs::copy_file(release.interpreter, root / "josi-v5-interpreter-q4_k_m.gguf");
  Nginx server(static_block(root.path()));
  TempDir out;
  auto r = run_josi({"download", "--base-url", server.url("/"), "--output-dir", out.path().string(), "--interpreter-only",
                     "--retries", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "josi-v5-manifest.json: HTTP 404 Not Found; using the built-in file names, without checksums"))
      << r.err;
  EXPECT_TRUE(contains(r.out, "not verified")) << r.out;
  EXPECT_EQ(read_text(out / "josi-v5-interpreter-q4_k_m.gguf"), read_text(release.interpreter));
  // A manifest the user names must be there.
  auto named = run_josi({"download", "--manifest-url", server.url("/josi-v5-manifest.json"), "--output-dir",
                         out.path().string(), "--retries", "0"});
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_TRUE(contains(named.err, "josi: error: fetch " + server.url("/josi-v5-manifest.json") + ": HTTP 404 Not Found"))
      << named.err;
}

// A LoRA adapter on layer 0's q_proj of the tiny preset (hidden 256), rank 2;
// another `hidden` makes an adapter of another base.
void write_adapter(const fs::path& dir, const std::string& base, float b_value, int64_t hidden = 256) {
  josi::formats::LoraConfig lora;
  lora.r = 2;
  lora.lora_alpha = 4;
  lora.target_modules = {"q_proj"};
  lora.base_model_name_or_path = base;
  auto floats = [](size_t n, auto value) {
    std::string bytes(n * 4, '\0');
    for (size_t i = 0; i < n; ++i) {
      float v = value(i);
      std::memcpy(bytes.data() + 4 * i, &v, 4);
    }
    return bytes;
  };
  const std::string key = "base_model.model.model.layers.0.self_attn.q_proj.lora_";
  josi::formats::write_peft_adapter(
      dir, lora,
      {{key + "A.weight", josi::formats::DType::F32, {2, hidden},
        floats(size_t(2 * hidden), [](size_t i) { return 0.01f * (i % 7); })},
       {key + "B.weight", josi::formats::DType::F32, {hidden, 2}, floats(size_t(2 * hidden), [&](size_t) { return b_value; })}});
}

TEST(PublishBuild, FullModeMergesExportsQuantizesAndWritesTheManifest) {
  TempDir work;
  ASSERT_NO_FATAL_FAILURE(init_tiny_base(work / "base"));
  // The interpreter's adapter changes the weights it adapts; the explainer's (B = 0) changes nothing, and names
  // its base by a hub name, so --base-model points at the local copy.
  write_adapter(work / "interpreter", (work / "base").string(), 0.05f);
  write_adapter(work / "explainer", "Qwen/Qwen2.5-1.5B-Instruct", 0.0f);
  const std::vector<std::string> args = {"publish", "--interpreter", (work / "interpreter").string(), "--explainer",
                                         (work / "explainer").string(), "--base-model", (work / "base").string(),
                                         "--no-upload", "--output-dir", (work / "gguf").string(), "--public-url",
                                         "https://cdn.example.com/m"};
  // The random base fails the seed's checks: the files are built and checked, no manifest is written.
  auto refused = run_josi(args);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(josi_lines(refused.err), 1u) << refused.err;
  EXPECT_TRUE(contains(refused.err, "publish: the release checks failed, nothing uploaded: interpreter sanity ")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "(--skip-sanity ships anyway)")) << refused.err;
  EXPECT_TRUE(contains(refused.out, "sanity interpreter (v5 checks) on ")) << refused.out;
  EXPECT_FALSE(fs::exists(work / "gguf" / "josi-v5-manifest.json"));
  // --skip-sanity ships it and says so in the manifest.
  auto with_skip = args;
  with_skip.push_back("--skip-sanity");
  auto r = run_josi(with_skip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "publish: interpreter: merged 1 adapted weights")) << r.out;
  std::vector<std::string> left;
  for (auto& e : fs::directory_iterator(work / "gguf")) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"josi-v5-explainer-q4_k_m.gguf", "josi-v5-interpreter-q4_k_m.gguf",
                                            "josi-v5-manifest.json"}))
      << "the merged models and F16 files are intermediates";

  josi::formats::GgufFile interpreter(work / "gguf" / "josi-v5-interpreter-q4_k_m.gguf");
  josi::formats::GgufFile explainer(work / "gguf" / "josi-v5-explainer-q4_k_m.gguf");
  EXPECT_EQ(interpreter.at("general.file_type").as_uint("t"), 15u);
  EXPECT_EQ(explainer.at("general.name").as_string("n"), "josi-v5-explainer");
  ASSERT_EQ(interpreter.tensors().size(), explainer.tensors().size());
  for (const auto& t : interpreter.tensors()) {
    const auto* other = explainer.find_tensor(t.name);
    ASSERT_NE(other, nullptr) << t.name;
    size_t bytes = *josi::formats::ggml_row_bytes(t.type, t.dims[0]) * (t.numel() / t.dims[0]);
    bool same = std::memcmp(interpreter.tensor_data(t), explainer.tensor_data(*other), bytes) == 0;
    EXPECT_EQ(same, t.name != "blk.0.attn_q.weight") << t.name << ": only the adapted weight differs";
  }
  auto m = josi::ship::parse_manifest(read_text(work / "gguf" / "josi-v5-manifest.json"), "manifest");
  EXPECT_EQ(m.find("explainer")->sha256, file_sha256(work / "gguf" / "josi-v5-explainer-q4_k_m.gguf"));
  EXPECT_EQ(m.find("explainer")->url, "https://cdn.example.com/m/josi-v5-explainer-q4_k_m.gguf");
  EXPECT_EQ(m.find("interpreter")->quant, "q4_k_m");
  EXPECT_EQ(m.sanity, (std::map<std::string, std::string>{{"interpreter", "skipped"}, {"explainer", "skipped"}}));
  EXPECT_FALSE(contains(r.out, "uploaded")) << r.out;
}

TEST(PublishBuild, BadInputIsRefusedBeforeAnyWork) {
  Release release;
  TempDir work;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "publish");
    return run_josi(args);
  };
  auto both = run({"--gguf-interpreter", release.interpreter.string(), "--gguf-explainer", release.explainer.string(),
                   "--upload-only", "--no-upload"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_TRUE(contains(both.err, "--upload-only and --no-upload exclude each other")) << both.err;
  auto missing = run({"--gguf-interpreter", release.interpreter.string(), "--no-upload"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "the explainer is missing")) << missing.err;
  auto dir_upload_only = run({"--interpreter", work.path().string(), "--gguf-explainer", release.explainer.string(),
                              "--upload-only"});
  EXPECT_EQ(dir_upload_only.exit_code, 2);
  EXPECT_TRUE(contains(dir_upload_only.err, "--upload-only takes ready GGUF files")) << dir_upload_only.err;
  auto not_a_model = run({"--interpreter", work.path().string(), "--gguf-explainer", release.explainer.string(),
                          "--no-upload", "--output-dir", (work / "o").string()});
  EXPECT_EQ(not_a_model.exit_code, 2);
  EXPECT_TRUE(contains(not_a_model.err, "neither a LoRA adapter (adapter_config.json) nor a model")) << not_a_model.err;
  write_text(work / "adapter_config.json", "{}");
  auto adapter = run({"--interpreter", work.path().string(), "--gguf-explainer", release.explainer.string(),
                      "--no-upload", "--output-dir", (work / "o").string()});
  EXPECT_NE(adapter.exit_code, 0);
  EXPECT_TRUE(contains(adapter.err, "adapter_config.json")) << adapter.err;
  EXPECT_FALSE(fs::exists(work / "o")) << "nothing was built";
  write_text(work / "not.gguf", "GGUF but not really");
  auto bad_gguf = run({"--gguf-interpreter", (work / "not.gguf").string(), "--gguf-explainer", release.explainer.string(),
                       "--no-upload", "--output-dir", (work / "o").string()});
  EXPECT_EQ(bad_gguf.exit_code, 1);
  EXPECT_TRUE(contains(bad_gguf.err, "not.gguf")) << bad_gguf.err;
  auto wrong_quant = run({"--gguf-interpreter", release.interpreter.string(), "--gguf-explainer",
                          release.explainer.string(), "--no-upload", "--quant", "Q8_0", "--output-dir", (work / "o").string()});
  EXPECT_EQ(wrong_quant.exit_code, 2);
  EXPECT_TRUE(contains(wrong_quant.err, "is q4_k_m, not the --quant Q8_0")) << wrong_quant.err;
  auto part = run({"--gguf-interpreter", release.interpreter.string(), "--gguf-explainer", release.explainer.string(),
                   "--upload-only", "--s3-endpoint", "http://127.0.0.1:1", "--s3-access-key", "a", "--s3-secret-key",
                   "b", "--part-size", "12 parsecs"});
  EXPECT_EQ(part.exit_code, 2);
  EXPECT_TRUE(contains(part.err, "--part-size \"12 parsecs\" is not a size")) << part.err;
  auto endpoint = run({"--gguf-interpreter", release.interpreter.string(), "--gguf-explainer", release.explainer.string(),
                       "--upload-only", "--s3-endpoint", "ftp://x", "--s3-access-key", "a", "--s3-secret-key", "b"});
  EXPECT_EQ(endpoint.exit_code, 2);
  EXPECT_TRUE(contains(endpoint.err, "--s3-endpoint: \"ftp://x\" is not a usable URL")) << endpoint.err;
  // --no-upload with ready files writes only the manifest.
  auto manifest_only = run({"--gguf-interpreter", release.interpreter.string(), "--gguf-explainer",
                            release.explainer.string(), "--no-upload", "--output-dir", (work / "m").string(),
                            "--skip-sanity"});
  ASSERT_EQ(manifest_only.exit_code, 0) << manifest_only.err;
  EXPECT_TRUE(fs::exists(work / "m" / "josi-v5-manifest.json"));
  EXPECT_FALSE(fs::exists(work / "m" / "josi-v5-interpreter-q4_k_m.gguf"));
}

// --ship adapters end to end: built from two adapters and their base (named
// by the adapters), gated on base + adapter, uploaded through S3 as ready
// files, downloaded through nginx as the base and each role's adapter.
TEST_F(PublishDownload, TheAdaptersShapeShipsTheBaseOnceAndEachRolesAdapter) {
  TempDir work;
  ASSERT_NO_FATAL_FAILURE(init_tiny_base(work / "base"));
  write_adapter(work / "interpreter", (work / "base").string(), 0.05f);
  write_adapter(work / "explainer", (work / "base").string(), -0.03f);
  const fs::path gguf = work / "gguf";
  const std::vector<std::string> build = {"publish", "--ship", "adapters", "--interpreter",
                                          (work / "interpreter").string(), "--explainer", (work / "explainer").string(),
                                          "--no-upload", "--output-dir", gguf.string()};
  const fs::path base_file = gguf / "josi-v5-base-q4_k_m.gguf";
  const fs::path interpreter_file = gguf / "josi-v5-interpreter-lora-f16.gguf";
  const fs::path explainer_file = gguf / "josi-v5-explainer-lora-f16.gguf";
  // The gate runs each role as the app does, the adapter on the base; the random base fails it.
  auto refused = run_josi(build);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(josi_lines(refused.err), 1u) << refused.err;
  EXPECT_TRUE(contains(refused.err, "publish: the release checks failed, nothing uploaded: interpreter sanity ")) << refused.err;
  EXPECT_TRUE(contains(refused.out, "sanity interpreter (v5 checks) on " + base_file.string() + " + " + interpreter_file.string()))
      << refused.out;
  EXPECT_TRUE(contains(refused.out, "sanity explainer (v5 checks) on " + base_file.string() + " + " + explainer_file.string()))
      << refused.out;
  EXPECT_FALSE(fs::exists(gguf / "josi-v5-manifest.json"));

  auto with_skip = build;
  with_skip.push_back("--skip-sanity");
  auto r = run_josi(with_skip);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "publish: interpreter: josi-v5-interpreter-lora-f16.gguf fits josi-v5-base-q4_k_m.gguf (1 "
                              "adapted projections, alpha 4)"))
      << r.out;
  std::vector<std::string> left;
  for (auto& e : fs::directory_iterator(gguf)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"josi-v5-base-q4_k_m.gguf", "josi-v5-explainer-lora-f16.gguf",
                                            "josi-v5-interpreter-lora-f16.gguf", "josi-v5-manifest.json"}));
  josi::formats::GgufFile base(base_file), adapter(interpreter_file);
  EXPECT_EQ(base.at("general.file_type").as_uint("t"), 15u);
  EXPECT_EQ(adapter.at("general.type").as_string("t"), "adapter");
  EXPECT_EQ(adapter.at("general.name").as_string("n"), "josi-v5-interpreter");
  auto m = josi::ship::parse_manifest(read_text(gguf / "josi-v5-manifest.json"), "manifest");
  EXPECT_EQ(m.ship, josi::ship::ShipShape::adapters);
  EXPECT_EQ(m.find("base")->sha256, file_sha256(base_file));
  EXPECT_EQ(m.find("base")->quant, "q4_k_m");
  EXPECT_EQ(m.find("explainer")->sha256, file_sha256(explainer_file));
  EXPECT_EQ(m.find("explainer")->adapter_of, "base");
  EXPECT_EQ(m.find("interpreter")->quant, "f16");
  EXPECT_EQ(m.sanity, (std::map<std::string, std::string>{{"interpreter", "skipped"}, {"explainer", "skipped"}}));

  // The ready files upload through the store; the manifest goes last.
  TempDir ready;
  for (const auto& f : {base_file, interpreter_file, explainer_file}) fs::copy_file(f, ready / f.filename());
  auto up = run_josi({"publish", "--ship", "adapters", "--upload-only", "--gguf-base",
                      (ready / base_file.filename()).string(), "--gguf-interpreter",
                      (ready / interpreter_file.filename()).string(), "--gguf-explainer",
                      (ready / explainer_file.filename()).string(), "--skip-sanity", "--s3-endpoint", store.endpoint(),
                      "--s3-access-key", S3Store::kAccessKey, "--s3-secret-key", S3Store::kSecretKey, "--bucket",
                      store.bucket(), "--public-url", public_url, "--retries", "2"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  expect_no_secret(up);
  for (const char* key : {"josi-v5-base-q4_k_m.gguf", "josi-v5-interpreter-lora-f16.gguf",
                          "josi-v5-explainer-lora-f16.gguf"})
    EXPECT_TRUE(contains(up.out, std::string("uploaded s3://mivalta-models/") + key)) << up.out;
  std::vector<std::string> written;
  for (const auto& req : store.requests())
    if (req["method"] == "PUT" || req["method"] == "POST") written.push_back(req["url"]);
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(written.back(), "/mivalta-models/josi-v5-manifest.json");

  // The download takes the base and both adapters, verified; one role takes the base and its adapter.
  TempDir out;
  auto d = download(manifest_url, out.path());
  ASSERT_EQ(d.exit_code, 0) << d.err;
  for (const auto& f : {base_file, interpreter_file, explainer_file})
    EXPECT_EQ(file_sha256(out / f.filename()), file_sha256(f)) << f.filename();
  EXPECT_TRUE(contains(d.out, "download: base: " + (out / "josi-v5-base-q4_k_m.gguf").string() +
                              " downloaded (not present)"))
      << d.out;
  TempDir one;
  auto explainer_only = download(manifest_url, one.path(), {"--explainer-only"});
  ASSERT_EQ(explainer_only.exit_code, 0) << explainer_only.err;
  left.clear();
  for (auto& e : fs::directory_iterator(one.path())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"josi-v5-base-q4_k_m.gguf", "josi-v5-explainer-lora-f16.gguf",
                                            "josi-v5-manifest.json"}));

  // What was downloaded runs: the base and an adapter through the app's path.
  auto sanity = run_josi({"sanity", "--model-path", (out / "josi-v5-base-q4_k_m.gguf").string(), "--adapter",
                          (out / "josi-v5-explainer-lora-f16.gguf").string(), "--mode", "explainer"});
  EXPECT_TRUE(contains(sanity.out, "sanity explainer (v5 checks) on ")) << sanity.out << sanity.err;

  // A manifest naming an adapter without its base: one clear line, nothing written.
  josi::json::Json broken = josi::json::Json::parse(read_text(gguf / "josi-v5-manifest.json"));
  broken["models"].erase("base");
  TempDir mirror, nothing;
  write_text(mirror / "josi-v5-manifest.json", broken.dump());
  auto no_base = run_josi({"download", "--manifest-url", "file://" + (mirror / "josi-v5-manifest.json").string(),
                           "--output-dir", (nothing / "m").string()});
  EXPECT_EQ(no_base.exit_code, 1);
  EXPECT_EQ(josi_lines(no_base.err), 1u) << no_base.err;
  EXPECT_TRUE(contains(no_base.err, "manifest: models.interpreter is an adapter of models.base, which the manifest lacks"))
      << no_base.err;
  EXPECT_FALSE(fs::exists(nothing / "m" / "josi-v5-base-q4_k_m.gguf"));
}

TEST(PublishBuild, TheAdaptersShapeRefusesWhatCannotShipAsAdapters) {
  TempDir work;
  ASSERT_NO_FATAL_FAILURE(init_tiny_base(work / "base"));
  const std::string base = (work / "base").string();
  write_adapter(work / "interpreter", base, 0.05f);
  write_adapter(work / "explainer", base, 0.02f);
  write_adapter(work / "wide", base, 0.02f, 512);
  write_adapter(work / "hub", "Qwen/Qwen2.5-1.5B-Instruct", 0.02f);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"publish", "--no-upload", "--skip-sanity", "--output-dir", (work / "o").string()});
    return run_josi(args);
  };
  auto expect_line = [](const RunResult& r, int code, const std::string& part) {
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_EQ(josi_lines(r.err), 1u) << r.err;
    EXPECT_TRUE(contains(r.err, part)) << r.err;
  };
  const std::string interpreter = (work / "interpreter").string(), explainer = (work / "explainer").string();
  // An adapter of another base (its projection is 512 wide, the base's 256).
  auto wide = run({"--ship", "adapters", "--interpreter", (work / "wide").string(), "--explainer", explainer});
  EXPECT_NE(wide.exit_code, 0);
  EXPECT_EQ(josi_lines(wide.err), 1u) << wide.err;
  EXPECT_TRUE(contains(wide.err, "wide")) << wide.err;
  // A merged model is not an adapter.
  expect_line(run({"--ship", "adapters", "--interpreter", base, "--explainer", explainer}), 2,
              "--ship adapters ships LoRA adapters: " + base + " has no adapter_config.json");
  // The base must be found: a hub name is not a local directory, and two adapters must agree.
  expect_line(run({"--ship", "adapters", "--interpreter", (work / "hub").string(), "--explainer", explainer}), 2,
              "the adapters name different bases");
  expect_line(run({"--ship", "adapters", "--interpreter", (work / "hub").string(), "--explainer",
                   (work / "hub").string()}),
              2, "needs the adapters' base as a local model directory (--base-model DIR)");
  expect_line(run({"--gguf-base", base, "--interpreter", interpreter, "--explainer", explainer}), 2,
              "--gguf-base is the base of --ship adapters");
  // Ready files: an adapter must be one, and must fit the base it ships with.
  auto built = run({"--ship", "adapters", "--interpreter", interpreter, "--explainer", explainer});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  const std::string base_gguf = (work / "o" / "josi-v5-base-q4_k_m.gguf").string();
  const std::string adapter_gguf = (work / "o" / "josi-v5-interpreter-lora-f16.gguf").string();
  expect_line(run({"--ship", "adapters", "--gguf-base", base_gguf, "--gguf-interpreter", base_gguf, "--gguf-explainer",
                   adapter_gguf}),
              2, base_gguf + " is not a GGUF LoRA adapter");
  expect_line(run({"--ship", "adapters", "--gguf-base", adapter_gguf, "--gguf-interpreter", adapter_gguf,
                   "--gguf-explainer", adapter_gguf}),
              1, adapter_gguf + ": no general.file_type");
  expect_line(run_josi({"publish", "--ship", "adapters", "--upload-only", "--gguf-interpreter", adapter_gguf,
                        "--gguf-explainer", adapter_gguf}),
              2, "with --ship adapters, the base as --gguf-base FILE");
}

}  // namespace
