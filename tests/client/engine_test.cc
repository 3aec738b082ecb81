// The engine without a cluster: layouts whose bytes are holes, so every view is local.
#include "client/engine.h"

#include <gtest/gtest.h>

namespace seaweed::client {
namespace {

LayoutSnapshot hole_file(uint64_t size) {
  LayoutSnapshot s;
  s.file_size = size;
  s.flags = LayoutSnapshot::kRdmaEnabled | LayoutSnapshot::kFallback;
  return s;
}

TEST(Engine, ReadsHolesAsZerosAndStopsAtTheSnapshotSize) {
  Engine engine(hole_file(10 << 20), EngineOptions{});
  auto reader = engine.open(hole_file(10 << 20), -1);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  std::string buf(3 << 20, 'x');
  // A sequential stream (readahead kicks in after two reads), then a read across the end.
  uint64_t off = 0;
  for (int i = 0; i < 3; ++i) {
    auto n = (*reader)->pread(off, std::span<char>(buf.data(), buf.size()));
    ASSERT_TRUE(n.ok()) << n.error().message;
    ASSERT_EQ(*n, buf.size());
    EXPECT_EQ(buf.find_first_not_of('\0'), std::string::npos);
    off += *n;
  }
  buf.assign(4 << 20, 'x');
  auto tail = (*reader)->pread(off, std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, (10u << 20) - off);
  auto past = (*reader)->pread(10 << 20, std::span<char>(buf.data(), 10));
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, 0u);
}

TEST(Engine, RefusesAMalformedLayout) {
  Engine engine(hole_file(1), EngineOptions{});
  auto s = hole_file(10);
  chunks::Chunk c;
  c.file_id = "1,0101";
  c.is_manifest = true;  // manifests must have been resolved by the daemon
  s.chunks.push_back(c);
  EXPECT_FALSE(engine.open(s, -1).ok());
}

}  // namespace
}  // namespace seaweed::client

namespace seaweed::client {
namespace {

TEST(EngineOptions, EnvironmentOverridesDefaultsInMegabytes) {
  unsetenv("SEAWEED_RDMA_CACHE_MB");
  unsetenv("SEAWEED_RDMA_PREFETCH_MB");
  setenv("SEAWEED_RDMA_WINDOW", "3", 1);
  auto o = EngineOptions::from_environment();
  EXPECT_EQ(o.cache_bytes, EngineOptions{}.cache_bytes);  // defaults are bytes already
  EXPECT_EQ(o.prefetch_bytes, EngineOptions{}.prefetch_bytes);
  EXPECT_EQ(o.window_blocks, 3u);
  setenv("SEAWEED_RDMA_CACHE_MB", "5", 1);
  setenv("SEAWEED_RDMA_PREFETCH_MB", "junk", 1);
  o = EngineOptions::from_environment();
  EXPECT_EQ(o.cache_bytes, 5u << 20);
  EXPECT_EQ(o.prefetch_bytes, EngineOptions{}.prefetch_bytes);
  unsetenv("SEAWEED_RDMA_CACHE_MB");
  unsetenv("SEAWEED_RDMA_PREFETCH_MB");
  unsetenv("SEAWEED_RDMA_WINDOW");
}

}  // namespace
}  // namespace seaweed::client

namespace seaweed::client {
namespace {

TEST(Engine, LargeReadsArriveWholeFromParallelPieces) {
  Engine engine(hole_file(40 << 20), EngineOptions{});
  auto reader = engine.open(hole_file(40 << 20), -1);
  ASSERT_TRUE(reader.ok());
  // Unaligned start and a length that is not a multiple of the piece size; past the end too.
  std::string buf(17 << 20, 'x');
  auto n = (*reader)->pread(12345, std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, buf.size());
  EXPECT_EQ(buf.find_first_not_of('\0'), std::string::npos);
  buf.assign(9 << 20, 'x');
  auto tail = (*reader)->pread((40 << 20) - (5 << 20) - 7, std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, (5u << 20) + 7);
  EXPECT_EQ(buf.find_first_not_of('\0'), (5u << 20) + 7);  // zeros up to the end of file, untouched after
}

}  // namespace
}  // namespace seaweed::client
