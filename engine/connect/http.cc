#include "engine/connect/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <utility>

namespace takt::connect {
namespace {

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t KeepBody(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  constexpr size_t kKept = 64 * 1024;
  const size_t n = size * count;
  if (body->size() < kKept) body->append(data, std::min(n, kKept - body->size()));
  return n;
}

size_t KeepRetryAfter(char* data, size_t size, size_t count, void* out) {
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() <= kName.size()) return n;
  std::string lower(line.substr(0, kName.size()));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower != kName) return n;
  std::string_view value = line.substr(kName.size());
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  static_cast<std::string*>(out)->assign(value);
  return n;
}

bool Retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;  // a malformed URL, an unsupported protocol, a certificate refused
  }
}

}  // namespace

HttpClient::HttpClient(TlsClient tls) : tls_(std::move(tls)) { InitCurlOnce(); }

HttpClient::~HttpClient() {
  for (void* handle : pool_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpClient::Take() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!pool_.empty()) {
      void* handle = pool_.back();
      pool_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpClient::Give(void* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  pool_.push_back(handle);
}

HttpAnswer HttpClient::Post(const std::string& url, const std::vector<std::string>& headers,
                            std::string_view body, int64_t timeout_ms) {
  CURL* handle = static_cast<CURL*>(Take());
  HttpAnswer answer;
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_reset(handle);  // keeps the connections, forgets the last request's options
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM, in threads
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, KeepBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, KeepRetryAfter);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &answer.retry_after);
  if (!tls_.ca.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, tls_.ca.c_str());
  if (!tls_.cert.empty()) {
    curl_easy_setopt(handle, CURLOPT_SSLCERT, tls_.cert.c_str());
    curl_easy_setopt(handle, CURLOPT_SSLKEY, tls_.key.c_str());
  }
  const CURLcode code = curl_easy_perform(handle);
  curl_slist_free_all(list);
  if (code == CURLE_OK) {
    answer.sent = true;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &answer.status);
  } else {
    // curl's own words; the URL is left out, since it may carry a password.
    answer.transport_error = curl_easy_strerror(code);
    answer.retryable = Retryable(code);
  }
  Give(handle);
  return answer;
}

Attempt ClassifyHttp(long status, std::string_view body, std::string_view retry_after,
                     std::string_view connector) {
  Attempt a;
  if (status >= 200 && status < 300) return a;
  const std::string said = OneLine(body);
  a.error = std::string(connector) + ": HTTP " + std::to_string(status) +
            (said.empty() ? "" : ": " + said);
  const bool retryable = status == 408 || status == 425 || status == 429 || status == 500 ||
                         status == 502 || status == 503 || status == 504;
  a.kind = retryable ? Attempt::Kind::kRetryable : Attempt::Kind::kFinal;
  if (retryable && !retry_after.empty()) {
    char* end = nullptr;
    const std::string value(retry_after);
    const long long seconds = std::strtoll(value.c_str(), &end, 10);
    // An HTTP date instead of seconds is not honoured: the backoff decides then.
    if (end != value.c_str() && *end == '\0' && seconds > 0 && seconds < 24 * 3600) {
      a.retry_after_ms = seconds * 1000;
    }
  }
  return a;
}

Attempt Classify(const HttpAnswer& answer, std::string_view connector) {
  if (answer.sent) return ClassifyHttp(answer.status, answer.body, answer.retry_after, connector);
  Attempt a;
  a.kind = answer.retryable ? Attempt::Kind::kRetryable : Attempt::Kind::kFinal;
  a.error = std::string(connector) + ": " + answer.transport_error;
  return a;
}

std::string OneLine(std::string_view text) {
  std::string line(text.substr(0, 300));
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return line;
}

}  // namespace takt::connect
