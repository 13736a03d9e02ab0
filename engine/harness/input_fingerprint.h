// What identifies the consumed prefix of an input, so that a resumed run can tell the input it
// read before from another one under the same name before it skips a line: the prefix's length,
// its SHA-256, and a check value per line that names the first line of another input that
// differs (the SHA-256 alone says only that something does).
#ifndef TAKT_ENGINE_HARNESS_INPUT_FINGERPRINT_H_
#define TAKT_ENGINE_HARNESS_INPUT_FINGERPRINT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "takt/engine.h"

struct evp_md_ctx_st;
struct evp_md_st;

namespace takt::sim {

// SHA-256 of a growing prefix; Hex() reads the digest so far without ending it.
class PrefixDigest {
 public:
  PrefixDigest();
  ~PrefixDigest();
  PrefixDigest(const PrefixDigest&) = delete;
  PrefixDigest& operator=(const PrefixDigest&) = delete;

  void Update(std::string_view bytes);
  // Update() with the line as read and the newline that ended it.
  void UpdateLine(std::string_view line);
  uint64_t bytes() const { return bytes_; }
  std::string Hex() const;

 private:
  evp_md_st* md_;
  evp_md_ctx_st* ctx_;
  evp_md_ctx_st* scratch_;  // a copy of ctx_ finalised by Hex()
  uint64_t bytes_ = 0;
};

constexpr size_t kLineCheckBytes = InputCursor::kLineCheckBytes;

// A 64-bit check value of one line as read (without its newline): a locator, not a proof. Two
// inputs are the same only when their SHA-256 agree.
uint64_t LineCheck(std::string_view line);
// Appends LineCheck(line), little endian.
void AppendLineCheck(std::string& checks, std::string_view line);
// The check value of line `n` (from 1) in `checks`.
uint64_t LineCheckAt(std::string_view checks, uint64_t n);

}  // namespace takt::sim

#endif  // TAKT_ENGINE_HARNESS_INPUT_FINGERPRINT_H_
