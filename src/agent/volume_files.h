// Finding volumes in the volume server's -dir folders: `[collection_]VID.dat` next to `VID.idx`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seaweed::agent {

struct VolumeFiles {
  uint32_t volume_id = 0;
  std::string collection;  // empty for the default collection
  std::string base;        // dir + "/" + [collection_]vid, without extension
  [[nodiscard]] std::string dat_path() const { return base + ".dat"; }
  [[nodiscard]] std::string idx_path() const { return base + ".idx"; }
  [[nodiscard]] std::string vif_path() const { return base + ".vif"; }
  // Vacuum commit marker: while it exists .dat/.idx may be a mismatched pair.
  [[nodiscard]] std::string compaction_marker_path() const { return base + ".cpc"; }
};

// Parses "[collection_]VID.dat" (the vid follows the last '_'). nullopt if it is not one.
std::optional<std::pair<std::string, uint32_t>> parse_dat_name(std::string_view file_name);

// Lists volumes with both .dat and .idx in each dir. Unreadable dirs are skipped (errors are
// returned as text so the caller can log them once).
std::vector<VolumeFiles> scan_volume_dirs(const std::vector<std::string>& dirs, std::vector<std::string>* errors);

// dev+inode of a path or fd: a vacuum replaces .dat/.idx by rename, which changes it.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileIdentity&) const = default;
};
std::optional<FileIdentity> identity_of_path(const std::string& path);

}  // namespace seaweed::agent
