#pragma once
// AWS Signature Version 4 for S3 (header-based authentication): the
// canonical request, the string to sign, the derived signing key and the
// Authorization header value. Pure functions of their inputs, so the
// published AWS examples pin them down in tests.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace josi::ship {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key;
  std::string secret_key;  // never printed, logged or put in an error message
};

struct SigningInput {
  std::string method;          // "GET", "PUT", ...
  std::string path;            // URI-encoded once, as sent ("/bucket/a%24b")
  HeaderList query;            // raw (not encoded) names and values
  HeaderList headers;          // every header to sign, host and x-amz-date included
  std::string payload_hash;    // hex SHA-256 of the body (also sent as x-amz-content-sha256)
};

inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// "name=value&..." sorted by encoded name, both encoded; "uploads" -> "uploads=".
// The same string serves as the URL's query, so what is signed is what is sent.
std::string canonical_query(const HeaderList& query);
std::string canonical_request(const SigningInput& input);
// "YYYYMMDD/region/s3/aws4_request"
std::string credential_scope(std::string_view amz_date, std::string_view region);
std::string string_to_sign(std::string_view canonical_request, std::string_view amz_date, std::string_view region);
// The Authorization header value for `input` signed at `amz_date` ("20130524T000000Z").
std::string authorization(const SigningInput& input, const Credentials& credentials, std::string_view region,
                          std::string_view amz_date);
// The current UTC time as "YYYYMMDDTHHMMSSZ".
std::string amz_date_now();

}  // namespace josi::ship
