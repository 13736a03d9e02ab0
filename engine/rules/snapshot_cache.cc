#include "engine/rules/snapshot_cache.h"

#include <lua.h>

#include <cstring>

namespace takt::rules {

void SnapshotCache::KeyOf(lua_State* L, int index, std::string& out) {
  out.clear();
  if (lua_type(L, index) == LUA_TSTRING) {
    size_t len = 0;
    const char* s = lua_tolstring(L, index, &len);
    out += 's';
    out.append(s, len);
    return;
  }
  int exact = 0;
  const lua_Integer integer = lua_tointegerx(L, index, &exact);
  char bytes[1 + sizeof(double)];
  if (exact != 0) {
    bytes[0] = 'i';
    std::memcpy(bytes + 1, &integer, sizeof integer);
  } else {
    const double number = lua_tonumber(L, index);
    bytes[0] = 'd';
    std::memcpy(bytes + 1, &number, sizeof number);
  }
  out.append(bytes, sizeof bytes);
}

void SnapshotCache::PushKey(lua_State* L, const std::string& bytes) {
  if (bytes[0] == 's') {
    lua_pushlstring(L, bytes.data() + 1, bytes.size() - 1);
    return;
  }
  if (bytes[0] == 'i') {
    lua_Integer integer = 0;
    std::memcpy(&integer, bytes.data() + 1, sizeof integer);
    lua_pushinteger(L, integer);
    return;
  }
  double number = 0;
  std::memcpy(&number, bytes.data() + 1, sizeof number);
  lua_pushnumber(L, number);
}

size_t SnapshotCache::BytesOf(const Kept& kept) {
  return kept.snapshot.size() + kept.fed.size() * sizeof(RuleWindows::Fed);
}

void SnapshotCache::Keep(const std::string& key, std::string& snapshot) {
  auto [it, added] = kept_.try_emplace(key);
  if (added) {
    bytes_ += key.size();
  } else {
    bytes_ -= BytesOf(it->second);
    it->second.fed.clear();
  }
  if (bytes_ + snapshot.size() > max_bytes_) {
    Clear();
    return;  // kept nowhere: the next evaluation of each key takes its snapshot again
  }
  it->second.snapshot.swap(snapshot);
  bytes_ += it->second.snapshot.size();
}

SnapshotCache::FeedGuard SnapshotCache::NoteFed(const std::string& key,
                                                const RuleWindows::Fed& fed) {
  const auto it = kept_.find(key);
  if (it == kept_.end()) return FeedGuard(nullptr, &key);
  if (it->second.fed.size() >= kMaxFed || bytes_ + sizeof fed > max_bytes_) {
    Forget(key);
    return FeedGuard(nullptr, &key);
  }
  it->second.fed.push_back(fed);
  bytes_ += sizeof fed;
  return FeedGuard(this, &key);
}

void SnapshotCache::Forget(const std::string& key) {
  const auto it = kept_.find(key);
  if (it == kept_.end()) return;
  bytes_ -= key.size() + BytesOf(it->second);
  kept_.erase(it);
}

}  // namespace takt::rules
