#include "engine/connect/mqtt_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace takt::connect {
namespace {

// Packet types (MQTT 3.1.1, 2.2.1), as the high nibble of the first byte.
constexpr uint8_t kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kSubscribe = 8,
                  kSuback = 9, kPingreq = 12, kPingresp = 13, kDisconnect = 14;

void AppendU16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
void AppendString(std::string& out, std::string_view s) {
  AppendU16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}
std::string Packet(uint8_t first, const std::string& body) {
  std::string packet(1, static_cast<char>(first));
  size_t length = body.size();
  do {  // the remaining length, 7 bits a byte
    uint8_t byte = length % 128;
    length /= 128;
    if (length > 0) byte |= 0x80;
    packet += static_cast<char>(byte);
  } while (length > 0);
  return packet + body;
}
uint16_t U16(const std::string& s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) |
                               static_cast<uint8_t>(s[at + 1]));
}

const char* ConnackReason(uint8_t code) {
  switch (code) {
    case 1: return "unacceptable protocol version";
    case 2: return "client id rejected";
    case 3: return "server unavailable";
    case 4: return "bad user name or password";
    case 5: return "not authorized";
    default: return "refused";
  }
}

// OpenSSL writes to the socket with write(), which raises SIGPIPE when the broker has gone;
// the plain socket is written with MSG_NOSIGNAL. While one of these lives, SIGPIPE is blocked in
// this thread, and one that the TLS calls raised is taken before it is unblocked: the call's
// error says what happened, and the process (an embedder's too) keeps its own SIGPIPE handling.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec now{};
      sigtimedwait(&pipe_, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// OpenSSL's reason for the last failure of this thread, cleared.
std::string TlsError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// A key file is never asked a passphrase for (OpenSSL's default would read the terminal).
int NoPassphrase(char*, int, int, void*) { return 0; }

}  // namespace

bool TopicMatches(std::string_view filter, std::string_view topic) {
  for (;;) {
    const size_t f_end = filter.find('/');
    const std::string_view level = filter.substr(0, f_end);
    if (level == "#") return true;
    const size_t t_end = topic.find('/');
    const std::string_view t_level = topic.substr(0, t_end);
    if (level != "+" && level != t_level) return false;
    if (f_end == std::string_view::npos || t_end == std::string_view::npos) {
      // Both end here; or the filter goes on with "/#", which matches the parent level too.
      return f_end == t_end || (t_end == std::string_view::npos && filter.substr(f_end) == "/#");
    }
    filter.remove_prefix(f_end + 1);
    topic.remove_prefix(t_end + 1);
  }
}

int64_t MqttSession::Now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status MqttSession::Lost(const std::string& what) {
  CloseConnection(false);
  in_.clear();
  return Status::IoError("MQTT broker " + options_.host + ":" + std::to_string(options_.port) +
                         ": " + what);
}

Status MqttSession::Connect(const MqttConnectOptions& options) {
  Close();
  options_ = options;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  if (getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Lost("cannot resolve the host");
  }
  int error = 0;
  for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
    } else {
      error = errno;
      ::close(fd);
    }
  }
  freeaddrinfo(found);
  if (fd_ < 0) return Lost(std::string("cannot connect: ") + std::strerror(error));
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (options.tls) TAKT_RETURN_IF_ERROR(StartTls());

  std::string body;
  AppendString(body, "MQTT");
  body += static_cast<char>(4);  // 3.1.1
  uint8_t flags = options.clean_session ? 0x02 : 0x00;
  if (!options.username.empty()) flags |= 0x80;
  if (!options.password.empty()) flags |= 0x40;
  body += static_cast<char>(flags);
  AppendU16(body, options.keepalive_s);
  AppendString(body, options.client_id);
  if (!options.username.empty()) AppendString(body, options.username);
  if (!options.password.empty()) AppendString(body, options.password);
  const Status sent = Send(Packet(kConnect << 4, body));
  if (!sent.ok() && options.tls && sent.message().find("alert") == std::string::npos) {
    // The broker's alert can be lost when its reset comes first: say what it most likely was.
    return Status::IoError(sent.message() + " (just after the TLS handshake: a broker that "
                                            "wants a client certificate closes here; see "
                                            "tls_cert and tls_key)");
  }
  TAKT_RETURN_IF_ERROR(sent);
  const int64_t deadline = Now() + options.timeout_ms;
  for (;;) {
    bool got = false;
    uint8_t header = 0;
    std::string reply;
    TAKT_RETURN_IF_ERROR(ReadPacket(deadline - Now(), got, header, reply));
    if (!got) return Lost("no CONNACK in time");
    if (header >> 4 != kConnack || reply.size() != 2) return Lost("expected CONNACK");
    const uint8_t code = static_cast<uint8_t>(reply[1]);
    if (code != 0) return Lost(std::string("connection refused: ") + ConnackReason(code));
    return Status();
  }
}

