// The virtual extended attribute seaweed.stats on the mount root: getxattr(MOUNTPOINT,
// "seaweed.stats") answers the mount's live stats as JSON (stats::mount_stats over the metrics
// registry, plus the daemon's pid), which `seaweed-rdma-mount stats` prints. Virtual attributes
// follow CephFS' ceph.* and Lustre's lustre.*: no socket to find or secure, the kernel's
// permission checks on the mount apply, and listxattr never shows it.
#pragma once

#include <cstdint>
#include <string>

namespace seaweed::fuse {

// Whether getxattr(ino, name) asks for the stats (only the root inode has them).
bool is_stats_xattr(uint64_t ino, const char* name);

// The JSON text of the current stats.
std::string stats_xattr_value();

}  // namespace seaweed::fuse
