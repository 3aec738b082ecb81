// The client side of `seaweed-rdma-mount stats MOUNTPOINT`: reads the virtual extended attribute
// seaweed.stats of the mount root, which the daemon answers with mount_stats() as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace seaweed::stats {

// The stats of the mount at mountpoint. Errors say what the path is not: no such directory,
// not a seaweed-rdma-mount mount (ENODATA), a mount whose daemon is gone (ENOTCONN), another
// user's mount without allow_other (EACCES).
Result<nlohmann::json> fetch_mount_stats(const std::string& mountpoint);

}  // namespace seaweed::stats
