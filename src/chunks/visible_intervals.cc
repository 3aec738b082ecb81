#include "chunks/visible_intervals.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <utility>

namespace seaweed::chunks {
namespace {

// FUSE and the kernel address files with off_t, so no chunk may end beyond INT64_MAX.
constexpr uint64_t kMaxEnd = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

bool is_resolvable(const Chunk& c) {
  return !c.is_manifest && c.offset >= 0 && c.size <= kMaxEnd - static_cast<uint64_t>(c.offset);
}

std::string describe(const Chunk& c, size_t index) {
  return "chunk #" + std::to_string(index) + " '" + c.file_id + "'";
}

// A chunk boundary seen by the sweep line.
struct Event {
  uint64_t x;
  bool is_start;
  size_t chunk;
};

// Order in the active set: newest timestamp last, and among equal timestamps the later list
// position last, so the winner is always *rbegin().
using Priority = std::pair<int64_t, size_t>;

constexpr size_t kNone = std::numeric_limits<size_t>::max();

}  // namespace

Status validate_data_chunks(const std::vector<Chunk>& chunks) {
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    if (c.is_manifest) return make_error(EIO, describe(c, i) + " is an unresolved chunk manifest");
    if (c.offset < 0) return make_error(EIO, describe(c, i) + " has negative offset " + std::to_string(c.offset));
    if (!is_resolvable(c))
      return make_error(EIO, describe(c, i) + " ends beyond the largest file offset (offset " +
                                 std::to_string(c.offset) + ", size " + std::to_string(c.size) + ")");
  }
  return {};
}

std::vector<VisibleInterval> resolve_visible_intervals(const std::vector<Chunk>& chunks) {
  std::vector<Event> events;
  events.reserve(chunks.size() * 2);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const Chunk& c = chunks[i];
    if (c.size == 0 || !is_resolvable(c)) continue;
    const auto start = static_cast<uint64_t>(c.offset);
    events.push_back({start, true, i});
    events.push_back({start + c.size, false, i});
  }
  // Only x matters for ordering: all events at one x are applied before the winner is looked at,
  // so no chunk ever "wins" an empty range.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.x < b.x; });

  std::vector<VisibleInterval> out;
  std::set<Priority> active;
  size_t current = kNone;  // winner since current_start, or kNone inside a gap
  uint64_t current_start = 0;

  for (size_t e = 0; e < events.size();) {
    const uint64_t x = events[e].x;
    for (; e < events.size() && events[e].x == x; ++e) {
      const Priority p{chunks[events[e].chunk].modified_ts_ns, events[e].chunk};
      if (events[e].is_start)
        active.insert(p);
      else
        active.erase(p);
    }
    const size_t winner = active.empty() ? kNone : active.rbegin()->second;
    if (winner == current) continue;
    if (current != kNone) {
      // A chunk can only be adjacent to itself if it lost and regained the top at the same x,
      // which the grouping above rules out; merge anyway so the invariant never depends on it.
      if (!out.empty() && out.back().chunk == current && out.back().stop == current_start)
        out.back().stop = x;
      else
        out.push_back({current_start, x, current});
    }
    current = winner;
    current_start = x;
  }
  return out;
}

Result<std::vector<VisibleInterval>> resolve_visible_intervals_checked(const std::vector<Chunk>& chunks) {
  if (auto status = validate_data_chunks(chunks); !status) return status.error();
  return resolve_visible_intervals(chunks);
}

}  // namespace seaweed::chunks
