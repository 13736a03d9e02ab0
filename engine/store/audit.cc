#include "engine/store/audit.h"

#include <openssl/evp.h>

#include <cstdio>
#include <stdexcept>

namespace takt::store {
namespace {

// Fields are separated by a byte that cannot be confused with their text being shifted from one
// field to the next: each is preceded by its length.
void AppendField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out.append(field.data(), field.size());
}

// SHA-256 with the algorithm fetched once and one context per thread, reused. EVP_Digest()
// with EVP_sha256() fetches the algorithm and allocates a context on every call; at one call
// per event row that cost more than hashing the row (about 400 bytes) itself.
class Sha256 {
 public:
  Sha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  std::string Hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (md_ == nullptr || ctx_ == nullptr || EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(ctx_, text.data(), text.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_, digest, &size) != 1) {
      // Only when OpenSSL cannot hash at all (no default provider): no chain can be kept, and
      // the commit queue turns this into a failed batch.
      throw std::runtime_error("SHA-256 is not available from OpenSSL");
    }
    return HexOf(digest, size);
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

std::string Sha256Hex(std::string_view text) {
  thread_local Sha256 sha256;
  return sha256.Hex(text);
}

}  // namespace

std::string AuditHash(std::string_view prev, int64_t seq, const AuditRow& row) {
  std::string text;
  text.reserve(256);
  AppendField(text, prev);
  AppendField(text, "audit");
  AppendField(text, std::to_string(seq));
  AppendField(text, std::to_string(row.pos));
  AppendField(text, std::to_string(row.at));
  for (std::string_view field :
       {row.event_id, row.source, row.kind, row.workflow, row.key, row.detail, row.version}) {
    AppendField(text, field);
  }
  return Sha256Hex(text);
}

std::string EventHash(std::string_view prev, const EventRow& row) {
  std::string text;
  text.reserve(row.body.size() + 256);
  AppendField(text, prev);
  AppendField(text, "event");
  AppendField(text, std::to_string(row.pos));
  AppendField(text, row.id);
  AppendField(text, row.envelope ? "1" : "0");
  for (std::string_view field : {row.source, row.type, row.key}) AppendField(text, field);
  AppendField(text, std::to_string(row.seq));
  AppendField(text, std::to_string(row.ts));
  AppendField(text, OutcomeName(row.outcome));
  for (std::string_view field : {row.reason, row.body, row.workflow, row.version, row.effect}) {
    AppendField(text, field);
  }
  return Sha256Hex(text);
}

namespace {

// Walks the events in position order and, after each, the audit rows of its position.
class ChainWalk {
 public:
  ChainWalk(Database& db, uint64_t anchor_rows) : db_(db), anchor_rows_(anchor_rows) {}

  // The hash of link anchor_rows_, once the walk passed it.
  const std::string& anchor_hash() const { return anchor_hash_; }

  Result<AuditVerification> Run() {
    Result<Statement> events = db_.Prepare(
        "SELECT pos, id, source, type, key, seq, ts, outcome, reason, body, workflow, version, "
        "effect, hash, source IS NOT NULL FROM events ORDER BY pos");
    if (!events.ok()) return events.status();
    Result<Statement> audit = db_.Prepare(
        "SELECT seq, pos, at, event_id, source, kind, workflow, key, detail, version, hash "
        "FROM audit ORDER BY seq");
    if (!audit.ok()) return audit.status();
    Statement& e = events.value();
    Statement& a = audit.value();
    Result<bool> audit_row = a.Step();
    if (!audit_row.ok()) return audit_row.status();
    int64_t expected_pos = 1;
    int64_t expected_seq = 1;
    for (;;) {
      Result<bool> event_row = e.Step();
      if (!event_row.ok()) return event_row.status();
      if (!event_row.value()) break;
      EventRow r;
      r.pos = e.Int(0);
      r.id = e.Text(1);
      r.source = e.Text(2);
      r.type = e.Text(3);
      r.key = e.Text(4);
      r.seq = e.Int(5);
      r.ts = e.Int(6);
      if (!OutcomeByName(e.Text(7), r.outcome)) {
        return Broken("event at position " + std::to_string(r.pos) + " has an unknown outcome '" +
                      std::string(e.Text(7)) + "'");
      }
      r.reason = e.Text(8);
      r.body = e.Text(9);
      r.workflow = e.Text(10);
      r.version = e.Text(11);
      r.effect = e.Text(12);
      r.envelope = e.Int(14) != 0;
      if (r.pos != expected_pos) {
        return Broken("event at position " + std::to_string(expected_pos) +
                      " is missing (the next is at " + std::to_string(r.pos) + ")");
      }
      if (!Link(EventHash(prev_, r), e.Text(13))) {
        return Broken("event at position " + std::to_string(r.pos) +
                      " does not match its hash: it, or a row before it, was changed or removed");
      }
      ++expected_pos;
      // The audit rows of this position.
      while (audit_row.value() && a.Int(1) == r.pos) {
        AuditRow ar;
        const int64_t seq = a.Int(0);
        ar.pos = a.Int(1);
        ar.at = a.Int(2);
        ar.event_id = a.Text(3);
        ar.source = a.Text(4);
        ar.kind = a.Text(5);
        ar.workflow = a.Text(6);
        ar.key = a.Text(7);
        ar.detail = a.Text(8);
        ar.version = a.Text(9);
        if (seq != expected_seq) {
          return Broken("audit row " + std::to_string(expected_seq) + " is missing (the next is " +
                        std::to_string(seq) + ")");
        }
        if (!Link(AuditHash(prev_, seq, ar), a.Text(10))) {
          return Broken("audit row " + std::to_string(seq) +
                        " does not match its hash: it, or a row before it, was changed or removed");
        }
        ++expected_seq;
        audit_row = a.Step();
        if (!audit_row.ok()) return audit_row.status();
      }
    }
    if (audit_row.value()) {
      return Broken("audit row " + std::to_string(a.Int(0)) + " belongs to no event (position " +
                    std::to_string(a.Int(1)) + ")");
    }
    v_.ok = true;
    v_.head = prev_;
    return v_;
  }

 private:
  bool Link(const std::string& computed, std::string_view stored) {
    if (computed != stored) return false;
    prev_ = computed;
    ++v_.rows;
    if (v_.rows == anchor_rows_) anchor_hash_ = computed;
    return true;
  }
  AuditVerification Broken(std::string problem) {
    v_.ok = false;
    v_.first_bad_row = v_.rows + 1;
    v_.problem = std::move(problem);
    return v_;
  }

  Database& db_;
  const uint64_t anchor_rows_;
  std::string anchor_hash_;
  AuditVerification v_;
  std::string prev_;
};

}  // namespace

Result<AuditVerification> VerifyChain(Database& db, const AuditHead& expected) {
  ChainWalk walk(db, expected.rows);
  Result<AuditVerification> v = walk.Run();
  if (!v.ok() || !v.value().ok || expected.rows == 0) return v;
  AuditVerification& result = v.value();
  if (result.rows < expected.rows) {
    result.ok = false;
    result.first_bad_row = result.rows + 1;
    result.problem = "the chain has " + std::to_string(result.rows) + " rows, fewer than the " +
                     std::to_string(expected.rows) +
                     " of the expected head: rows were removed from its end";
  } else if (walk.anchor_hash() != expected.hash) {
    result.ok = false;
    result.first_bad_row = expected.rows;
    result.problem = "row " + std::to_string(expected.rows) + " has hash " + walk.anchor_hash() +
                     ", not the expected " + expected.hash + ": the chain was rewritten";
  }
  return v;
}

}  // namespace takt::store
