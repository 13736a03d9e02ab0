// Fuzz targets: each takes arbitrary bytes to one of takt's parsers or to the boundary between
// C++ and Lua, and must neither crash, hang, nor break an invariant it checks itself (a check
// that fails aborts, which the fuzzer and the sanitizers report as a finding). libFuzzer runs
// them (scripts/fuzz.sh, with clang); replay_test.cc runs every seed and every kept regression
// input through them in the normal test run.
#ifndef TAKT_TESTS_FUZZ_FUZZ_TARGETS_H_
#define TAKT_TESTS_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>

namespace takt::fuzz {

// A .takt file: parsed and, when it parses, compiled with the built-in stdlib.
int FuzzDsl(const uint8_t* data, size_t size);
// One event line, decoded and validated against the shipped workflows' schemas.
int FuzzEvent(const uint8_t* data, size_t size);
// A takt.toml: the connectors, [serve], credentials and MQTT tables.
int FuzzConfig(const uint8_t* data, size_t size);
// Rule state bytes from the store: decoded into a sandbox; what decodes must encode back to
// the same bytes, and survive the snapshot taken before an evaluation unchanged.
int FuzzRuleState(const uint8_t* data, size_t size);
// An MQTT message (first line the topic, the rest the payload) mapped to an event.
int FuzzMqttMapping(const uint8_t* data, size_t size);
// A program for a rule that builds Lua values from it (any numbers, strings of any bytes,
// shared and cyclic tables, hostile metatables) and keeps them in its state or returns them as
// its decisions: the engine must take back whatever crosses from Lua, or refuse it by name.
int FuzzLuaBridge(const uint8_t* data, size_t size);
// The body of a POST /v1/events (the first byte chooses its Content-Type and credential): split,
// each envelope checked against the credential, submitted, and answered.
int FuzzHttpIngest(const uint8_t* data, size_t size);
// Odoo's answers, in the order the Odoo connector asks (JSON-RPC or JSON-2), to the delivery of
// one of its three commands (the first byte chooses): every answer, however shaped, ends the
// attempt delivered, retryable or final, saying why, and never showing the API key.
int FuzzOdooAnswers(const uint8_t* data, size_t size);

// Aborts with `what` when `holds` is false: an invariant the target checks.
void Require(bool holds, const char* what);

}  // namespace takt::fuzz

#endif  // TAKT_TESTS_FUZZ_FUZZ_TARGETS_H_
