// Asking the mount daemon for an fd's layout snapshot (src/client/snapshot_ioctl_abi.h). Uses
// raw system calls, so it works the same inside the preload library, whose own wrappers would
// otherwise see these calls.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace seaweed::client {

// True when fd is on a FUSE file system (fstatfs; cheap, no round trip to any daemon).
bool on_fuse(int fd);

// The fd's serialised snapshot, pages assembled and checked against the daemon's CRC. Errors:
// ENOTTY/EINVAL/ENOSYS the fd is not a seaweed-rdma mount file (another FUSE fs, or a daemon
// without the ioctl); ENODATA inline content; EPROTO inconsistent pages; others from the daemon.
Result<std::string> fetch_snapshot_blob(int fd);

struct ReadToken {
  std::string token;
  int32_t lifetime_sec = 0;
};
// A read token for one fid of the fd's snapshot.
Result<ReadToken> fetch_read_token(int fd, const std::string& fid);

}  // namespace seaweed::client
