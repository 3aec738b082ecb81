#include "stats/stats_client.h"

#include <sys/xattr.h>

#include <cstring>
#include <vector>

#include "stats/mount_stats.h"

namespace seaweed::stats {

Result<nlohmann::json> fetch_mount_stats(const std::string& mountpoint) {
  std::vector<char> buf(16 << 10);
  ssize_t n = -1;
  // The answer can grow between a size query and the read: retry with what the kernel says.
  for (int attempt = 0; attempt < 4; ++attempt) {
    n = ::getxattr(mountpoint.c_str(), kStatsXattr, buf.data(), buf.size());
    if (n >= 0 || errno != ERANGE) break;
    const ssize_t need = ::getxattr(mountpoint.c_str(), kStatsXattr, nullptr, 0);
    if (need < 0) break;
    buf.resize(static_cast<size_t>(need) + 4096);
  }
  if (n < 0) {
    const int e = errno;
    switch (e) {
      case ENODATA:
      case ENOTSUP:
        return make_error(e, mountpoint + " is not a seaweed-rdma-mount mount (it has no " + kStatsXattr + ")");
      case ENOTCONN:
        return make_error(e, mountpoint + ": the mount's daemon is gone (transport endpoint is not connected)");
      case EACCES:
      case EPERM:
        return make_error(e, mountpoint + ": permission denied (a mount of another user without allow_other?)");
      default:
        return make_error(e, mountpoint + ": " + std::strerror(e));
    }
  }
  auto parsed = nlohmann::json::parse(buf.begin(), buf.begin() + n, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object())
    return make_error(EBADMSG, mountpoint + ": " + kStatsXattr + " is not a stats object");
  if (parsed.value("version", 0) != kStatsVersion)
    return make_error(EPROTO, mountpoint + ": stats version " + std::to_string(parsed.value("version", 0)) +
                                  ", this command reads version " + std::to_string(kStatsVersion));
  return parsed;
}

}  // namespace seaweed::stats
