// Filer entry -> struct stat (docs/seaweedfs/chunks.md: "File modes", "File size"; times:
// docs/seaweedfs/attributes.md).
#pragma once

#include <sys/stat.h>

#include <cstdint>

#include "filer.pb.h"

namespace seaweed::fuse {

struct stat entry_to_stat(const filer_pb::Entry& entry, uint64_t ino);

// Size by the file-size rule: max(attributes.file_size, chunk ends).
uint64_t entry_size(const filer_pb::Entry& entry);

}  // namespace seaweed::fuse
