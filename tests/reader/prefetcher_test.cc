#include "reader/prefetcher.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>

#include "reader/file_reader.h"

namespace seaweed::reader {
namespace {

// Needle bytes are a function of (key, position), so any range can be checked.
char byte_at(uint64_t key, uint64_t pos) { return static_cast<char>((key * 131 + pos * 7 + (pos >> 9)) & 0xff); }

class PatternReader : public transport::VolumeReader {
 public:
  Result<size_t> read_range(const transport::NeedleLocator& loc, uint64_t offset, std::span<char> dst) override {
    calls++;
    bytes += dst.size();
    for (size_t i = 0; i < dst.size(); ++i) dst[i] = byte_at(loc.fid.key, offset + i);
    return dst.size();
  }
  Result<transport::StoredNeedle> read_whole(const transport::NeedleLocator&) override {
    return make_error(EIO, "not used");
  }
  std::atomic<int> calls{0};
  std::atomic<uint64_t> bytes{0};
};

struct Fixture : ::testing::Test {
  PatternReader transport;
  filer::VolumeLocations locations{
      [](const std::vector<uint32_t>& vids) -> Result<std::map<uint32_t, std::vector<std::string>>> {
        return std::map<uint32_t, std::vector<std::string>>{{vids[0], {"vs:1"}}};
      },
      std::chrono::seconds(60)};
  ChunkCache cache{0};
  ChunkFetcher fetcher{transport, locations, cache};

