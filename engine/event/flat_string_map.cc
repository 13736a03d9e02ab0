#include "engine/event/flat_string_map.h"

#include <algorithm>
#include <cstring>

namespace takt {
namespace {

// Chunks double from the first to the last size, a huge page (see huge_pages.h), so that a
// small map stays small.
constexpr size_t kFirstChunkBytes = 64 << 10;
constexpr size_t kChunkBytes = 2 << 20;

}  // namespace

namespace {

uint64_t Read64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t Read32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The 128-bit product of a and b, its halves xored: one multiplication mixes every bit of
// both into every bit of the result.
__extension__ typedef unsigned __int128 Uint128;  // GCC's and clang's, on 64-bit targets
uint64_t Mix(uint64_t a, uint64_t b) {
  const Uint128 product = static_cast<Uint128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

constexpr uint64_t kSecret[] = {0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
                                0x8ebc6af09c88c6e3ULL};

}  // namespace

// wyhash's construction (public domain, by Wang Yi): a key of up to 16 bytes is read in at
// most four loads, overlapping rather than byte by byte, and mixed twice. Ids and keys are
// short, and std::hash (murmur, a byte loop for the tail) cost 4% of an in-memory run.
uint64_t FlatStringHash(std::string_view key) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  size_t n = key.size();
  uint64_t seed = kSecret[0] ^ n;
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= 16) {
    if (n >= 4) {
      const size_t middle = (n >> 3) << 2;  // 0 below 8 bytes, else 4
      a = (Read32(p) << 32) | Read32(p + middle);
      b = (Read32(p + n - 4) << 32) | Read32(p + n - 4 - middle);
    } else if (n > 0) {
      a = (uint64_t{p[0]} << 16) | (uint64_t{p[n >> 1]} << 8) | p[n - 1];
    }
  } else {
    for (; n > 16; n -= 16, p += 16) {
      seed = Mix(Read64(p) ^ kSecret[1], Read64(p + 8) ^ seed);
    }
    a = Read64(p + n - 16);
    b = Read64(p + n - 8);
  }
  return Mix(kSecret[1] ^ key.size(), Mix(a ^ kSecret[1], b ^ seed ^ kSecret[2]));
}

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
