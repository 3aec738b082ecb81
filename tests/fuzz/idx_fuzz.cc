// .idx files as the agent replays them: parse_idx_row() and replay_idx() into a NeedleMap on
// hostile rows (4- and 5-byte offsets), checked against a plain std::map model of the rules in
// src/volume/idx.h (last put wins; a delete negates the live size, 0 becoming -1; deleting an
// unknown or deleted key changes nothing). Input: one byte selecting the offset width, then rows.
#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "fuzz_support.h"
#include "volume/idx.h"

using namespace seaweed::volume;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seaweed::fuzz::InputReader in(data, size);
  const uint8_t selector = in.byte();
  const int bytes_offset = selector & 1 ? 5 : 4;
  const auto rows = in.rest();
  const size_t row_size = idx_row_size(bytes_offset);

  NeedleMap map;
  auto replay = replay_idx(rows, bytes_offset, map);
  FUZZ_CHECK(replay.ok());
  FUZZ_CHECK(replay->rows == rows.size() / row_size);
  FUZZ_CHECK(replay->consumed_bytes == replay->rows * row_size);

  std::map<uint64_t, NeedleLocation> model;
  uint64_t max_units = 0;
  for (size_t i = 0; i < replay->rows; ++i) {
    const auto raw = rows.subspan(i * row_size, row_size);
    auto row = parse_idx_row(raw, bytes_offset);
    FUZZ_CHECK(row.ok());
    std::array<uint8_t, 17> buffer{};
    const std::span<uint8_t> encoded(buffer.data(), row_size);
    encode_idx_row(*row, bytes_offset, encoded);
    FUZZ_CHECK(std::memcmp(encoded.data(), raw.data(), row_size) == 0);
    if (row->offset_units != 0 && row->size >= 0) {
      model[row->key] = {row->offset_units, row->size};
      max_units = std::max(max_units, row->offset_units);
    } else if (auto it = model.find(row->key); it != model.end() && it->second.size >= 0) {
      it->second.size = it->second.size == 0 ? -1 : -it->second.size;
    }
  }
  FUZZ_CHECK(map.size() == model.size());
  FUZZ_CHECK(map.max_offset_units() == max_units);
  size_t live = 0;
  for (const auto& [key, want] : model) {
    const auto got = map.find(key);
    FUZZ_CHECK(got.has_value());
    FUZZ_CHECK(got->offset_units == want.offset_units && got->size == want.size);
    FUZZ_CHECK(got->deleted() == (want.size < 0));
    if (got->readable())
      FUZZ_CHECK(got->record_size() == static_cast<uint32_t>(want.size < 0 ? -int64_t{want.size} : want.size));
    if (!got->deleted()) ++live;
  }
  FUZZ_CHECK(map.live_count() == live);

  // A row of the wrong length or an unknown width is an error, never a crash.
  FUZZ_CHECK(!parse_idx_row(rows.first(std::min<size_t>(rows.size(), row_size - 1)), bytes_offset).ok());
  FUZZ_CHECK(!replay_idx(rows, 3 + (selector >> 1) % 2 * 3, map).ok());  // widths 3 and 6
  return 0;
}
