#include "fuse/mountpoint.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

namespace seaweed::fuse {
namespace {

// The type of the topmost mount on path, from /proc/self/mountinfo ("" when none): reading the
// table never touches the path itself.
std::string mounted_type(const std::string& path) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, type;
  while (std::getline(mountinfo, line)) {
    // fields: id parent major:minor root mountpoint options ... - fstype source super-options
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string::npos; ++field) pos = line.find(' ', pos + 1);
    if (pos == std::string::npos) continue;
    const size_t end = line.find(' ', pos + 1);
    if (line.substr(pos + 1, end - pos - 1) != path) continue;
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    type = line.substr(dash + 3, line.find(' ', dash + 3) - dash - 3);
  }
  return type;
}

}  // namespace

void warn_if_not_empty(const std::string& mountpoint) {
  // Under systemd's automount the mountpoint is an autofs trigger: listing it (or statfs) would
  // ask for the very mount being made, and wait for it.
  if (mounted_type(mountpoint) == "autofs") return;
  std::error_code ec;
  std::filesystem::directory_iterator it(mountpoint, ec);
  if (ec || it == std::filesystem::directory_iterator()) return;
  spdlog::warn("mountpoint {} is not empty: the mount hides what is in it (-nonempty says that is intended)",
               mountpoint);
}

}  // namespace seaweed::fuse
