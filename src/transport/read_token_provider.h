// Read tokens handed to a transport by whoever may hold them, for clusters whose volume servers
// (and agents) require a JWT per fid (docs/seaweedfs/read-jwt.md). The mount daemon mints its
// own from the signing key (HttpOptions::jwt_read_key, AgentClientOptions::jwt_read_key); a
// process without the key (the client library, docs/PRELOAD.md) asks the daemon per fid instead
// and hands the transports this provider. The provider caches and refreshes: a transport calls
// it for every request.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"

namespace seaweed::transport {

// A token for `fid` (the canonical "vid,keycookie" string of the request) that is valid now.
using ReadTokenProvider = std::function<Result<std::string>(const std::string& fid)>;

}  // namespace seaweed::transport
