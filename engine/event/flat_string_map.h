// FlatStringMap<V>: a hash map from strings to small values for the per-event paths (seen ids,
// sequence positions), where a node-based std::unordered_map<std::string, V> costs a heap
// allocation per key and a cache miss per node. Keys are copied once into an arena of chunks
// and never moved; entries (where the key is, the value) are kept dense in insertion order, and
// the table is open addressing with linear probing, at most half full, of 8-byte slots. Large
// tables and chunks are mapped apart from the heap (huge_pages.h). Exact: a match compares the
// bytes.
// Erase() removes a key (the last entry takes its place, so insertion order is kept only until
// then); once erased keys' bytes outnumber the live keys', the live ones are copied into a
// fresh arena, so memory follows what is kept.
#ifndef TAKT_ENGINE_EVENT_FLAT_STRING_MAP_H_
#define TAKT_ENGINE_EVENT_FLAT_STRING_MAP_H_

#include <cstddef>
#include <climits>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "engine/event/huge_pages.h"

namespace takt {

// Where the map keeps its keys' bytes.
class StringArena {
 public:
  struct Ref {
    uint32_t chunk = 0;
    uint32_t offset = 0;  // of the key's length (4 bytes), then its bytes
  };
  Ref Store(std::string_view text);
  std::string_view View(Ref ref) const;
  void Clear() { chunks_.clear(); }
  size_t memory_bytes() const;
  size_t used_bytes() const;  // of the keys stored, with their lengths

 private:
  struct Free {
    size_t bytes;
    void operator()(char* block) const { FreeLarge(block, bytes); }
  };
  struct Chunk {
    std::unique_ptr<char[], Free> bytes;
    size_t capacity = 0, used = 0;
  };
  std::vector<Chunk> chunks_;
};

uint64_t FlatStringHash(std::string_view key);

template <typename V>
class FlatStringMap {
 public:
  FlatStringMap() { Clear(); }
  FlatStringMap(const FlatStringMap&) = delete;
  FlatStringMap& operator=(const FlatStringMap&) = delete;

