#include "transport/disk/disk_chunk_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "codec/codec.h"

namespace seaweed::transport {
namespace {

namespace fs = std::filesystem;

// A transport that serves needles from a map and counts what it was asked.
class FakeReader : public VolumeReader {
 public:
  std::map<std::string, StoredNeedle> needles;
  int whole_calls = 0, range_calls = 0;

  Result<size_t> read_range(const NeedleLocator& loc, uint64_t offset, std::span<char> dst) override {
    ++range_calls;
    auto it = needles.find(loc.fid_text);
    if (it == needles.end()) return make_error(ENOENT, "no needle " + loc.fid_text);
    std::string clear = it->second.gzipped ? codec::gunzip(it->second.data).value() : it->second.data;
    const size_t n = offset >= clear.size() ? 0 : std::min(dst.size(), clear.size() - offset);
    std::memcpy(dst.data(), clear.data() + offset, n);
    return n;
  }
  Result<StoredNeedle> read_whole(const NeedleLocator& loc) override {
    ++whole_calls;
    auto it = needles.find(loc.fid_text);
    if (it == needles.end()) return make_error(ENOENT, "no needle " + loc.fid_text);
    return it->second;
  }
};

std::string bytes(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

NeedleLocator loc(const std::string& fid, uint64_t max_stored = 0) {
  NeedleLocator l;
  l.fid_text = fid;
  l.urls = {"127.0.0.1:1"};
  l.max_stored_size = max_stored;
  return l;
}

class DiskCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/disk_cache_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<DiskChunkCache> open(uint64_t capacity = 64u << 20) {
    auto c = DiskChunkCache::open({dir_, capacity});
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(c.value());
  }
  std::string dir_;
};

std::string read_range(VolumeReader& r, const NeedleLocator& l, uint64_t off, size_t n) {
  std::string out(n, '\0');
  auto got = r.read_range(l, off, std::span<char>(out.data(), out.size()));
  EXPECT_TRUE(got.ok()) << got.error().message;
  out.resize(got.ok() ? *got : 0);
  return out;
}

TEST_F(DiskCacheTest, RangeMissFetchesWholeOnceThenLocal) {
  FakeReader inner;
  inner.needles["3,01ab"] = {bytes(300000, 1), false};
  auto cache = open();
  DiskCachingVolumeReader r(inner, *cache);
  const auto& data = inner.needles["3,01ab"].data;
  EXPECT_EQ(read_range(r, loc("3,01ab"), 1000, 4096), data.substr(1000, 4096));
  EXPECT_EQ(inner.whole_calls, 1);
  EXPECT_EQ(read_range(r, loc("3,01ab"), 0, 10), data.substr(0, 10));
  EXPECT_EQ(read_range(r, loc("3,01ab"), 299990, 100), data.substr(299990));  // short at the end
  EXPECT_EQ(read_range(r, loc("3,01ab"), 400000, 100), "");                   // past the end
  EXPECT_EQ(inner.whole_calls, 1);
  EXPECT_EQ(inner.range_calls, 0);
  auto whole = r.read_whole(loc("3,01ab"));
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->data, data);
  EXPECT_EQ(inner.whole_calls, 1);
  EXPECT_EQ(cache->stats().entries, 1u);
  EXPECT_EQ(cache->stats().bytes, 300000u);
}

// The point of -cacheDir: a new process (remount) reads without the network, CRC-checked.
TEST_F(DiskCacheTest, SurvivesReopen) {
  FakeReader inner;
  inner.needles["7,ff00_1"] = {bytes(5000, 2), false};
  inner.needles["7,ff01"] = {codec::gzip(bytes(8000, 3)).value(), true};
  {
    auto cache = open();
    DiskCachingVolumeReader r(inner, *cache);
    ASSERT_TRUE(r.read_whole(loc("7,ff00_1")).ok());
    ASSERT_TRUE(r.read_whole(loc("7,ff01")).ok());
  }
  FakeReader empty;  // nothing behind: every answer must come from disk
  auto cache = open();
  EXPECT_EQ(cache->stats().entries, 2u);
  DiskCachingVolumeReader r(empty, *cache);
  EXPECT_EQ(read_range(r, loc("7,ff00_1"), 100, 200), inner.needles["7,ff00_1"].data.substr(100, 200));
  auto gz = r.read_whole(loc("7,ff01"));
  ASSERT_TRUE(gz.ok());
  EXPECT_TRUE(gz->gzipped);
  EXPECT_EQ(codec::gunzip(gz->data).value(), bytes(8000, 3));
  EXPECT_EQ(empty.whole_calls + empty.range_calls, 0);
}

TEST_F(DiskCacheTest, CorruptEntryIsRemovedAndRefetched) {
  FakeReader inner;
  inner.needles["4,0a"] = {bytes(10000, 4), false};
  {
    auto cache = open();
    DiskCachingVolumeReader r(inner, *cache);
    ASSERT_TRUE(r.read_whole(loc("4,0a")).ok());
  }
  {
    std::fstream f(dir_ + "/4/0a", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(24 + 5000);
    f.put('\x5a' ^ inner.needles["4,0a"].data[5000]);
  }
  auto cache = open();  // a new process: the entry is checked on first use
  DiskCachingVolumeReader r(inner, *cache);
  EXPECT_EQ(read_range(r, loc("4,0a"), 4990, 20), inner.needles["4,0a"].data.substr(4990, 20));
  EXPECT_EQ(cache->stats().corrupt, 1u);
  EXPECT_EQ(inner.whole_calls, 2);  // fetched again and stored again
  EXPECT_EQ(cache->stats().entries, 1u);
}

TEST_F(DiskCacheTest, JunkAndHalfWrittenFilesAreRemovedOnOpen) {
  fs::create_directories(dir_ + "/5");
  std::ofstream(dir_ + "/5/0b") << "not a cache entry";
  std::ofstream(dir_ + "/5/0c.tmp.1.1") << "half written";
  auto cache = open();
  EXPECT_EQ(cache->stats().entries, 0u);
  EXPECT_FALSE(fs::exists(dir_ + "/5/0b"));
  EXPECT_FALSE(fs::exists(dir_ + "/5/0c.tmp.1.1"));
}

TEST_F(DiskCacheTest, BoundedLeastRecentlyUsedOut) {
  FakeReader inner;
  for (int i = 0; i < 6; ++i) inner.needles["6,0" + std::to_string(i)] = {bytes(1000, i), false};
  auto cache = open(8000);  // entries up to 1000 bytes (1/8), 8 fit
  DiskCachingVolumeReader r(inner, *cache);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(r.read_whole(loc("6,0" + std::to_string(i))).ok());
  EXPECT_EQ(cache->stats().entries, 6u);
  ASSERT_TRUE(r.read_whole(loc("6,00")).ok());  // 00 is now the most recent
  for (int i = 6; i < 9; ++i) {
    inner.needles["6,0" + std::to_string(i)] = {bytes(1000, i), false};
    ASSERT_TRUE(r.read_whole(loc("6,0" + std::to_string(i))).ok());
  }
  EXPECT_LE(cache->stats().bytes, 8000u);
  EXPECT_EQ(cache->stats().evictions, 1u);
  EXPECT_FALSE(fs::exists(dir_ + "/6/01"));  // the least recently used went
  EXPECT_TRUE(fs::exists(dir_ + "/6/00"));
  inner.needles["6,99"] = {bytes(1001, 9), false};  // over an eighth of the budget: not kept
  ASSERT_TRUE(r.read_whole(loc("6,99")).ok());
  EXPECT_FALSE(fs::exists(dir_ + "/6/99"));
}

TEST_F(DiskCacheTest, LargeChunksAndBadIdsPassThrough) {
  FakeReader inner;
  inner.needles["8,01"] = {bytes(4096, 8), false};
  inner.needles["../x"] = {bytes(10, 9), false};
  auto cache = open();
  DiskCachingVolumeReader r(inner, *cache, /*max_chunk=*/1024);
  EXPECT_EQ(read_range(r, loc("8,01", /*max_stored=*/4096), 0, 100), inner.needles["8,01"].data.substr(0, 100));
  EXPECT_EQ(inner.range_calls, 1);
  EXPECT_EQ(inner.whole_calls, 0);
  ASSERT_TRUE(r.read_whole(loc("../x")).ok());
  EXPECT_EQ(cache->stats().entries, 0u);
}

TEST_F(DiskCacheTest, GzipNeedleRangesAreSlicedFromTheWholeFetch) {
  FakeReader inner;
  const std::string clear = bytes(20000, 5);
  inner.needles["9,0d"] = {codec::gzip(clear).value(), true};
  auto cache = open();
  DiskCachingVolumeReader r(inner, *cache);
  EXPECT_EQ(read_range(r, loc("9,0d"), 15000, 10000), clear.substr(15000));
  // A gzip entry is not sliced from disk (it would be inflated on every read): the transport does it.
  EXPECT_EQ(read_range(r, loc("9,0d"), 0, 10), clear.substr(0, 10));
  EXPECT_EQ(inner.range_calls, 1);
}

// Readahead asks for several blocks of one chunk at once: they share one whole fetch.
TEST_F(DiskCacheTest, ConcurrentMissesShareOneFetch) {
  class SlowReader : public FakeReader {
   public:
    Result<StoredNeedle> read_whole(const NeedleLocator& loc) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return FakeReader::read_whole(loc);
    }
  } inner;
  inner.needles["2,0c"] = {bytes(4 << 20, 6), false};
  auto cache = open();
  DiskCachingVolumeReader r(inner, *cache);
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { got[i] = read_range(r, loc("2,0c"), uint64_t(i) << 19, 4096); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(got[i], inner.needles["2,0c"].data.substr(size_t(i) << 19, 4096)) << i;
  EXPECT_EQ(r.fetches(), 1u);
  EXPECT_EQ(inner.whole_calls, 1);
}

TEST_F(DiskCacheTest, ErrorsComeFromTheTransport) {
  FakeReader inner;
  auto cache = open();
  DiskCachingVolumeReader r(inner, *cache);
  std::string buf(10, '\0');
  auto got = r.read_range(loc("1,01"), 0, std::span<char>(buf.data(), buf.size()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ENOENT);
  EXPECT_FALSE(r.read_whole(loc("1,01")).ok());
  EXPECT_FALSE(DiskChunkCache::open({"/proc/no/such/dir", 1 << 20}).ok());
}

}  // namespace
}  // namespace seaweed::transport
