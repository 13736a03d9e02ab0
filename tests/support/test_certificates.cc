#include "support/test_certificates.h"

#include "support/test_support.h"

namespace takt::test {

bool OpensslInstalled() { return RunCommand("command -v openssl").exit_code == 0; }

TestCertificates MakeTestCertificates(const std::string& dir) {
  TestCertificates made;
  // EC keys: made in milliseconds. Files readable by mosquitto, which drops root to its user.
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  auto run = [&](const std::string& command) {
    if (!made.error.empty()) return;
    const CommandResult r = RunCommand("cd '" + dir + "' && " + command);
    if (r.exit_code != 0) made.error = command + ": " + r.err;
  };
  auto signed_by_ca = [&](const std::string& name, const std::string& subject,
                          const std::string& extensions) {
    WriteFile(dir + "/" + name + ".ext", extensions);
    run("openssl req " + key + " -keyout " + name + ".key -out " + name + ".csr -subj '" +
        subject + "' 2>&1");
    run("openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out " +
        name + ".pem -days 2 -extfile " + name + ".ext 2>&1");
  };
  run("openssl req -x509 " + key + " -keyout ca.key -out ca.pem -days 2 -subj '/CN=takt test CA'");
  run("openssl req -x509 " + key + " -keyout other_ca.key -out other_ca.pem -days 2 "
      "-subj '/CN=another CA'");
  signed_by_ca("server", "/CN=127.0.0.1",
               "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
               "extendedKeyUsage=serverAuth\n");
  signed_by_ca("client", "/CN=takt", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  run("chmod 0644 *.pem *.key");
  if (!made.error.empty()) return made;
  made.ca = dir + "/ca.pem";
  made.server_cert = dir + "/server.pem";
  made.server_key = dir + "/server.key";
  made.client_cert = dir + "/client.pem";
  made.client_key = dir + "/client.key";
  made.other_ca = dir + "/other_ca.pem";
  return made;
}

}  // namespace takt::test
