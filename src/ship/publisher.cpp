#include "ship/publisher.hpp"

#include <exception>
#include <thread>

#include "base/error.hpp"
#include "ship/digest.hpp"
#include "ship/transfer_progress.hpp"
#include "ship/url.hpp"

namespace josi::ship {

namespace fs = std::filesystem;

namespace {

const ModelEntry& entry_for(const Manifest& manifest, const std::string& role) {
  const ModelEntry* entry = manifest.find(role);
  if (!entry) throw Error("publish: the manifest has no " + role + " entry");
  return *entry;
}

// HEAD the object: it must have the size, SHA-256 metadata and ETag we sent.
std::string verify_object(S3Client& client, const std::string& key, uint64_t size, const std::string& sha256,
                          const std::string& etag) {
  auto head = client.head_object(key);
  if (!head) throw Error("publish: " + client.location(key) + " is missing right after its upload");
  if (head->size != size)
    throw Error("publish: " + client.location(key) + " has " + std::to_string(head->size) + " bytes, expected " +
                std::to_string(size));
  std::string checked = "size";
  std::string stored_sha = head->response.header("x-amz-meta-sha256");
  if (!stored_sha.empty()) {
    if (stored_sha != sha256)
      throw Error("publish: " + client.location(key) + " carries sha256 " + stored_sha + ", expected " + sha256);
    checked += ", sha256";
  }
  // Stores report the MD5 (single PUT) or the MD5 of part MD5s; others (encrypted objects) are not comparable.
  bool comparable = head->etag.size() == etag.size() && (etag.find('-') == std::string::npos) ==
                                                            (head->etag.find('-') == std::string::npos);
  if (comparable) {
    if (head->etag != etag)
      throw Error("publish: " + client.location(key) + " has ETag " + head->etag + ", expected " + etag +
                  ": the stored bytes differ from the file");
    checked += ", etag";
  }
  return checked;
}

// Anonymous HEAD of the public URL, as the app will fetch it.
void check_public(HttpClient& http, const S3Config& s3, const std::string& url, uint64_t size, std::ostream& out) {
  with_retries(s3.retry, "check " + url, [&] {
    HttpRequest request;
    request.method = "HEAD";
    request.url = url;
    request.follow_redirects = true;
    HttpResponse r = http.send(request);
    if (is_transient_status(r.status)) throw TransientError("check " + url + ": " + status_text(r.status));
    if (r.status == 403)
      throw Error("publish: uploaded, but " + url + " answers HTTP 403 Forbidden: it is not publicly readable " +
                  "(check the bucket's public access settings and --public-url)");
    if (!r.ok())
      throw Error("publish: uploaded, but " + url + " answers " + status_text(r.status) + " (check --public-url)");
    uint64_t got = std::strtoull(r.header("content-length").c_str(), nullptr, 10);
    if (r.header("content-length").empty() || got != size)
      throw Error("publish: " + url + " serves " + std::to_string(got) + " bytes, expected " + std::to_string(size));
  });
  out << "publish: public " << url << ": " << size << " bytes\n";
}

}  // namespace

Manifest build_manifest(const std::vector<PublishFile>& files, const std::string& public_url) {
  uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    total += fs::file_size(f.path, ec);
    if (ec) throw Error(f.path.string() + ": cannot read its size: " + ec.message(), ExitCode::io);
  }
  Manifest manifest;
  manifest.published = iso_time_now();
  for (const auto& f : files) {
    ModelEntry e;
    e.role = f.role;
    e.quant = f.quant;
    e.adapter_of = f.adapter_of;
    e.file = f.role == kKnowledgeRole ? knowledge_file_name()
             : f.adapter_of.empty()     ? model_file_name(f.role, f.quant)
                                        : adapter_file_name(f.role, f.quant);
    if (!f.adapter_of.empty()) manifest.ship = ShipShape::adapters;
    e.url = join_url(public_url, e.file);
    e.size_bytes = fs::file_size(f.path);
    manifest.models.push_back(std::move(e));
  }
  // The files are hashed at once, one thread each.
  TransferProgress progress("sha256", total);
  std::vector<std::exception_ptr> errors(files.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < files.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        manifest.models[i].sha256 = sha256_file_hex(files[i].path, [&](uint64_t n) { progress.add(n); });
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  progress.done();
  return manifest;
}

void upload_release(const std::vector<PublishFile>& files, const Manifest& manifest, const std::string& public_url,
                    const S3Config& s3, const UploadOptions& options, std::ostream& out) {
  S3Client client(s3);
  uint64_t total = 0;
  for (const auto& f : files) total += entry_for(manifest, f.role).size_bytes;
  {
    TransferProgress progress("upload", total);
    for (const auto& f : files) {
      const ModelEntry& e = entry_for(manifest, f.role);
      int aborted = abort_unfinished_uploads(client, e.file);
      if (aborted > 0)
        out << "publish: aborted " << aborted << " unfinished upload(s) of " << client.location(e.file)
            << " left by an earlier run\n";
      if (aborted < 0)
        out << "publish: the store cannot list unfinished uploads; any left by an earlier failed run stay\n";
      UploadOptions model = options;
      model.headers = {{"content-type", f.role == kKnowledgeRole ? "application/json" : "application/octet-stream"},
                       {"x-amz-acl", "public-read"},
                       {"x-amz-meta-sha256", e.sha256}};
      auto result = upload_file(s3, e.file, f.path, model, [&](uint64_t n) { progress.add(n); });
      if (result.bytes != e.size_bytes)
        throw Error("publish: " + f.path.string() + " changed size during the upload", ExitCode::io);
      std::string checked = verify_object(client, e.file, e.size_bytes, e.sha256, result.etag);
      out << "publish: uploaded " << client.location(e.file) << " (" << result.bytes << " bytes, "
          << (result.parts ? std::to_string(result.parts) + " parts" : std::string("one request")) << "; checked "
          << checked << ")\n";
    }
    progress.done();
  }

  // Last, so the manifest never names an object that is not there yet.
  std::string text = manifest_json(manifest);
  std::string md5 = md5_raw(text);
  std::string sha = sha256_hex(text);
  client.put_object(std::string(kManifestFile), text, md5,
                    {{"content-type", "application/json"},
                     {"cache-control", "no-cache"},
                     {"x-amz-acl", "public-read"},
                     {"x-amz-meta-sha256", sha}});
  std::string checked = verify_object(client, std::string(kManifestFile), text.size(), sha, to_hex(md5));
  out << "publish: uploaded " << client.location(std::string(kManifestFile)) << " (" << text.size()
      << " bytes; checked " << checked << ")\n";

  HttpClient http(s3.http);
  for (const auto& e : manifest.models) check_public(http, s3, e.url, e.size_bytes, out);
  check_public(http, s3, join_url(public_url, kManifestFile), text.size(), out);
}

}  // namespace josi::ship
