// Read tokens for JWT-protected volume servers (fact sheet §4.3).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace seaweed::transport::http {

// base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);

// HS256 JWT with payload {"fid":"<fid>","exp":<expires_unix_seconds>} signed with the volume servers'
// jwt.signing.read.key. fid must be the exact canonical string used in the request URL.
Result<std::string> mint_read_jwt(std::string_view signing_key, std::string_view fid, int64_t expires_unix_seconds);

}  // namespace seaweed::transport::http
