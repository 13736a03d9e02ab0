#include "engine/store/audit.h"

#include <openssl/evp.h>

#include <cstdio>

namespace takt::store {
namespace {

// Fields are separated by a byte that cannot be confused with their text being shifted from one
// field to the next: each is preceded by its length.
void AppendField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out.append(field.data(), field.size());
}

}  // namespace

std::string AuditHash(std::string_view prev, int64_t seq, const AuditRow& row) {
  std::string text;
  text.reserve(256);
  AppendField(text, prev);
  AppendField(text, std::to_string(seq));
  AppendField(text, std::to_string(row.pos));
  AppendField(text, std::to_string(row.at));
  for (std::string_view field :
       {row.event_id, row.source, row.kind, row.workflow, row.key, row.detail, row.version}) {
    AppendField(text, field);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex(size * 2, '0');
  for (unsigned int i = 0; i < size; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

Result<AuditVerification> VerifyChain(Database& db) {
  Result<Statement> rows = db.Prepare(
      "SELECT seq, pos, at, event_id, source, kind, workflow, key, detail, version, hash "
      "FROM audit ORDER BY seq");
  if (!rows.ok()) return rows.status();
  AuditVerification v;
  v.ok = true;
  std::string prev;
  int64_t expected_seq = 1;
  Statement& stmt = rows.value();
  for (;;) {
    Result<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    AuditRow r;
    const int64_t seq = stmt.Int(0);
    r.pos = stmt.Int(1);
    r.at = stmt.Int(2);
    r.event_id = stmt.Text(3);
    r.source = stmt.Text(4);
    r.kind = stmt.Text(5);
    r.workflow = stmt.Text(6);
    r.key = stmt.Text(7);
    r.detail = stmt.Text(8);
    r.version = stmt.Text(9);
    const std::string stored(stmt.Text(10));
    if (seq != expected_seq) {
      v.ok = false;
      v.first_bad_seq = static_cast<uint64_t>(expected_seq);
      v.problem = "audit row " + std::to_string(expected_seq) + " is missing (the next is " +
                  std::to_string(seq) + ")";
      return v;
    }
    const std::string computed = AuditHash(prev, seq, r);
    if (computed != stored) {
      v.ok = false;
      v.first_bad_seq = static_cast<uint64_t>(seq);
      v.problem = "audit row " + std::to_string(seq) +
                  " does not match its hash: it, or a row before it, was changed or removed";
      return v;
    }
    prev = stored;
    ++v.rows;
    ++expected_seq;
  }
  v.head = prev;
  return v;
}

}  // namespace takt::store
