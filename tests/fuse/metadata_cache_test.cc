#include "fuse/metadata_cache.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace seaweed::fuse {
namespace {

using testing::dir_entry;
using testing::FakeMetadataSource;
using testing::file_entry;

struct CacheTest : ::testing::Test {
  FakeMetadataSource source;
  void SetUp() override {
    source.put_silently("/d", dir_entry("d"));
    for (int i = 0; i < 10; ++i) source.put_silently("/d/f" + std::to_string(i), file_entry("", 100 + i, 1000));
  }
};

TEST_F(CacheTest, ListingAnswersLookupsAndNegativeLookupsLocally) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  std::vector<std::string> names;
  ASSERT_TRUE(cache.list("/d", [&](filer_pb::Entry&& e) { names.push_back(e.name()); }).ok());
  EXPECT_EQ(names.size(), 10u);
  const int before = source.lookups.load();
  auto hit = cache.lookup("/d", "f3");
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->attributes().file_size(), 1000u);
  auto miss = cache.lookup("/d", "nope");  // a negative dentry from the listing
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  EXPECT_EQ(source.lookups.load(), before);
  auto s = cache.stats();
  EXPECT_EQ(s.entries, 10u);
  EXPECT_EQ(s.listings, 1u);
}

TEST_F(CacheTest, AnEventAddsANameToTheListing) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  ASSERT_TRUE(cache.list("/d", [](filer_pb::Entry&&) {}).ok());
  ASSERT_FALSE(cache.lookup("/d", "new")->has_value());
  source.put_silently("/d/new", file_entry("", 999, 5));
  cache.begin_event();
  cache.entry_changed("/d", file_entry("new", 999, 5));
  auto found = cache.lookup("/d", "new");  // no longer known absent: asks the source
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->attributes().file_size(), 5u);
}

TEST_F(CacheTest, AListingThatStartedBeforeADeleteCannotResurrectIt) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  // The delete lands while the listing's pages are coming in: the listing saw f5.
  source.during_next_list([&] {
    source.remove_silently("/d/f5");
    cache.begin_event();
    cache.entry_gone("/d", "f5");
  });
  std::vector<std::string> names;
  ASSERT_TRUE(cache.list("/d", [&](filer_pb::Entry&& e) { names.push_back(e.name()); }).ok());
  EXPECT_NE(std::find(names.begin(), names.end(), "f5"), names.end());  // the caller's answer, as listed
  EXPECT_EQ(cache.stats().entries, 0u);                                 // but nothing of it was cached
  EXPECT_EQ(cache.stats().listings, 0u);
  auto gone = cache.lookup("/d", "f5");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(CacheTest, ALookupAnsweredBeforeAnEventIsNotCached) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  source.during_next_lookup([&] {
    source.put_silently("/d/f1", file_entry("", 555, 7));
    cache.begin_event();
    cache.entry_changed("/d", file_entry("f1", 555, 7));
  });
  auto old = cache.entry("/d/f1", false);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->attributes().file_size(), 1000u);  // the answer from before the event
  auto now = cache.entry("/d/f1", false);           // was not cached: asked again
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->attributes().file_size(), 7u);
}

TEST_F(CacheTest, RepeatedMissesInADirectoryListItOnce) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cache.lookup("/d", "f" + std::to_string(i))->has_value());
  EXPECT_EQ(source.lists.load(), 1);
  EXPECT_EQ(source.lookups.load(), MetadataCache::kMissesBeforeListing - 1);
}

TEST_F(CacheTest, EvictionKeepsTheBoundAndAnswersStayRight) {
  MetadataCache cache(source, 4096, std::chrono::seconds(60));  // a few entries' worth
  ASSERT_TRUE(cache.list("/d", [](filer_pb::Entry&&) {}).ok());
  auto s = cache.stats();
  EXPECT_LE(s.bytes, 4096u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_LT(s.entries, 10u);
  for (int i = 0; i < 10; ++i) {
    auto e = cache.lookup("/d", "f" + std::to_string(i));
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(e->has_value()) << i;
    EXPECT_EQ((*e)->attributes().file_size(), 1000u);
    EXPECT_LE(cache.stats().bytes, 4096u);
  }
}

TEST_F(CacheTest, LayoutsByContentVersionAndForget) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  auto layout = std::make_shared<const chunks::FileLayout>(chunks::FileLayout::build({}, 0).value());
  const auto v1 = content_version(file_entry("f1", 101, 1000));
  cache.remember_layout("/d/f1", v1, layout);
  EXPECT_EQ(cache.layout("/d/f1", v1), layout);
  EXPECT_EQ(cache.layout("/d/f1", content_version(file_entry("f1", 101, 1001))), nullptr);
  // Same content, other attributes: data unchanged, the layout stays.
  auto chmod = file_entry("f1", 101, 1000);
  chmod.mutable_attributes()->set_file_mode(0600);
  cache.begin_event();
  EXPECT_FALSE(cache.entry_changed("/d", chmod));
  EXPECT_EQ(cache.layout("/d/f1", v1), layout);
  // New content: the layout goes.
  cache.begin_event();
  EXPECT_TRUE(cache.entry_changed("/d", file_entry("f1", 202, 1000)));
  EXPECT_EQ(cache.layout("/d/f1", v1), nullptr);
  // forget drops the entry and the layout of the path.
  ASSERT_TRUE(cache.entry("/d/f2", false).ok());
  cache.remember_layout("/d/f2", "v", layout);
  cache.forget("/d/f2");
  EXPECT_EQ(cache.layout("/d/f2", "v"), nullptr);
  const int before = source.lookups.load();
  ASSERT_TRUE(cache.entry("/d/f2", false).ok());
  EXPECT_EQ(source.lookups.load(), before + 1);
}

