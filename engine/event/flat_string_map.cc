#include "engine/event/flat_string_map.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace takt {
namespace {

// Chunks double from the first to the last size, a huge page (see huge_pages.h), so that a
// small map stays small.
constexpr size_t kFirstChunkBytes = 64 << 10;
constexpr size_t kChunkBytes = 2 << 20;

}  // namespace

uint64_t FlatStringHash(std::string_view key) { return std::hash<std::string_view>{}(key); }

StringArena::Ref StringArena::Store(std::string_view text) {
  const uint32_t length = static_cast<uint32_t>(text.size());
  const size_t needed = sizeof length + text.size();
  if (chunks_.empty() || chunks_.back().capacity - chunks_.back().used < needed) {
    const size_t doublings = std::min<size_t>(chunks_.size(), 5);
    const size_t size = std::min(kChunkBytes, kFirstChunkBytes << doublings);
    const size_t capacity = std::max(size, needed);  // a key larger than a chunk gets its own
    Chunk& chunk = chunks_.emplace_back();
    chunk.capacity = capacity;
    chunk.bytes = std::unique_ptr<char[], Free>(static_cast<char*>(AllocateLarge(capacity)),
                                                Free{capacity});
  }
  Chunk& chunk = chunks_.back();
  char* at = chunk.bytes.get() + chunk.used;
  std::memcpy(at, &length, sizeof length);
  std::memcpy(at + sizeof length, text.data(), text.size());
  const Ref ref{static_cast<uint32_t>(chunks_.size() - 1), static_cast<uint32_t>(chunk.used)};
  chunk.used += needed;
  return ref;
}

std::string_view StringArena::View(Ref ref) const {
  const char* at = chunks_[ref.chunk].bytes.get() + ref.offset;
  uint32_t length = 0;
  std::memcpy(&length, at, sizeof length);
  return std::string_view(at + sizeof length, length);
}

size_t StringArena::used_bytes() const {
  size_t bytes = 0;
  for (const Chunk& chunk : chunks_) bytes += chunk.used;
  return bytes;
}

size_t StringArena::memory_bytes() const {
  size_t bytes = 0;
  for (const Chunk& chunk : chunks_) bytes += chunk.capacity;
  return bytes;
}

}  // namespace takt
