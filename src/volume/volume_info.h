// The .vif sidecar file: protojson VolumeInfo (docs/seaweedfs/volume-files.md). The agent needs bytesOffset
// (4 or 5 byte .idx offsets) and whether the volume's data lives remotely (tiered).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace seaweed::volume {

struct VolumeInfo {
  std::optional<int> bytes_offset;  // 4 or 5 when present
  int version = 0;                  // 0 when absent
  bool read_only = false;
  bool remote = false;  // files[] non-empty: .dat is in cloud storage
};

Result<VolumeInfo> parse_volume_info(std::string_view json_text);

// Reads and parses `path`. A missing file is ENOENT (the caller decides the default).
Result<VolumeInfo> read_volume_info(const std::string& path);

}  // namespace seaweed::volume
