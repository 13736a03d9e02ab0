// IdSet: the ids of every well-formed event seen, for dedup without a store. A node-based set
// of strings costs a heap allocation per id (about 70 bytes with the bucket), and its rehashes
// and frees were a fifth of an in-memory run. Here an id costs its bytes in an arena plus a
// 16-byte slot in an open-addressing table (about 45 bytes on average at this load), and
// remembering one allocates only when a chunk of the arena fills up or the table doubles.
// Exact: slots keep a hash to skip most comparisons, and a match compares the bytes.
#ifndef TAKT_ENGINE_EVENT_ID_SET_H_
#define TAKT_ENGINE_EVENT_ID_SET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace takt {

class IdSet {
 public:
  IdSet();
  IdSet(const IdSet&) = delete;
  IdSet& operator=(const IdSet&) = delete;

  // Adds `id`: true when it was not there before.
  bool Insert(std::string_view id);
  bool Contains(std::string_view id) const;
  size_t size() const { return size_; }
  // Bytes held: the table and the arena's chunks.
  size_t memory_bytes() const;

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty (a real hash of 0 is stored as 1)
    uint32_t chunk = 0;
    uint32_t offset = 0;  // of the id's length (4 bytes), then its bytes
  };
  static uint64_t Hash(std::string_view id);
  std::string_view IdAt(const Slot& slot) const;
  // The slot holding `id`, or the empty slot where it belongs.
  size_t Find(std::string_view id, uint64_t hash) const;
  void Grow();
  Slot Store(std::string_view id, uint64_t hash);

  std::vector<Slot> slots_;  // a power of two in size, at most half full
  size_t size_ = 0;
  struct Chunk {
    std::unique_ptr<char[]> bytes;
    size_t capacity = 0, used = 0;
  };
  std::vector<Chunk> chunks_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_ID_SET_H_
