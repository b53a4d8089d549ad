#include "ship/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "ship/retry.hpp"

namespace josi::ship {

namespace {

constexpr size_t kKeptBodyBytes = 1 << 20;

struct Transfer {
  CURL* curl;
  const HttpRequest* request;
  HttpResponse response;
  std::string_view upload;
  std::exception_ptr sink_error;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after a redirect or 100 Continue)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->response.headers[base::to_lower_ascii(base::trim(line.substr(0, colon)))] =
        std::string(base::trim(line.substr(colon + 1)));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * count);
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->response.status);
  if (t->request->sink && t->response.ok()) {
    try {
      t->request->sink(t->response, chunk);
      t->response.sink_bytes += chunk.size();
    } catch (...) {
      t->sink_error = std::current_exception();
      return 0;  // aborts the transfer
    }
  } else if (t->response.body.size() < kKeptBodyBytes) {
    t->response.body.append(chunk.substr(0, kKeptBodyBytes - t->response.body.size()));
  }
  return chunk.size();
}

size_t on_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = std::min(size * count, t->upload.size());
  std::memcpy(buffer, t->upload.data(), n);
  t->upload.remove_prefix(n);
  return n;
}

// Failures no retry will fix: a wrong host name, a bad certificate, a URL
// libcurl cannot use, a file that is not there.
bool is_permanent(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_FILE_COULDNT_READ_FILE:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
      return true;
    default:
      return false;
  }
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("http: libcurl could not be initialised");
  });
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient(HttpOptions options) : options_(options) {
  init_curl_once();
  curl_ = curl_easy_init();
  if (!curl_) throw Error("http: libcurl could not create a transfer handle");
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpResponse HttpClient::send(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the open connection for the next request
  Transfer t{curl, &request, {}, request.body, nullptr};
  char error[CURL_ERROR_SIZE] = "";
  bool file = request.url.rfind("file:", 0) == 0;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "josi/0.1");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout_s));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout_s));
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 1L << 20);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);

  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) headers = curl_slist_append(headers, (name + ": " + value).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip before each part
  if (request.resume_from > 0) {
    if (file) {
      curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(request.resume_from));
    } else {
      headers = curl_slist_append(headers, ("Range: bytes=" + std::to_string(request.resume_from) + "-").c_str());
    }
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (t.sink_error) std::rethrow_exception(t.sink_error);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
  if (code != CURLE_OK) {
    std::string message = request.method + " " + request.url + ": " + (error[0] ? error : curl_easy_strerror(code));
    if (is_permanent(code)) throw Error(message);
    throw TransientError(message);
  }
  return std::move(t.response);
}

std::string status_text(long status) {
  const char* text = "";
  switch (status) {
    case 400: text = " Bad Request"; break;
    case 401: text = " Unauthorized"; break;
    case 403: text = " Forbidden"; break;
    case 404: text = " Not Found"; break;
    case 408: text = " Request Timeout"; break;
    case 409: text = " Conflict"; break;
    case 411: text = " Length Required"; break;
    case 412: text = " Precondition Failed"; break;
    case 416: text = " Range Not Satisfiable"; break;
    case 429: text = " Too Many Requests"; break;
    case 500: text = " Internal Server Error"; break;
    case 501: text = " Not Implemented"; break;
    case 502: text = " Bad Gateway"; break;
    case 503: text = " Service Unavailable"; break;
    case 504: text = " Gateway Timeout"; break;
    default: break;
  }
  return "HTTP " + std::to_string(status) + text;
}

bool is_transient_status(long status) {
  return (status >= 500 && status != 501 && status != 505) || status == 429 || status == 408;
}

double retry_after_s(const HttpResponse& response) {
  std::string value = response.header("retry-after");
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::atof(value.c_str());
}

}  // namespace josi::ship
