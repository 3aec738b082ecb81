// The cluster's security settings that a reader needs, found and read the way `weed` finds and
// reads its security.toml (search path, WEED_* environment overrides): see
// docs/seaweedfs/security-config.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace seaweed {

struct SecurityConfig {
  std::string jwt_read_key;                       // [jwt.signing.read] key
  int64_t jwt_read_expires_sec = 10;              // [jwt.signing.read] expires_after_seconds
  std::string grpc_ca;                            // [grpc] ca
  std::string grpc_client_cert, grpc_client_key;  // [grpc.client] cert / key (client_cert / client_key win)
  std::string source;                             // the file read, or "environment", or "" (none)
  std::vector<std::string> env_overrides;         // WEED_* variables that set a value, for the log

  // weed dials with mutual TLS only when the CA, the cert and the key are all set; with any of
  // them missing it dials in plain text.
  [[nodiscard]] bool grpc_tls() const {
    return !grpc_ca.empty() && !grpc_client_cert.empty() && !grpc_client_key.empty();
  }
  // Some but not all of the three are set: weed silently dials in plain text; callers warn.
  [[nodiscard]] bool grpc_tls_partial() const {
    return !grpc_tls() && (!grpc_ca.empty() || !grpc_client_cert.empty() || !grpc_client_key.empty());
  }
};

// The directories weed searches for security.toml, in order ("." first; $HOME/.seaweedfs only
// when HOME is set).
std::vector<std::string> security_config_search_dirs();

// explicit_path: -security.config=FILE (must exist); empty: weed's search path
// (./security.toml, $HOME/.seaweedfs/, /usr/local/etc/seaweedfs/, /etc/seaweedfs/; first found),
// then WEED_* environment overrides (WEED_ + key upper-cased, '.' -> '_', e.g.
// WEED_JWT_SIGNING_READ_KEY, WEED_GRPC_CLIENT_CERT), which win over the file.
// Errors (EINVAL for a malformed file or value, the open errno otherwise) are one line naming the
// file and, for syntax and type errors, the line.
Result<SecurityConfig> load_security_config(const std::string& explicit_path);

// The same with the search directories and the environment given (for tests). getenv returns
// nullptr for an unset variable.
using GetEnv = std::function<const char*(const char* name)>;
Result<SecurityConfig> load_security_config(const std::string& explicit_path,
                                            const std::vector<std::string>& search_dirs, const GetEnv& getenv);

}  // namespace seaweed
