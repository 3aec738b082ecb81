// Mountpoint checks beyond "exists, is a directory, is not mounted" (session.h).
#pragma once

#include <string>

namespace seaweed::fuse {

// Logs one warning when the directory holds entries the mount will hide. weed mount 4.48 mounts
// over a non-empty directory with or without -nonempty (docs/MOUNTING.md), so this does too.
void warn_if_not_empty(const std::string& mountpoint);

}  // namespace seaweed::fuse
