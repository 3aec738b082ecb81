// The 8-byte superblock at the start of every .dat file (docs/seaweedfs/volume-files.md).
#pragma once

#include <cstdint>
#include <span>

#include "common/result.h"

namespace seaweed::volume {

inline constexpr size_t kSuperBlockSize = 8;

struct SuperBlock {
  uint8_t version = 0;            // 1, 2 or 3; every needle in the file uses this version
  uint8_t replica_placement = 0;  // DC*100 + rack*10 + sameRack
  uint8_t ttl_count = 0;
  uint8_t ttl_unit = 0;
  uint16_t compaction_revision = 0;  // +1 per vacuum
  uint16_t extra_size = 0;           // protobuf SuperBlockExtra bytes after the 8 fixed ones (v2/v3)

  // Byte offset of the first needle record.
  [[nodiscard]] uint64_t needles_start() const { return kSuperBlockSize + (version >= 2 ? extra_size : 0); }
};

// Parses the superblock from the first bytes of a .dat. `bytes` may be longer than 8; when it
// holds the whole file, a superblock whose extra section runs past the end is rejected.
Result<SuperBlock> parse_superblock(std::span<const uint8_t> bytes, bool bytes_is_whole_file = false);

}  // namespace seaweed::volume
