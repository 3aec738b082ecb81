// Test helper: builds .dat/.idx bytes exactly as docs/seaweedfs/volume-files.md describes them, so
// unit tests do not need a weed binary. Shared by tests/volume and tests/agent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "volume/byte_order.h"
#include "volume/crc32c.h"
#include "volume/idx.h"
#include "volume/needle.h"

namespace seaweed::volume::testing {

struct NeedleSpec {
  uint32_t cookie = 0x11223344;
  uint64_t key = 1;
  std::string data;
  uint8_t flags = kFlagHasName | kFlagHasMime | kFlagHasLastModified;  // what filer uploads carry
  std::string name = "f.bin";
  std::string mime;
  uint64_t last_modified = 1700000000;
  uint8_t ttl_count = 0, ttl_unit = 0;
  std::string pairs;
  uint64_t append_at_ns = 1700000000000000000ull;
  bool legacy_crc = false;
  bool tombstone = false;  // Size 0, no body
};

inline void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t b[4];
  store_be32(b, v);
  out.insert(out.end(), b, b + 4);
}

// Encodes one record (header, body, CRC, v3 timestamp, padding filled with 0xEE garbage).
inline std::vector<uint8_t> encode_needle(const NeedleSpec& s, int version) {
  std::vector<uint8_t> body;
  if (!s.tombstone) {
    if (version == 1) {
      body.assign(s.data.begin(), s.data.end());
    } else {
      put_be32(body, static_cast<uint32_t>(s.data.size()));
      body.insert(body.end(), s.data.begin(), s.data.end());
      body.push_back(s.flags);
      if (s.flags & kFlagHasName) {
        body.push_back(static_cast<uint8_t>(s.name.size()));
        body.insert(body.end(), s.name.begin(), s.name.end());
      }
      if (s.flags & kFlagHasMime) {
        body.push_back(static_cast<uint8_t>(s.mime.size()));
        body.insert(body.end(), s.mime.begin(), s.mime.end());
      }
      if (s.flags & kFlagHasLastModified)
        for (int i = 4; i >= 0; --i) body.push_back(static_cast<uint8_t>(s.last_modified >> (8 * i)));
      if (s.flags & kFlagHasTtl) {
        body.push_back(s.ttl_count);
        body.push_back(s.ttl_unit);
      }
      if (s.flags & kFlagHasPairs) {
        body.push_back(static_cast<uint8_t>(s.pairs.size() >> 8));
        body.push_back(static_cast<uint8_t>(s.pairs.size()));
        body.insert(body.end(), s.pairs.begin(), s.pairs.end());
      }
    }
  }
  std::vector<uint8_t> out(kNeedleHeaderSize);
  encode_needle_header({s.cookie, s.key, static_cast<uint32_t>(body.size())},
                       std::span<uint8_t, kNeedleHeaderSize>(out.data(), kNeedleHeaderSize));
  out.insert(out.end(), body.begin(), body.end());
  uint32_t crc = crc32c(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data.data()), s.tombstone ? 0 : s.data.size()));
  if (s.legacy_crc) crc = legacy_crc_value(crc);
  put_be32(out, crc);
  if (version == 3)
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(s.append_at_ns >> (8 * i)));
  const uint64_t pad = needle_padding(static_cast<uint32_t>(body.size()), version);
  out.insert(out.end(), pad, 0xEE);
  return out;
}

// A volume under construction: .dat bytes (superblock first) and .idx rows.
struct VolumeBuilder {
  int version = 3;
  int bytes_offset = 5;
  uint16_t compaction_revision = 0;
  std::vector<uint8_t> dat;
  std::vector<uint8_t> idx;

  explicit VolumeBuilder(int ver = 3, int offset_width = 5, uint16_t revision = 0)
      : version(ver), bytes_offset(offset_width), compaction_revision(revision) {
    dat = {static_cast<uint8_t>(version),  0, 0, 0, static_cast<uint8_t>(revision >> 8),
           static_cast<uint8_t>(revision), 0, 0};
  }

  void add_row(uint64_t key, uint64_t offset_units, int32_t size) {
    std::vector<uint8_t> row(idx_row_size(bytes_offset));
    encode_idx_row({key, offset_units, size}, bytes_offset, row);
    idx.insert(idx.end(), row.begin(), row.end());
  }

  // Appends the needle to .dat and its row to .idx; returns the offset in 8-byte units.
  uint64_t put(const NeedleSpec& s) {
    const uint64_t units = dat.size() / kNeedlePaddingUnit;
    auto rec = encode_needle(s, version);
    NeedleHeader h = parse_needle_header(std::span<const uint8_t, kNeedleHeaderSize>(rec.data(), kNeedleHeaderSize));
    dat.insert(dat.end(), rec.begin(), rec.end());
    add_row(s.key, units, static_cast<int32_t>(h.size));
    return units;
  }

  // Appends a tombstone needle and a delete row, as the volume server does on DELETE.
  void remove(uint64_t key, uint32_t cookie) {
    const uint64_t units = dat.size() / kNeedlePaddingUnit;
    NeedleSpec t;
    t.key = key;
    t.cookie = cookie;
    t.tombstone = true;
    auto rec = encode_needle(t, version);
    dat.insert(dat.end(), rec.begin(), rec.end());
    add_row(key, units, kTombstoneSize);
  }
};

}  // namespace seaweed::volume::testing
