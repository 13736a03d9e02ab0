// Webhook delivery over libcurl. Each worker takes an easy handle from a pool and gives it
// back, so connections to the receiver are reused across commands (keep-alive) without two
// threads sharing a handle.
#include "engine/connect/webhook.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace takt::connect {
namespace {

// libcurl's global state, set up once per process before the first handle.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t KeepBody(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  constexpr size_t kKept = 4096;  // enough for an error message; the rest is not needed
  const size_t n = size * count;
  if (body->size() < kKept) body->append(data, std::min(n, kKept - body->size()));
  return n;
}

size_t KeepRetryAfter(char* data, size_t size, size_t count, void* out) {
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      static_cast<std::string*>(out)->assign(value);
    }
  }
  return n;
}

bool RetryableCurlError(CURLcode code) {
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

class WebhookConnector final : public Connector {
 public:
  explicit WebhookConnector(ConnectorOptions options) : Connector(std::move(options)) {
    InitCurlOnce();
  }
  ~WebhookConnector() override {
    for (CURL* handle : pool_) curl_easy_cleanup(handle);
  }

  Attempt Deliver(const Command& command) override {
    CURL* handle = Take();
    Attempt attempt = Post(handle, command);
    Give(handle);
    return attempt;
  }

 private:
  CURL* Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!pool_.empty()) {
        CURL* handle = pool_.back();
        pool_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* handle) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.push_back(handle);
  }

  Attempt Post(CURL* handle, const Command& command) {
    const ConnectorOptions& o = options();
    const std::string body = WebhookBody(command);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::string response, retry_after;
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, ("Idempotency-Key: " + command.id).c_str());
    headers = curl_slist_append(headers, ("X-Takt-Command: " + command.name).c_str());
    headers = curl_slist_append(
        headers, ("X-Takt-Signature: " + WebhookSignature(o.secret, now, body)).c_str());
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    curl_easy_reset(handle);  // keeps the connections, forgets the last request's options
    curl_easy_setopt(handle, CURLOPT_URL, o.url.c_str());
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.timeout_ms));
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM, in threads
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, KeepBody);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, KeepRetryAfter);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &retry_after);
    const CURLcode code = curl_easy_perform(handle);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) {
      // curl's own words name the failure; the URL is left out, since it may carry a password.
      Attempt a;
      a.kind = RetryableCurlError(code) ? Attempt::Kind::kRetryable : Attempt::Kind::kFinal;
      a.error = o.name + ": " + curl_easy_strerror(code);
      return a;
    }
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    return ClassifyHttp(status, response, retry_after, o.name);
  }

  std::mutex mu_;
  std::vector<CURL*> pool_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<Connector> MakeWebhookConnector(const ConnectorOptions& options) {
  return std::make_unique<WebhookConnector>(options);
}

std::string WebhookBody(const Command& command) {
  // The payload is JSON text already: it goes in as it is, so the receiver sees the bytes the
  // outbox holds. The other fields are strings, escaped by nlohmann.
  std::string body = "{\"id\":" + nlohmann::json(command.id).dump() +
                     ",\"name\":" + nlohmann::json(command.name).dump() +
                     ",\"caused_by\":" + nlohmann::json(command.caused_by).dump() +
                     ",\"emitted_by\":" + nlohmann::json(command.emitted_by).dump() +
                     ",\"data\":" + (command.payload_json.empty() ? "{}" : command.payload_json) +
                     "}";
  return body;
}

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds,
                             std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_text = t + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &length);
  static const char* const kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[mac[i] >> 4];
    hex += kHex[mac[i] & 15];
  }
  return "t=" + t + ",v1=" + hex;
}

Attempt ClassifyHttp(long status, std::string_view body, std::string_view retry_after,
                     std::string_view connector) {
  Attempt a;
  if (status >= 200 && status < 300) return a;
  std::string said(body.substr(0, 300));
  for (char& c : said) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
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

}  // namespace takt::connect
