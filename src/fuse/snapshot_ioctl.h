// The FUSE ioctls that hand a process the layout snapshot of one of its open files, so the
// client library (src/client/, docs/PRELOAD.md) reads the very version this FUSE open sees
// straight from the agents: SWR_IOC_SNAPSHOT returns the serialised snapshot in pages,
// SWR_IOC_TOKEN a read JWT for one fid of it when the cluster requires tokens (the signing key
// stays in the daemon).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "fuse/filesystem.h"

namespace seaweed::fuse {

struct SnapshotIoctlConfig {
  // The agent address serving a volume server ("host:port"), or empty when none does.
  std::function<std::string(const std::string& volume_server)> agent_address;
  // Mints a read token for a fid with its lifetime in seconds; empty when the cluster needs none.
  std::function<Result<std::string>(const std::string& fid, int32_t& lifetime_sec)> mint_token;
  bool rdma_enabled = true;
  bool fallback = true;
  bool peer_error_handling = true;
  uint32_t rdma_timeout_ms = 5000;
  uint32_t http_timeout_ms = 30000;
};

// Set once by the mount's main before the session starts.
void configure_snapshot_ioctl(SnapshotIoctlConfig config);

// The libfuse ioctl op (restricted ioctls only).
void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
              const void* in_buf, size_t in_bufsz, size_t out_bufsz);

// Drops the serialised snapshot of a released handle.
void forget_snapshot(uint64_t fh);

// The snapshot of an open file as the ioctl serialises it (exposed for tests).
Result<std::string> serialise_snapshot(FileSystem& fs, uint64_t fh, const SnapshotIoctlConfig& config);

}  // namespace seaweed::fuse
