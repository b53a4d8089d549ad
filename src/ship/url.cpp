#include "ship/url.hpp"

#include <arpa/inet.h>

#include <cctype>

#include "base/error.hpp"
#include "base/strings.hpp"

namespace josi::ship {

namespace {

int default_port(const std::string& scheme) { return scheme == "https" ? 443 : scheme == "http" ? 80 : 0; }

[[noreturn]] void bad(std::string_view text, const std::string& what, const std::string& why) {
  throw Error(what + ": " + base::quoted(text) + " is not a usable URL: " + why, ExitCode::usage);
}

}  // namespace

std::string Url::authority() const {
  if (port == 0 || port == default_port(scheme)) return host;
  return host + ":" + std::to_string(port);
}

std::string Url::origin() const { return scheme + "://" + authority(); }

std::string Url::str() const { return origin() + path; }

Url parse_url(std::string_view text, const std::string& what, bool default_https) {
  Url url;
  std::string_view rest = text;
  auto sep = rest.find("://");
  if (sep == std::string_view::npos) {
    if (!default_https) bad(text, what, "expected http://, https:// or file://");
    url.scheme = "https";
  } else {
    url.scheme = base::to_lower_ascii(rest.substr(0, sep));
    rest.remove_prefix(sep + 3);
  }
  if (url.scheme != "http" && url.scheme != "https" && url.scheme != "file")
    bad(text, what, "the scheme must be http, https or file");
  for (char c : text)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) bad(text, what, "it contains spaces or control characters");
  if (url.scheme == "file") {
    if (rest.empty() || rest.front() != '/') bad(text, what, "a file URL needs an absolute path (file:///dir/name)");
    url.path = std::string(rest);
    return url;
  }
  auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!url.path.empty() && url.path.front() != '/') url.path = "/" + url.path;
  if (authority.find('@') != std::string_view::npos) bad(text, what, "credentials do not belong in the URL");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) bad(text, what, "unterminated IPv6 address");
    url.host = std::string(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad(text, what, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    url.host = base::to_lower_ascii(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) bad(text, what, "no host");
  for (char c : url.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
      bad(text, what, "the host has characters a host name cannot have");
  if (!port_text.empty()) {
    int port = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || port > 65535) bad(text, what, "the port is not a number 1-65535");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) bad(text, what, "the port is not a number 1-65535");
    url.port = port;
  }
  return url;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string join_url(std::string_view base, std::string_view name) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base) + "/" + uri_encode(name, false);
}

bool is_address_host(std::string_view host) {
  if (host == "localhost" || (!host.empty() && host.front() == '[')) return true;
  unsigned char buf[sizeof(in6_addr)];
  std::string h(host);
  return inet_pton(AF_INET, h.c_str(), buf) == 1;
}

}  // namespace josi::ship
