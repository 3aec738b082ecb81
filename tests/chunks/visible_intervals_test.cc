#include "chunks/visible_intervals.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "test_chunks.h"

namespace seaweed::chunks {
namespace {

using test_support::make_chunk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using VI = VisibleInterval;

TEST(VisibleIntervals, EmptyInput) { EXPECT_TRUE(resolve_visible_intervals({}).empty()); }

TEST(VisibleIntervals, DisjointChunksKeepOrderAndGaps) {
  // Listed out of file order; output must be sorted and the gap [10,20) omitted.
  const std::vector<Chunk> chunks = {make_chunk("1,b", 20, 5, 1), make_chunk("1,a", 0, 10, 2)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 10, 1}, VI{20, 25, 0}));
}

TEST(VisibleIntervals, AdjacentDistinctChunksStaySeparate) {
  const std::vector<Chunk> chunks = {make_chunk("1,a", 0, 10, 1), make_chunk("1,b", 10, 10, 1)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 10, 0}, VI{10, 20, 1}));
}

TEST(VisibleIntervals, OverlapNewerWinsNewerListedLast) {
  const std::vector<Chunk> chunks = {make_chunk("1,a", 0, 10, 1), make_chunk("1,b", 5, 10, 2)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 5, 0}, VI{5, 15, 1}));
}

TEST(VisibleIntervals, OverlapNewerWinsNewerListedFirst) {
  const std::vector<Chunk> chunks = {make_chunk("1,b", 5, 10, 2), make_chunk("1,a", 0, 10, 1)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 5, 1}, VI{5, 15, 0}));
}

TEST(VisibleIntervals, OverlapNewerOnTheLeft) {
  const std::vector<Chunk> chunks = {make_chunk("1,a", 0, 10, 9), make_chunk("1,b", 5, 10, 2)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 10, 0}, VI{10, 15, 1}));
}

TEST(VisibleIntervals, FullyHiddenChunkDisappears) {
  const std::vector<Chunk> chunks = {make_chunk("1,old", 2, 4, 1), make_chunk("1,new", 0, 10, 2)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 10, 1}));
}

TEST(VisibleIntervals, ExactOverwriteNewerWins) {
  const std::vector<Chunk> chunks = {make_chunk("1,new", 0, 10, 5), make_chunk("1,old", 0, 10, 4)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 10, 0}));
}

TEST(VisibleIntervals, NestedNewerSplitsOlder) {
  // The older chunk reappears after the nested newer one: two pieces of chunk 0.
  const std::vector<Chunk> chunks = {make_chunk("1,outer", 0, 100, 1), make_chunk("1,inner", 40, 10, 2)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 40, 0}, VI{40, 50, 1}, VI{50, 100, 0}));
}

TEST(VisibleIntervals, LayeredOverwrites) {
  const std::vector<Chunk> chunks = {make_chunk("1,a", 0, 100, 1), make_chunk("1,b", 10, 50, 2),
                                     make_chunk("1,c", 30, 50, 3), make_chunk("1,d", 20, 5, 0)};
  EXPECT_THAT(resolve_visible_intervals(chunks),
              ElementsAre(VI{0, 10, 0}, VI{10, 30, 1}, VI{30, 80, 2}, VI{80, 100, 0}));
}

TEST(VisibleIntervals, TiesLaterInListWins) {
  // Upstream drops B here (docs/seaweedfs/chunks.md); we let the later list entry win.
  const std::vector<Chunk> ab = {make_chunk("1,a", 0, 10, 5), make_chunk("1,b", 5, 10, 5)};
  EXPECT_THAT(resolve_visible_intervals(ab), ElementsAre(VI{0, 5, 0}, VI{5, 15, 1}));
  const std::vector<Chunk> ba = {make_chunk("1,b", 5, 10, 5), make_chunk("1,a", 0, 10, 5)};
  EXPECT_THAT(resolve_visible_intervals(ba), ElementsAre(VI{0, 10, 1}, VI{10, 15, 0}));
}

TEST(VisibleIntervals, ZeroSizeChunksIgnored) {
  const std::vector<Chunk> chunks = {make_chunk("1,z", 5, 0, 100), make_chunk("1,a", 0, 10, 1),
                                     make_chunk("1,y", 20, 0, 100)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 10, 1}));
}

TEST(VisibleIntervals, HiddenThenRevealedAtSamePointMerges) {
  // B ends exactly where C starts and both are newer than A: A must not produce an empty piece.
  const std::vector<Chunk> chunks = {make_chunk("1,a", 0, 30, 1), make_chunk("1,b", 10, 10, 2),
                                     make_chunk("1,c", 20, 5, 3)};
  EXPECT_THAT(resolve_visible_intervals(chunks),
              ElementsAre(VI{0, 10, 0}, VI{10, 20, 1}, VI{20, 25, 2}, VI{25, 30, 0}));
}

TEST(VisibleIntervals, HolesBetweenOverlappingGroups) {
  const std::vector<Chunk> chunks = {make_chunk("1,a", 100, 10, 1), make_chunk("1,b", 105, 10, 2),
                                     make_chunk("1,c", 0, 5, 1)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 5, 2}, VI{100, 105, 0}, VI{105, 115, 1}));
}

TEST(VisibleIntervals, UncheckedSkipsMalformedChunks) {
  Chunk manifest = make_chunk("1,m", 0, 100, 0);
  manifest.is_manifest = true;
  const std::vector<Chunk> chunks = {make_chunk("1,neg", -5, 10, 9), manifest, make_chunk("1,a", 0, 10, 1)};
  EXPECT_THAT(resolve_visible_intervals(chunks), ElementsAre(VI{0, 10, 2}));
}

TEST(VisibleIntervals, CheckedRejectsNegativeOffset) {
  const std::vector<Chunk> chunks = {make_chunk("1,a", 0, 10, 1), make_chunk("7,0102030405", -1, 10, 2)};
  auto r = resolve_visible_intervals_checked(chunks);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EIO);
  EXPECT_THAT(r.error().message, HasSubstr("7,0102030405"));
  EXPECT_THAT(r.error().message, HasSubstr("negative"));
}

TEST(VisibleIntervals, CheckedRejectsManifest) {
  Chunk manifest = make_chunk("3,01637037d6", 0, 100, 0);
  manifest.is_manifest = true;
  auto r = resolve_visible_intervals_checked({manifest});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EIO);
  EXPECT_THAT(r.error().message, HasSubstr("3,01637037d6"));
}

TEST(VisibleIntervals, CheckedRejectsOverflowingEnd) {
  const auto max = std::numeric_limits<int64_t>::max();
  EXPECT_TRUE(resolve_visible_intervals_checked({make_chunk("1,a", max - 10, 10, 1)}).ok());
  auto r = resolve_visible_intervals_checked({make_chunk("1,big", max - 10, 11, 1)});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("1,big"));
  EXPECT_FALSE(
      resolve_visible_intervals_checked({make_chunk("1,huge", 1, std::numeric_limits<uint64_t>::max(), 1)}).ok());
}

TEST(VisibleIntervals, CheckedAcceptsValidInput) {
  auto r = resolve_visible_intervals_checked({make_chunk("1,a", 0, 10, 1), make_chunk("1,b", 5, 10, 2)});
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(*r, ElementsAre(VI{0, 5, 0}, VI{5, 15, 1}));
}

}  // namespace
}  // namespace seaweed::chunks
