#pragma once
// The S3 operations publishing needs, signed with SigV4, against any
// S3-compatible store (Hetzner, AWS, MinIO, Ceph...): put, head, and the
// multipart calls. Every request is retried on network failures, 5xx and
// 429; other failures become one clear line that says what to check.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ship/http.hpp"
#include "ship/retry.hpp"
#include "ship/sigv4.hpp"
#include "ship/url.hpp"

namespace josi::ship {

enum class Addressing { automatic, path, virtual_host };

struct S3Config {
  Url endpoint;                     // https://fsn1.your-objectstorage.com
  std::string region = "us-east-1";
  std::string bucket;
  Addressing addressing = Addressing::automatic;  // path-style for IP addresses and localhost
  Credentials credentials;
  HttpOptions http;
  RetryPolicy retry;
};

struct ObjectHead {
  uint64_t size = 0;
  std::string etag;  // without quotes
  HttpResponse response;
};

class S3Client {
 public:
  explicit S3Client(S3Config config);

  // Each returns the ETag the store reported (without quotes). `md5` (raw)
  // is sent as Content-MD5 and checked against the ETag when the store
  // reports an MD5 ETag; a mismatch is retried.
  std::string put_object(const std::string& key, std::string_view body, std::string_view md5, const HeaderList& headers);
  std::optional<ObjectHead> head_object(const std::string& key);  // nullopt when it does not exist
  std::string create_multipart_upload(const std::string& key, const HeaderList& headers);
  std::string upload_part(const std::string& key, const std::string& upload_id, int part_number, std::string_view body,
                          std::string_view md5);
  std::string complete_multipart_upload(const std::string& key, const std::string& upload_id,
                                        const std::vector<std::string>& part_etags);
  void abort_multipart_upload(const std::string& key, const std::string& upload_id);
  // Upload ids of unfinished multipart uploads of exactly `key`; nullopt
  // when the store does not implement the listing.
  std::optional<std::vector<std::string>> list_multipart_uploads(const std::string& key);

  std::string location(const std::string& key) const;  // "s3://bucket/key", for messages
  const S3Config& config() const { return config_; }

 private:
  struct Call {
    std::string method;
    std::string key;  // empty: the bucket itself
    HeaderList query;
    HeaderList headers;
    std::string_view body;
    std::vector<long> answers = {};  // statuses besides 2xx that are answers, not errors (404 for HEAD)
  };
  HttpResponse call(const Call& call, const std::string& what,
                    const std::function<void(const HttpResponse&)>& check = {});
  HttpResponse attempt(const Call& call);
  [[noreturn]] void fail(const Call& call, const std::string& what, const HttpResponse& response) const;

  S3Config config_;
  bool path_style_;
  HttpClient http_;
};

// The ETag S3 gives an object assembled from parts with these MD5s (raw):
// hex MD5 of the concatenated part MD5s, "-", the number of parts.
std::string multipart_etag(const std::vector<std::string>& part_md5s);

// The first <tag>...</tag> text of an S3 XML answer, entities decoded; "" if absent.
std::string xml_text(std::string_view xml, std::string_view tag);

}  // namespace josi::ship
