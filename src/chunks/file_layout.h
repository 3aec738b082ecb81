// A file's resolved chunk layout: answers "which bytes of which chunk make up [offset, offset+len)".
#pragma once

#include <cstdint>
#include <vector>

#include "chunks/chunk.h"
#include "chunks/visible_intervals.h"
#include "common/result.h"

namespace seaweed::chunks {

class FileLayout {
 public:
  // data_chunks must already have manifests resolved (docs/seaweedfs/chunks.md, "Chunk manifests"). file_size is the
  // size the reader exposes (see file_size() in chunks/file_size.h); chunk bytes beyond it are not served, and bytes
  // below it that no chunk covers read as a hole. Fails with EIO naming the first malformed chunk (manifest, negative
  // offset, end beyond INT64_MAX).
  static Result<FileLayout> build(std::vector<Chunk> data_chunks, uint64_t file_size);

  [[nodiscard]] uint64_t size() const { return size_; }

  // Views covering [offset, min(offset + length, size())) in file order, contiguous, none empty.
  // Uncovered ranges (including the tail after the last chunk) come back as is_hole views.
  // Empty when offset >= size() or length == 0. O(log n + views returned).
  [[nodiscard]] std::vector<ChunkView> views(uint64_t offset, uint64_t length) const;

  [[nodiscard]] const std::vector<Chunk>& chunks() const { return chunks_; }
  [[nodiscard]] const std::vector<VisibleInterval>& intervals() const { return intervals_; }

 private:
  FileLayout() = default;

  [[nodiscard]] ChunkView chunk_view(const VisibleInterval& interval, uint64_t from, uint64_t to) const;

  std::vector<Chunk> chunks_;
  std::vector<VisibleInterval> intervals_;
  std::vector<uint64_t> starts_;  // intervals_[i].start, kept apart so binary search stays cache friendly
  uint64_t size_ = 0;
};

}  // namespace seaweed::chunks
