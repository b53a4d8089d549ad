// Faults on real servers: connections cut or stalled in the middle of
// uploads and downloads (a TCP proxy between josi and the server), servers
// killed mid-transfer, 5xx/429 answers, wrong credentials, missing objects,
// corrupt bytes and hostile manifests. Each run either completes (after
// retries, resuming rather than restarting) or fails with one clear line,
// never keeps bad data, never leaves orphan parts, never shows the secret.
#include <gtest/gtest.h>

#include "integration/ship_release.hpp"
#include "json/json.hpp"
#include "ship/manifest.hpp"

using namespace josi::test;
using josi::json::Json;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> matching(const std::vector<std::string>& lines, const std::string& part) {
  std::vector<std::string> out;
  for (const auto& l : lines)
    if (contains(l, part)) out.push_back(l);
  return out;
}

// ---- uploads ----

class UploadFaults : public ::testing::Test {
 protected:
  S3Store store;
  Nginx public_server{proxy_block(store)};
  Release release;
  std::string public_url = public_server.url("/models");

  void expect_published() {
    auto ls = store.s3cmd("ls s3://mivalta-models/");
    ASSERT_EQ(ls.exit_code, 0) << ls.err;
    EXPECT_TRUE(contains(ls.out, std::to_string(fs::file_size(release.interpreter)) +
                                     "  s3://mivalta-models/josi-v5-interpreter-q4_k_m.gguf"))
        << ls.out;
    EXPECT_TRUE(contains(ls.out, "s3://mivalta-models/josi-v5-manifest.json")) << ls.out;
    TempDir out;
    auto d = download(public_url + "/josi-v5-manifest.json", out.path());
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(read_text(out / "josi-v5-explainer-q4_k_m.gguf"), read_text(release.explainer));
    EXPECT_EQ(store.unfinished_uploads(), 0);
  }
};

TEST_F(UploadFaults, APartCutMidwayIsRetriedAlone) {
  TcpProxy proxy(store.port(), {.cut_up_after = 300 << 10});
  auto r = publish(release, store, proxy.url(), public_url);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy.faults(), 1);
  EXPECT_TRUE(contains(r.err, "; retry 1 of 2 in")) << r.err;
  EXPECT_TRUE(contains(r.err, "upload part 1 of s3://mivalta-models/josi-v5-interpreter-q4_k_m.gguf") ||
              contains(r.err, "upload part 2 of") || contains(r.err, "upload part 3 of"))
      << r.err;
  expect_published();
}

TEST_F(UploadFaults, ServerKilledMidUploadThenRerunCompletes) {
  {
    TcpProxy proxy(store.port(), {.cut_up_after = 600 << 10, .on_fault = [&] { store.kill(); }});
    auto r = publish(release, store, proxy.url(), public_url);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_TRUE(contains(r.err, "josi: error: ")) << r.err;
    EXPECT_TRUE(contains(r.err, "gave up after 3 attempts")) << r.err;
    EXPECT_TRUE(contains(r.err, "could not be aborted; the next publish aborts it")) << r.err;
  }
  store.start();  // same port and data
  EXPECT_EQ(store.unfinished_uploads(), 1) << "the dead server kept the parts it had";
  auto ls = store.s3cmd("ls s3://mivalta-models/");
  EXPECT_FALSE(contains(ls.out, "josi-v5-manifest.json")) << "no manifest before every model is up: " << ls.out;

  auto again = publish(release, store, store.endpoint(), public_url);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(contains(again.out, "aborted 1 unfinished upload(s) of s3://mivalta-models/josi-v5-interpreter-q4_k_m.gguf"))
      << again.out;
  expect_published();
}

TEST_F(UploadFaults, EveryConnectionCutAbortsTheUploadCleanly) {
  TcpProxy proxy(store.port(), {.cut_up_after = 200 << 10, .max_faults = -1});
  auto r = publish(release, store, proxy.url(), public_url, {"--retries", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "the unfinished upload was aborted; no parts remain")) << r.err;
  EXPECT_EQ(store.unfinished_uploads(), 0);
  auto ls = store.s3cmd("ls s3://mivalta-models/");
  EXPECT_FALSE(contains(ls.out, ".gguf")) << ls.out;
}

