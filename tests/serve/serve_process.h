// Real processes for the server tests: a mosquitto broker with passwords and per-client access
// rules, and takt serve itself, each started on a loopback port and stopped (or killed) by
// the test.
#ifndef TAKT_TESTS_SERVE_SERVE_PROCESS_H_
#define TAKT_TESTS_SERVE_SERVE_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "support/test_certificates.h"

namespace takt::test {

// A port nobody listens on now (bound and released), for a process that needs one up front.
uint16_t FreePort();

// mosquitto on 127.0.0.1 (no Nagle), persistent (its database in `dir`, so a restart keeps sessions and
// the messages they wait for), no anonymous clients. Users: "takt" reads plant/# and writes
// mes/#; "scada" writes plant/#; "mes" reads mes/#. Each user's password is its name + "-pw".
class Mosquitto {
 public:
  explicit Mosquitto(const std::string& dir);
  ~Mosquitto() { Stop(); }
  // Before Start(): two more listeners over TLS with the broker certificate of `certificates`,
  // one (tls_port) that asks clients for nothing more, one (mutual_tls_port) that takes only
  // clients whose certificate its authority signed.
  void EnableTls(const TestCertificates& certificates);
  // False when the mosquitto binary is not installed.
  bool Start();
  // SIGTERM: the broker saves its sessions and exits.
  void Stop();
  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }
  uint16_t mutual_tls_port() const { return mutual_tls_port_; }
  static bool Installed();
  // What a test skipped without it says.
  static constexpr const char* kMissing =
      "mosquitto is not installed (apt-get install mosquitto, as scripts/bootstrap.sh does)";

 private:
  std::string dir_;
  uint16_t port_ = 0;
  TestCertificates tls_;
  uint16_t tls_port_ = 0;
  uint16_t mutual_tls_port_ = 0;
  pid_t pid_ = -1;
};

// `takt serve --config CONFIG`, its standard error in `log`.
class TaktServe {
 public:
  TaktServe(std::string config, std::string log) : config_(std::move(config)), log_(std::move(log)) {}
  ~TaktServe() { Kill(); }
  // Starts it and waits until it listens; its HTTP port from its log. False on a timeout or
  // an early exit.
  bool Start();
  void Kill();  // SIGKILL
  int Terminate();  // SIGTERM; the exit status
  uint16_t port() const { return port_; }

 private:
  std::string config_;
  std::string log_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace takt::test

#endif  // TAKT_TESTS_SERVE_SERVE_PROCESS_H_
