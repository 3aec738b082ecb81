#include "volume/idx.h"

#include <string>

#include "volume/byte_order.h"

namespace seaweed::volume {

Result<IdxRow> parse_idx_row(std::span<const uint8_t> row, int bytes_offset) {
  const size_t want = idx_row_size(bytes_offset);
  if (want == 0) return make_error(EINVAL, "unsupported idx offset width " + std::to_string(bytes_offset));
  if (row.size() != want)
    return make_error(EINVAL, "idx row is " + std::to_string(row.size()) + " bytes, want " + std::to_string(want));
  IdxRow r;
  r.key = load_be64(&row[0]);
  r.offset_units = load_be32(&row[8]);
  if (bytes_offset == 5) r.offset_units |= uint64_t{row[12]} << 32;
  r.size = static_cast<int32_t>(load_be32(&row[want - 4]));
  return r;
}

void encode_idx_row(const IdxRow& row, int bytes_offset, std::span<uint8_t> out) {
  store_be64(&out[0], row.key);
  store_be32(&out[8], static_cast<uint32_t>(row.offset_units));
  if (bytes_offset == 5) out[12] = static_cast<uint8_t>(row.offset_units >> 32);
  store_be32(&out[idx_row_size(bytes_offset) - 4], static_cast<uint32_t>(row.size));
}

void NeedleMap::apply(const IdxRow& row) {
  if (row.is_put()) {
    auto [it, inserted] = map_.try_emplace(row.key, NeedleLocation{row.offset_units, row.size});
    if (inserted) {
      ++live_;
    } else {
      if (it->second.deleted()) ++live_;
      it->second = NeedleLocation{row.offset_units, row.size};
    }
    if (row.offset_units > max_offset_units_) max_offset_units_ = row.offset_units;
    return;
  }
  auto it = map_.find(row.key);
  if (it == map_.end() || it->second.deleted()) return;
  it->second.size = it->second.size == 0 ? kTombstoneSize : -it->second.size;
  --live_;
}

std::optional<NeedleLocation> NeedleMap::find(uint64_t key) const {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

Result<IdxReplay> replay_idx(std::span<const uint8_t> bytes, int bytes_offset, NeedleMap& map) {
  const size_t row_size = idx_row_size(bytes_offset);
  if (row_size == 0) return make_error(EINVAL, "unsupported idx offset width " + std::to_string(bytes_offset));
  IdxReplay out;
  for (size_t pos = 0; pos + row_size <= bytes.size(); pos += row_size) {
    auto row = parse_idx_row(bytes.subspan(pos, row_size), bytes_offset);
    if (!row) return row.error();
    map.apply(*row);
    ++out.rows;
    out.consumed_bytes = pos + row_size;
  }
  return out;
}

}  // namespace seaweed::volume
