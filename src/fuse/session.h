// Mounting: checks the mountpoint, creates the libfuse session, runs the multithreaded loop until
// unmounted or signalled (SIGINT/SIGTERM/SIGHUP), and unmounts cleanly.
#pragma once

#include <functional>

#include "common/result.h"
#include "fuse/filesystem.h"

namespace seaweed::fuse {

// Clear errors for a missing, non-directory, stale or already-mounted mountpoint.
Status check_mountpoint(const std::string& mountpoint);

// The -o option string handed to libfuse: fsname (its text escaped, so a filer path cannot add
// options), subtype, ro, allow_other when asked, and nosuid,nodev unless root asked for suid/dev.
std::string fuse_mount_options(const MountOptions& options);

// Readiness: `mounted` runs once the kernel has the mount (requests queue until the loop runs),
// `stopping` once the loop ended (unmounted or signalled), before the final unmount.
struct SessionHooks {
  std::function<void()> mounted;
  std::function<void()> stopping;
};

// Blocks until the file system is unmounted (umount, fusermount3 -u) or a signal arrives.
Status run_session(FileSystem& fs, const MountOptions& options, const SessionHooks& hooks = {});

}  // namespace seaweed::fuse
