#include "fuse/filesystem_metrics.h"

#include "common/metric_names.h"

namespace seaweed::fuse {

std::vector<Metrics::Registration> register_filesystem_metrics(FileSystem& fs, Metrics& registry) {
  namespace names = metric_names;
  std::vector<Metrics::Registration> out;
  out.push_back(
      registry.callback(names::kChunkCacheBytes, "Bytes of decoded (gzip, encrypted, manifest) chunks held in memory",
                        "", MetricType::gauge, [&fs] { return static_cast<double>(fs.chunk_cache().size_bytes()); }));
  const char* lookups_help = "Lookups in the decoded-chunk cache, by result";
  out.push_back(registry.callback(names::kChunkCacheLookups, lookups_help, render_labels({{"result", "hit"}}),
                                  MetricType::counter, [&fs] { return static_cast<double>(fs.chunk_cache().hits()); }));
  out.push_back(registry.callback(names::kChunkCacheLookups, lookups_help, render_labels({{"result", "miss"}}),
                                  MetricType::counter,
                                  [&fs] { return static_cast<double>(fs.chunk_cache().misses()); }));
  out.push_back(registry.callback(names::kInodes, "Inodes the mount holds", "", MetricType::gauge,
                                  [&fs] { return static_cast<double>(fs.inodes().size()); }));
  out.push_back(registry.callback(names::kOpenFiles, "Open file handles", "", MetricType::gauge,
                                  [&fs] { return static_cast<double>(fs.open_file_count()); }));
  return out;
}

}  // namespace seaweed::fuse
