// The visible-interval builder and FileLayout::views() (src/chunks) against a reference model.
// Chunks come from filer entries and manifests, so every field is hostile. The model paints
// chunks in order of modified_ts_ns (ties: later in the list wins) over the elementary segments
// between all chunk boundaries, which is the byte-array model with each run of identically
// covered bytes kept as one cell, so offsets up to INT64_MAX cost nothing. The builder's intervals
// must equal the model's maximal runs, and every view of every window must show the model's
// owner for each byte it covers.
#include <algorithm>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "chunks/file_layout.h"
#include "chunks/file_size.h"
#include "chunks/visible_intervals.h"
#include "fuzz_support.h"

using namespace seaweed::chunks;

namespace {

constexpr uint64_t kMaxEnd = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr size_t kNone = std::numeric_limits<size_t>::max();
constexpr size_t kMaxChunks = 32;

bool valid(const Chunk& c) {
  return !c.is_manifest && c.offset >= 0 && c.size <= kMaxEnd - static_cast<uint64_t>(c.offset);
}

Chunk read_chunk(seaweed::fuzz::InputReader& in, size_t index) {
  Chunk c;
  c.file_id = "c" + std::to_string(index);
  const uint8_t mode = in.byte();
  if ((mode & 0xe0) == 0xe0) {  // 1 in 8: any 64-bit values (negative, near INT64_MAX, overflowing)
    c.offset = static_cast<int64_t>(in.integer<uint64_t>());
    c.size = in.integer<uint64_t>();
    c.modified_ts_ns = static_cast<int64_t>(in.integer<uint64_t>());
    c.is_manifest = (mode & 0x1f) == 0x1f;
  } else {  // small values: many overlaps and timestamp ties
    c.offset = in.byte() + (mode & 0x3) * 256;
    c.size = in.byte() % 128;
    c.modified_ts_ns = (mode >> 2) % 8;
  }
  return c;
}

struct Model {
  std::vector<uint64_t> bounds;  // sorted distinct chunk boundaries
  std::vector<size_t> owner;     // owner[i] covers [bounds[i], bounds[i+1])

  size_t owner_at(uint64_t x) const {
    if (bounds.empty() || x < bounds.front() || x >= bounds.back()) return kNone;
    const auto it = std::upper_bound(bounds.begin(), bounds.end(), x);
    return owner[static_cast<size_t>(it - bounds.begin()) - 1];
  }
  // The owner of every byte of [from, to), or kNone + false when they differ.
  bool uniform(uint64_t from, uint64_t to, size_t& who) const {
    who = owner_at(from);
    auto it = std::upper_bound(bounds.begin(), bounds.end(), from);
    for (; it != bounds.end() && *it < to; ++it) {
      if (owner_at(*it) != who) return false;
    }
    return true;
  }
};

Model paint(const std::vector<Chunk>& chunks) {
  Model m;
  std::vector<size_t> order;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (chunks[i].size == 0 || !valid(chunks[i])) continue;
    order.push_back(i);
    m.bounds.push_back(static_cast<uint64_t>(chunks[i].offset));
    m.bounds.push_back(static_cast<uint64_t>(chunks[i].offset) + chunks[i].size);
  }
  std::sort(m.bounds.begin(), m.bounds.end());
  m.bounds.erase(std::unique(m.bounds.begin(), m.bounds.end()), m.bounds.end());
  m.owner.assign(m.bounds.empty() ? 0 : m.bounds.size() - 1, kNone);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return chunks[a].modified_ts_ns < chunks[b].modified_ts_ns; });
  for (size_t i : order) {
    const auto start = static_cast<uint64_t>(chunks[i].offset);
    const uint64_t stop = start + chunks[i].size;
    for (size_t s = 0; s + 1 < m.bounds.size(); ++s)
      if (m.bounds[s] >= start && m.bounds[s + 1] <= stop) m.owner[s] = i;
  }
  return m;
}

std::vector<VisibleInterval> runs(const Model& m) {
  std::vector<VisibleInterval> out;
  for (size_t s = 0; s < m.owner.size(); ++s) {
    if (m.owner[s] == kNone) continue;
    if (!out.empty() && out.back().chunk == m.owner[s] && out.back().stop == m.bounds[s])
      out.back().stop = m.bounds[s + 1];
    else
      out.push_back({m.bounds[s], m.bounds[s + 1], m.owner[s]});
  }
  return out;
}

void check_window(const FileLayout& layout, const Model& m, uint64_t offset, uint64_t length) {
  const auto views = layout.views(offset, length);
  if (offset >= layout.size() || length == 0) {
    FUZZ_CHECK(views.empty());
    return;
  }
  const uint64_t end = length > layout.size() - offset ? layout.size() : offset + length;
  uint64_t cursor = offset;
  for (const ChunkView& v : views) {
    FUZZ_CHECK(v.file_offset == cursor);
    FUZZ_CHECK(v.length > 0 && v.length <= end - cursor);
    size_t who = kNone;
    FUZZ_CHECK(m.uniform(v.file_offset, v.file_offset + v.length, who));
    if (v.is_hole) {
      FUZZ_CHECK(who == kNone);
    } else {
      FUZZ_CHECK(who != kNone);
      const Chunk& c = layout.chunks()[who];
      FUZZ_CHECK(v.file_id == c.file_id);
      FUZZ_CHECK(v.offset_in_chunk == v.file_offset - static_cast<uint64_t>(c.offset));
      FUZZ_CHECK(v.offset_in_chunk + v.length <= c.size);
      FUZZ_CHECK(v.chunk_size == c.size && v.modified_ts_ns == c.modified_ts_ns);
    }
    cursor += v.length;
  }
  FUZZ_CHECK(cursor == end);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  seaweed::fuzz::InputReader in(data, size);
  const size_t count = in.byte() % (kMaxChunks + 1);
  const uint8_t size_mode = in.byte();
  const uint64_t attr_size = in.integer<uint16_t>();
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < count && !in.empty(); ++i) chunks.push_back(read_chunk(in, i));

  const Model model = paint(chunks);
  FUZZ_CHECK(resolve_visible_intervals(chunks) == runs(model));
  const bool all_valid = std::all_of(chunks.begin(), chunks.end(), valid);
  auto checked = resolve_visible_intervals_checked(chunks);
  FUZZ_CHECK(checked.ok() == all_valid);
  if (!checked) FUZZ_CHECK(checked.error().code == EIO);

  // The exposed size: the file-size rule, or (as after a truncate in attributes) any size.
  const uint64_t exposed = size_mode & 1 ? attr_size : file_size(attr_size, chunks);
  auto layout = FileLayout::build(chunks, exposed);
  FUZZ_CHECK(layout.ok() == all_valid);
  if (!layout) return 0;
  FUZZ_CHECK(layout->size() == exposed);
  check_window(*layout, model, 0, std::numeric_limits<uint64_t>::max());
  // Each interval with a byte of its neighbours on both sides (where they exist).
  for (const auto& iv : layout->intervals())
    check_window(*layout, model, iv.start == 0 ? 0 : iv.start - 1, iv.stop - iv.start + (iv.start == 0 ? 1 : 2));
  while (in.remaining() >= 4) check_window(*layout, model, in.integer<uint16_t>(), in.integer<uint16_t>());
  return 0;
}
