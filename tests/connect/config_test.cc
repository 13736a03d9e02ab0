// The configuration file: what it sets, and an error naming file, line, column and key for
// every key that is unknown, of the wrong type or out of range. Secrets come from the
// environment and never appear in an error.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "engine/config/toml_guard.h"
#include "support/test_support.h"
#include "takt/config.h"

namespace takt {
namespace {

class ConfigTest : public testing::Test {
 protected:
  Result<Config> Load(const std::string& text) {
    path_ = scratch_.dir + "/takt.toml";
    test::WriteFile(path_, text);
    return LoadConfig(path_, [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    });
  }
  // The error's text after the file name.
  std::string ErrorOf(const std::string& text) {
    Result<Config> c = Load(text);
    EXPECT_FALSE(c.ok());
    if (c.ok()) return "";
    EXPECT_EQ(c.status().code(), Code::kParseError) << c.status().message();
    const std::string& m = c.status().message();
    EXPECT_EQ(m.rfind(path_ + ":", 0), 0u) << m;
    return m.substr(path_.size() + 1);
  }

  test::ScratchDir scratch_{"config"};
  std::string path_;
  std::map<std::string, std::string> env_{{"HOOK_SECRET", "hunter2-not-in-errors"}};
};

constexpr const char* kConnector = R"(
[[connector]]
name = "hook"
kind = "webhook"
commands = ["odoo.*", "alert.raised"]
url = "https://erp.example/takt"
secret_env = "HOOK_SECRET"
)";

TEST_F(ConfigTest, TheShippedExampleReadsAsItSays) {
  env_["TAKT_WEBHOOK_SECRET"] = "from-the-environment";
  env_["TAKT_ODOO_PASSWORD"] = "odoo-password";
  Result<Config> c = LoadConfig(std::string(TAKT_SOURCE_DIR) + "/examples/dispatch/takt.toml",
                                [&](const std::string& name) -> std::optional<std::string> {
                                  if (env_.count(name) == 0) return std::nullopt;
                                  return env_[name];
                                });
  ASSERT_TRUE(c.ok()) << c.status().message();
  const std::string dir = std::string(TAKT_SOURCE_DIR) + "/examples/dispatch/";
  EXPECT_EQ(c.value().engine.workflow_paths,
            std::vector<std::string>{std::string(TAKT_SOURCE_DIR) + "/workflows"});
  EXPECT_EQ(c.value().engine.store_path, dir + "takt.db");
  EXPECT_EQ(c.value().engine.durability, Durability::kFull);
  ASSERT_EQ(c.value().dispatch.connectors.size(), 2u);
  const ConnectorOptions& odoo = c.value().dispatch.connectors[0];
  EXPECT_EQ(odoo.kind, "odoo");
  EXPECT_EQ(odoo.protocol, "jsonrpc");
  EXPECT_EQ(odoo.database, "plant");
  EXPECT_EQ(odoo.login, "takt");
  EXPECT_EQ(odoo.secret, "odoo-password");
  EXPECT_EQ(odoo.equipment_field, "name");
  EXPECT_EQ(odoo.order_field, "origin");
  EXPECT_EQ(odoo.commands, std::vector<std::string>{"odoo.*"});
  const ConnectorOptions& hook = c.value().dispatch.connectors[1];
  EXPECT_EQ(hook.secret, "from-the-environment");
  EXPECT_EQ(hook.commands, std::vector<std::string>{"alert.*"});
  EXPECT_EQ(hook.retry.initial_backoff_ms, 1000);
  EXPECT_EQ(hook.retry.max_backoff_ms, 100000);
  EXPECT_EQ(hook.retry.max_attempts, 10u);
  EXPECT_EQ(hook.retry.max_age_ms, 86400000);
  EXPECT_EQ(c.value().dispatch.max_in_flight, 8u);
}

TEST_F(ConfigTest, ValuesAndDefaults) {
  Result<Config> c = Load(std::string("[engine]\nworkflows = \"wf\"\n"
                                      "database = \"/var/lib/takt/t.db\"\n"
                                      "durability = \"normal\"\nmax_instances_in_memory = 5000\n") +
                          kConnector + "timeout_ms = 2500\n[connector.retry]\nmax_attempts = 3\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().engine.workflow_paths, std::vector<std::string>{scratch_.dir + "/wf"});
  EXPECT_EQ(c.value().engine.store_path, "/var/lib/takt/t.db");
  EXPECT_EQ(c.value().engine.durability, Durability::kNormal);
  EXPECT_EQ(c.value().engine.max_instances_in_memory, 5000u);
  const ConnectorOptions& hook = c.value().dispatch.connectors.at(0);
  EXPECT_EQ(hook.timeout_ms, 2500);
  EXPECT_EQ(hook.retry.max_attempts, 3u);
  EXPECT_EQ(hook.retry.initial_backoff_ms, 1000) << "the documented default";
}

// An embedding service that opens its engine itself configures delivery only.
TEST_F(ConfigTest, AFileWithoutAnEngineConfiguresDeliveryOnly) {
  Result<Config> c = Load(kConnector);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c.value().engine.store_path.empty());
  EXPECT_EQ(c.value().dispatch.connectors.at(0).url, "https://erp.example/takt");
  test::CommandResult dispatch = test::RunCommand("HOOK_SECRET=x " + test::Takt() +
                                                  " dispatch --until-idle --config " + path_);
  EXPECT_EQ(dispatch.exit_code, 2);
  EXPECT_NE(dispatch.err.find("[engine] database is required"), std::string::npos)
      << dispatch.err;
}

TEST_F(ConfigTest, EveryMistakeIsNamedWithItsLineAndKey) {
  const std::string engine = "[engine]\nworkflows = [\"wf\"]\n";
  EXPECT_EQ(ErrorOf(engine + "databse = \"t.db\"\n"),
            "3:1: [engine] has no key 'databse' (it has: database, durability, "
            "max_instances_in_memory, monotonic, rule_max_instructions, rule_max_memory_bytes, "
            "rule_timeout_ms, rules, stdlib, watch_rules, workflows)");
  EXPECT_EQ(ErrorOf(engine + "durability = \"sometimes\"\n"),
            "3:14: [engine] durability: 'sometimes' is neither full nor normal");
  EXPECT_EQ(ErrorOf(engine + "max_instances_in_memory = \"many\"\n"),
            "3:27: [engine] max_instances_in_memory: expected an integer");
  EXPECT_EQ(ErrorOf("[engine]\nrules = \"r\"\n"),
            "1:1: [engine] workflows: required, the .takt files or directories to load");
  EXPECT_EQ(ErrorOf(engine + "[dispatch]\nmax_in_flight = 0\n"),
            "4:17: [dispatch] max_in_flight: 0 is below 1");
  EXPECT_EQ(ErrorOf(engine + kConnector + "retries = 3\n"),
            "10:1: [[connector]] has no key 'retries' (it has: backorder, client_id, commands, "
            "database, equipment_field, kind, login, name, order_field, protocol, retry, "
            "secret_env, timeout_ms, tls_ca, tls_cert, tls_key, topic, url)");
  EXPECT_EQ(ErrorOf(engine + kConnector + "[connector.retry]\nmax_backoff_ms = 10\n"),
            "11:18: [connector.retry] of hook max_backoff_ms: below initial_backoff_ms");
  EXPECT_EQ(ErrorOf(engine + kConnector + kConnector),
            "11:1: connector hook is configured twice");
  EXPECT_NE(ErrorOf(engine + "[engine.extra]\n").find("[engine] has no key 'extra'"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("[engine\nworkflows = 1\n").substr(0, 2), "1:");  // TOML itself
}

// Non-ASCII text in strings and comments is read; where TOML allows only spaces and tabs, and
// after a backslash in a basic string (or a line-ending one's whitespace), the TOML reader
// (toml++ 3.3) would reach undefined behaviour, so such a character is refused first, at its
// line and column.
TEST_F(ConfigTest, NonAsciiIsReadInStringsAndCommentsAndRefusedWhereTomlCannotReadIt) {
  const std::string engine = "[engine]\nworkflows = [\"wf\"]\n";
  Result<Config> read = Load(engine + "# Prüfstand 3\ndatabase = \"Prüfstand.db\"\n" + kConnector +
                             "url = \"\"\"https://erp.example/\\\n  takt\"\"\"\n");
  ASSERT_FALSE(read.ok());  // url twice: the file was read past its non-ASCII text
  EXPECT_NE(read.status().message().find("url"), std::string::npos) << read.status().message();
  EXPECT_EQ(ErrorOf(engine + "database = \"t.db\"\xC2\xA7\n"),
            "3:18: a non-ASCII character outside a string or a comment");
  EXPECT_EQ(ErrorOf(engine + "x = \"\"\"a\\\n   \xC2\xA7\"\"\"\n").substr(0, 6), "4:4: a");
  EXPECT_EQ(ErrorOf(engine + "x = \"\"\"\\\xC2\xA7\"\"\"\n"),
            "3:9: a non-ASCII character after a backslash, which the TOML reader cannot handle: "
            "escape it (\\uXXXX), or after a line-ending backslash put it on the backslash's "
            "line");
  EXPECT_EQ(ErrorOf(engine + "# caf\xC3\n"), "3:6: bytes that are not UTF-8");
  // A quote opens a string only where a key or a value starts: elsewhere toml++ reads on through
  // it as part of a malformed value, and what follows is outside a string.
  EXPECT_EQ(ErrorOf(engine + "x = 2\"\xEF\xBB\xB7\"\n"),
            "3:7: a non-ASCII character outside a string or a comment");
}

TEST(TomlGuardTest, NonAsciiStringsAreReadWhereverTomlOpensThem) {
  for (const char* valid : {
           "\"Pr\xC3\xBC" "f\" = 1\n",                          // a quoted key
           "[a.\"Pr\xC3\xBC" "f\"]\n[[b . 'Pr\xC3\xBC" "f']]\n",     // in table headers
           "a.\"\xC3\xBC\".b = '\xC3\xBC'\n",                   // a dotted key
           "a = [\"\xC3\xBC\", # \xC3\xBC\n  '\xC3\xBC',\n  [\"\xC3\xBC\"]]\n",  // arrays
           "a = { \"\xC3\xBC\" = \"\xC3\xBC\", b = { c = '\xC3\xBC' } }\n",  // inline tables
           "a = \"\"\"\xC3\xBC\"\"\"\nb = '''\n\xC3\xBC'''\n",           // multi-line strings
       }) {
    EXPECT_EQ(config::FindCharacterTomlCannotRead(valid), "") << valid;
  }
  for (const char* broken : {
           "a = 2\"\xC3\xBC\"\n", "a = true'\xC3\xBC'\n", "a = \"x\"\"\xC3\xBC\"\n",
           "a\"\xC3\xBC\" = 1\n", "a = 1.\"\xC3\xBC\"\n", "a = [1 2\"\xC3\xBC\"]\n",
           "a = 1979-05-27 07:32:00\"\xC3\xBC\"\n", "a = 2=\"\xC3\xBC\"\n",
       }) {
    EXPECT_NE(config::FindCharacterTomlCannotRead(broken).find("outside a string"),
              std::string::npos)
        << broken;
  }
}

TEST_F(ConfigTest, TheShippedServeExampleReadsAsItSays) {
  env_["TAKT_WEBHOOK_SECRET"] = "from-the-environment";
  Result<Config> c = LoadConfig(std::string(TAKT_SOURCE_DIR) + "/examples/serve/takt.toml",
                                [&](const std::string& name) -> std::optional<std::string> {
                                  if (env_.count(name) == 0) return std::nullopt;
                                  return env_[name];
                                });
  ASSERT_TRUE(c.ok()) << c.status().message();
  const ServeOptions& s = c.value().serve;
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.clock_interval_ms, 1000);
  ASSERT_EQ(s.credentials.size(), 5u);
  std::vector<std::string> sources;
  for (const Credential& cred : s.credentials) sources.push_back(cred.source);
  EXPECT_EQ(sources, (std::vector<std::string>{"odoo", "mes", "qms", "scada", ""}));
  EXPECT_TRUE(s.credentials[4].admin);
  EXPECT_FALSE(c.value().engine.store_path.empty());
  // Its commented MQTT sections read as well once uncommented.
  std::string text = test::ReadFile(std::string(TAKT_SOURCE_DIR) + "/examples/serve/takt.toml");
  std::string uncommented;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end - at);
    if (line.rfind("# [", 0) == 0 || line.rfind("# ", 0) == 0) {
      const std::string rest = line.substr(2);
      if (rest.rfind("[", 0) == 0 || rest.find(" = ") != std::string::npos) line = rest;
    }
    uncommented += line + "\n";
    at = end + 1;
  }
  env_["TAKT_MQTT_PASSWORD"] = "broker";
  Result<Config> all = Load(uncommented);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all.value().serve.mqtt.subscriptions.at(0).key, "topic.2");
  EXPECT_EQ(all.value().serve.tls_cert, "/etc/takt/tls/cert.pem");
  EXPECT_EQ(all.value().dispatch.connectors.at(0).kind, "mqtt");
}

