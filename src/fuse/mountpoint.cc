#include "fuse/mountpoint.h"

#include <spdlog/spdlog.h>

#include <filesystem>

namespace seaweed::fuse {

void warn_if_not_empty(const std::string& mountpoint) {
  std::error_code ec;
  std::filesystem::directory_iterator it(mountpoint, ec);
  if (ec || it == std::filesystem::directory_iterator()) return;
  spdlog::warn("mountpoint {} is not empty: the mount hides what is in it (-nonempty says that is intended)",
               mountpoint);
}

}  // namespace seaweed::fuse
