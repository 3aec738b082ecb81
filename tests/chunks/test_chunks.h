// Helpers shared by the chunk tests.
#pragma once

#include <cstdint>
#include <string>

#include "chunks/chunk.h"

namespace seaweed::chunks::test_support {

inline Chunk make_chunk(std::string file_id, int64_t offset, uint64_t size, int64_t ts) {
  Chunk c;
  c.file_id = std::move(file_id);
  c.offset = offset;
  c.size = size;
  c.modified_ts_ns = ts;
  return c;
}

}  // namespace seaweed::chunks::test_support