  // 10 chunks of 3 MiB + 12345 bytes, then a hole to the size.
  std::shared_ptr<const chunks::FileLayout> layout() {
    std::vector<chunks::Chunk> list;
    const uint64_t chunk = (3 << 20) + 12345;
    for (uint64_t i = 0; i < 10; ++i)
      list.push_back(chunks::Chunk{FileId{1, i + 1, 7}.to_string(), static_cast<int64_t>(i * chunk), chunk, 1});
    auto built = chunks::FileLayout::build(list, 10 * chunk + 5000);
    return std::make_shared<const chunks::FileLayout>(std::move(built.value()));
  }
  std::string expected(const chunks::FileLayout& l, uint64_t off, size_t len) {
    std::string out(len, '\0');
    auto n = read_file(l, fetcher, off, std::span<char>(out.data(), len));
    out.resize(*n);
    return out;
  }
};

TEST_F(Fixture, SequentialReadsMatchDirectReadsAndPrefetch) {
  PrefetchPool pool(2, 16 << 20);
  auto l = layout();
  StreamReader stream(l, fetcher, &pool, 4);
  std::string buf(1 << 20, '\0');
  for (uint64_t off = 0; off < l->size(); off += buf.size()) {
    auto n = stream.read(off, std::span<char>(buf.data(), buf.size()));
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(std::string(buf.data(), *n), expected(*l, off, buf.size())) << off;
  }
  EXPECT_LE(pool.in_use(), size_t{16} << 20);
}

TEST_F(Fixture, RandomAndConcurrentReadsStayExact) {
  PrefetchPool pool(2, 8 << 20);
  auto l = layout();
  StreamReader stream(l, fetcher, &pool, 8);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::string buf;
      uint64_t off = (rng() % l->size()) & ~uint64_t{4095};
      for (int i = 0; i < 200; ++i) {
        // Mostly sequential runs with jumps, like several readers of one handle.
        if (rng() % 8 == 0) off = rng() % (l->size() + 100);
        const size_t len = 1 + rng() % (2 << 20);
        buf.assign(len, '\0');
        auto n = stream.read(off, std::span<char>(buf.data(), len));
        if (!n.ok() || std::string(buf.data(), *n) != expected(*l, off, len)) bad++;
        off += len;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(Fixture, SpentBudgetMeansSynchronousReads) {
  PrefetchPool pool(1, 0);
  auto l = layout();
  StreamReader stream(l, fetcher, &pool, 8);
  std::string buf(1 << 20, '\0');
  for (uint64_t off = 0; off < 8 << 20; off += buf.size()) ASSERT_TRUE(stream.read(off, std::span<char>(buf)).ok());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(Fixture, PrefetchedBlocksAreHandedOutPinnedAndTheirBuffersRecycled) {
  PrefetchPool pool(2, 8 << 20);
  auto l = layout();
  StreamReader stream(l, fetcher, &pool, 4);
  std::string scratch(1 << 20, '\0');
  size_t pinned_pieces = 0;
  for (uint64_t off = 0; off < l->size(); off += scratch.size()) {
    ReadPieces pieces;
    ASSERT_TRUE(stream.read_pieces(off, std::span<char>(scratch), pieces).ok());
    std::string got;
    for (const iovec& v : pieces.iov) got.append(static_cast<const char*>(v.iov_base), v.iov_len);
    ASSERT_EQ(got.size(), pieces.bytes);
    ASSERT_EQ(got, expected(*l, off, scratch.size())) << off;
    pinned_pieces += pieces.pins.size();
  }
  // Past the first blocks the stream is served from prefetched blocks, not copied into scratch.
  EXPECT_GT(pinned_pieces, 20u);
  // 30 MiB streamed through a budget of 8 blocks: buffers are reused, never more than the budget.
  EXPECT_LE(pool.buffers_allocated(), 8u);
}

TEST_F(Fixture, ASequentialReadToTheEndFetchesEveryByteOnce) {
  // Two chunks, 2 MiB - 1 bytes: the second read reaches the end, so nothing is left to prefetch.
  const std::vector<chunks::Chunk> list = {chunks::Chunk{FileId{1, 1, 7}.to_string(), 0, 1 << 20, 1},
                                           chunks::Chunk{FileId{1, 2, 7}.to_string(), 1 << 20, (1 << 20) - 1, 1}};
  auto built = chunks::FileLayout::build(list, (2 << 20) - 1);
  auto l = std::make_shared<const chunks::FileLayout>(std::move(built.value()));
  {
    PrefetchPool pool(1, 8 << 20);
    StreamReader stream(l, fetcher, &pool, 4);
    std::string buf(1 << 20, '\0');
    for (uint64_t off = 0; off < l->size(); off += buf.size()) {
      auto n = stream.read(off, std::span<char>(buf.data(), buf.size()));
      ASSERT_TRUE(n.ok());
      ASSERT_EQ(std::string(buf.data(), *n), expected(*l, off, buf.size())) << off;
    }
    EXPECT_EQ(pool.in_use(), 0u) << "a block past the last read was scheduled";
  }
  EXPECT_EQ(transport.bytes.load(), 2 * l->size());  // the reads, plus expected()'s own reads
}

TEST_F(Fixture, ReadsAtEndOfFileHaveNoPieces) {
  PrefetchPool pool(1, 4 << 20);
  auto l = layout();
  StreamReader stream(l, fetcher, &pool, 4);
  std::string scratch(4096, '\0');
  ReadPieces pieces;
  ASSERT_TRUE(stream.read_pieces(l->size(), std::span<char>(scratch), pieces).ok());
  EXPECT_EQ(pieces.bytes, 0u);
  EXPECT_TRUE(pieces.iov.empty());
}

// A volume server on which every needle is deleted: served only to reads that allow it.
class DeletedNeedles : public transport::VolumeReader {
 public:
  Result<size_t> read_range(const transport::NeedleLocator& loc, uint64_t offset, std::span<char> dst) override {
    if (!loc.allow_deleted) {
      refused++;
      return make_error(ENOENT, "deleted");
    }
    allowed++;
    for (size_t i = 0; i < dst.size(); ++i) dst[i] = byte_at(loc.fid.key, offset + i);
    return dst.size();
  }
  Result<transport::StoredNeedle> read_whole(const transport::NeedleLocator&) override {
    return make_error(EIO, "not used");
  }
  std::atomic<int> refused{0};
  std::atomic<int> allowed{0};
};

TEST_F(Fixture, AllowDeletedReachesEveryReadAndEveryPrefetchJob) {
  DeletedNeedles deleted;
  ChunkFetcher deleted_fetcher{deleted, locations, cache};
  PrefetchPool pool(2, 16 << 20);
  auto l = layout();
  StreamReader stream(l, deleted_fetcher, &pool, 4);
  std::string buf(1 << 20, '\0');
  auto first = stream.read(0, std::span<char>(buf));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ENOENT);  // a live-only read of a deleted needle
  stream.allow_deleted();
  EXPECT_TRUE(stream.deleted_allowed());
  for (uint64_t off = 0; off < l->size(); off += buf.size()) {
    auto n = stream.read(off, std::span<char>(buf));
    ASSERT_TRUE(n.ok()) << off << ": " << n.error().message;
    ASSERT_EQ(std::string(buf.data(), *n), expected(*l, off, buf.size())) << off;
  }
  EXPECT_GT(deleted.allowed.load(), 20);
  // Only reads from before the switch were refused (readahead jobs queued before it included).
  const int refused = deleted.refused.load();
  for (uint64_t off = 0; off < 4 << 20; off += buf.size()) ASSERT_TRUE(stream.read(off, std::span<char>(buf)).ok());
  EXPECT_EQ(deleted.refused.load(), refused);
}

}  // namespace
}  // namespace seaweed::reader
