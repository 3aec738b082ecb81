// The mount's gauges read from the FileSystem at scrape time: decoded-chunk cache bytes and
// lookups, inodes, open files (names in common/metric_names.h).
#pragma once

#include <vector>

#include "common/metrics.h"
#include "fuse/filesystem.h"

namespace seaweed::fuse {

// Keep the registrations no longer than fs.
[[nodiscard]] std::vector<Metrics::Registration> register_filesystem_metrics(FileSystem& fs,
                                                                             Metrics& registry = Metrics::global());

}  // namespace seaweed::fuse
