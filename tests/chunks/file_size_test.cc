#include "chunks/file_size.h"

#include <gtest/gtest.h>

#include <limits>

#include "test_chunks.h"

namespace seaweed::chunks {
namespace {

using test_support::make_chunk;

TEST(FileSize, TotalSizeIsMaxEnd) {
  EXPECT_EQ(total_size({}), 0u);
  // List order is irrelevant and an early, long chunk can end last.
  EXPECT_EQ(total_size({make_chunk("1,a", 100, 10, 1), make_chunk("1,b", 0, 200, 1)}), 200u);
  EXPECT_EQ(total_size({make_chunk("1,a", 100, 10, 1), make_chunk("1,b", 0, 50, 1)}), 110u);
}

TEST(FileSize, ManifestCountsWithItsSpan) {
  Chunk m = make_chunk("1,m", 1000, 5000, 0);
  m.is_manifest = true;
  EXPECT_EQ(total_size({make_chunk("1,a", 0, 10, 1), m}), 6000u);
}

TEST(FileSize, IgnoresNegativeAndSaturates) {
  EXPECT_EQ(total_size({make_chunk("1,neg", -100, 500, 1)}), 0u);
  EXPECT_EQ(total_size({make_chunk("1,big", 10, std::numeric_limits<uint64_t>::max(), 1)}),
            std::numeric_limits<uint64_t>::max());
}

TEST(FileSize, MaxOfAttributeAndChunks) {
  const std::vector<Chunk> chunks = {make_chunk("1,a", 0, 100, 1)};
  EXPECT_EQ(file_size(0, chunks), 100u);
  EXPECT_EQ(file_size(50, chunks), 100u);     // attribute smaller than the chunks' extent
  EXPECT_EQ(file_size(4096, chunks), 4096u);  // truncate-up: tail is a hole
  EXPECT_EQ(file_size(7, {}), 7u);
}

}  // namespace
}  // namespace seaweed::chunks
