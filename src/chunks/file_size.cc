#include "chunks/file_size.h"

#include <algorithm>
#include <limits>

namespace seaweed::chunks {

uint64_t total_size(const std::vector<Chunk>& chunks) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t total = 0;
  for (const Chunk& c : chunks) {
    if (c.offset < 0) continue;
    const auto start = static_cast<uint64_t>(c.offset);
    const uint64_t end = c.size > kMax - start ? kMax : start + c.size;
    total = std::max(total, end);
  }
  return total;
}

uint64_t file_size(uint64_t attr_file_size, const std::vector<Chunk>& chunks) {
  return std::max(attr_file_size, total_size(chunks));
}

}  // namespace seaweed::chunks
