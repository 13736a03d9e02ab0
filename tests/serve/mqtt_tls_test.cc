// MQTT over TLS against a real mosquitto broker on loopback, with certificates the test makes
// (openssl): messages both ways through a broker whose authority the client was given; a broker
// certificate from another authority, or one that does not name the host, refused with the
// reason; a broker that asks for client certificates; and takt serve taking events and sending
// commands over TLS, configured in its TOML file.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/connect/mqtt_client.h"
#include "serve/serve_process.h"
#include "serve/serve_support.h"
#include "support/test_support.h"

namespace takt {
namespace {

class MqttTlsTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!test::Mosquitto::Installed()) {
      GTEST_SKIP() << test::Mosquitto::kMissing;
    }
    if (!test::OpensslInstalled()) {
      GTEST_SKIP() << test::kOpensslMissing;
    }
    const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
    scratch_ = std::make_unique<test::ScratchDir>(std::string("mqtt-tls-") + info->name());
    dir_ = scratch_->dir;
    std::filesystem::create_directories(dir_ + "/pki");
    std::filesystem::create_directories(dir_ + "/broker");
    std::filesystem::permissions(dir_ + "/pki", std::filesystem::perms::all);
    certificates_ = test::MakeTestCertificates(dir_ + "/pki");
    ASSERT_TRUE(certificates_.error.empty()) << certificates_.error;
    broker_ = std::make_unique<test::Mosquitto>(dir_ + "/broker");
    broker_->EnableTls(certificates_);
    ASSERT_TRUE(broker_->Start()) << test::ReadFile(dir_ + "/broker/mosquitto.log");
  }

  // A client of the broker's TLS listener as `user` (password: the name and "-pw"), trusting
  // the test's authority.
  connect::MqttConnectOptions Options(uint16_t port, const std::string& user) const {
    connect::MqttConnectOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    o.client_id = "tls-" + user;
    o.username = user;
    o.password = user + "-pw";
    o.clean_session = true;
    o.timeout_ms = 5000;
    o.tls = true;
    o.tls_ca = certificates_.ca;
    return o;
  }

  std::unique_ptr<test::ScratchDir> scratch_;
  std::string dir_;
  test::TestCertificates certificates_;
  std::unique_ptr<test::Mosquitto> broker_;
};

