#include "ship/downloader.hpp"

#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include "base/error.hpp"
#include "base/files.hpp"
#include "knowledge/knowledge_base.hpp"
#include "ship/digest.hpp"
#include "ship/transfer_progress.hpp"
#include "ship/url.hpp"

namespace josi::ship {

namespace fs = std::filesystem;

namespace {

constexpr size_t kManifestLimit = 1 << 20;

std::string directory_of(const std::string& url) { return url.substr(0, url.rfind('/')); }

// The version recorded by the last complete download into `dir`, if any.
std::string local_version(const fs::path& dir) {
  fs::path path = dir / kManifestFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) return "";
  try {
    return parse_manifest(base::read_file(path), path.string()).version;
  } catch (const Error&) {
    return "";  // an unreadable record only means nothing is known about the files
  }
}

struct Plan {
  const ModelEntry* entry;
  FileDownload file;
  bool fetch = true;
  std::string reason;
};

// Decides whether the file already there can stay.
void check_present(Plan& plan, const std::string& old_version, const Manifest& manifest, bool real_manifest,
                   const DownloadOptions& options) {
  std::error_code ec;
  if (!fs::exists(plan.file.dest, ec)) {
    plan.reason = "not present";
    return;
  }
  if (options.force) {
    plan.reason = "--force";
    return;
  }
  if (real_manifest && !old_version.empty() && old_version != manifest.version) {
    plan.reason = "version changed from " + old_version + " to " + manifest.version;
    return;
  }
  uint64_t size = fs::file_size(plan.file.dest, ec);
  if (plan.file.size && size != plan.file.size) {
    plan.reason = "size differs from the manifest";
    return;
  }
  if (options.verify && !plan.file.sha256.empty()) {
    if (sha256_file_hex(plan.file.dest) != plan.file.sha256) {
      plan.reason = "checksum differs from the manifest";
      return;
    }
    plan.reason = "already present, sha256 verified";
  } else {
    plan.reason = plan.file.sha256.empty() ? "already present (no checksum known)" : "already present (not verified)";
  }
  plan.fetch = false;
}

std::string fetch_text(const std::string& url, HttpClient& http, const RetryPolicy& retry) {
  std::string body;
  with_retries(retry, "fetch " + url, [&] {
    HttpRequest request;
    request.url = url;
    request.follow_redirects = true;
    body.clear();
    request.sink = [&](const HttpResponse&, std::string_view chunk) {
      if (body.size() + chunk.size() > kManifestLimit) throw Error(url + ": a manifest is not this big; refused");
      body.append(chunk);
    };
    HttpResponse r = http.send(request);
    if (!r.ok()) {
      std::string message = "fetch " + url + ": " + status_text(r.status);
      if (is_transient_status(r.status)) throw TransientError(message, retry_after_s(r));
      throw Error(message);
    }
  });
  return body;
}

}  // namespace

Manifest fetch_manifest(const std::string& url, HttpClient& http, const RetryPolicy& retry) {
  return parse_manifest(fetch_text(url, http, retry), url);
}

std::vector<ModelDownload> download_models(const DownloadOptions& options, std::ostream& out) {
  const std::string base = options.base_url.empty() ? std::string(kDefaultPublicUrl) : options.base_url;
  parse_url(base, "--base-url");
  const std::string manifest_url = options.manifest_url.empty() ? join_url(base, kManifestFile) : options.manifest_url;
  parse_url(manifest_url, "--manifest-url");
  std::error_code ec;
  fs::create_directories(options.output_dir, ec);
  base::check_output_path(options.output_dir / kManifestFile);

  HttpClient http(options.http);
  // Only the default manifest may be unreachable; one the user named must be
  // fetched, and a manifest that was fetched but is malformed is refused.
  Manifest manifest;
  bool real_manifest = true;
  std::string text;
  try {
    text = fetch_text(manifest_url, http, options.retry);
  } catch (const Error& e) {
    if (!options.manifest_url.empty()) throw;
    std::fprintf(stderr, "josi: warning: %s; using the built-in file names, without checksums\n", e.what());
    real_manifest = false;
  }
  manifest = real_manifest ? parse_manifest(text, manifest_url) : default_manifest(base);

  const std::string old_version = local_version(options.output_dir);
  std::vector<Plan> plans;
  for (const ModelEntry* entry : files_for_roles(manifest, options.roles, manifest_url)) {
    const std::string& role = entry->role;
    Plan plan{entry, {}, true, ""};
    plan.file.url = !options.base_url.empty() ? join_url(options.base_url, entry->file)
                    : !entry->url.empty()     ? entry->url
                                              : join_url(directory_of(manifest_url), entry->file);
    parse_url(plan.file.url, manifest_url + ": models." + role + ".url");
    plan.file.dest = options.output_dir / entry->file;
    plan.file.size = entry->size_bytes;
    plan.file.sha256 = entry->sha256;
    plan.file.verify = options.verify;
    plans.push_back(std::move(plan));
  }

  // Checking what is present hashes whole files: in parallel too.
  std::vector<std::exception_ptr> errors(plans.size());
  auto each = [&](auto&& fn) {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < plans.size(); ++i)
      threads.emplace_back([&, i] {
        try {
          fn(i);
        } catch (...) {
          if (!errors[i]) errors[i] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
  };
  each([&](size_t i) { check_present(plans[i], old_version, manifest, real_manifest, options); });

  uint64_t total = 0;
  for (size_t i = 0; i < plans.size(); ++i)
    if (!errors[i] && plans[i].fetch) total += plans[i].file.size;
  std::vector<ModelDownload> results(plans.size());
  {
    TransferProgress progress("download", total);
    each([&](size_t i) {
      if (errors[i]) return;
      auto& p = plans[i];
      results[i] = {p.entry->role, p.entry->file, p.fetch, p.reason, {}};
      if (!p.fetch) return;
      HttpClient own(options.http);
      results[i].transfer = download_verified(p.file, own, options.retry, [&](uint64_t n) { progress.add(n); });
    });
    progress.done();
  }

  std::string failures;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (errors[i]) {
      try {
        std::rethrow_exception(errors[i]);
      } catch (const std::exception& e) {
        failures += (failures.empty() ? "" : "; ") + plans[i].entry->role + ": " + e.what();
      }
      continue;
    }
    const auto& r = results[i];
    out << "download: " << r.role << ": " << (options.output_dir / r.file).string();
    if (!r.downloaded) {
      out << " " << r.reason << "\n";
      continue;
    }
    out << " downloaded (" << r.reason << "), " << r.transfer.bytes << " bytes, "
        << (r.transfer.verified ? "sha256 verified" : "not verified") << "; fetched " << r.transfer.fetched
        << " bytes, resumed at " << r.transfer.resumed_from << "\n";
  }
  // The cards passed their checksum; their content is checked as the app will read it.
  for (size_t i = 0; i < plans.size(); ++i) {
    if (errors[i] || plans[i].entry->role != kKnowledgeRole) continue;
    try {
      knowledge::KnowledgeBase::load(plans[i].file.dest);
    } catch (const Error& e) {
      fs::remove(plans[i].file.dest, ec);  // the app must not find cards it cannot read
      failures += (failures.empty() ? "" : "; ") + std::string("knowledge: ") + e.what();
    }
  }
  if (!failures.empty()) throw Error("download: " + failures);
  if (real_manifest) base::write_file_atomic(options.output_dir / kManifestFile, manifest_json(manifest));
  return results;
}

}  // namespace josi::ship
