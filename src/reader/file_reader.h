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

// Resolves manifest chunks (recursively, bounded depth) into data chunks.
Result<std::vector<chunks::Chunk>> resolve_manifests(std::vector<chunks::Chunk> chunks, ChunkFetcher& fetcher);

// The layout of a regular file's entry: data chunks after manifest resolution, size by the
// file-size rule. Errors name the entry.
Result<std::shared_ptr<const chunks::FileLayout>> build_layout(const filer_pb::Entry& entry, ChunkFetcher& fetcher);

// Reads up to dst.size() bytes at offset; returns the count (0 at or past EOF). allow_deleted:
// see ChunkFetcher::read_view.
Result<size_t> read_file(const chunks::FileLayout& layout, ChunkFetcher& fetcher, uint64_t offset, std::span<char> dst,
                         bool allow_deleted = false);

}  // namespace seaweed::reader
