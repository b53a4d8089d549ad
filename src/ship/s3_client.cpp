#include "ship/s3_client.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "ship/digest.hpp"

namespace josi::ship {

namespace {

std::string unescape_xml(std::string_view text) {
  static const std::pair<std::string_view, char> entities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '&') {
      for (const auto& [entity, c] : entities) {
        if (text.substr(i, entity.size()) == entity) {
          out += c;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

// Text from the server, fit for a one-line message: printable ASCII, capped.
std::string printable(std::string_view text, size_t limit = 240) {
  std::string out;
  for (char c : text) {
    if (out.size() >= limit) return out + "...";
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  return out;
}

std::string strip_quotes(std::string etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

bool is_md5_hex(std::string_view text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

// What the user can do about the store's error code.
std::string hint(const std::string& code, const S3Config& config) {
  if (code == "SignatureDoesNotMatch") return " (check the secret key: S3_SECRET_KEY or --s3-secret-key; and --s3-region)";
  if (code == "InvalidAccessKeyId") return " (check the access key: S3_ACCESS_KEY or --s3-access-key)";
  if (code == "AccessDenied") return " (these credentials may not write to bucket \"" + config.bucket + "\")";
  if (code == "NoSuchBucket") return " (bucket \"" + config.bucket + "\" does not exist at " + config.endpoint.origin() + ")";
  if (code == "RequestTimeTooSkewed") return " (the system clock is off)";
  if (code == "AuthorizationHeaderMalformed") return " (check --s3-region)";
  return "";
}

}  // namespace

std::string xml_text(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  auto begin = xml.find(open);
  if (begin == std::string_view::npos) return "";
  begin += open.size();
  auto end = xml.find(close, begin);
  if (end == std::string_view::npos) return "";
  return unescape_xml(xml.substr(begin, end - begin));
}

std::string multipart_etag(const std::vector<std::string>& part_md5s) {
  std::string joined;
  for (const auto& md5 : part_md5s) joined += md5;
  return to_hex(md5_raw(joined)) + "-" + std::to_string(part_md5s.size());
}

S3Client::S3Client(S3Config config)
    : config_(std::move(config)),
      path_style_(config_.addressing == Addressing::path ||
                  (config_.addressing == Addressing::automatic && is_address_host(config_.endpoint.host))),
      http_(config_.http) {}

std::string S3Client::location(const std::string& key) const { return "s3://" + config_.bucket + "/" + key; }

HttpResponse S3Client::attempt(const Call& c) {
  // Path style: host/bucket/key. Virtual-hosted: bucket.host/key.
  Url url = config_.endpoint;
  std::string base = url.path == "/" ? "" : url.path;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string path = base;
  if (path_style_) {
    path += "/" + uri_encode(config_.bucket, false);
    if (!c.key.empty()) path += "/" + uri_encode(c.key, true);
  } else {
    url.host = config_.bucket + "." + url.host;
    path += "/" + uri_encode(c.key, true);
  }
  std::string payload_hash = sha256_hex(c.body);
  std::string date = amz_date_now();
  SigningInput input{c.method, path, c.query, c.headers, payload_hash};
  input.headers.emplace_back("host", url.authority());
  input.headers.emplace_back("x-amz-date", date);
  input.headers.emplace_back("x-amz-content-sha256", payload_hash);
  HttpRequest request;
  request.method = c.method;
  std::string query = canonical_query(c.query);
  request.url = url.origin() + path + (query.empty() ? "" : "?" + query);
  request.headers = input.headers;
  request.headers.emplace_back("Authorization", authorization(input, config_.credentials, config_.region, date));
  request.body = c.body;
  try {
    return http_.send(request);
  } catch (const TransientError&) {
    throw;
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (check the S3 endpoint: --s3-endpoint or S3_ENDPOINT)");
  }
}

void S3Client::fail(const Call& c, const std::string& what, const HttpResponse& response) const {
  std::string code = xml_text(response.body, "Code");
  std::string message = xml_text(response.body, "Message");
  std::string text = "s3: " + what + " " + location(c.key) + ": " + status_text(response.status);
  if (!code.empty()) text += ": " + printable(code);
  if (!message.empty()) text += ": " + printable(message);
  text += hint(code, config_);
  // The secret is never sent in clear, but a store's message is not ours to trust.
  const std::string& secret = config_.credentials.secret_key;
  for (size_t at; !secret.empty() && (at = text.find(secret)) != std::string::npos;) text.replace(at, secret.size(), "[secret]");
  if (is_transient_status(response.status)) throw TransientError(text, retry_after_s(response));
  throw Error(text);
}

HttpResponse S3Client::call(const Call& c, const std::string& what,
                            const std::function<void(const HttpResponse&)>& check) {
  HttpResponse result;
  with_retries(config_.retry, what + " " + location(c.key), [&] {
    HttpResponse r = attempt(c);
    if (std::find(c.answers.begin(), c.answers.end(), r.status) != c.answers.end()) {
      result = std::move(r);
      return;
    }
    if (!r.ok() || r.status == 0) fail(c, what, r);
    // A complete-multipart answer can be a 200 carrying an error.
    if (r.body.find("<Error>") != std::string::npos) {
      r.status = xml_text(r.body, "Code") == "InternalError" ? 500 : 400;
      fail(c, what, r);
    }
    if (check) check(r);
    result = std::move(r);
  });
  return result;
}

std::string S3Client::put_object(const std::string& key, std::string_view body, std::string_view md5,
                                 const HeaderList& headers) {
  Call c{"PUT", key, {}, headers, body};
  c.headers.emplace_back("content-md5", base64(md5));
  std::string want = to_hex(md5);
  auto r = call(c, "upload", [&](const HttpResponse& r) {
    std::string etag = strip_quotes(r.header("etag"));
    if (is_md5_hex(etag) && etag != want)
      throw TransientError("upload " + location(key) + ": the store's ETag " + etag + " is not the MD5 of what was sent");
  });
  return strip_quotes(r.header("etag"));
}

std::optional<ObjectHead> S3Client::head_object(const std::string& key) {
  auto r = call({"HEAD", key, {}, {}, {}, {404}}, "check");
  if (r.status == 404) return std::nullopt;
  ObjectHead head;
  head.size = std::strtoull(r.header("content-length").c_str(), nullptr, 10);
  head.etag = strip_quotes(r.header("etag"));
  head.response = std::move(r);
  return head;
}

std::string S3Client::create_multipart_upload(const std::string& key, const HeaderList& headers) {
  auto r = call({"POST", key, {{"uploads", ""}}, headers, {}}, "start multipart upload of");
  std::string id = xml_text(r.body, "UploadId");
  if (id.empty()) throw Error("s3: start multipart upload of " + location(key) + ": the store's answer has no UploadId");
  return id;
}

std::string S3Client::upload_part(const std::string& key, const std::string& upload_id, int part_number,
                                  std::string_view body, std::string_view md5) {
  Call c{"PUT", key, {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}}, {}, body};
  c.headers.emplace_back("content-md5", base64(md5));
  std::string want = to_hex(md5);
  std::string what = "upload part " + std::to_string(part_number) + " of";
  auto r = call(c, what, [&](const HttpResponse& r) {
    std::string etag = strip_quotes(r.header("etag"));
    if (etag.empty()) throw Error("s3: " + what + " " + location(key) + ": the store's answer has no ETag");
    if (is_md5_hex(etag) && etag != want)
      throw TransientError(what + " " + location(key) + ": the store's ETag " + etag + " is not the MD5 of what was sent");
  });
  return strip_quotes(r.header("etag"));
}

std::string S3Client::complete_multipart_upload(const std::string& key, const std::string& upload_id,
                                                const std::vector<std::string>& part_etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < part_etags.size(); ++i)
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"" + part_etags[i] + "\"</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  auto r = call({"POST", key, {{"uploadId", upload_id}}, {{"content-type", "application/xml"}}, xml},
                "finish multipart upload of");
  return strip_quotes(xml_text(r.body, "ETag"));
}

void S3Client::abort_multipart_upload(const std::string& key, const std::string& upload_id) {
  call({"DELETE", key, {{"uploadId", upload_id}}, {}, {}}, "abort multipart upload of");
}

std::optional<std::vector<std::string>> S3Client::list_multipart_uploads(const std::string& key) {
  auto r = call({"GET", "", {{"uploads", ""}, {"prefix", key}}, {}, {}, {405, 501}}, "list unfinished uploads of");
  if (r.status == 405 || r.status == 501) return std::nullopt;
  std::vector<std::string> ids;
  std::string_view rest = r.body;
  for (auto at = rest.find("<Upload>"); at != std::string_view::npos; at = rest.find("<Upload>")) {
    rest.remove_prefix(at);
    auto end = rest.find("</Upload>");
    std::string_view upload = rest.substr(0, end);
    if (xml_text(upload, "Key") == key) ids.push_back(xml_text(upload, "UploadId"));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  return ids;
}

}  // namespace josi::ship
