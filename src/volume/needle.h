// Needle records in a .dat file (docs/seaweedfs/volume-files.md): a 16-byte header, the body (v2/v3:
// DataSize, data, flags and optional fields), CRC32C, the v3 append timestamp, then 1..8 bytes of
// padding to the next 8-byte boundary.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"

namespace seaweed::volume {

inline constexpr size_t kNeedleHeaderSize = 16;  // cookie u32 | key u64 | size u32
inline constexpr size_t kNeedleChecksumSize = 4;
inline constexpr size_t kNeedleTimestampSize = 8;  // v3 AppendAtNs

// Needle flag bits.
inline constexpr uint8_t kFlagCompressed = 0x01;  // data is gzip
inline constexpr uint8_t kFlagHasName = 0x02;
inline constexpr uint8_t kFlagHasMime = 0x04;
inline constexpr uint8_t kFlagHasLastModified = 0x08;
inline constexpr uint8_t kFlagHasTtl = 0x10;
inline constexpr uint8_t kFlagHasPairs = 0x20;
inline constexpr uint8_t kFlagChunkManifest = 0x80;  // legacy volume-server chunked file

inline constexpr size_t kLastModifiedBytes = 5;
inline constexpr size_t kTtlBytes = 2;

struct NeedleHeader {
  uint32_t cookie = 0;
  uint64_t key = 0;
  uint32_t size = 0;  // body size ("Size" in .idx)
};

NeedleHeader parse_needle_header(std::span<const uint8_t, kNeedleHeaderSize> bytes);
void encode_needle_header(const NeedleHeader& h, std::span<uint8_t, kNeedleHeaderSize> out);

// Padding after a record of body size `size`: 1..8, never 0.
uint64_t needle_padding(uint32_t size, int version);
// Header + body + checksum (+ timestamp) + padding: the distance to the next record.
uint64_t needle_actual_size(uint32_t size, int version);
// Header + body + checksum (+ timestamp): the bytes that must exist for the record to be complete.
uint64_t needle_used_size(uint32_t size, int version);

struct Needle {
  NeedleHeader header;
  uint32_t data_size = 0;
  std::span<const uint8_t> data;  // the stored data (gzip/ciphertext/clear as uploaded)
  uint8_t flags = 0;
  std::string_view name;
  std::string_view mime;
  uint64_t last_modified = 0;  // unix seconds (low 40 bits)
  uint8_t ttl_count = 0;
  uint8_t ttl_unit = 0;
  std::string_view pairs;  // JSON
  uint32_t stored_crc = 0;
  uint64_t append_at_ns = 0;  // v3 only

  [[nodiscard]] bool compressed() const { return flags & kFlagCompressed; }
};

// Parses the record that starts at record[0] (a volume of `version` 1..3). The span must cover at
// least needle_used_size(header.size). Truncated records and optional fields that overrun the
// body are EINVAL errors that say which part is wrong. Does not check the CRC.
Result<Needle> parse_needle(std::span<const uint8_t> record, int version);

// Checks the stored CRC32C (raw or legacy transform) against the data; returns the CRC computed
// over the data. EBADMSG on mismatch (the errno every reader reports for a corrupt replica).
Result<uint32_t> verify_needle_crc(const Needle& n);

}  // namespace seaweed::volume
