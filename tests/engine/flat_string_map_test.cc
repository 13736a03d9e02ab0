// FlatStringMap and IdSet against the standard containers on the same keys: across table
// growth, arena chunks, empty and very long keys, each key is new exactly once and keeps its
// value.
#include "engine/event/flat_string_map.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <unordered_set>

#include "engine/event/id_set.h"

namespace takt {
namespace {

TEST(IdSetTest, AnIdIsNewOnceAndSeenAfterwardsAcrossGrowthAndChunks) {
  IdSet ids;
  std::unordered_set<std::string> reference;
  // 300,000 inserts of 200,000 distinct ids (about 6 MiB of bytes: several chunks, many
  // doublings), in an order that mixes repeats with new ones.
  for (uint64_t i = 0; i < 300'000; ++i) {
    const std::string id = "evt-" + std::to_string((i * 7919) % 200'000);
    ASSERT_EQ(ids.Insert(id), reference.insert(id).second) << id;
  }
  EXPECT_EQ(ids.size(), reference.size());
  EXPECT_EQ(ids.size(), 200'000u);
  for (const std::string& id : reference) ASSERT_TRUE(ids.Contains(id)) << id;
  EXPECT_FALSE(ids.Contains("evt-200000"));
  EXPECT_FALSE(ids.Contains("evt-1 "));
  EXPECT_FALSE(ids.Contains("evt-"));
}

TEST(IdSetTest, EmptyAndLongerThanAChunkIdsAreKeptExactly) {
  IdSet ids;
  EXPECT_TRUE(ids.Insert(""));
  EXPECT_FALSE(ids.Insert(""));
  const std::string huge(3u << 20, 'x');  // larger than an arena chunk
  EXPECT_TRUE(ids.Insert(huge));
  EXPECT_FALSE(ids.Insert(huge));
  EXPECT_TRUE(ids.Insert(huge.substr(1)));
  EXPECT_TRUE(ids.Insert("after"));  // a new chunk after the dedicated one
  EXPECT_TRUE(ids.Contains(huge));
  EXPECT_TRUE(ids.Contains("after"));
  EXPECT_EQ(ids.size(), 4u);
  // Ids that differ only in a byte after a shared prefix, or in a NUL byte, are different.
  EXPECT_TRUE(ids.Insert(std::string("a\0b", 3)));
  EXPECT_TRUE(ids.Insert(std::string("a\0c", 3)));
  EXPECT_FALSE(ids.Insert(std::string("a\0b", 3)));
}

TEST(FlatStringMapTest, ValuesSurviveGrowthAndEveryEntryIsVisitedOnce) {
  FlatStringMap<int64_t> map;
  std::map<std::string, int64_t> reference;
  for (int64_t i = 0; i < 100'000; ++i) {
    const std::string key = "mes" + std::string(1, '\0') + "MO-" + std::to_string(i % 30'000);
    map[key] += i;
    reference[key] += i;
  }
  EXPECT_EQ(map.size(), reference.size());
  std::map<std::string, int64_t> visited;
  map.ForEach([&](std::string_view key, const int64_t& value) {
    EXPECT_TRUE(visited.emplace(std::string(key), value).second) << "visited twice: " << key;
  });
  EXPECT_EQ(visited, reference);
  ASSERT_NE(map.Lookup(reference.begin()->first), nullptr);
  EXPECT_EQ(*map.Lookup(reference.begin()->first), reference.begin()->second);
  EXPECT_EQ(map.Lookup("mes"), nullptr);

  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.Lookup(reference.begin()->first), nullptr);
  bool inserted = false;
  map.Emplace("again", inserted) = 7;
  EXPECT_TRUE(inserted);
  EXPECT_EQ(map["again"], 7);
}

TEST(FlatStringMapTest, ErasedKeysAreGoneOthersKeepTheirValuesAndTheirBytesAreGivenBack) {
  FlatStringMap<int64_t> map;
  std::map<std::string, int64_t> reference;
  // Keys come and go as orders do: each round adds 20,000 and erases the oldest 15,000, with
  // erases of keys never inserted mixed in. The erased keys' bytes pass the live ones' several
  // times over, so the arena is compacted again and again.
  int64_t next = 0, oldest = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 20'000; ++i, ++next) {
      const std::string key = "mes" + std::string(1, '\0') + "MO-" + std::to_string(next);
      map[key] = next;
      reference[key] = next;
    }
    for (int i = 0; i < 15'000; ++i, ++oldest) {
      const std::string key = "mes" + std::string(1, '\0') + "MO-" + std::to_string(oldest);
      ASSERT_TRUE(map.Erase(key)) << key;
      reference.erase(key);
      ASSERT_FALSE(map.Erase(key)) << "erased twice: " << key;
      ASSERT_FALSE(map.Erase("never-" + std::to_string(i)));
    }
    ASSERT_EQ(map.size(), reference.size());
  }
  for (int64_t i = 0; i < next; ++i) {
    const std::string key = "mes" + std::string(1, '\0') + "MO-" + std::to_string(i);
    const int64_t* value = map.Lookup(key);
    if (i < oldest) {
      ASSERT_EQ(value, nullptr) << key;
    } else {
      ASSERT_NE(value, nullptr) << key;
      ASSERT_EQ(*value, i);
    }
  }
  std::map<std::string, int64_t> visited;
  map.ForEach([&](std::string_view key, const int64_t& value) {
    EXPECT_TRUE(visited.emplace(std::string(key), value).second) << "visited twice: " << key;
  });
  EXPECT_EQ(visited, reference);
  // The arena holds the live keys' bytes, and at most as many of erased keys before it is
  // compacted, in chunks of up to 2 MiB: not the bytes of the 400,000 keys ever stored.
  size_t live_bytes = 0;
  for (const auto& [key, value] : reference) live_bytes += sizeof(uint32_t) + key.size();
  EXPECT_LE(map.arena_bytes(), 2 * live_bytes + (2u << 20));
}

}  // namespace
}  // namespace takt
