// The live summary of one mount that `seaweed-rdma-mount stats MOUNTPOINT` prints: computed by
// the daemon from its metrics registry (answering the virtual xattr seaweed.stats on the mount
// root, see fuse/stats_xattr.h) and formatted as a table by the command. The JSON is what
// `stats -json` prints; its fields are listed in docs/OBSERVABILITY.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/metrics.h"

namespace seaweed::stats {

// The xattr name; only the root inode answers it, and listxattr never shows it.
inline constexpr char kStatsXattr[] = "seaweed.stats";
inline constexpr int kStatsVersion = 1;

// The summary of a registry snapshot (metric names as the mount registers them).
nlohmann::json mount_stats(const std::vector<Metrics::FamilySnapshot>& families);

// A short human table of mount_stats() output.
std::string format_table(const nlohmann::json& stats);

// "1.5 GiB", "23.4 MiB", "512 B"; "8.1 us", "1.2 ms", "3.0 s" (formatting helpers, tested).
std::string human_bytes(double bytes);
std::string human_seconds(double seconds);

}  // namespace seaweed::stats
