#include "serve/serve_support.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>

#include "takt/serve.h"

namespace takt::test {

std::string TokenOf(const std::string& source) { return source + "-token"; }

std::string ServeToml(const std::string& dir, const std::string& extra) {
  const std::string root = std::filesystem::current_path().string();
  std::string toml = "[engine]\nworkflows = [\"" + root + "/workflows\"]\nrules = \"" + root +
                     "/rules\"\ndatabase = \"" + dir + "/plant.db\"\ndurability = \"normal\"\n\n"
                     "[serve]\nport = 0\nclock_interval_ms = 100\n\n";
  for (const std::string source : {"odoo", "mes", "scada", "qms"}) {
    toml += "[[credential]]\nname = \"" + source + "-system\"\nsource = \"" + source +
            "\"\ntoken_sha256 = \"" + HashToken(TokenOf(source)) + "\"\n\n";
  }
  toml += "[[credential]]\nname = \"operator\"\nadmin = true\ntoken_sha256 = \"" +
          HashToken(TokenOf("admin")) + "\"\n\n";
  return toml + extra;
}

std::string WithProjectPath(std::string toml, const std::string& what, const std::string& path) {
  const std::string project = std::filesystem::current_path().string() + "/" + what;
  toml.replace(toml.find(project), project.size(), path);
  return toml;
}

void MakeSelfSignedCertificate(const std::string& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  FILE* c = std::fopen((dir + "/cert.pem").c_str(), "w");
  PEM_write_X509(c, cert);
  std::fclose(c);
  FILE* k = std::fopen((dir + "/key.pem").c_str(), "w");
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
}

std::string SourceOf(const std::string& event_json) {
  const std::string marker = "\"source\":\"";
  const size_t at = event_json.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = at + marker.size();
  return event_json.substr(start, event_json.find('"', start) - start);
}

}  // namespace takt::test