  // The value of `key`, inserted as V{} when missing; `inserted` says which. The reference
  // stays valid until the next insertion.
  V& Emplace(std::string_view key, bool& inserted) {
    const uint64_t hash = FlatStringHash(key);
    size_t at = Find(key, hash);
    inserted = slots_[at].entry == kEmpty;
    if (!inserted) return entries_[slots_[at].entry].value;
    if ((entries_.size() + 1) * 2 > slots_.size()) {
      Grow();
      at = Find(key, hash);
    }
    slots_[at] = Slot{static_cast<uint32_t>(hash >> 32), static_cast<uint32_t>(entries_.size())};
    entries_.push_back(Entry{arena_.Store(key), V{}});
    return entries_.back().value;
  }
  V& operator[](std::string_view key) {
    bool inserted = false;
    return Emplace(key, inserted);
  }
  V* Lookup(std::string_view key) {
    const Slot& slot = slots_[Find(key, FlatStringHash(key))];
    return slot.entry == kEmpty ? nullptr : &entries_[slot.entry].value;
  }
  const V* Lookup(std::string_view key) const {
    return const_cast<FlatStringMap*>(this)->Lookup(key);
  }
  // Removes `key`: false when it was not there. References to values are invalid after it.
  bool Erase(std::string_view key) {
    size_t at = Find(key, FlatStringHash(key));
    const uint32_t erased = slots_[at].entry;
    if (erased == kEmpty) return false;
    dead_bytes_ += sizeof(uint32_t) + key.size();
    // Backward-shift deletion: later slots of the probe run move up into the hole, so that
    // lookups need no tombstones.
    const size_t mask = slots_.size() - 1;
    for (size_t next = (at + 1) & mask; slots_[next].entry != kEmpty; next = (next + 1) & mask) {
      const size_t home = Home(slots_[next].high);
      // Move it when its home is not in (at, next], cyclically.
      if (((next - home) & mask) >= ((next - at) & mask)) {
        slots_[at] = slots_[next];
        at = next;
      }
    }
    slots_[at] = Slot{};
    // The last entry fills the erased one's place.
    const auto last = static_cast<uint32_t>(entries_.size() - 1);
    if (erased != last) {
      const std::string_view moved = arena_.View(entries_[last].key);
      slots_[Find(moved, FlatStringHash(moved))].entry = erased;
      entries_[erased] = entries_[last];
    }
    entries_.pop_back();
    if (dead_bytes_ > (1u << 20) && dead_bytes_ * 2 > arena_.used_bytes()) CompactArena();
    return true;
  }
  // Calls visit(key, value) for every entry, in insertion order until the first Erase().
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const Entry& e : entries_) visit(arena_.View(e.key), e.value);
  }
  void Clear() {
    slots_.assign(kInitialSlots, Slot{});
    slot_bits_ = kInitialSlotBits;
    entries_.clear();
    arena_.Clear();
    dead_bytes_ = 0;
  }
  size_t size() const { return entries_.size(); }
  size_t arena_bytes() const { return arena_.memory_bytes(); }  // held for the keys' bytes
  size_t memory_bytes() const {
    return slots_.capacity() * sizeof(Slot) + entries_.capacity() * sizeof(Entry) +
           arena_.memory_bytes();
  }

 private:
  static constexpr int kInitialSlotBits = 10;
  static constexpr size_t kInitialSlots = size_t{1} << kInitialSlotBits;
  static constexpr uint32_t kEmpty = UINT32_MAX;
  // 8 bytes: the upper half of the key's hash and the entry's index. The upper half's top bits
  // choose the slot (Home()), and all 32 of them are compared before a key is, so that most
  // comparisons of keys are skipped and the table grows without hashing a key again.
  struct Slot {
    uint32_t high = 0;
    uint32_t entry = kEmpty;
  };
  static constexpr int kMaxSlotBits = 32;  // Home() takes the slot from 32 bits of the hash

  size_t Home(uint32_t high) const { return static_cast<size_t>(high) >> (32 - slot_bits_); }

  struct Entry {
    StringArena::Ref key;
    V value;
  };

  size_t Find(std::string_view key, uint64_t hash) const {
    const size_t mask = slots_.size() - 1;
    const auto high = static_cast<uint32_t>(hash >> 32);
    for (size_t i = Home(high);; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.entry == kEmpty ||
          (slot.high == high && arena_.View(entries_[slot.entry].key) == key)) {
        return i;
      }
    }
  }

  // Doubles the table, each entry placed from its slot's bits of the hash, no key read or
  // hashed again: the old slots in order, so that the new ones fill mostly in order too.
  void Grow() {
    if (slot_bits_ >= kMaxSlotBits) throw std::length_error("FlatStringMap: 2^32 slots");
    std::vector<Slot, LargeAllocator<Slot>> old(slots_.size() * 2, Slot{});
    old.swap(slots_);
    ++slot_bits_;
    const size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.entry == kEmpty) continue;
      size_t i = Home(slot.high);
      while (slots_[i].entry != kEmpty) i = (i + 1) & mask;
      slots_[i] = slot;
    }
  }

  // Copies the live keys into a fresh arena; the slots do not change.
  void CompactArena() {
    StringArena fresh;
    for (Entry& e : entries_) e.key = fresh.Store(arena_.View(e.key));
    arena_ = std::move(fresh);
    dead_bytes_ = 0;
  }

  std::vector<Slot, LargeAllocator<Slot>> slots_;  // 2^slot_bits_ of them, at most half full
  int slot_bits_ = kInitialSlotBits;
  std::vector<Entry, LargeAllocator<Entry>> entries_;  // dense, in insertion order until the
                                                       // first Erase()
  StringArena arena_;
  size_t dead_bytes_ = 0;  // of erased keys, still in the arena
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_FLAT_STRING_MAP_H_
