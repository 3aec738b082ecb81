#include "chunks/file_layout.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace seaweed::chunks {
namespace {

ChunkView hole_view(uint64_t from, uint64_t to) {
  ChunkView v;
  v.file_offset = from;
  v.length = to - from;
  v.is_hole = true;
  return v;
}

}  // namespace

Result<FileLayout> FileLayout::build(std::vector<Chunk> data_chunks, uint64_t file_size) {
  auto intervals = resolve_visible_intervals_checked(data_chunks);
  if (!intervals) return intervals.error();
  FileLayout layout;
  layout.chunks_ = std::move(data_chunks);
  layout.intervals_ = std::move(intervals).value();
  layout.starts_.reserve(layout.intervals_.size());
  for (const VisibleInterval& iv : layout.intervals_) layout.starts_.push_back(iv.start);
  layout.size_ = file_size;
  return layout;
}

ChunkView FileLayout::chunk_view(const VisibleInterval& interval, uint64_t from, uint64_t to) const {
  const Chunk& c = chunks_[interval.chunk];
  ChunkView v;
  v.file_offset = from;
  v.length = to - from;
  v.file_id = c.file_id;
  // Chunk byte 0 sits at file offset c.offset (validated >= 0 in build()).
  v.offset_in_chunk = from - static_cast<uint64_t>(c.offset);
  v.chunk_size = c.size;
  v.cipher_key = c.cipher_key;
  v.is_compressed = c.is_compressed;
  v.modified_ts_ns = c.modified_ts_ns;
  return v;
}

std::vector<ChunkView> FileLayout::views(uint64_t offset, uint64_t length) const {
  std::vector<ChunkView> out;
  if (offset >= size_ || length == 0) return out;
  // Written so offset + length cannot overflow.
  const uint64_t end = length > size_ - offset ? size_ : offset + length;

  // First interval that may contain `offset`: the last one starting at or before it. If that one
  // stops before `offset`, the next interval (if any) is the first that matters.
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  size_t i = it == starts_.begin() ? 0 : static_cast<size_t>(std::distance(starts_.begin(), it)) - 1;
  if (i < intervals_.size() && intervals_[i].stop <= offset) ++i;

  uint64_t cursor = offset;
  for (; i < intervals_.size() && cursor < end; ++i) {
    const VisibleInterval& iv = intervals_[i];
    if (iv.start >= end) break;
    if (cursor < iv.start) {
      out.push_back(hole_view(cursor, iv.start));
      cursor = iv.start;
    }
    const uint64_t stop = std::min(iv.stop, end);
    out.push_back(chunk_view(iv, cursor, stop));
    cursor = stop;
  }
  if (cursor < end) out.push_back(hole_view(cursor, end));
  return out;
}

}  // namespace seaweed::chunks