TEST_F(ConfigTest, TheServerSectionsAreReadAndCheckedToo) {
  const std::string engine = "[engine]\nworkflows = [\"wf\"]\n";
  const std::string hash(64, 'a');
  env_["MQTT_PW"] = "broker-secret";
  Result<Config> c = Load(engine + "[serve]\nport = 9000\nmax_connections = 16\n"
                          "[[credential]]\nname = \"mes\"\nsource = \"mes\"\ntoken_sha256 = \"" +
                          hash + "\"\n[mqtt]\nhost = \"broker\"\npassword_env = \"MQTT_PW\"\n"
                          "[[mqtt.subscription]]\nfilter = \"plant/+/alarm\"\n"
                          "source = \"scada\"\nkey = \"topic.1\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value().serve.port, 9000);
  EXPECT_EQ(c.value().serve.max_connections, 16u);
  EXPECT_EQ(c.value().serve.credentials.at(0).source, "mes");
  EXPECT_EQ(c.value().serve.mqtt.password, "broker-secret");
  EXPECT_EQ(c.value().serve.mqtt.subscriptions.at(0).key, "topic.1");
  EXPECT_EQ(c.value().serve.mqtt.subscriptions.at(0).id, "payload.id") << "the default";
  EXPECT_EQ(ErrorOf(engine + "[[credential]]\nname = \"mes\"\nsource = \"mes\"\n"
                             "token_sha256 = \"secret-token\"\n"),
            "6:16: credential mes token_sha256: required, the SHA-256 of the token in 64 "
            "lowercase hex digits (takt serve --hash-token); never the token itself");
  EXPECT_EQ(ErrorOf(engine + "[[credential]]\nname = \"x\"\ntoken_sha256 = \"" + hash + "\"\n"),
            "3:1: credential x: neither a source to publish as nor admin: it could do nothing");
  EXPECT_EQ(ErrorOf(engine + "[serve]\ntls_cert = \"c.pem\"\n"),
            "3:1: [serve] tls_cert and tls_key: both or neither");
  EXPECT_EQ(ErrorOf(engine + "[mqtt]\nhost = \"b\"\n"),
            "3:1: [mqtt]: at least one [[mqtt.subscription]] is required");
  EXPECT_EQ(ErrorOf(engine + "[mqtt]\nhost = \"b\"\npassword_env = \"NOPE\"\n"),
            "5:16: [mqtt] password_env: the environment variable NOPE is not set");
  EXPECT_EQ(ErrorOf(engine + "[serve]\nlisten_port = 1\n").substr(0, 37),
            "4:1: [serve] has no key 'listen_port'");
}

TEST_F(ConfigTest, MqttOverTlsIsReadWithItsFilesBesideTheConfiguration) {
  const std::string engine = "[engine]\nworkflows = [\"wf\"]\n";
  test::WriteFile(scratch_.dir + "/ca.pem", "not read here\n");
  test::WriteFile(scratch_.dir + "/takt.pem", "not read here\n");
  test::WriteFile(scratch_.dir + "/takt.key", "not read here\n");
  const std::string subscription =
      "[[mqtt.subscription]]\nfilter = \"plant/#\"\nsource = \"scada\"\nkey = \"topic.1\"\n";
  Result<Config> c = Load(engine + "[mqtt]\nhost = \"broker\"\ntls = true\ntls_ca = \"ca.pem\"\n"
                          "tls_cert = \"takt.pem\"\ntls_key = \"takt.key\"\n" + subscription +
                          "[[connector]]\nname = \"mes\"\nkind = \"mqtt\"\ncommands = [\"x.*\"]\n"
                          "url = \"mqtts://broker\"\ntls_ca = \"ca.pem\"\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const MqttOptions& mqtt = c.value().serve.mqtt;
  EXPECT_TRUE(mqtt.tls.enabled);
  EXPECT_EQ(mqtt.port, 8883) << "the MQTT over TLS port unless one is given";
  EXPECT_EQ(mqtt.tls.ca, scratch_.dir + "/ca.pem") << "relative to the configuration file";
  EXPECT_EQ(mqtt.tls.cert, scratch_.dir + "/takt.pem");
  EXPECT_EQ(mqtt.tls.key, scratch_.dir + "/takt.key");
  EXPECT_EQ(c.value().dispatch.connectors.at(0).tls.ca, scratch_.dir + "/ca.pem");

  const std::string mqtt_head = engine + "[mqtt]\nhost = \"b\"\n";
  EXPECT_EQ(ErrorOf(mqtt_head + "tls_ca = \"ca.pem\"\n" + subscription),
            "5:10: [mqtt] tls_ca: only with tls = true");
  EXPECT_EQ(ErrorOf(mqtt_head + "tls = true\ntls_cert = \"takt.pem\"\n" + subscription),
            "6:12: [mqtt] tls_cert and tls_key: both or neither");
  EXPECT_EQ(ErrorOf(mqtt_head + "tls = true\ntls_ca = \"missing.pem\"\n" + subscription),
            "6:10: [mqtt] tls_ca: no file " + scratch_.dir + "/missing.pem");
  EXPECT_EQ(ErrorOf(mqtt_head + "tls = \"yes\"\n" + subscription),
            "5:7: [mqtt] tls: expected true or false");
  EXPECT_EQ(ErrorOf(engine + "[[connector]]\nname = \"mes\"\nkind = \"mqtt\"\n"
                             "url = \"mqtt://broker\"\ntls_ca = \"ca.pem\"\n"),
            "7:10: connector mes tls_ca: only for an https:// or mqtts:// url");
}

TEST_F(ConfigTest, AMissingSecretNamesTheVariableAndNoErrorCarriesASecret) {
  env_.clear();
  const std::string text = std::string("[engine]\nworkflows = [\"wf\"]\n") + kConnector;
  EXPECT_EQ(ErrorOf(text),
            "9:14: connector hook secret_env: the environment variable HOOK_SECRET is not set");
  env_["HOOK_SECRET"] = "hunter2-not-in-errors";
  Result<Config> c = Load(text + "timeout_ms = -1\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(LoadConfig(scratch_.dir + "/none.toml").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace takt
