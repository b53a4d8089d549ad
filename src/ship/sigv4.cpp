#include "ship/sigv4.hpp"

#include <algorithm>
#include <ctime>
#include <map>

#include "base/strings.hpp"
#include "ship/digest.hpp"
#include "ship/url.hpp"

namespace josi::ship {

namespace {

// Header values are trimmed and inner runs of spaces become one.
std::string canonical_header_value(std::string_view value) {
  value = base::trim(value);
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Lower-cased names, sorted; repeated headers joined with commas.
std::map<std::string, std::string> canonical_headers(const HeaderList& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : headers) {
    auto& slot = out[base::to_lower_ascii(name)];
    slot += (slot.empty() ? "" : ",") + canonical_header_value(value);
  }
  return out;
}

std::string signed_header_names(const std::map<std::string, std::string>& headers) {
  std::string out;
  for (const auto& [name, value] : headers) out += (out.empty() ? "" : ";") + name;
  return out;
}

}  // namespace

std::string canonical_query(const HeaderList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) out += (out.empty() ? "" : "&") + name + "=" + value;
  return out;
}

std::string canonical_request(const SigningInput& input) {
  auto headers = canonical_headers(input.headers);
  std::string out = input.method + "\n" + input.path + "\n" + canonical_query(input.query) + "\n";
  for (const auto& [name, value] : headers) out += name + ":" + value + "\n";
  out += "\n" + signed_header_names(headers) + "\n" + input.payload_hash;
  return out;
}

std::string credential_scope(std::string_view amz_date, std::string_view region) {
  return std::string(amz_date.substr(0, 8)) + "/" + std::string(region) + "/s3/aws4_request";
}

std::string string_to_sign(std::string_view canonical, std::string_view amz_date, std::string_view region) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + credential_scope(amz_date, region) + "\n" +
         sha256_hex(canonical);
}

std::string authorization(const SigningInput& input, const Credentials& credentials, std::string_view region,
                          std::string_view amz_date) {
  std::string key = hmac_sha256("AWS4" + credentials.secret_key, amz_date.substr(0, 8));
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, "s3");
  key = hmac_sha256(key, "aws4_request");
  std::string signature = to_hex(hmac_sha256(key, string_to_sign(canonical_request(input), amz_date, region)));
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key + "/" + credential_scope(amz_date, region) +
         ",SignedHeaders=" + signed_header_names(canonical_headers(input.headers)) + ",Signature=" + signature;
}

std::string amz_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
  return buf;
}

}  // namespace josi::ship
