// Certificates for the TLS tests (MQTT brokers, HTTPS receivers), made with the openssl
// command in a test's scratch folder.
#ifndef TAKT_TESTS_SUPPORT_TEST_CERTIFICATES_H_
#define TAKT_TESTS_SUPPORT_TEST_CERTIFICATES_H_

#include <string>

namespace takt::test {

// In `dir`: an authority (ca.pem), a server's certificate for 127.0.0.1 only (server.pem,
// server.key), a client's (client.pem, client.key), and an unrelated authority (other_ca.pem).
// Empty paths when openssl failed (`error` says why).
struct TestCertificates {
  std::string ca, server_cert, server_key, client_cert, client_key, other_ca;
  std::string error;
};
TestCertificates MakeTestCertificates(const std::string& dir);

// Whether the openssl command is there to make them (scripts/bootstrap.sh installs it), and
// what a test skipped without it says.
bool OpensslInstalled();
constexpr const char* kOpensslMissing =
    "the openssl command is not installed (apt-get install openssl, as scripts/bootstrap.sh "
    "does); it makes the test's certificates";

}  // namespace takt::test

#endif  // TAKT_TESTS_SUPPORT_TEST_CERTIFICATES_H_
