#pragma once
// HTTP(S) and file:// transfers on libcurl. One HttpClient per thread keeps
// its connection alive between requests. A failure to get any response
// (refused, reset, timed out, cut short) is a TransientError; every HTTP
// status comes back to the caller, who knows what a 404 means for it.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "ship/sigv4.hpp"

namespace josi::ship {

struct HttpOptions {
  int connect_timeout_s = 15;
  int stall_timeout_s = 60;  // give up on a transfer that moves under 1 KiB/s this long
};

struct HttpResponse {
  long status = 0;                             // 0 for file:// transfers
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // unless a sink took it (error bodies are kept, capped)
  uint64_t sink_bytes = 0;                     // bytes handed to the sink

  std::string header(const std::string& lower_name) const;
  bool ok() const { return status == 0 || (status >= 200 && status < 300); }
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string_view body;        // sent with PUT and POST
  uint64_t resume_from = 0;     // > 0: only the bytes from here on (Range for http, an offset for file)
  bool follow_redirects = false;
  // A successful response's body goes here chunk by chunk instead of into
  // HttpResponse::body; the response passed in has the status and headers.
  // An exception thrown here aborts the transfer and reaches the caller.
  std::function<void(const HttpResponse&, std::string_view)> sink;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse send(const HttpRequest& request);

 private:
  void* curl_;
  HttpOptions options_;
};

// "503 Service Unavailable"-style text for messages.
std::string status_text(long status);
// True for statuses worth retrying: 5xx, 429, 408.
bool is_transient_status(long status);
// Seconds from a Retry-After header (0 when absent or a date).
double retry_after_s(const HttpResponse& response);

}  // namespace josi::ship
