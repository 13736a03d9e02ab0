#include "engine/harness/input_fingerprint.h"

#include <openssl/evp.h>

#include "engine/event/hex.h"

#include <cstring>
#include <stdexcept>

namespace takt::sim {

PrefixDigest::PrefixDigest()
    : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
      ctx_(EVP_MD_CTX_new()),
      scratch_(EVP_MD_CTX_new()) {
  if (md_ == nullptr || ctx_ == nullptr || scratch_ == nullptr ||
      EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1) {
    EVP_MD_CTX_free(scratch_);
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
}

PrefixDigest::~PrefixDigest() {
  EVP_MD_CTX_free(scratch_);
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(md_);
}

void PrefixDigest::Update(std::string_view bytes) {
  EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
  bytes_ += bytes.size();
}

void PrefixDigest::UpdateLine(std::string_view line) {
  Update(line);
  Update("\n");
}

std::string PrefixDigest::Hex() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_MD_CTX_copy_ex(scratch_, ctx_) != 1 || EVP_DigestFinal_ex(scratch_, digest, &size) != 1) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  return HexOf(digest, size);
}

uint64_t LineCheck(std::string_view line) {
  // Eight bytes at a time, each word mixed by a multiply: a few cycles per word, which keeps
  // the checks well below the cost of the SHA-256 beside them.
  constexpr uint64_t kMul = 0xff51afd7ed558ccdULL;
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ line.size();
  size_t i = 0;
  for (; i + 8 <= line.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, line.data() + i, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 32;
  }
  if (i < line.size()) {
    uint64_t word = 0;
    std::memcpy(&word, line.data() + i, line.size() - i);
    h = (h ^ word) * kMul;
    h ^= h >> 32;
  }
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

void AppendLineCheck(std::string& checks, std::string_view line) {
  const uint64_t h = LineCheck(line);
  char bytes[kLineCheckBytes];
  for (size_t i = 0; i < kLineCheckBytes; ++i) bytes[i] = static_cast<char>((h >> (8 * i)) & 0xff);
  checks.append(bytes, kLineCheckBytes);
}

uint64_t LineCheckAt(std::string_view checks, uint64_t n) {
  uint64_t h = 0;
  const size_t at = static_cast<size_t>(n - 1) * kLineCheckBytes;
  for (size_t i = 0; i < kLineCheckBytes; ++i) {
    h |= static_cast<uint64_t>(static_cast<unsigned char>(checks[at + i])) << (8 * i);
  }
  return h;
}

}  // namespace takt::sim
