// File size rules (docs/seaweedfs/chunks.md, "File size").
#pragma once

#include <cstdint>
#include <vector>

#include "chunks/chunk.h"

namespace seaweed::chunks {

// max(offset + size) over all chunks; manifest chunks count with their span. Chunks with a
// negative offset are malformed and ignored; a sum that would overflow saturates at UINT64_MAX.
uint64_t total_size(const std::vector<Chunk>& chunks);

// Upstream FileSize(): max(attributes.file_size, total_size(chunks)).
uint64_t file_size(uint64_t attr_file_size, const std::vector<Chunk>& chunks);

}  // namespace seaweed::chunks