TEST_F(UploadFaults, ServerErrorsAndThrottlingAreRetried) {
  TcpProxy proxy(store.port(), {.answer_statuses = {503, 429, 500}});
  auto r = publish(release, store, proxy.url(), public_url, {"--retries", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "HTTP 503 Service Unavailable")) << r.err;
  EXPECT_TRUE(contains(r.err, "HTTP 429 Too Many Requests")) << r.err;
  expect_published();
}

TEST_F(UploadFaults, CredentialAndBucketErrorsAreClearAndNeverShowTheSecret) {
  auto with = [&](const std::string& access, const std::string& secret, const std::string& bucket,
                  const std::string& endpoint) {
    auto r = run_josi({"publish", "--gguf-interpreter", release.interpreter.string(), "--gguf-explainer",
                       release.explainer.string(), "--upload-only", "--s3-endpoint", endpoint, "--s3-access-key", access,
                       "--s3-secret-key", secret, "--bucket", bucket, "--public-url", public_url, "--retries", "0",
                       "--skip-sanity"});
    EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(S3Store::kSecretKey), std::string::npos) << r.err;
    return r;
  };
  const std::string wrong_secret = "not-the-secret-Qx81";
  auto bad_secret = with(S3Store::kAccessKey, wrong_secret, "mivalta-models", store.endpoint());
  EXPECT_EQ(bad_secret.exit_code, 1);
  EXPECT_TRUE(contains(bad_secret.err, "HTTP 403 Forbidden: SignatureDoesNotMatch")) << bad_secret.err;
  EXPECT_TRUE(contains(bad_secret.err, "(check the secret key: S3_SECRET_KEY or --s3-secret-key")) << bad_secret.err;

  auto bad_key = with("NOSUCHKEY", S3Store::kSecretKey, "mivalta-models", store.endpoint());
  EXPECT_EQ(bad_key.exit_code, 1);
  EXPECT_TRUE(contains(bad_key.err, "HTTP 403 Forbidden: InvalidAccessKeyId")) << bad_key.err;
  EXPECT_TRUE(contains(bad_key.err, "check the access key")) << bad_key.err;

  auto no_bucket = with(S3Store::kAccessKey, S3Store::kSecretKey, "no-such-bucket", store.endpoint());
  EXPECT_EQ(no_bucket.exit_code, 1);
  EXPECT_TRUE(contains(no_bucket.err, "HTTP 404 Not Found: NoSuchBucket")) << no_bucket.err;
  EXPECT_TRUE(contains(no_bucket.err, "bucket \"no-such-bucket\" does not exist at " + store.endpoint())) << no_bucket.err;

  auto refused = with(S3Store::kAccessKey, S3Store::kSecretKey, "mivalta-models", "http://127.0.0.1:" +
                                                                                    std::to_string(free_port()));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, "Failed to connect to 127.0.0.1")) << refused.err;

  auto unknown_host = with(S3Store::kAccessKey, S3Store::kSecretKey, "mivalta-models", "http://no-such-host.invalid");
  EXPECT_EQ(unknown_host.exit_code, 1);
  EXPECT_TRUE(contains(unknown_host.err, "no-such-host.invalid")) << unknown_host.err;
  EXPECT_TRUE(contains(unknown_host.err, "check the S3 endpoint")) << unknown_host.err;
  EXPECT_EQ(josi_lines(unknown_host.err), 1u) << "not retried: " << unknown_host.err;
}

TEST_F(UploadFaults, PrivateObjectsFailThePublicCheck) {
  // Upload through s3cmd without --acl-public: the public URL answers 403, downloads say why.
  ASSERT_EQ(store.s3cmd("put " + release.interpreter.string() + " s3://mivalta-models/josi-v5-interpreter-q4_k_m.gguf")
                .exit_code,
            0);
  josi::ship::Manifest m;
  m.models.push_back({"interpreter", "josi-v5-interpreter-q4_k_m.gguf", fs::file_size(release.interpreter),
                      file_sha256(release.interpreter), "q4_k_m", public_url + "/josi-v5-interpreter-q4_k_m.gguf", ""});
  TempDir out;
  write_text(out / "m.json", josi::ship::manifest_json(m));
  auto r = download("file://" + (out / "m.json").string(), out / "models", {"--interpreter-only"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "HTTP 403 Forbidden (access denied: is the object public-read?)")) << r.err;
  EXPECT_FALSE(fs::exists(out / "models" / "josi-v5-interpreter-q4_k_m.gguf"));
}

// ---- downloads ----

