// Who is calling: a bearer token checked against the configured credentials' SHA-256 hashes in
// constant time, and what that credential may publish (its source, and the event types that
// source owns).
#ifndef TAKT_ENGINE_SERVE_ACCESS_H_
#define TAKT_ENGINE_SERVE_ACCESS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "takt/serve.h"
#include "takt/status.h"

namespace takt::serve {

class AccessControl {
 public:
  // kInvalidArgument for a hash that is not 64 hex digits or a name given twice.
  static Result<AccessControl> Create(const std::vector<Credential>& credentials);

  // The credential whose token this is (from an "Authorization: Bearer TOKEN" header's value),
  // or null. Every credential's hash is compared, each in constant time, so the time taken says
  // nothing about which one came close.
  const Credential* Authenticate(std::string_view authorization) const;

  // Which source owns each event type (the definitions' `owner`), replaced on a reload.
  void SetOwners(std::unordered_map<std::string, std::string> owner_by_type) {
    owner_by_type_ = std::move(owner_by_type);
  }
  // Whether the definitions declare `type`.
  bool Declares(std::string_view type) const {
    return owner_by_type_.count(std::string(type)) != 0;
  }
  // Empty when `who` may publish an event of `type` as `source`; else why not, for a 403.
  std::string MayPublish(const Credential& who, std::string_view source,
                         std::string_view type) const;

 private:
  struct Entry {
    const Credential* credential;
    std::array<uint8_t, 32> digest;
  };
  std::vector<Credential> credentials_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::string> owner_by_type_;
};

}  // namespace takt::serve

#endif  // TAKT_ENGINE_SERVE_ACCESS_H_
