// Names of the metrics both binaries register, in one place: the code that updates them and the
// code that reads them back (the mount's stats summary, src/stats/) must agree. Prometheus
// naming: `_total` counters, `_seconds` and `_bytes` units. docs/OBSERVABILITY.md lists them all.
#pragma once

namespace seaweed::metric_names {

// Mount: transports (transport/fallback_volume_reader.cc). transport = rdma | http.
inline constexpr char kReadBytes[] = "seaweed_mount_read_bytes_total";
inline constexpr char kFallbacks[] = "seaweed_mount_rdma_fallbacks_total";
inline constexpr char kVolumeReadSeconds[] = "seaweed_mount_volume_read_duration_seconds";
inline constexpr char kAgents[] = "seaweed_mount_agents";  // state = up | down
// Reads whose first replica's agent was passed over because it answered slowly (replica_speed.h).
inline constexpr char kSlowReplicaSkips[] = "seaweed_mount_slow_replica_skips_total";
// Mount: decoded-chunk cache (reader/chunk_cache.cc) and FUSE (fuse/).
inline constexpr char kChunkCacheBytes[] = "seaweed_mount_chunk_cache_bytes";
inline constexpr char kChunkCacheLookups[] = "seaweed_mount_chunk_cache_lookups_total";  // result = hit | miss
inline constexpr char kFuseOpSeconds[] = "seaweed_mount_fuse_op_duration_seconds";       // op = lookup, read, ...
inline constexpr char kFuseReadBytes[] = "seaweed_mount_fuse_read_bytes_total";
inline constexpr char kFuseErrors[] = "seaweed_mount_fuse_errors_total";     // op, errno
inline constexpr char kDiskCacheBytes[] = "seaweed_mount_disk_cache_bytes";  // the -cacheDir tier
inline constexpr char kDiskCacheEntries[] = "seaweed_mount_disk_cache_entries";
inline constexpr char kInodes[] = "seaweed_mount_inodes";
inline constexpr char kOpenFiles[] = "seaweed_mount_open_files";
inline constexpr char kSubscriptionLag[] = "seaweed_mount_metadata_subscription_lag_seconds";
inline constexpr char kMetadataEvents[] = "seaweed_mount_metadata_events_total";
inline constexpr char kMetadataReconnects[] = "seaweed_mount_metadata_reconnects_total";
inline constexpr char kMountInfo[] = "seaweed_mount_info";  // mountpoint, filer, filer_path

// Agent (agent/).
inline constexpr char kAgentRequestSeconds[] = "seaweed_agent_request_duration_seconds";  // op, result
inline constexpr char kAgentVolumes[] = "seaweed_agent_volumes";
inline constexpr char kAgentConnections[] = "seaweed_agent_connections";

// Both.
inline constexpr char kBuildInfo[] = "seaweed_build_info";

}  // namespace seaweed::metric_names
