// Finding a seaweed-rdma mount of a filer in /proc/self/mountinfo: its type is
// fuse.seaweed-rdma-mount, its source "seaweedfs:<filer host:port>:<filer path>" when mounted by
// hand or the SOURCE mount(8) was given, "<filer>[,<filer>...][:<filer path>]" (src/fuse/session.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seaweed::client {

struct SeaweedMount {
  std::string mountpoint;
  std::string filer;       // "host:port" as the mount was given it, or several, comma separated
  std::string filer_root;  // the filer directory mounted there
};

// Mounts in mountinfo text (unescaping \040-style octal escapes).
std::vector<SeaweedMount> parse_seaweed_mounts(std::string_view mountinfo);

// The local path of filer_path through one of the mounts: the mount of that filer (any filer
// when filer is empty) whose root is the longest prefix of filer_path. nullopt when none covers it.
std::optional<std::string> local_path_of(const std::vector<SeaweedMount>& mounts, std::string_view filer,
                                         std::string_view filer_path);

}  // namespace seaweed::client
