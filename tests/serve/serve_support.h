// What the server tests share: a configuration on a scratch folder, tokens and their hashes,
// a self-signed certificate made on the spot, and the plant's events by source.
#ifndef TAKT_TESTS_SERVE_SERVE_SUPPORT_H_
#define TAKT_TESTS_SERVE_SERVE_SUPPORT_H_

#include <string>
#include <vector>

#include "takt/config.h"

namespace takt::test {

// Tokens of the test credentials: one per plant source ("mes-token" publishes as mes, ...),
// and "admin-token", an administrator that publishes nothing.
std::string TokenOf(const std::string& source);
// The TOML of a server on `dir`: the shipped workflows and rules, database dir/plant.db,
// a credential per source and an admin, any free port; `extra` is appended.
std::string ServeToml(const std::string& dir, const std::string& extra = "");
// `toml` (of ServeToml()) with the project's folder `what` (rules, workflows) replaced by
// `path`.
std::string WithProjectPath(std::string toml, const std::string& what, const std::string& path);
// Writes a self-signed certificate and its key for 127.0.0.1 (PEM): dir/cert.pem, dir/key.pem.
void MakeSelfSignedCertificate(const std::string& dir);
// The line's "source" field.
std::string SourceOf(const std::string& event_json);

}  // namespace takt::test

#endif  // TAKT_TESTS_SERVE_SERVE_SUPPORT_H_