TEST_F(CacheTest, CachedEntriesServeWhileTheFilerIsUnreachable) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(0));  // every entry is expired at once
  ASSERT_TRUE(cache.entry("/d/f1", false).ok());
  source.set_unreachable(true);
  auto stale = cache.entry("/d/f1", false);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->attributes().file_size(), 1000u);
  EXPECT_EQ(cache.entry("/d/f2", false).error().code, EHOSTUNREACH);
}

TEST_F(CacheTest, ClearDropsListingsAndLayoutsAndExpiresEntries) {
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  ASSERT_TRUE(cache.list("/d", [](filer_pb::Entry&&) {}).ok());
  cache.remember_layout("/d/f1", "v",
                        std::make_shared<const chunks::FileLayout>(chunks::FileLayout::build({}, 0).value()));
  const uint64_t epoch = cache.epoch();
  cache.clear();
  EXPECT_GT(cache.epoch(), epoch);
  auto s = cache.stats();
  EXPECT_EQ(s.listings + s.layouts, 0u);
  EXPECT_EQ(s.entries, 10u);  // kept, expired
  EXPECT_EQ(cache.layout("/d/f1", "v"), nullptr);
  // Expired: the next lookups ask the source (and see what changed while events were lost)...
  source.put_silently("/d/f1", file_entry("", 101, 7));
  const int before = source.lookups.load();
  auto fresh = cache.lookup("/d", "f1");
  ASSERT_TRUE(fresh.ok());
  ASSERT_TRUE(fresh->has_value());
  EXPECT_EQ((*fresh)->attributes().file_size(), 7u);
  EXPECT_EQ(source.lookups.load(), before + 1);
  ASSERT_TRUE(cache.lookup("/d", "f1").ok());  // fresh again: from the cache
  EXPECT_EQ(source.lookups.load(), before + 1);
}

TEST_F(CacheTest, AfterClearTheLastKnownEntriesServeWhileTheFilerIsUnreachable) {
  // A filer restart: the stream resubscribes (clear) while the filer does not answer yet.
  MetadataCache cache(source, 1 << 20, std::chrono::seconds(60));
  ASSERT_TRUE(cache.list("/d", [](filer_pb::Entry&&) {}).ok());
  cache.set_subscribed(true);
  cache.clear();
  source.set_unreachable(true);
  auto stale = cache.entry("/d/f3", false);
  ASSERT_TRUE(stale.ok()) << stale.error().message;
  EXPECT_EQ(stale->attributes().file_size(), 1000u);
  auto looked_up = cache.lookup("/d", "f4");
  ASSERT_TRUE(looked_up.ok()) << looked_up.error().message;
  ASSERT_TRUE(looked_up->has_value());
  // Nothing cached: the error stays.
  EXPECT_EQ(cache.lookup("/d", "nope").error().code, EHOSTUNREACH);
  source.set_unreachable(false);
  const int before = source.lookups.load();
  ASSERT_TRUE(cache.entry("/d/f3", false).ok());  // still expired: asked once the filer answers
  EXPECT_EQ(source.lookups.load(), before + 1);
}

TEST(ByteLru, EvictsColdestAndCountsBytes) {
  std::vector<int> evicted;
  ByteLru<int, int> lru(100, [&](const int& k, int&) { evicted.push_back(k); });
  EXPECT_TRUE(lru.put(1, 10, 40));
  EXPECT_TRUE(lru.put(2, 20, 40));
  ASSERT_NE(lru.get(1), nullptr);  // 1 is now the most recent
  EXPECT_TRUE(lru.put(3, 30, 40));
  EXPECT_EQ(evicted, std::vector<int>{2});
  EXPECT_EQ(lru.bytes(), 80u);
  EXPECT_FALSE(lru.put(4, 40, 101));  // larger than everything
  EXPECT_EQ(lru.size(), 2u);
  ASSERT_NE(lru.get(1), nullptr);
  lru.recharge(1, 90);  // grows in place: the colder 3 goes
  EXPECT_EQ(evicted, (std::vector<int>{2, 3}));
  EXPECT_TRUE(lru.erase(1));
  EXPECT_EQ(lru.bytes(), 0u);
}

TEST(ByteLru, EraseIfKeepsTheRestAndTheirBytes) {
  ByteLru<int, int> lru(100);
  for (int k = 1; k <= 4; ++k) EXPECT_TRUE(lru.put(k, k * 10, 10));
  EXPECT_EQ(lru.erase_if([](const int& k, int& v) {
    v += 1;
    return k % 2 == 0;
  }),
            2u);
  EXPECT_EQ(lru.size(), 2u);
  EXPECT_EQ(lru.bytes(), 20u);
  EXPECT_EQ(lru.get(2), nullptr);
  ASSERT_NE(lru.get(3), nullptr);
  EXPECT_EQ(*lru.get(3), 31);
  EXPECT_EQ(lru.evictions(), 0u);
}

}  // namespace
}  // namespace seaweed::fuse
