#include "transport/http/verified_needles.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace seaweed::transport::http {
namespace {

TEST(VerifiedVersions, RecordsPerServerAndFid) {
  VerifiedVersions v;
  EXPECT_FALSE(v.get("a:1", "3,01"));
  v.put("a:1", "3,01", 7);
  EXPECT_EQ(v.get("a:1", "3,01"), 7u);
  EXPECT_FALSE(v.get("b:1", "3,01"));  // verified on one server says nothing about another
  v.put("a:1", "3,01", 8);
  EXPECT_EQ(v.get("a:1", "3,01"), 8u);
  v.erase("a:1", "3,01");
  EXPECT_FALSE(v.get("a:1", "3,01"));
}

TEST(VerifiedVersions, BoundedAndRecentlyUsedRecordsSurvive) {
  VerifiedVersions v(2);
  v.put("s", "1", 1);
  v.put("s", "2", 2);
  v.put("s", "3", 3);              // generation full: 1, 2 become the old one
  EXPECT_EQ(v.get("s", "1"), 1u);  // used: moves back to the current one
  v.put("s", "4", 4);              // full again: 3, 1 old; 2 dropped
  v.put("s", "5", 5);
  EXPECT_LE(v.size(), 4u);
  EXPECT_FALSE(v.get("s", "2"));
  EXPECT_EQ(v.get("s", "5"), 5u);
}

TEST(NeedleCache, KeepsPublishedBytesAndEvictsByBytes) {
  NeedleCache cache(400);
  auto a = cache.acquire("a");
  ASSERT_TRUE(a.lease.held());
  a.lease.publish(cache.share(std::string(100, 'a')));
  EXPECT_EQ(*cache.find("a"), std::string(100, 'a'));
  for (const char* fid : {"b", "c", "d", "e"}) cache.acquire(fid).lease.publish(cache.share(std::string(100, *fid)));
  EXPECT_FALSE(cache.find("a"));  // least recently used went first
  EXPECT_EQ(cache.size_bytes(), 400u);
  cache.acquire("big").lease.publish(cache.share(std::string(101, 'x')));  // > capacity / 4: not kept
  EXPECT_FALSE(cache.find("big"));
}

TEST(NeedleCache, ConcurrentReadersWaitForOneFetch) {
  NeedleCache cache(1 << 20);
  auto leader = cache.acquire("n");
  ASSERT_TRUE(leader.lease.held());
  std::atomic<int> got{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.emplace_back([&] {
      auto w = cache.acquire("n");
      if (!w.lease.held() && w.bytes && *w.bytes == "verified") ++got;
    });
  // Makes it likely that the waiters block first; a late one finds the bytes cached instead.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  leader.lease.publish(cache.share("verified"));
  for (auto& t : waiters) t.join();
  EXPECT_EQ(got.load(), 3);
}

TEST(NeedleCache, AFailedFetchLetsTheWaitersGo) {
  NeedleCache cache(1 << 20);
  auto leader = cache.acquire("n");
  std::thread waiter([&] {
    auto w = cache.acquire("n");
    EXPECT_FALSE(w.bytes);  // waited and got nothing, or came after the drop and leads now
  });
  // Makes it likely that the waiter blocks first; the outcome holds either way.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  leader.lease = {};  // dropped without publishing
  waiter.join();
  EXPECT_FALSE(cache.find("n"));
}

TEST(NeedleCache, EvictedStorageIsReused) {
  NeedleCache cache(4 << 20);
  std::string first = cache.take_buffer(1 << 20);
  first.assign(1 << 20, 'x');
  const char* storage = first.data();
  cache.acquire("a").lease.publish(cache.share(std::move(first)));
  for (const char* fid : {"b", "c", "d", "e"}) cache.acquire(fid).lease.publish(cache.share(std::string(1 << 20, 'y')));
  ASSERT_FALSE(cache.find("a"));
  std::string reused = cache.take_buffer(1 << 20);
  EXPECT_EQ(reused.data(), storage);
  EXPECT_TRUE(reused.empty());
  EXPECT_GE(reused.capacity(), size_t{1} << 20);
}

}  // namespace
}  // namespace seaweed::transport::http
