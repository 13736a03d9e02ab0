#include "engine/serve/access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <set>

#include "engine/event/hex.h"

namespace takt {

std::string HashToken(std::string_view token) {
  std::array<uint8_t, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return HexOf(digest.data(), digest.size());
}

namespace serve {
namespace {

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseDigest(std::string_view hex, std::array<uint8_t, 32>& out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    const int high = HexDigitValue(hex[2 * i]);
    const int low = HexDigitValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<uint8_t>(high * 16 + low);
  }
  return true;
}

}  // namespace

Result<AccessControl> AccessControl::Create(const std::vector<Credential>& credentials) {
  AccessControl access;
  access.credentials_ = credentials;
  std::set<std::string> names;
  for (const Credential& c : access.credentials_) {
    if (!names.insert(c.name).second) {
      return Status::InvalidArgument("credential " + c.name + " is configured twice");
    }
    Entry entry{&c, {}};
    if (!ParseDigest(c.token_sha256, entry.digest)) {
      return Status::InvalidArgument("credential " + c.name +
                                     ": token_sha256 must be 64 hex digits (a SHA-256)");
    }
    access.entries_.push_back(entry);
  }
  return access;
}

const Credential* AccessControl::Authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      authorization.substr(0, kBearer.size()) != kBearer) {
    return nullptr;
  }
  const std::string_view token = authorization.substr(kBearer.size());
  std::array<uint8_t, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr);
  const Credential* found = nullptr;
  for (const Entry& e : entries_) {  // no early exit: every entry costs the same
    if (CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0) found = e.credential;
  }
  return found;
}

std::string AccessControl::MayPublish(const Credential& who, std::string_view source,
                                      std::string_view type) const {
  if (who.source.empty()) return "credential " + who.name + " publishes no events";
  if (source != who.source) {
    return "credential " + who.name + " publishes as " + who.source + ", not as " +
           std::string(source);
  }
  const auto owner = owner_by_type_.find(std::string(type));
  if (owner == owner_by_type_.end()) return "";  // unknown type: the engine says malformed
  if (owner->second != source) {
    return "event type " + std::string(type) + " is owned by " + owner->second + ", not " +
           std::string(source);
  }
  return "";
}

}  // namespace serve
}  // namespace takt
