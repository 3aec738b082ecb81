// .idx rows and the needle map built by replaying them (docs/seaweedfs/volume-files.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>

#include "common/result.h"

namespace seaweed::volume {

// Row layouts: key u64 BE | offset (4 bytes BE, plus 1 high byte in the "large disk" build) |
// size i32 BE. Offsets are in units of 8 bytes.
inline constexpr size_t kNeedlePaddingUnit = 8;
inline constexpr int32_t kTombstoneSize = -1;

// 16 for bytes_offset 4, 17 for 5; 0 for anything else.
constexpr size_t idx_row_size(int bytes_offset) { return bytes_offset == 4 ? 16 : bytes_offset == 5 ? 17 : 0; }

struct IdxRow {
  uint64_t key = 0;
  uint64_t offset_units = 0;  // byte offset in .dat = offset_units * 8; 0 = invalid
  int32_t size = 0;           // needle header Size; negative = deletion

  [[nodiscard]] uint64_t byte_offset() const { return offset_units * kNeedlePaddingUnit; }
  // A row that sets the key (as opposed to deleting it).
  [[nodiscard]] bool is_put() const { return offset_units != 0 && size >= 0; }
};

// Parses exactly one row; `row` must be idx_row_size(bytes_offset) long.
Result<IdxRow> parse_idx_row(std::span<const uint8_t> row, int bytes_offset);

// Encodes a row (tests and tools).
void encode_idx_row(const IdxRow& row, int bytes_offset, std::span<uint8_t> out);

// Where a key's latest record is. size < 0 means deleted: the old record is still at offset
// with size -size, unless size == -1 (nothing left to read).
struct NeedleLocation {
  uint64_t offset_units = 0;
  int32_t size = 0;

  [[nodiscard]] bool deleted() const { return size < 0; }
  // The record can still be read (live, or deleted but not a bare tombstone).
  [[nodiscard]] bool readable() const { return offset_units != 0 && size != kTombstoneSize; }
  [[nodiscard]] uint32_t record_size() const {
    return static_cast<uint32_t>(size < 0 ? -static_cast<int64_t>(size) : size);
  }
};

// The in-memory index of one volume, fed rows in .idx order the way the volume server loads it:
// the last put wins; a delete keeps the old offset and negates the live size (0 becomes -1);
// deleting an unknown or already deleted key changes nothing.
class NeedleMap {
 public:
  void apply(const IdxRow& row);
  [[nodiscard]] std::optional<NeedleLocation> find(uint64_t key) const;

  [[nodiscard]] size_t size() const { return map_.size(); }
  [[nodiscard]] size_t live_count() const { return live_; }
  // Highest byte the map points at (offset of the furthest record): a sanity bound vs .dat size.
  [[nodiscard]] uint64_t max_offset_units() const { return max_offset_units_; }

 private:
  std::unordered_map<uint64_t, NeedleLocation> map_;
  size_t live_ = 0;
  uint64_t max_offset_units_ = 0;
};

struct IdxReplay {
  size_t rows = 0;
  size_t consumed_bytes = 0;  // a partial trailing row (a write in progress or a crash) is left over
};

// Applies every complete row of `bytes` to `map`.
Result<IdxReplay> replay_idx(std::span<const uint8_t> bytes, int bytes_offset, NeedleMap& map);

}  // namespace seaweed::volume
