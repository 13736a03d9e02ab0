// IdSet against std::unordered_set on the same ids: across table growth, arena chunks, empty
// and very long ids, each id is new exactly once.
#include "engine/event/id_set.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

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

}  // namespace
}  // namespace takt
