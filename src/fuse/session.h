// Mounting: checks the mountpoint, creates the libfuse session, runs the multithreaded loop until
// unmounted or signalled (SIGINT/SIGTERM/SIGHUP), and unmounts cleanly.
#pragma once

#include "common/result.h"
#include "fuse/filesystem.h"

namespace seaweed::fuse {

// Clear errors for a missing, non-directory, stale or already-mounted mountpoint.
Status check_mountpoint(const std::string& mountpoint);

// The -o option string handed to libfuse: fsname (its text escaped, so a filer path cannot add
// options), subtype, ro, allow_other when asked, and nosuid,nodev unless root asked for suid/dev.
std::string fuse_mount_options(const MountOptions& options);

// Blocks until the file system is unmounted or a signal arrives.
Status run_session(FileSystem& fs, const MountOptions& options);

}  // namespace seaweed::fuse
