// The libfuse low-level operation table bound to a FileSystem.
#pragma once

#include "fuse/filesystem.h"

namespace seaweed::fuse {

fuse_lowlevel_ops make_lowlevel_ops();

}  // namespace seaweed::fuse
