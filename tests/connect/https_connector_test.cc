// The webhook connector over HTTPS to a receiver on loopback (cpp-httplib's SSL server) whose
// certificate comes from an authority of the test's own (openssl): delivered when the connector
// is given that authority (tls_ca), refused with the reason when given another; and a receiver
// that takes only clients with a certificate gets the connector's (tls_cert, tls_key).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "engine/connect/webhook.h"
#include "support/test_certificates.h"
#include "support/test_support.h"
#include "takt/dispatch.h"

namespace takt {
namespace {

// An HTTPS receiver that counts the commands it was given. With `client_ca`, it takes only
// clients whose certificate that authority signed.
class HttpsReceiver {
 public:
  HttpsReceiver(const test::TestCertificates& certificates, const char* client_ca)
      : server_(certificates.server_cert.c_str(), certificates.server_key.c_str(), client_ca) {
    server_.Post("/hook", [this](const httplib::Request&, httplib::Response& res) {
      ++received_;
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (port_ > 0 && !server_.is_running()) std::this_thread::yield();
  }
  ~HttpsReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  int received() const { return received_; }

 private:
  httplib::SSLServer server_;
  int port_ = -1;
  std::thread thread_;
  std::atomic<int> received_{0};
};

class HttpsConnectorTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!test::OpensslInstalled()) {
      GTEST_SKIP() << test::kOpensslMissing;
    }
    certificates_ = test::MakeTestCertificates(scratch_.dir);
    ASSERT_TRUE(certificates_.error.empty()) << certificates_.error;
  }

  // One command through a webhook connector to `url` with `tls`.
  connect::Attempt Deliver(const std::string& url, const TlsClient& tls) {
    ConnectorOptions o;
    o.name = "plant-hook";
    o.kind = "webhook";
    o.url = url;
    o.secret = "hook-secret";
    o.timeout_ms = 5000;
    o.tls = tls;
    std::unique_ptr<connect::Connector> connector = connect::MakeWebhookConnector(o);
    Command c;
    c.id = "e1/rule:r/0";
    c.name = "alert.raised";
    c.payload_json = "{\"asset\":\"A01\"}";
    return connector->Deliver(c);
  }

  test::ScratchDir scratch_{"https-connector"};
  test::TestCertificates certificates_;
};

TEST_F(HttpsConnectorTest, AReceiverWhoseAuthorityTheConnectorWasGivenGetsTheCommand) {
  HttpsReceiver receiver(certificates_, nullptr);
  TlsClient tls;
  tls.ca = certificates_.ca;
  const connect::Attempt a = Deliver(receiver.url(), tls);
  EXPECT_EQ(a.kind, connect::Attempt::Kind::kDelivered) << a.error;
  EXPECT_EQ(receiver.received(), 1);
}

TEST_F(HttpsConnectorTest, AReceiverCertificateFromAnotherAuthorityIsRefusedWithTheReason) {
  HttpsReceiver receiver(certificates_, nullptr);
  TlsClient tls;
  tls.ca = certificates_.other_ca;
  const connect::Attempt a = Deliver(receiver.url(), tls);
  EXPECT_NE(a.kind, connect::Attempt::Kind::kDelivered);
  EXPECT_NE(a.error.find("plant-hook: "), std::string::npos) << a.error;
  EXPECT_NE(a.error.find("certificate"), std::string::npos) << a.error;
  EXPECT_EQ(a.error.find("hook-secret"), std::string::npos);
  EXPECT_EQ(receiver.received(), 0);
}

TEST_F(HttpsConnectorTest, AReceiverThatAsksForAClientCertificateGetsTheConnectorsOne) {
  HttpsReceiver receiver(certificates_, certificates_.ca.c_str());
  TlsClient tls;
  tls.ca = certificates_.ca;
  EXPECT_NE(Deliver(receiver.url(), tls).kind, connect::Attempt::Kind::kDelivered)
      << "without a client certificate";
  tls.cert = certificates_.client_cert;
  tls.key = certificates_.client_key;
  const connect::Attempt a = Deliver(receiver.url(), tls);
  EXPECT_EQ(a.kind, connect::Attempt::Kind::kDelivered) << a.error;
  EXPECT_EQ(receiver.received(), 1);
}

}  // namespace
}  // namespace takt
