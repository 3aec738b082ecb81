#include "reader/chunk_cache.h"

#include <gtest/gtest.h>

namespace seaweed::reader {
namespace {

ChunkCache::Bytes bytes(size_t n, char c) { return std::make_shared<const std::string>(n, c); }

TEST(ChunkCache, EvictsLeastRecentlyUsedWithinCapacity) {
  ChunkCache cache(400);
  cache.put("a", bytes(100, 'a'));
  cache.put("b", bytes(100, 'b'));
  cache.put("c", bytes(100, 'c'));
  ASSERT_TRUE(cache.get("a"));  // a becomes most recent
  cache.put("d", bytes(100, 'd'));
  cache.put("e", bytes(100, 'e'));  // over 400: the least recent (b) goes
  EXPECT_FALSE(cache.get("b"));
  EXPECT_TRUE(cache.get("a"));
  EXPECT_TRUE(cache.get("e"));
  EXPECT_LE(cache.size_bytes(), 400u);
}

TEST(ChunkCache, RefusesEntriesOverAQuarterOfCapacity) {
  ChunkCache cache(400);
  cache.put("big", bytes(101, 'x'));
  EXPECT_FALSE(cache.get("big"));
  EXPECT_EQ(cache.size_bytes(), 0u);
}

TEST(ChunkCache, ReplacingAKeyKeepsAccountingRight) {
  ChunkCache cache(1000);
  cache.put("a", bytes(100, 'a'));
  cache.put("a", bytes(50, 'b'));
  EXPECT_EQ(cache.size_bytes(), 50u);
  EXPECT_EQ(*cache.get("a"), std::string(50, 'b'));
}

TEST(ChunkCache, ZeroCapacityKeepsNothing) {
  ChunkCache cache(0);
  cache.put("a", bytes(1, 'a'));
  EXPECT_FALSE(cache.get("a"));
}

}  // namespace
}  // namespace seaweed::reader
