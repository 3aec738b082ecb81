// Randomized comparison of resolve_visible_intervals()/FileLayout::views() against a trivially
// correct byte-by-byte model: for each byte, scan every chunk and keep the winner.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "chunks/file_layout.h"
#include "chunks/file_size.h"
#include "test_chunks.h"

namespace seaweed::chunks {
namespace {

using test_support::make_chunk;

constexpr int kNoChunk = -1;

// What a byte reads as: which chunk (kNoChunk for zeros) and which byte of that chunk.
struct ByteSource {
  int chunk = kNoChunk;
  uint64_t pos = 0;
  bool operator==(const ByteSource&) const = default;
};

// Newest ts wins, then later list position.
std::vector<ByteSource> reference_model(const std::vector<Chunk>& chunks, uint64_t size) {
  std::vector<ByteSource> bytes(size);
  for (uint64_t b = 0; b < size; ++b) {
    int best = kNoChunk;
    for (size_t i = 0; i < chunks.size(); ++i) {
      const Chunk& c = chunks[i];
      const auto start = static_cast<uint64_t>(c.offset);
      if (b < start || b >= start + c.size) continue;
      if (best == kNoChunk || c.modified_ts_ns >= chunks[best].modified_ts_ns) best = static_cast<int>(i);
    }
    if (best != kNoChunk) bytes[b] = {best, b - static_cast<uint64_t>(chunks[best].offset)};
  }
  return bytes;
}

std::vector<Chunk> random_chunks(std::mt19937_64& rng) {
  const uint64_t span = 1 + rng() % 400;
  const size_t count = rng() % 40;
  const int64_t ts_range = 1 + static_cast<int64_t>(rng() % 8);  // small ranges force many ties
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t off = rng() % span;
    // Mostly small chunks, sometimes zero-size, sometimes large ones covering much of the file.
    const uint64_t size = rng() % 10 == 0 ? 0 : 1 + rng() % (rng() % 4 == 0 ? span : 40);
    chunks.push_back(
        make_chunk("1," + std::to_string(i), static_cast<int64_t>(off), size, static_cast<int64_t>(rng() % ts_range)));
  }
  return chunks;
}

// Expands intervals back to bytes and checks their structural promises.
void check_intervals(const std::vector<Chunk>& chunks, const std::vector<ByteSource>& model) {
  const auto intervals = resolve_visible_intervals(chunks);
  std::vector<ByteSource> got(model.size());
  for (size_t i = 0; i < intervals.size(); ++i) {
    const VisibleInterval& iv = intervals[i];
    ASSERT_LT(iv.start, iv.stop);
    ASSERT_LE(iv.stop, model.size());
    if (i > 0) {
      ASSERT_LE(intervals[i - 1].stop, iv.start) << "overlap or unsorted at " << i;
      ASSERT_FALSE(intervals[i - 1].stop == iv.start && intervals[i - 1].chunk == iv.chunk) << "unmerged at " << i;
    }
    for (uint64_t b = iv.start; b < iv.stop; ++b)
      got[b] = {static_cast<int>(iv.chunk), b - static_cast<uint64_t>(chunks[iv.chunk].offset)};
  }
  ASSERT_EQ(got, model);
}

// Checks one read: views are contiguous, non-empty, exactly cover the clipped range, and every
// byte maps to what the model says.
void check_read(const FileLayout& layout, const std::vector<ByteSource>& model, uint64_t offset, uint64_t length) {
  const auto views = layout.views(offset, length);
  const uint64_t size = layout.size();
  const uint64_t end = offset >= size ? offset : (length > size - offset ? size : offset + length);
  uint64_t cursor = offset;
  for (const ChunkView& v : views) {
    ASSERT_EQ(v.file_offset, cursor) << "read " << offset << "+" << length;
    ASSERT_GT(v.length, 0u);
    for (uint64_t k = 0; k < v.length; ++k) {
      const uint64_t b = v.file_offset + k;
      ByteSource got;
      if (!v.is_hole) {
        // File ids are "1,<index>" so the view can be traced back to its chunk.
        got.chunk = std::stoi(v.file_id.substr(2));
        got.pos = v.offset_in_chunk + k;
        ASSERT_EQ(v.chunk_size, layout.chunks()[got.chunk].size);
        ASSERT_LT(got.pos, v.chunk_size);
      }
      const ByteSource want = b < model.size() ? model[b] : ByteSource{};
      ASSERT_EQ(got, want) << "byte " << b << " of read " << offset << "+" << length;
    }
    cursor += v.length;
  }
  ASSERT_EQ(cursor, end) << "read " << offset << "+" << length;
}

TEST(FileLayoutRandom, MatchesByteModel) {
  std::mt19937_64 rng(20240611);
  int reads = 0;
  for (int layout_case = 0; layout_case < 3000; ++layout_case) {
    std::vector<Chunk> chunks = random_chunks(rng);
    const uint64_t total = total_size(chunks);
    // File size below (truncated), equal to, or above (tail hole) the chunks' extent.
    uint64_t size = total;
    switch (rng() % 3) {
      case 0:
        size = total == 0 ? 0 : rng() % (total + 1);
        break;
      case 1:
        size = total + rng() % 50;
        break;
      default:
        break;
    }
    const auto full_model = reference_model(chunks, std::max(total, size));
    ASSERT_NO_FATAL_FAILURE(
        check_intervals(chunks, std::vector<ByteSource>(full_model.begin(), full_model.begin() + total)));
    const std::vector<ByteSource> model(full_model.begin(), full_model.begin() + size);

    auto layout = FileLayout::build(chunks, size);
    ASSERT_TRUE(layout.ok()) << layout.error().message;
    ASSERT_NO_FATAL_FAILURE(check_read(*layout, model, 0, size));
    for (int r = 0; r < 12; ++r, ++reads) {
      const uint64_t offset = rng() % (size + 20);
      const uint64_t length = rng() % 8 == 0 ? std::numeric_limits<uint64_t>::max() - rng() % 3 : rng() % 120;
      ASSERT_NO_FATAL_FAILURE(check_read(*layout, model, offset, length));
    }
  }
  EXPECT_EQ(reads, 3000 * 12);
}

}  // namespace
}  // namespace seaweed::chunks
