// At start the agent asks its volume server whether reads need a JWT, so an agent without the
// key cannot quietly serve what the volume server protects (docs/seaweedfs/read-jwt.md: the
// volume server checks the token before anything else, so any fid answers 401 without one).
#pragma once

#include <map>
#include <string>

#include "common/result.h"

namespace seaweed::agent {

// Status code of `HEAD path` on host:port (plain HTTP/1.1, one connection, bounded by timeout_ms).
Result<int> http_head_status(const std::string& host_port, const std::string& path,
                             const std::map<std::string, std::string>& headers, int timeout_ms);

enum class ReadAuthProbe {
  kNotRequired,  // the volume server serves reads without a token
  kRequired,     // it answers 401 without a token, and accepts ours
  kUnreachable,  // no answer: the caller warns and goes on
};

// Probes volume_server ("host:port"). Errors: EPERM when it requires read JWT and jwt_read_key
// is empty, EACCES when it refuses a token signed with jwt_read_key (another key).
Result<ReadAuthProbe> probe_read_auth(const std::string& volume_server, const std::string& jwt_read_key,
                                      int timeout_ms = 3000);

}  // namespace seaweed::agent