TEST_F(MqttTlsTest, MessagesGoBothWaysThroughABrokerItsAuthorityVouchesFor) {
  connect::MqttSession subscriber;
  Status connected = subscriber.Connect(Options(broker_->tls_port(), "takt"));
  ASSERT_TRUE(connected.ok()) << connected.message();
  ASSERT_TRUE(subscriber.Subscribe({"plant/#"}, 1).ok());

  connect::MqttSession publisher;
  connected = publisher.Connect(Options(broker_->tls_port(), "scada"));
  ASSERT_TRUE(connected.ok()) << connected.message();
  // Larger than one TLS record (16 KiB): the client reads a packet across records.
  const std::string payload = "{\"id\":\"e1\",\"note\":\"" + std::string(40'000, 'x') + "\"}";
  const Status published = publisher.Publish("plant/scada/A01/event", payload);
  ASSERT_TRUE(published.ok()) << published.message();

  Result<std::optional<connect::MqttMessage>> got = subscriber.Next(5000);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got.value().has_value());
  EXPECT_EQ(got.value()->topic, "plant/scada/A01/event");
  EXPECT_EQ(got.value()->payload, payload);
  EXPECT_EQ(got.value()->qos, 1);
  EXPECT_TRUE(subscriber.Ack(got.value()->packet_id).ok());
  // Nothing else comes, and waiting for it returns in time (no read blocked inside TLS).
  const auto start = std::chrono::steady_clock::now();
  got = subscriber.Next(300);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_FALSE(got.value().has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(MqttTlsTest, ABrokerCertificateFromAnotherAuthorityIsRefusedWithTheReason) {
  connect::MqttConnectOptions o = Options(broker_->tls_port(), "takt");
  o.tls_ca = certificates_.other_ca;
  connect::MqttSession session;
  const Status connected = session.Connect(o);
  ASSERT_FALSE(connected.ok());
  // The broker sends its authority with its certificate: one that this client was not given.
  EXPECT_NE(connected.message().find("the broker's certificate was not accepted: self-signed "
                                     "certificate in certificate chain"),
            std::string::npos)
      << connected.message();
  EXPECT_FALSE(session.connected());
  EXPECT_EQ(connected.message().find("takt-pw"), std::string::npos);
}

TEST_F(MqttTlsTest, ACertificateThatDoesNotNameTheHostIsRefused) {
  // The broker's certificate names 127.0.0.1 only; "localhost" reaches the same listener.
  connect::MqttConnectOptions o = Options(broker_->tls_port(), "takt");
  o.host = "localhost";
  connect::MqttSession session;
  const Status connected = session.Connect(o);
  ASSERT_FALSE(connected.ok());
  EXPECT_NE(connected.message().find("not accepted: hostname mismatch"), std::string::npos)
      << connected.message();
}

TEST_F(MqttTlsTest, PlainMqttToATlsListenerGetsNoAnswer) {
  connect::MqttConnectOptions o = Options(broker_->tls_port(), "takt");
  o.tls = false;
  o.timeout_ms = 1000;
  connect::MqttSession session;
  EXPECT_FALSE(session.Connect(o).ok());
}

TEST_F(MqttTlsTest, ABrokerThatAsksForAClientCertificateTakesOnlyOneItsAuthoritySigned) {
  connect::MqttSession without;
  const Status refused = without.Connect(Options(broker_->mutual_tls_port(), "takt"));
  ASSERT_FALSE(refused.ok());
  // The broker's alert says it, or, when its reset overtook the alert, the client says what it
  // most likely was.
  EXPECT_TRUE(refused.message().find("alert certificate required") != std::string::npos ||
              refused.message().find("a broker that wants a client certificate closes here") !=
                  std::string::npos)
      << refused.message();

  connect::MqttConnectOptions o = Options(broker_->mutual_tls_port(), "takt");
  o.tls_cert = certificates_.client_cert;
  o.tls_key = certificates_.client_key;
  connect::MqttSession with;
  const Status connected = with.Connect(o);
  ASSERT_TRUE(connected.ok()) << connected.message();
  EXPECT_TRUE(with.Subscribe({"plant/#"}, 1).ok());
}

TEST_F(MqttTlsTest, AKeyThatIsNotTheCertificatesIsRefusedNamingBothFiles) {
  connect::MqttConnectOptions o = Options(broker_->mutual_tls_port(), "takt");
  o.tls_cert = certificates_.client_cert;
  o.tls_key = certificates_.server_key;
  connect::MqttSession session;
  const Status connected = session.Connect(o);
  ASSERT_FALSE(connected.ok());
  EXPECT_NE(connected.message().find("TLS: the key " + certificates_.server_key +
                                     " is not the certificate's (" + certificates_.client_cert +
                                     ")"),
            std::string::npos)
      << connected.message();
}

TEST_F(MqttTlsTest, TaktServeTakesEventsAndSendsCommandsOverTls) {
  const std::string port = std::to_string(broker_->tls_port());
  const std::string mqtt =
      "[mqtt]\nhost = \"127.0.0.1\"\nport = " + port + "\ntls = true\ntls_ca = \"" +
      certificates_.ca + "\"\nclient_id = \"takt-plant\"\nusername = \"takt\"\n"
      "password_env = \"TAKT_TEST_MQTT_PASSWORD\"\nreconnect_min_ms = 50\n"
      "reconnect_max_ms = 500\n\n[[mqtt.subscription]]\nfilter = \"plant/+/+/event\"\n"
      "source = \"scada\"\nkey = \"topic.2\"\n\n"
      "[[connector]]\nname = \"mes-line\"\nkind = \"mqtt\"\ncommands = [\"odoo.maintenance.*\"]\n"
      "url = \"mqtts://127.0.0.1:" + port + "\"\ntls_ca = \"" + certificates_.ca + "\"\n"
      "topic = \"mes/commands/{name}\"\nlogin = \"takt\"\nsecret_env = "
      "\"TAKT_TEST_MQTT_PASSWORD\"\n";
  setenv("TAKT_TEST_MQTT_PASSWORD", "takt-pw", 1);
  test::WriteFile(dir_ + "/takt.toml", test::ServeToml(dir_, mqtt));

  connect::MqttSession mes;
  ASSERT_TRUE(mes.Connect(Options(broker_->tls_port(), "mes")).ok());
  ASSERT_TRUE(mes.Subscribe({"mes/commands/#"}, 1).ok());
  test::TaktServe serve(dir_ + "/takt.toml", dir_ + "/serve.log");
  ASSERT_TRUE(serve.Start()) << test::ReadFile(dir_ + "/serve.log");

  // Published until takt serve has subscribed (a message before that is not kept for it).
  connect::MqttSession scada;
  ASSERT_TRUE(scada.Connect(Options(broker_->tls_port(), "scada")).ok());
  const std::string severe =
      R"({"id":"s1","type":"alarm","key":"A01","seq":1,"ts":5000,)"
      R"("data":{"asset":"A01","code":"OVERTEMP","severity":3}})";
  std::optional<connect::MqttMessage> command;
  for (int attempt = 0; attempt < 50 && !command; ++attempt) {
    ASSERT_TRUE(scada.Publish("plant/scada/A01/event", severe).ok());
    Result<std::optional<connect::MqttMessage>> got = mes.Next(200);
    ASSERT_TRUE(got.ok()) << got.status().message();
    command = got.value();
  }
  ASSERT_TRUE(command.has_value()) << test::ReadFile(dir_ + "/serve.log");
  EXPECT_EQ(command->topic, "mes/commands/odoo.maintenance.create");
  const nlohmann::json body = nlohmann::json::parse(command->payload);
  EXPECT_EQ(body["id"], "s1/rule:alarm_to_maintenance/0");
  EXPECT_EQ(serve.Terminate(), 0);
  const std::string log = test::ReadFile(dir_ + "/serve.log");
  EXPECT_NE(log.find("MQTT connected to 127.0.0.1:" + port + " over TLS"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("takt-pw"), std::string::npos) << "a secret in the log";
}

}  // namespace
}  // namespace takt