class DownloadFaults : public ::testing::Test {
 protected:
  // A 4 MiB model and its manifest, served by the guide's static block.
  TempDir root;
  TempDir out;
  fs::path model = root / "josi-v5-interpreter-q4_k_m.gguf";
  std::unique_ptr<Nginx> server;

  void SetUp() override {
    write_test_gguf(model, 4u << 20, 7);
    server = std::make_unique<Nginx>(static_block(root.path()));
  }
  std::string manifest_for(const std::string& base_url, const std::string& file = "josi-v5-interpreter-q4_k_m.gguf") {
    josi::ship::Manifest m;
    m.models.push_back({"interpreter", file, fs::file_size(model), file_sha256(model), "q4_k_m", "", ""});
    write_text(root / "josi-v5-manifest.json", josi::ship::manifest_json(m));
    return base_url + "/josi-v5-manifest.json";
  }
  std::string size() { return std::to_string(fs::file_size(model)); }
};

TEST_F(DownloadFaults, ACutConnectionResumesInTheSameRun) {
  TcpProxy proxy(server->port(), {.cut_down_after = 1 << 20});
  auto r = download(manifest_for(proxy.url()), out.path(), {"--interpreter-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(proxy.faults(), 1);
  // Every byte came over the network exactly once: the retry asked for the rest only.
  EXPECT_TRUE(contains(r.out, size() + " bytes, sha256 verified; fetched " + size() + " bytes, resumed at 0")) << r.out;
  auto ranged = matching(server->access_log(), "GET /josi-v5-interpreter-q4_k_m.gguf 206");
  ASSERT_EQ(ranged.size(), 1u) << read_text(out / "none");
  EXPECT_TRUE(contains(ranged[0], "\"bytes=")) << ranged[0];
  EXPECT_EQ(read_text(out / "josi-v5-interpreter-q4_k_m.gguf"), read_text(model));
}

TEST_F(DownloadFaults, ServerKilledMidDownloadThenRerunResumes) {
  std::string url = manifest_for(server->url());
  {
    TcpProxy proxy(server->port(), {.cut_down_after = 1500 << 10, .on_fault = [&] { server->kill(); }});
    auto r = download(manifest_for(proxy.url()), out.path(), {"--interpreter-only", "--retries", "1"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.err, "josi: error: download: interpreter: ")) << r.err;
    EXPECT_TRUE(contains(r.err, "gave up after 2 attempts")) << r.err;
  }
  EXPECT_FALSE(fs::exists(out / "josi-v5-interpreter-q4_k_m.gguf")) << "a partial file never has the final name";
  fs::path partial = out / ".josi-v5-interpreter-q4_k_m.gguf.partial";
  ASSERT_TRUE(fs::exists(partial));
  uint64_t kept = fs::file_size(partial);
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, fs::file_size(model));

  server->start();
  auto again = download(manifest_for(server->url()), out.path(), {"--interpreter-only"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  uint64_t rest = fs::file_size(model) - kept;
  EXPECT_TRUE(contains(again.out, "fetched " + std::to_string(rest) + " bytes, resumed at " + std::to_string(kept)))
      << again.out;
  // nginx sent only the rest, for the range that starts where the partial ended.
  auto ranged = matching(server->access_log(), "GET /josi-v5-interpreter-q4_k_m.gguf 206 " + std::to_string(rest) +
                                                    " \"bytes=" + std::to_string(kept) + "-\"");
  EXPECT_EQ(ranged.size(), 1u);
  EXPECT_EQ(read_text(out / "josi-v5-interpreter-q4_k_m.gguf"), read_text(model));
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(out / ".josi-v5-interpreter-q4_k_m.gguf.partial.json"));
  (void)url;
}

TEST_F(DownloadFaults, ACorruptedByteIsDetectedAndNeverKept) {
  std::string url = manifest_for(server->url());  // checksum of the good file
  std::string bytes = read_text(model);
  bytes[bytes.size() / 2] ^= 0x01;
  write_text(model, bytes);
  auto r = download(url, out.path(), {"--interpreter-only"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "SHA-256 mismatch")) << r.err;
  EXPECT_TRUE(contains(r.err, "the download was discarded")) << r.err;
  EXPECT_FALSE(fs::exists(out / "josi-v5-interpreter-q4_k_m.gguf"));
  EXPECT_FALSE(fs::exists(out / ".josi-v5-interpreter-q4_k_m.gguf.partial"));
  // --no-verify takes what comes (and says so).
  auto unverified = download(url, out.path(), {"--interpreter-only", "--no-verify"});
  ASSERT_EQ(unverified.exit_code, 0) << unverified.err;
  EXPECT_TRUE(contains(unverified.out, "not verified")) << unverified.out;
}

TEST_F(DownloadFaults, ACorruptedPartialFromAnEarlierRunIsRefetched) {
  std::string url = manifest_for(server->url());
  {
    TcpProxy proxy(server->port(), {.cut_down_after = 1 << 20, .refuse_after_fault = true});
    EXPECT_EQ(download(manifest_for(proxy.url()), out.path(), {"--interpreter-only", "--retries", "0"}).exit_code, 1);
  }
  fs::path partial = out / ".josi-v5-interpreter-q4_k_m.gguf.partial";
  std::string kept = read_text(partial);
  ASSERT_GT(kept.size(), 1000u);
  kept[500] ^= 0x40;  // the disk (or an earlier server) spoiled a kept byte
  write_text(partial, kept);
  auto r = download(manifest_for(server->url()), out.path(), {"--interpreter-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "checksum mismatch after resuming; fetching the whole file again")) << r.err;
  EXPECT_EQ(read_text(out / "josi-v5-interpreter-q4_k_m.gguf"), read_text(model));
  (void)url;
}

TEST_F(DownloadFaults, AStalledTransferTimesOutAndResumes) {
  // libcurl measures speed over a few seconds: a stall right after the headers is noticed soonest.
  TcpProxy proxy(server->port(), {.cut_down_after = 1024, .stall = true});
  auto r = download(manifest_for(proxy.url()), out.path(), {"--interpreter-only", "--timeout", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "retry 1 of 2")) << r.err;
  EXPECT_TRUE(contains(r.out, "fetched " + size() + " bytes")) << r.out;
  EXPECT_EQ(read_text(out / "josi-v5-interpreter-q4_k_m.gguf"), read_text(model));
}

TEST_F(DownloadFaults, ServerErrorsAndThrottlingAreRetried) {
  TcpProxy proxy(server->port(), {.answer_statuses = {503, 429}});
  auto r = download(manifest_for(proxy.url()), out.path(), {"--interpreter-only"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "HTTP 503 Service Unavailable; retry 1 of 2")) << r.err;
  EXPECT_TRUE(contains(r.err, "HTTP 429 Too Many Requests; retry 2 of 2")) << r.err;
}

TEST_F(DownloadFaults, AManifestWithAPathIsRefused) {
  for (const char* name : {"../x", "../../etc/cron.d/x", "/tmp/x", ".bashrc"}) {
    std::string url = manifest_for(server->url(), name);
    auto r = download(url, out / "models", {"--interpreter-only"});
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_TRUE(contains(r.err, "is not a plain file name")) << r.err;
    EXPECT_TRUE(contains(r.err, "refused")) << r.err;
  }
  EXPECT_FALSE(fs::exists(out / "x"));
  EXPECT_TRUE(matching(server->access_log(), ".gguf").empty()) << "nothing was fetched";
}

TEST_F(DownloadFaults, MissingFilesAreClear) {
  auto r = download(manifest_for(server->url(), "josi-v5-interpreter-q4_k_s.gguf"), out.path(), {"--interpreter-only"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "josi: error: download: interpreter: download " + server->url() +
                                  "/josi-v5-interpreter-q4_k_s.gguf: HTTP 404 Not Found (not found"))
      << r.err;
  EXPECT_EQ(josi_lines(r.err), 1u) << "a 404 is not retried: " << r.err;
  auto explainer = download(manifest_for(server->url()), out.path(), {"--explainer-only"});
  EXPECT_EQ(explainer.exit_code, 1);
  EXPECT_TRUE(contains(explainer.err, "the manifest has no explainer model")) << explainer.err;
  auto both = run_josi({"download", "--interpreter-only", "--explainer-only"});
  EXPECT_EQ(both.exit_code, 2);
  auto bad_url = run_josi({"download", "--manifest-url", "ftp://x/m.json", "--output-dir", out.path().string()});
  EXPECT_EQ(bad_url.exit_code, 2);
  EXPECT_TRUE(contains(bad_url.err, "--manifest-url: \"ftp://x/m.json\" is not a usable URL")) << bad_url.err;
}

}  // namespace
