#include "volume/superblock.h"

#include <string>

#include "volume/byte_order.h"

namespace seaweed::volume {

Result<SuperBlock> parse_superblock(std::span<const uint8_t> bytes, bool bytes_is_whole_file) {
  if (bytes.size() < kSuperBlockSize)
    return make_error(EINVAL, "superblock truncated: " + std::to_string(bytes.size()) + " of 8 bytes");
  SuperBlock sb;
  sb.version = bytes[0];
  if (sb.version < 1 || sb.version > 3)
    return make_error(EINVAL, "unsupported volume version " + std::to_string(sb.version));
  sb.replica_placement = bytes[1];
  sb.ttl_count = bytes[2];
  sb.ttl_unit = bytes[3];
  sb.compaction_revision = load_be16(&bytes[4]);
  sb.extra_size = load_be16(&bytes[6]);
  if (bytes_is_whole_file && sb.needles_start() > bytes.size())
    return make_error(EINVAL,
                      "superblock extra section (" + std::to_string(sb.extra_size) + " bytes) runs past the file end");
  return sb;
}

}  // namespace seaweed::volume
