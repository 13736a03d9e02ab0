#include "engine/event/id_set.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace takt {
namespace {

constexpr size_t kInitialSlots = 1024;
constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

IdSet::IdSet() : slots_(kInitialSlots) {}

uint64_t IdSet::Hash(std::string_view id) {
  const uint64_t h = std::hash<std::string_view>{}(id);
  return h == 0 ? 1 : h;
}

std::string_view IdSet::IdAt(const Slot& slot) const {
  const char* at = chunks_[slot.chunk].bytes.get() + slot.offset;
  uint32_t length = 0;
  std::memcpy(&length, at, sizeof length);
  return std::string_view(at + sizeof length, length);
}

size_t IdSet::Find(std::string_view id, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.hash == 0 || (slot.hash == hash && IdAt(slot) == id)) return i;
  }
}

bool IdSet::Contains(std::string_view id) const {
  return slots_[Find(id, Hash(id))].hash != 0;
}

bool IdSet::Insert(std::string_view id) {
  const uint64_t hash = Hash(id);
  size_t at = Find(id, hash);
  if (slots_[at].hash != 0) return false;
  if ((size_ + 1) * 2 > slots_.size()) {
    Grow();
    at = Find(id, hash);
  }
  slots_[at] = Store(id, hash);
  ++size_;
  return true;
}

void IdSet::Grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.hash == 0) continue;
    size_t i = static_cast<size_t>(slot.hash) & mask;
    while (slots_[i].hash != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

IdSet::Slot IdSet::Store(std::string_view id, uint64_t hash) {
  const uint32_t length = static_cast<uint32_t>(id.size());
  const size_t needed = sizeof length + id.size();
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < needed) {
    Chunk& chunk = chunks_.emplace_back();
    chunk.capacity = std::max(kChunkBytes, needed);  // an id larger than a chunk gets its own
    chunk.bytes.reset(new char[chunk.capacity]);
  }
  Chunk& chunk = chunks_.back();
  char* at = chunk.bytes.get() + chunk.used;
  std::memcpy(at, &length, sizeof length);
  std::memcpy(at + sizeof length, id.data(), id.size());
  Slot slot;
  slot.hash = hash;
  slot.chunk = static_cast<uint32_t>(chunks_.size() - 1);
  slot.offset = static_cast<uint32_t>(chunk.used);
  chunk.used += needed;
  return slot;
}

size_t IdSet::memory_bytes() const {
  size_t bytes = slots_.size() * sizeof(Slot);
  for (const Chunk& chunk : chunks_) bytes += chunk.capacity;
  return bytes;
}

}  // namespace takt
