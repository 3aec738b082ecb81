#include "fuse/stats_xattr.h"

#include <unistd.h>

#include <cstring>

#include "common/metrics.h"
#include "stats/mount_stats.h"

namespace seaweed::fuse {

bool is_stats_xattr(uint64_t ino, const char* name) {
  constexpr uint64_t kRoot = 1;  // FUSE_ROOT_ID
  return ino == kRoot && std::strcmp(name, stats::kStatsXattr) == 0;
}

std::string stats_xattr_value() {
  auto s = stats::mount_stats(Metrics::global().snapshot());
  s["pid"] = static_cast<int64_t>(::getpid());
  return s.dump();
}

}  // namespace seaweed::fuse
