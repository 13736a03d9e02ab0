// One HTTP POST over libcurl, for the connectors: the pool of easy handles that keeps
// connections for reuse, and what an attempt came to, before a connector says what it means.
#ifndef TAKT_ENGINE_CONNECT_HTTP_H_
#define TAKT_ENGINE_CONNECT_HTTP_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/connect/connector.h"

namespace takt::connect {

struct HttpAnswer {
  bool sent = false;        // an HTTP answer came back (else `transport_error` says why not)
  bool retryable = false;   // with !sent: a failure that may pass (refused, timeout, reset)
  std::string transport_error;
  long status = 0;
  std::string body;         // its first 64 KiB
  std::string retry_after;  // the Retry-After header, if any
};

// What an HTTP answer means for a delivery: 2xx delivered; 408, 425, 429, 500, 502, 503 and 504
// retryable (Retry-After, in seconds, honoured); any other status final.
Attempt ClassifyHttp(long status, std::string_view body, std::string_view retry_after,
                     std::string_view connector);
// As ClassifyHttp() for an answer that came; for one that did not, retryable or final as the
// transport failure is, in curl's words.
Attempt Classify(const HttpAnswer& answer, std::string_view connector);
// `text` for an error message: its first 300 bytes, control characters as spaces.
std::string OneLine(std::string_view text);

class HttpClient {
 public:
  // `tls`: for https:// urls, the authority the server's certificate must chain to (the
  // system's when empty), and a client certificate and key when given.
  explicit HttpClient(TlsClient tls = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` to `url` with `headers` ("Name: value"); thread-safe.
  HttpAnswer Post(const std::string& url, const std::vector<std::string>& headers,
                  std::string_view body, int64_t timeout_ms);

 private:
  void* Take();
  void Give(void* handle);
  TlsClient tls_;
  std::mutex mu_;
  std::vector<void*> pool_;  // CURL* easy handles, guarded by mu_
};

}  // namespace takt::connect

#endif  // TAKT_ENGINE_CONNECT_HTTP_H_
