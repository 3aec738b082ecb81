// Reading a file: the open file's layout snapshot, the views of [offset, offset+len), and the
// fetcher for each view. Also builds layouts from entries (manifests resolved).
#pragma once

#include <memory>
#include <span>

#include "chunks/file_layout.h"
#include "common/result.h"
#include "filer.pb.h"
#include "reader/chunk_fetcher.h"

namespace seaweed::reader {

// Bounds on what one entry may expand to, so a hostile set of manifest blobs (a few KiB that fan
// out level by level) cannot make open() spend minutes and gigabytes: 2^21 data chunks is 4 TiB
// at 2 MiB chunks (~200 MB of layout); 4096 manifests of 10,000 chunks (the filer's batch) hold
// far more than that. Upstream never nests manifests; a little depth is allowed, cycles are not.
// Beyond any bound the entry fails with EIO. (The manifest fuzz target passes smaller ones, so
// its hostile inputs hit them in microseconds instead of a second.)
struct ManifestLimits {
  int max_depth = 4;
  size_t max_chunks = size_t{1} << 21;
  size_t max_manifests = 4096;
};

// Resolves manifest chunks (recursively, within `limits`) into data chunks.
Result<std::vector<chunks::Chunk>> resolve_manifests(std::vector<chunks::Chunk> chunks, ChunkFetcher& fetcher,
                                                     const ManifestLimits& limits = {});

// The layout of a regular file's entry: data chunks after manifest resolution, size by the
// file-size rule. Errors name the entry.
Result<std::shared_ptr<const chunks::FileLayout>> build_layout(const filer_pb::Entry& entry, ChunkFetcher& fetcher,
                                                               const ManifestLimits& limits = {});

// Reads up to dst.size() bytes at offset; returns the count (0 at or past EOF). allow_deleted:
// see ChunkFetcher::read_view.
Result<size_t> read_file(const chunks::FileLayout& layout, ChunkFetcher& fetcher, uint64_t offset, std::span<char> dst,
                         bool allow_deleted = false);

}  // namespace seaweed::reader
