#pragma once
// URLs as Josi's transfers use them: http, https and file. Parsing is only as
// deep as needed to sign S3 requests and to check user input early; the
// transfer itself hands the URL to libcurl.
#include <string>
#include <string_view>

namespace josi::ship {

struct Url {
  std::string scheme;  // "http", "https" or "file" (lower case)
  std::string host;    // empty for file URLs; IPv6 literals keep their brackets
  int port = 0;        // 0: the scheme's default
  std::string path;    // as given (percent-encoded), starting with '/'; "/" when empty

  // "host" or "host:port" when the port is not the scheme's default: the Host header.
  std::string authority() const;
  std::string origin() const;  // "scheme://authority"
  std::string str() const;     // origin() + path
};

// Throws josi::Error (usage) naming `what` (e.g. "--s3-endpoint") when `text`
// is not an http(s) or file URL. A bare host ("fsn1.example.com") is taken
// as https when `default_https` is set.
Url parse_url(std::string_view text, const std::string& what, bool default_https = false);

// RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9
// - _ . ~ is encoded; '/' too unless `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);

// `base` + "/" + the encoded `name`, whatever slashes `base` ends with.
std::string join_url(std::string_view base, std::string_view name);

// True for a host that is an IP literal or "localhost": S3 stores there are
// addressed by path, since a bucket cannot be a subdomain of an address.
bool is_address_host(std::string_view host);

}  // namespace josi::ship
