// Mounting: checks the mountpoint, creates the libfuse session, runs the multithreaded loop until
// unmounted or signalled (SIGINT/SIGTERM/SIGHUP), and unmounts cleanly.
#pragma once

#include "common/result.h"
#include "fuse/filesystem.h"

namespace seaweed::fuse {

// Clear errors for a missing, non-directory, stale or already-mounted mountpoint.
Status check_mountpoint(const std::string& mountpoint);

// Blocks until the file system is unmounted or a signal arrives.
Status run_session(FileSystem& fs, const MountOptions& options);

}  // namespace seaweed::fuse
