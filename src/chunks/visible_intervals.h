// Which chunk supplies each byte of a file whose chunks may overlap (docs/seaweedfs/chunks.md, "Which chunk supplies a
// byte").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "chunks/chunk.h"
#include "common/result.h"

namespace seaweed::chunks {

// Bytes [start, stop) of the file come from chunks[chunk] (an index into the input vector).
struct VisibleInterval {
  uint64_t start = 0;
  uint64_t stop = 0;
  size_t chunk = 0;

  bool operator==(const VisibleInterval&) const = default;
};

// Checks that a list holds only resolvable data chunks: no manifest chunks (resolve them first),
// offset >= 0, and offset + size representable as an off_t. The error (EIO) names the bad chunk.
Status validate_data_chunks(const std::vector<Chunk>& chunks);

// For every byte the covering chunk with the largest modified_ts_ns wins; on equal timestamps the
// chunk later in the list wins (upstream mishandles ties, so this is our own sane choice).
// Output: sorted by start, non-overlapping, gaps omitted, adjacent pieces of one chunk merged.
// Zero-size chunks are ignored. Chunks that validate_data_chunks() would reject are skipped
// silently here; callers that must report them use resolve_visible_intervals_checked().
// O(n log n) in the number of chunks.
std::vector<VisibleInterval> resolve_visible_intervals(const std::vector<Chunk>& chunks);

// validate_data_chunks() followed by resolve_visible_intervals().
Result<std::vector<VisibleInterval>> resolve_visible_intervals_checked(const std::vector<Chunk>& chunks);

}  // namespace seaweed::chunks
