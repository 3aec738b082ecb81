#include "chunks/file_layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "test_chunks.h"

namespace seaweed::chunks {
namespace {

using test_support::make_chunk;
using ::testing::HasSubstr;

// A compact, comparable description of one view.
struct V {
  uint64_t file_offset;
  uint64_t length;
  std::string file_id;  // empty for holes
  uint64_t offset_in_chunk;
  bool operator==(const V&) const = default;
};

std::ostream& operator<<(std::ostream& os, const V& v) {
  return os << "{" << v.file_offset << "+" << v.length << " " << (v.file_id.empty() ? "hole" : v.file_id) << "@"
            << v.offset_in_chunk << "}";
}

std::vector<V> brief(const std::vector<ChunkView>& views) {
  std::vector<V> out;
  for (const ChunkView& v : views)
    out.push_back({v.file_offset, v.length, v.is_hole ? "" : v.file_id, v.offset_in_chunk});
  return out;
}

V hole(uint64_t off, uint64_t len) { return {off, len, "", 0}; }

// Chunks: A=[0,100) ts1, B=[100,200) ts1, C=[150,170) ts2 overwriting B, gap [200,300), D=[300,400) ts1.
// File size 500 => tail hole [400,500).
FileLayout sample() {
  auto r = FileLayout::build({make_chunk("1,a", 0, 100, 1), make_chunk("1,b", 100, 100, 1),
                              make_chunk("1,c", 150, 20, 2), make_chunk("1,d", 300, 100, 1)},
                             500);
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

TEST(FileLayout, BuildKeepsChunksIntervalsAndSize) {
  const FileLayout l = sample();
  EXPECT_EQ(l.size(), 500u);
  EXPECT_EQ(l.chunks().size(), 4u);
  EXPECT_EQ(l.intervals().size(), 5u);  // a, b, c, b, d
}

TEST(FileLayout, WholeFile) {
  EXPECT_EQ(brief(sample().views(0, 500)), (std::vector<V>{{0, 100, "1,a", 0},
                                                           {100, 50, "1,b", 0},
                                                           {150, 20, "1,c", 0},
                                                           {170, 30, "1,b", 70},
                                                           hole(200, 100),
                                                           {300, 100, "1,d", 0},
                                                           hole(400, 100)}));
}

TEST(FileLayout, StartAtZeroOneByte) { EXPECT_EQ(brief(sample().views(0, 1)), (std::vector<V>{{0, 1, "1,a", 0}})); }

TEST(FileLayout, AroundChunkEdge) {
  const FileLayout l = sample();
  EXPECT_EQ(brief(l.views(99, 1)), (std::vector<V>{{99, 1, "1,a", 99}}));
  EXPECT_EQ(brief(l.views(100, 1)), (std::vector<V>{{100, 1, "1,b", 0}}));
  EXPECT_EQ(brief(l.views(101, 1)), (std::vector<V>{{101, 1, "1,b", 1}}));
  EXPECT_EQ(brief(l.views(99, 2)), (std::vector<V>{{99, 1, "1,a", 99}, {100, 1, "1,b", 0}}));
}

TEST(FileLayout, InsideOverwrite) {
  const FileLayout l = sample();
  EXPECT_EQ(brief(l.views(149, 3)), (std::vector<V>{{149, 1, "1,b", 49}, {150, 2, "1,c", 0}}));
  EXPECT_EQ(brief(l.views(169, 2)), (std::vector<V>{{169, 1, "1,c", 19}, {170, 1, "1,b", 70}}));
}

TEST(FileLayout, StartsInsideGap) {
  EXPECT_EQ(brief(sample().views(250, 100)), (std::vector<V>{hole(250, 50), {300, 50, "1,d", 0}}));
}

TEST(FileLayout, EntirelyInsideGap) { EXPECT_EQ(brief(sample().views(210, 20)), (std::vector<V>{hole(210, 20)})); }

TEST(FileLayout, TailHole) {
  const FileLayout l = sample();
  EXPECT_EQ(brief(l.views(399, 10)), (std::vector<V>{{399, 1, "1,d", 99}, hole(400, 9)}));
  EXPECT_EQ(brief(l.views(450, 10)), (std::vector<V>{hole(450, 10)}));
}

TEST(FileLayout, LastByteAndPastEof) {
  const FileLayout l = sample();
  EXPECT_EQ(brief(l.views(499, 1)), (std::vector<V>{hole(499, 1)}));
  EXPECT_EQ(brief(l.views(499, 100)), (std::vector<V>{hole(499, 1)}));
  EXPECT_TRUE(l.views(500, 1).empty());
  EXPECT_TRUE(l.views(10'000, 1).empty());
}

TEST(FileLayout, ClampsHugeLength) {
  const auto views = sample().views(450, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(brief(views), (std::vector<V>{hole(450, 50)}));
}

TEST(FileLayout, ZeroLength) {
  EXPECT_TRUE(sample().views(0, 0).empty());
  EXPECT_TRUE(sample().views(150, 0).empty());
}

TEST(FileLayout, SizeSmallerThanChunksClipsThem) {
  // A truncate-down that left chunk sizes alone must not expose bytes past the size.
  auto l = FileLayout::build({make_chunk("1,a", 0, 100, 1)}, 40);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(brief(l->views(30, 100)), (std::vector<V>{{30, 10, "1,a", 30}}));
  EXPECT_TRUE(l->views(40, 1).empty());
}

TEST(FileLayout, NoChunksIsAllHole) {
  auto l = FileLayout::build({}, 10);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(brief(l->views(0, 100)), (std::vector<V>{hole(0, 10)}));
}

TEST(FileLayout, EmptyFile) {
  auto l = FileLayout::build({}, 0);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->views(0, 100).empty());
}

TEST(FileLayout, LeadingHole) {
  auto l = FileLayout::build({make_chunk("1,a", 10, 10, 1)}, 20);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(brief(l->views(0, 20)), (std::vector<V>{hole(0, 10), {10, 10, "1,a", 0}}));
}

TEST(FileLayout, CopiesChunkAttributes) {
  Chunk c = make_chunk("5,abcdef0123", 10, 50, 77);
  c.cipher_key = std::string(32, 'k');
  c.is_compressed = true;
  auto l = FileLayout::build({c}, 60);
  ASSERT_TRUE(l.ok());
  const auto views = l->views(20, 5);
  ASSERT_EQ(views.size(), 1u);
  const ChunkView& v = views[0];
  EXPECT_FALSE(v.is_hole);
  EXPECT_EQ(v.file_offset, 20u);
  EXPECT_EQ(v.length, 5u);
  EXPECT_EQ(v.file_id, "5,abcdef0123");
  EXPECT_EQ(v.offset_in_chunk, 10u);
  EXPECT_EQ(v.chunk_size, 50u);
  EXPECT_EQ(v.cipher_key, std::string(32, 'k'));
  EXPECT_TRUE(v.is_compressed);
  EXPECT_EQ(v.modified_ts_ns, 77);
  EXPECT_TRUE(v.needs_whole_chunk());
}

TEST(FileLayout, BuildRejectsManifestNamingIt) {
  Chunk m = make_chunk("9,0a0b0c0d0e", 0, 10, 0);
  m.is_manifest = true;
  auto l = FileLayout::build({make_chunk("1,a", 0, 10, 1), m}, 10);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, EIO);
  EXPECT_THAT(l.error().message, HasSubstr("9,0a0b0c0d0e"));
}

TEST(FileLayout, BuildRejectsNegativeOffsetNamingIt) {
  auto l = FileLayout::build({make_chunk("4,1122334455", -3, 10, 1)}, 10);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code, EIO);
  EXPECT_THAT(l.error().message, HasSubstr("4,1122334455"));
}

TEST(FileLayout, BuildRejectsOverflow) {
  auto l = FileLayout::build({make_chunk("4,66", std::numeric_limits<int64_t>::max(), 1, 1)}, 10);
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.error().message, HasSubstr("4,66"));
}

// Performance sanity: 20,000 chunks (sequential 64 KiB writes plus random overwrites) and 100k
// reads. Nothing is asserted about time; a linear scan per read would make this crawl.
TEST(FileLayout, ManyChunksManyReads) {
  constexpr uint64_t kChunk = 64 * 1024;
  constexpr size_t kSequential = 16'000;
  std::mt19937_64 rng(42);
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < kSequential; ++i)
    chunks.push_back(make_chunk("1,s" + std::to_string(i), static_cast<int64_t>(i * kChunk), kChunk, 1));
  const uint64_t file_size = kSequential * kChunk;
  for (size_t i = 0; i < 4'000; ++i) {
    const uint64_t off = rng() % file_size;
    chunks.push_back(make_chunk("1,o" + std::to_string(i), static_cast<int64_t>(off), 1 + rng() % kChunk,
                                2 + static_cast<int64_t>(i)));
  }
  auto l = FileLayout::build(std::move(chunks), file_size);
  ASSERT_TRUE(l.ok());
  ASSERT_GT(l->intervals().size(), 20'000u);
  uint64_t bytes = 0;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t off = rng() % file_size;
    for (const ChunkView& v : l->views(off, 128 * 1024)) bytes += v.length;
  }
  EXPECT_GT(bytes, 0u);
}

}  // namespace
}  // namespace seaweed::chunks