Status MqttSession::StartTls() {
  tls_context_ = SSL_CTX_new(TLS_client_method());
  if (tls_context_ == nullptr) return Lost("TLS: " + TlsError());
  SSL_CTX_set_min_proto_version(tls_context_, TLS1_2_VERSION);
  SSL_CTX_set_verify(tls_context_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_default_passwd_cb(tls_context_, &NoPassphrase);
  const std::string& ca = options_.tls_ca;
  if ((ca.empty() ? SSL_CTX_set_default_verify_paths(tls_context_)
                  : SSL_CTX_load_verify_locations(tls_context_, ca.c_str(), nullptr)) != 1) {
    return Lost("TLS: cannot read the certificate authorities " +
                (ca.empty() ? std::string("of the system") : "in " + ca) + ": " + TlsError());
  }
  const std::string& cert = options_.tls_cert;
  const std::string& key = options_.tls_key;
  if (!cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(tls_context_, cert.c_str()) != 1) {
      return Lost("TLS: cannot read the certificate " + cert + ": " + TlsError());
    }
    const std::string mismatch = "TLS: the key " + key + " is not the certificate's (" + cert + ")";
    if (SSL_CTX_use_PrivateKey_file(tls_context_, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      const unsigned long why = ERR_peek_last_error();  // it compares the two itself
      if (ERR_GET_LIB(why) == ERR_LIB_X509 && ERR_GET_REASON(why) == X509_R_KEY_VALUES_MISMATCH) {
        ERR_clear_error();
        return Lost(mismatch);
      }
      return Lost("TLS: cannot read the key " + key + ": " + TlsError());
    }
    if (SSL_CTX_check_private_key(tls_context_) != 1) {
      ERR_clear_error();
      return Lost(mismatch);
    }
  }
  tls_ = SSL_new(tls_context_);
  if (tls_ == nullptr || SSL_set_fd(tls_, fd_) != 1) return Lost("TLS: " + TlsError());
  // A record that carries no data (a TLS 1.3 session ticket) ends SSL_read, which then says
  // "want read": ReadPacket() polls again instead of blocking in the read.
  SSL_clear_mode(tls_, SSL_MODE_AUTO_RETRY);
  // The broker's certificate must name the host as it was given: an address or a DNS name.
  X509_VERIFY_PARAM* verify = SSL_get0_param(tls_);
  in6_addr address{};
  const bool is_address = inet_pton(AF_INET, options_.host.c_str(), &address) == 1 ||
                          inet_pton(AF_INET6, options_.host.c_str(), &address) == 1;
  if (is_address) {
    X509_VERIFY_PARAM_set1_ip_asc(verify, options_.host.c_str());
  } else {
    // SSL_set_tlsext_host_name(), without the macro's C cast: the name the broker is asked as.
    SSL_ctrl(tls_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(options_.host.c_str()));
    X509_VERIFY_PARAM_set1_host(verify, options_.host.c_str(), 0);
  }
  // A broker that stops halfway through a record or the handshake holds a read or a write at
  // most this long (a plain socket is only read once poll() says there is something).
  timeval limit{};
  limit.tv_sec = static_cast<time_t>(options_.timeout_ms / 1000);
  limit.tv_usec = static_cast<suseconds_t>(options_.timeout_ms % 1000 * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  SigpipeBlocked sigpipe;
  ERR_clear_error();
  if (SSL_connect(tls_) != 1) {
    const long verified = SSL_get_verify_result(tls_);
    if (verified != X509_V_OK) {
      return Lost(std::string("TLS: the broker's certificate was not accepted: ") +
                  X509_verify_cert_error_string(verified));
    }
    return Lost("TLS: the handshake failed: " + TlsError());
  }
  return Status();
}

long MqttSession::Write(const char* data, size_t size, std::string& error) {
  error.clear();
  if (tls_ == nullptr) {
    const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n <= 0) error = errno == EINTR ? "" : std::strerror(errno);
    return n > 0 ? static_cast<long>(n) : -1;
  }
  SigpipeBlocked sigpipe;
  ERR_clear_error();
  const int n = SSL_write(tls_, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  if (n > 0) return n;
  const int why = SSL_get_error(tls_, n);
  error = why == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
              ? std::string(errno != 0 ? std::strerror(errno) : "connection closed")
              : why == SSL_ERROR_WANT_WRITE ? std::string("the broker takes nothing (timeout)")
                                            : "TLS: " + TlsError();
  return -1;
}

long MqttSession::Read(char* data, size_t size, bool& retry, std::string& error) {
  retry = false;
  error.clear();
  if (tls_ == nullptr) {
    const ssize_t n = ::recv(fd_, data, size, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) retry = true;
    if (n < 0 && !retry) error = std::strerror(errno);
    return static_cast<long>(n);
  }
  SigpipeBlocked sigpipe;
  ERR_clear_error();
  const int n = SSL_read(tls_, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  if (n > 0) return n;
  const int why = SSL_get_error(tls_, n);
  if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
    retry = true;
    return -1;
  }
  if (why == SSL_ERROR_ZERO_RETURN) return 0;  // the broker closed the TLS session
  if (why == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    if (errno == 0) return 0;
    error = std::strerror(errno);
    return -1;
  }
  error = "TLS: " + TlsError();
  return -1;
}

std::string MqttSession::TlsAlert() {
  if (tls_ == nullptr) return "";
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return "";
  char bytes[512];
  bool retry = false;
  std::string error;
  Read(bytes, sizeof bytes, retry, error);
  return error.rfind("TLS: ", 0) == 0 ? error : "";
}

bool MqttSession::Buffered() const { return tls_ != nullptr && SSL_pending(tls_) > 0; }

void MqttSession::CloseConnection(bool orderly) {
  if (tls_ != nullptr) {
    if (orderly) {  // not after a failure: OpenSSL says not to, and there is no one to tell
      SigpipeBlocked sigpipe;
      SSL_shutdown(tls_);  // the close_notify, without waiting for the broker's
    }
    SSL_free(tls_);
    tls_ = nullptr;
    ERR_clear_error();
  }
  if (tls_context_ != nullptr) {
    SSL_CTX_free(tls_context_);
    tls_context_ = nullptr;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status MqttSession::Subscribe(const std::vector<std::string>& filters, uint8_t qos) {
  std::string body;
  const uint16_t id = next_packet_id_++;
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  AppendU16(body, id);
  for (const std::string& f : filters) {
    AppendString(body, f);
    body += static_cast<char>(qos);
  }
  TAKT_RETURN_IF_ERROR(Send(Packet(kSubscribe << 4 | 0x02, body)));
  const int64_t deadline = Now() + options_.timeout_ms;
  while (Now() < deadline) {
    bool got = false;
    uint8_t header = 0;
    std::string reply;
    TAKT_RETURN_IF_ERROR(ReadPacket(deadline - Now(), got, header, reply));
    if (!got) break;
    if (header >> 4 != kSuback) {
      TAKT_RETURN_IF_ERROR(Handle(header, reply));  // a session's messages may come first
      continue;
    }
    if (reply.size() != 2 + filters.size() || U16(reply, 0) != id) return Lost("bad SUBACK");
    for (size_t i = 0; i < filters.size(); ++i) {
      if (static_cast<uint8_t>(reply[2 + i]) == 0x80) {
        return Status::IoError("the MQTT broker refused the subscription to " + filters[i] +
                               " (its access rules?)");
      }
    }
    return Status();
  }
  return Lost("no SUBACK in time");
}

Result<std::optional<MqttMessage>> MqttSession::Next(int64_t wait_ms) {
  const int64_t deadline = Now() + wait_ms;
  for (;;) {
    if (!waiting_.empty()) {
      MqttMessage m = std::move(waiting_.front());
      waiting_.erase(waiting_.begin());
      return std::optional<MqttMessage>(std::move(m));
    }
    if (fd_ < 0) return Lost("not connected");
    const int64_t keepalive_ms = int64_t{options_.keepalive_s} * 1000;
    if (keepalive_ms > 0 && Now() - last_sent_ms_ >= keepalive_ms / 2) {
      TAKT_RETURN_IF_ERROR(Send(Packet(kPingreq << 4, "")));
    }
    const int64_t left = deadline - Now();
    bool got = false;
    uint8_t header = 0;
    std::string body;
    TAKT_RETURN_IF_ERROR(ReadPacket(std::max<int64_t>(0, std::min<int64_t>(left, 1000)), got,
                                    header, body));
    if (got) {
      TAKT_RETURN_IF_ERROR(Handle(header, body));
    } else if (left <= 0) {
      return std::optional<MqttMessage>();
    }
  }
}

Status MqttSession::Handle(uint8_t header, const std::string& body) {
  switch (header >> 4) {
    case kPublish: {
      MqttMessage m;
      m.qos = (header >> 1) & 0x03;
      m.dup = (header & 0x08) != 0;
      if (body.size() < 2) return Lost("bad PUBLISH");
      const uint16_t topic_size = U16(body, 0);
      size_t at = 2 + topic_size;
      if (body.size() < at + (m.qos > 0 ? 2 : 0)) return Lost("bad PUBLISH");
      m.topic = body.substr(2, topic_size);
      if (m.qos > 0) {
        m.packet_id = U16(body, at);
        at += 2;
      }
      m.payload = body.substr(at);
      waiting_.push_back(std::move(m));
      return Status();
    }
    case kPuback:
      if (body.size() == 2 && U16(body, 0) == puback_wanted_) puback_seen_ = true;
      return Status();
    case kPingresp:
    case kSuback:
      return Status();
    default:
      return Lost("unexpected packet type " + std::to_string(header >> 4));
  }
}

Status MqttSession::Ack(uint16_t packet_id) {
  std::string body;
  AppendU16(body, packet_id);
  return Send(Packet(kPuback << 4, body));
}

Status MqttSession::Publish(std::string_view topic, std::string_view payload) {
  std::string body;
  AppendString(body, topic);
  const uint16_t id = next_packet_id_++;
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  AppendU16(body, id);
  body.append(payload);
  puback_wanted_ = id;
  puback_seen_ = false;
  TAKT_RETURN_IF_ERROR(Send(Packet(kPublish << 4 | 0x02, body)));
  const int64_t deadline = Now() + options_.timeout_ms;
  while (!puback_seen_) {
    const int64_t left = deadline - Now();
    if (left <= 0) return Lost("no PUBACK in time");
    bool got = false;
    uint8_t header = 0;
    std::string reply;
    TAKT_RETURN_IF_ERROR(ReadPacket(left, got, header, reply));
    if (got) TAKT_RETURN_IF_ERROR(Handle(header, reply));
  }
  return Status();
}

void MqttSession::Close() {
  if (fd_ < 0) return;
  const std::string bye = Packet(kDisconnect << 4, "");
  std::string ignored;
  const bool said_goodbye = (tls_ == nullptr || SSL_is_init_finished(tls_) == 1) &&
                            Write(bye.data(), bye.size(), ignored) > 0;
  CloseConnection(said_goodbye);
  in_.clear();
  waiting_.clear();
}

Status MqttSession::Send(const std::string& packet) {
  if (fd_ < 0) return Lost("not connected");
  size_t sent = 0;
  std::string error;
  while (sent < packet.size()) {
    const long n = Write(packet.data() + sent, packet.size() - sent, error);
    if (n < 0 && error.empty()) continue;  // interrupted
    if (n <= 0) {
      const std::string alert = TlsAlert();
      return Lost(alert.empty() ? "send failed: " + error : alert);
    }
    sent += static_cast<size_t>(n);
  }
  last_sent_ms_ = Now();
  return Status();
}

Status MqttSession::ReadPacket(int64_t wait_ms, bool& got, uint8_t& header, std::string& body) {
  got = false;
  const int64_t deadline = Now() + std::max<int64_t>(0, wait_ms);
  for (;;) {
    // A whole packet in the buffer?
    if (in_.size() >= 2) {
      size_t length = 0, multiplier = 1, at = 1;
      bool complete = false;
      while (at < in_.size() && at <= 4) {
        const uint8_t byte = static_cast<uint8_t>(in_[at++]);
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) == 0) {
          complete = true;
          break;
        }
      }
      if (!complete && at > 4) return Lost("bad remaining length");
      if (complete && in_.size() >= at + length) {
        header = static_cast<uint8_t>(in_[0]);
        body.assign(in_, at, length);
        in_.erase(0, at + length);
        got = true;
        return Status();
      }
    }
    if (fd_ < 0) return Lost("not connected");
    if (!Buffered()) {
      const int64_t left = deadline - Now();
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Lost(std::string("poll failed: ") + std::strerror(errno));
      if (ready == 0) return Status();  // nothing in time
    }
    char buffer[65536];
    bool retry = false;
    std::string error;
    const long n = Read(buffer, sizeof buffer, retry, error);
    if (retry) continue;
    if (n <= 0) return Lost(n == 0 ? "connection closed" : error);
    in_.append(buffer, static_cast<size_t>(n));
    // Acknowledge at once what arrived: a broker that batches small writes (Nagle) waits for
    // this ACK before it sends the next message, and a delayed one costs up to 40 ms each time.
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
  }
}

}  // namespace takt::connect
